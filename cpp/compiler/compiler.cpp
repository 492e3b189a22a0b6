#include "compiler/compiler.hpp"

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "backends/cpu/cpu_backend.hpp"
#include "common/log.hpp"
#include "common/profiler.hpp"
#include "compiler/autotune.hpp"
#include "compiler/disk_cache.hpp"
#include "compiler/pipeline.hpp"
#include "compiler/program_cache.hpp"
#include "ir/pass_manager.hpp"

namespace tessera::compiler {

ir::Target build_target(const std::string& text, const Device* device) {
  ir::Target t = ir::Target::parse(text);
  if (t.cpu()) {
    if (t.arch.empty()) t.arch = backends::host_cpu_name();
    t.simd_bits = backends::host_simd_bits();
  }
  tsrDeviceProperties props;
  if (t.nvptx() && device && device->type == TSR_DEVICE_CUDA &&
      tsrGetDeviceProperties(device->raw(), &props) == TSR_SUCCESS)
    t.sm_count = props.multiprocessor_count;
  return t;
}

Lowered lower(const std::string& text, const ir::Target& target, const Device* device) {
  Lowered out;
  out.module = ir::parse(text, "<graph>");
  if (out.module->funcs.empty()) fail(ErrorCode::Value, "the module has no function to compile");
  target.annotate(*out.module);       // passes read it back with ir::Target::of
  if (is_schedule_ir(*out.module)) {  // the autotuner's candidates: one scheduled kernel
    ir::run_pipeline(*out.module, "verify");
    out.text["graph"] = ir::print(*out.module);
  } else {
    // canonicalize again after fold-constants: folding makes constants (grad's ones) it simplifies
    ir::run_pipeline(*out.module, "verify,canonicalize,fold-constants,canonicalize,cse,dce");
    out.text["graph"] = ir::print(*out.module);
    ir::run_pipeline(*out.module,
                     "match-attention,dce,decompose,cse,dce,propagate-sharding,spmd-partition,cse,dce,fold-batch-sums,"
                     "dce,split-reductions,split-k,pack-matmul,"
                     "cse,sink-casts,dce");
    tune_knobs(*out.module, target, device);
    ir::run_pipeline(*out.module, "form-kernels,absorb-transposes,select-pack-kernels,verify");
    tune_kernel_knobs(*out.module, target, device);
  }
  out.text["schedule"] = ir::print(*out.module);
  ir::run_pipeline(*out.module, "lower-to-tile,verify");
  out.text["tile"] = ir::print(*out.module);
  return out;
}

namespace {

std::atomic<uint64_t> backend_compiles{0};

// The disk cache is skipped while TESSERA_DUMP_IR asks to see every pass run.
bool use_disk_cache() { return cache::enabled() && !std::getenv("TESSERA_DUMP_IR"); }

}  // namespace

uint64_t backend_compile_count() { return backend_compiles.load(); }

backends::CompiledKernels run_backend(const ir::Module& tile_module, const ir::Target& spec, bool assembly) {
  ++backend_compiles;
  profiler::Scope span("codegen", "LLVM codegen (" + spec.str() + ")");
  return backends::compile_kernels(tile_module, spec, assembly);
}

std::shared_ptr<Executable> Executable::create(const std::string& text, Device device, const ir::Target& target) {
  auto exe = std::shared_ptr<Executable>(new Executable());
  exe->source_ = text;
  exe->device_ = device;
  exe->kernels_.target = target;
  return exe;
}

std::string Executable::compile_source() {
  Lowered l = lower(source_, kernels_.target, &device_);
  kernels_ = run_backend(*l.module, kernels_.target);
  ir_text_ = std::move(l.text);
  ir_text_["llvm"] = kernels_.llvm_ir;  // empty for a program in parts: regenerated as one module when read
  ir_text_["asm"] = kernels_.assembly;
  load(*l.module);
  std::string hosts;  // every host function: the entry first, then those control flow calls
  for (const auto& fn : l.module->funcs)
    if (!fn->attrs.count("kernel")) hosts += ir::print(*fn, false);
  return encode_program({kernels_.kernel_names, kernels_.binary, hosts});
}

void Executable::load_cached(const std::string& record) {
  std::optional<CachedProgram> p = decode_program(record);
  if (!p) fail(ErrorCode::Internal, "malformed program record");
  kernels_.kernel_names = std::move(p->kernel_names);
  kernels_.binary = std::move(p->binary);
  auto hosts = ir::parse("module @host {\n" + p->host_function + "}\n", "<cached host functions>");
  load(*hosts);
  from_disk_cache_ = true;
}

std::string default_target(Device device) {
  if (device.type == TSR_DEVICE_CPU) return "cpu";
  tsrDeviceProperties props;
  check_status(tsrGetDeviceProperties(device.raw(), &props), "tsrGetDeviceProperties");
  // Hopper (9.0) compiles for sm_90a: the wgmma and setmaxnreg instructions need it.
  std::string sm = std::to_string(props.compute_capability_major) + std::to_string(props.compute_capability_minor);
  return "nvptx:sm_" + sm + (sm == "90" ? "a" : "");
}

std::map<std::string, std::string> compile_for_target(const std::string& text, const std::string& target) {
  return compile_texts(text, target, nullptr);
}

std::map<std::string, std::string> compile_texts(const std::string& text, const std::string& target,
                                                 const Device* device) {
  ir::Target spec = build_target(target, device);
  Lowered l = lower(text, spec, device);
  backends::CompiledKernels k = run_backend(*l.module, spec, /*assembly=*/true);
  l.text["llvm"] = k.llvm_ir;
  l.text["asm"] = k.assembly;
  l.text["binary"] = k.binary;
  return l.text;
}

std::shared_ptr<Executable> compile_uncached(const std::string& text, Device device, const ir::Target& target) {
  auto exe = Executable::create(text, device, target);
  exe->compile_source();
  return exe;
}

std::shared_ptr<Executable> compile(const std::string& text, Device device, const std::string& target) {
  std::string target_text = target.empty() ? default_target(device) : target;
  ir::Target spec = build_target(target_text, &device);
  bool cpu_target = spec.cpu();
  if (cpu_target != (device.type == TSR_DEVICE_CPU) || (!cpu_target && !spec.nvptx()))
    fail(ErrorCode::Device, "target " + spec.str() + " cannot run on device " + device.str());

  // The cache key is the structure alone: the same program from another line shares code.
  // Autotuning changes the knobs, so programs compiled with and without it differ.
  std::string structure = ir::print(*ir::parse(text, "<graph>"), false);
  if (autotune_enabled()) structure = "// autotuned\n" + structure;
  std::string key = spec.str() + "|" + device.str() + "|" + structure;
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<Executable>> cache;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }

  profiler::Scope span("compile", "compile for " + spec.str());
  bool disk = use_disk_cache();
  std::string disk_key;
  if (disk) {
    // the SM count shapes the code (persistent grids, tiles, K splits)
    disk_key = program_cache_key(structure, spec, spec.nvptx() ? "sms=" + std::to_string(spec.sm_count) : "");
  }
  std::shared_ptr<Executable> exe;
  if (disk)
    if (auto payload = cache::load(spec.kind_name(), disk_key)) {
      try {
        exe = Executable::create(text, device, spec);
        exe->load_cached(*payload);
      } catch (const std::exception& e) {  // a record that passed its checksum yet fails: compile instead
        log::write("cache", std::string("cannot use the cached ") + spec.kind_name() + " program (" + e.what() +
                                "); compiling it again");
        exe = nullptr;
      }
    }
  if (!exe) {
    exe = Executable::create(text, device, spec);
    std::string record = exe->compile_source();
    if (disk) cache::store(spec.kind_name(), disk_key, record);
  }
  std::lock_guard<std::mutex> lock(mutex);
  cache[key] = exe;
  return exe;
}

}  // namespace tessera::compiler
