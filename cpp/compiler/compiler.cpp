#include "compiler/compiler.hpp"

#include <mutex>

#include "ir/pass_manager.hpp"

TESSERA_DECLARE_PASS(form_kernels);
TESSERA_DECLARE_PASS(lower_to_tile);

namespace tessera::compiler {
namespace {

struct Lowered {
  std::unique_ptr<ir::Module> module;  // Tile IR
  std::map<std::string, std::string> text;
};

// Graph IR text -> Tile IR, keeping each level's text.
Lowered lower(const std::string& text, const backends::TargetSpec& target) {
  TESSERA_LINK_PASS(form_kernels);
  TESSERA_LINK_PASS(lower_to_tile);
  Lowered out;
  out.module = ir::parse(text, "<graph>");
  if (out.module->funcs.empty()) fail(ErrorCode::Value, "the module has no function to compile");
  out.module->attrs["target"] = target.kind;
  ir::run_pipeline(*out.module, "verify,canonicalize,fold-constants,cse,dce");
  out.text["graph"] = ir::print(*out.module);
  ir::run_pipeline(*out.module, "decompose,cse,dce,form-kernels,verify");
  out.text["schedule"] = ir::print(*out.module);
  ir::run_pipeline(*out.module, "lower-to-tile,verify");
  out.text["tile"] = ir::print(*out.module);
  return out;
}

}  // namespace

std::string default_target(Device device) {
  if (device.type == TSR_DEVICE_CPU) return "cpu";
  tsrDeviceProperties props;
  check_status(tsrGetDeviceProperties(device.raw(), &props), "tsrGetDeviceProperties");
  return "nvptx:sm_" + std::to_string(props.compute_capability_major) + std::to_string(props.compute_capability_minor);
}

std::map<std::string, std::string> compile_for_target(const std::string& text, const std::string& target) {
  backends::TargetSpec spec = backends::TargetSpec::parse(target);
  Lowered l = lower(text, spec);
  backends::CompiledKernels k = backends::compile_kernels(*l.module, spec);
  l.text["llvm"] = k.llvm_ir;
  l.text["asm"] = k.assembly;
  l.text["binary"] = k.binary;
  return l.text;
}

std::shared_ptr<Executable> compile(const std::string& text, Device device, const std::string& target) {
  std::string target_text = target.empty() ? default_target(device) : target;
  backends::TargetSpec spec = backends::TargetSpec::parse(target_text);
  bool cpu_target = spec.kind == "cpu";
  if (cpu_target != (device.type == TSR_DEVICE_CPU) || (!cpu_target && spec.kind != "nvptx"))
    fail(ErrorCode::Device, "target " + spec.str() + " cannot run on device " + device.str());

  // The cache key is the structure alone: the same program from another line shares code.
  std::string key = spec.str() + "|" + device.str() + "|" + ir::print(*ir::parse(text, "<graph>"), false);
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<Executable>> cache;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }

  Lowered l = lower(text, spec);
  auto exe = std::shared_ptr<Executable>(new Executable());
  exe->device_ = device;
  exe->kernels_ = backends::compile_kernels(*l.module, spec);
  exe->ir_text_ = std::move(l.text);
  exe->ir_text_["llvm"] = exe->kernels_.llvm_ir;
  exe->ir_text_["asm"] = exe->kernels_.assembly;

  const auto& names = exe->kernels_.kernel_names;
  if (cpu_target) {
    std::vector<tsrHostKernelEntry> entries;
    for (size_t i = 0; i < names.size(); ++i) entries.push_back({names[i].c_str(), exe->kernels_.host_functions[i]});
    check_status(tsrModuleLoadHost(entries.data(), int32_t(entries.size()), &exe->module_), "tsrModuleLoadHost");
  } else if (!names.empty()) {
    const std::string& image = exe->kernels_.binary;
    check_status(tsrModuleLoadData(device.raw(), image.data(), image.size(), &exe->module_), "tsrModuleLoadData");
  }
  for (const auto& fn : l.module->funcs)
    if (!fn->attrs.count("kernel")) {
      exe->build_plan(*fn);
      break;
    }
  std::lock_guard<std::mutex> lock(mutex);
  cache[key] = exe;
  return exe;
}

}  // namespace tessera::compiler
