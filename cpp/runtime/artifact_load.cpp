// Loading an exported program for a device (artifact.hpp): the target is checked against the
// device (CUDA architecture, CPU instruction sets), the kernels are loaded (the CPU's shared
// object through dlopen of an in-memory file, PTX through the CUDA driver), then the plans and
// constants become a Program.
#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "runtime/artifact.hpp"

namespace tessera::artifact {
namespace {

// Instruction sets the x86 code generator uses for Tessera's kernels, as LLVM names them.
struct Feature {
  const char* name;
  bool (*present)();
};

#if defined(__x86_64__)
#define TSR_FEATURE(name) {name, [] { return bool(__builtin_cpu_supports(name)); }}
const Feature kFeatures[] = {
    TSR_FEATURE("popcnt"),
    TSR_FEATURE("sse4.1"),
    TSR_FEATURE("sse4.2"),
    TSR_FEATURE("aes"),
    TSR_FEATURE("pclmul"),
    TSR_FEATURE("avx"),
    TSR_FEATURE("avx2"),
    TSR_FEATURE("fma"),
    TSR_FEATURE("f16c"),
    TSR_FEATURE("bmi"),
    TSR_FEATURE("bmi2"),
    TSR_FEATURE("avxvnni"),
    TSR_FEATURE("avx512f"),
    TSR_FEATURE("avx512bw"),
    TSR_FEATURE("avx512dq"),
    TSR_FEATURE("avx512vl"),
    TSR_FEATURE("avx512cd"),
    TSR_FEATURE("avx512vnni"),
    TSR_FEATURE("avx512bf16"),
    TSR_FEATURE("avx512fp16"),
    TSR_FEATURE("avx512ifma"),
    TSR_FEATURE("avx512vbmi"),
    TSR_FEATURE("avx512vbmi2"),
    TSR_FEATURE("avx512bitalg"),
    TSR_FEATURE("avx512vpopcntdq"),
    TSR_FEATURE("gfni"),
    TSR_FEATURE("vpclmulqdq"),
};
#undef TSR_FEATURE
#else
const Feature kFeatures[] = {{"", nullptr}};
#endif

const Feature* known(const std::string& name) {
  for (const Feature& f : kFeatures)
    if (f.present && name == f.name) return &f;
  return nullptr;
}

// The shared object's bytes as a file only this process sees, opened by the dynamic loader.
// The file stays open while the code is loaded: the loader knows an object by its path, and a
// closed descriptor's number (so its /proc path) would be reused by the next program, which
// dlopen would then answer with this one's handle.
std::shared_ptr<void> open_shared_object(const std::string& image) {
  int fd = int(memfd_create("tessera-program", MFD_CLOEXEC));
  if (fd < 0) fail(ErrorCode::Runtime, "loading the program's CPU code: memfd_create failed");
  size_t done = 0;
  while (done < image.size()) {
    ssize_t n = ::write(fd, image.data() + done, image.size() - done);
    if (n <= 0) {
      ::close(fd);
      fail(ErrorCode::Runtime, "loading the program's CPU code: writing its in-memory file failed");
    }
    done += size_t(n);
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (void* stale = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD)) {  // cannot happen while fds stay open
    dlclose(stale);
    ::close(fd);
    fail(ErrorCode::Internal, "loading the program's CPU code: " + path + " names a loaded object already");
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    ::close(fd);
    fail(ErrorCode::Value, std::string("loading the program's CPU code: ") + (why ? why : "dlopen failed"));
  }
  return std::shared_ptr<void>(handle, [fd](void* h) {
    dlclose(h);
    ::close(fd);
  });
}

// "nvptx:sm_90a" -> (9, 0, true); the device must match exactly for an "a" target (its
// instructions exist on that architecture only), or be at least as new otherwise.
void check_cuda_target(const std::string& target, Device device) {
  tsrDeviceProperties props;
  check_status(tsrGetDeviceProperties(device.raw(), &props), "tsrGetDeviceProperties");
  std::string sm = target.substr(target.find("sm_") + 3);
  bool exact = !sm.empty() && sm.back() == 'a';
  if (exact) sm.pop_back();
  int want = std::atoi(sm.c_str()), have = props.compute_capability_major * 10 + props.compute_capability_minor;
  if (have < want || (exact && have != want))
    fail(ErrorCode::Device, "the program was exported for " + target + ", but " + device.str() + " (" + props.name +
                                ") has compute capability " + std::to_string(props.compute_capability_major) + "." +
                                std::to_string(props.compute_capability_minor) +
                                ": export it again with target='nvptx:sm_" + std::to_string(have) + "'");
}

void check_target(const Contents& c, Device device) {
  const bool cpu = c.target == "cpu" || c.target.rfind("cpu:", 0) == 0;
  const bool nvptx = c.target.rfind("nvptx:sm_", 0) == 0;
  if (!cpu && !nvptx)
    fail(ErrorCode::Device, "the program was exported for target '" + c.target + "', which this runtime cannot run");
  if (cpu != (device.type == TSR_DEVICE_CPU))
    fail(ErrorCode::Device, "the program was exported for " + c.target + " and cannot run on " + device.str() +
                                (cpu ? ": load it on the CPU" : ": load it on a CUDA device"));
  if (nvptx) return check_cuda_target(c.target, device);
  std::vector<std::string> missing = missing_cpu_features(c.cpu_features);
  if (!missing.empty()) {
    std::string list;
    for (const std::string& f : missing) list += (list.empty() ? "" : ", ") + f;
    fail(ErrorCode::Device, "the program's CPU code was compiled for a CPU with instruction sets this one lacks (" +
                                list + "): export it again on a machine with this CPU's instruction sets or fewer");
  }
}

}  // namespace

std::vector<std::string> host_cpu_features() {
  std::vector<std::string> out;
  for (const Feature& f : kFeatures)
    if (f.present && f.present()) out.push_back(f.name);
  return out;
}

std::vector<std::string> missing_cpu_features(const std::vector<std::string>& features) {
  std::vector<std::string> out;
  for (const std::string& name : features)
    if (const Feature* f = known(name); f && !f->present()) out.push_back(name);
  return out;
}

Loaded::Loaded(Contents contents, Device device) : contents_(std::move(contents)) {
  check_target(contents_, device);
  manifest_ = manifest(contents_);
  if (device.type == TSR_DEVICE_CPU && contents_.images.size() > 1)
    fail(ErrorCode::Value,
         "a CPU program holds one shared object, this one " + std::to_string(contents_.images.size()));
  for (const Array& a : contents_.constants) constants_.push_back(a.to(device));
  KernelModules by_name;
  std::vector<tsrModule> modules;
  std::shared_ptr<void> code;
  try {
    for (const KernelImage& k : contents_.images) {
      if (k.kernel_names.empty()) continue;
      tsrModule m = nullptr;
      if (device.type == TSR_DEVICE_CPU) {
        code = open_shared_object(k.bytes);
        std::vector<tsrHostKernelEntry> entries;
        for (const std::string& name : k.kernel_names) {
          void* fn = dlsym(code.get(), name.c_str());
          if (!fn) fail(ErrorCode::Value, "malformed: the program's CPU code does not define kernel " + name);
          entries.push_back({name.c_str(), reinterpret_cast<tsrHostKernelFn>(fn)});
        }
        check_status(tsrModuleLoadHost(entries.data(), int32_t(entries.size()), &m), "tsrModuleLoadHost");
      } else {
        std::string ptx = k.bytes;  // the driver reads NUL-terminated text
        check_status(tsrModuleLoadData(device.raw(), ptx.c_str(), ptx.size() + 1, &m), "tsrModuleLoadData");
      }
      modules.push_back(m);
      for (const std::string& name : k.kernel_names) by_name[name] = m;
    }
  } catch (...) {
    for (tsrModule m : modules) tsrModuleUnload(m);
    throw;
  }
  program_ = std::make_unique<Program>(device, contents_.plans, std::move(modules), by_name, std::move(code));
  contents_.images.clear();  // loaded: the code and the constants live in the program now
  contents_.constants.clear();
}

std::vector<Array> Loaded::run(const std::vector<Array>& inputs) const {
  if (inputs.size() != size_t(contents_.num_inputs))
    fail(ErrorCode::Value, "the exported program takes " + std::to_string(contents_.num_inputs) + " inputs, got " +
                               std::to_string(inputs.size()));
  std::vector<Array> all = inputs;
  all.insert(all.end(), constants_.begin(), constants_.end());
  std::vector<Array> out = program_->run(all);
  for (Array& a : out)  // a returned constant is a copy: the program's own stays as it is
    for (const Array& c : constants_)
      if (a.storage == c.storage) a = a.clone();
  return out;
}

}  // namespace tessera::artifact
