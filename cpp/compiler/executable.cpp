// Loading a compiled program: its kernels into runtime modules, each host function of the Tile
// IR module into a launch plan (plan.hpp), and both into the runtime's Program, which runs it.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <utility>

#include "backends/cpu/cpu_backend.hpp"
#include "common/log.hpp"
#include "common/parallel.hpp"
#include "common/profiler.hpp"
#include "compiler/compiler.hpp"
#include "compiler/plan.hpp"
#include "ir/sharding.hpp"

namespace tessera::compiler {

std::string Executable::ir(const std::string& level) const {
  static const char* const known[] = {"graph", "schedule", "tile", "llvm", "asm"};
  if (std::find(std::begin(known), std::end(known), level) == std::end(known))
    fail(ErrorCode::Value, "unknown IR level '" + level + "' (known: graph, schedule, tile, llvm, asm)");
  std::lock_guard<std::mutex> lock(ir_mutex_);
  // Loaded from the disk cache, or CPU assembly (not made unless asked for): run the compiler
  // again for the texts, not for its code.
  // Only missing texts are filled in: the ones already given out stay as they were.
  if (ir_text_[level].empty())
    for (auto& [name, text] : compile_texts(source_, kernels_.target.str(), &device_))
      if (name != "binary" && ir_text_[name].empty()) ir_text_[name] = std::move(text);
  return ir_text_.at(level);
}

namespace {

// The modules of compiled kernels: the CPU's one (JIT-linked), or one per compiled part on a GPU.
std::vector<tsrModule> load_modules(backends::CompiledKernels& kernels, Device device, KernelModules& by_name) {
  const auto& names = kernels.kernel_names;
  if (kernels.target.cpu()) {
    backends::load_cpu_kernels(kernels);
    std::vector<tsrHostKernelEntry> entries;
    for (size_t i = 0; i < names.size(); ++i) entries.push_back({names[i].c_str(), kernels.host_functions[i]});
    tsrModule m = nullptr;
    check_status(tsrModuleLoadHost(entries.data(), int32_t(entries.size()), &m), "tsrModuleLoadHost");
    for (const std::string& n : names) by_name[n] = m;
    return {m};
  }
  if (names.empty()) return {};
  // One module per compiled part; the driver compiles each part's PTX to machine code on its
  // own thread (the loads are independent).
  std::vector<backends::CodePart> parts = backends::decode_parts(kernels.binary, names.size());
  std::vector<tsrModule> modules(parts.size(), nullptr);
  std::vector<tsrStatus> status(parts.size(), TSR_SUCCESS);
  std::vector<std::string> errors(parts.size());
  auto load = [&](size_t i) {
    status[i] = tsrModuleLoadData(device.raw(), parts[i].image.data(), parts[i].image.size(), &modules[i]);
    if (status[i] != TSR_SUCCESS) errors[i] = tsrGetLastError();  // thread-local: read it here
  };
  run_in_parallel(parts.size(), load);
  for (size_t i = 0; i < parts.size(); ++i)
    if (status[i] != TSR_SUCCESS) {
      for (tsrModule m : modules)  // nothing else unloads them
        if (m) tsrModuleUnload(m);
      fail(status[i] == TSR_ERROR_DEVICE_UNAVAILABLE ? ErrorCode::Device : ErrorCode::Runtime,
           errors[i].empty() ? std::string("tsrModuleLoadData: ") + tsrStatusName(status[i]) : errors[i]);
    }
  size_t k = 0;
  for (size_t i = 0; i < parts.size(); ++i)
    for (size_t j = 0; j < parts[i].kernels; ++j) by_name[names[k++]] = modules[i];
  return modules;
}

}  // namespace

void Executable::load(const ir::Module& tile_module) {
  std::vector<Plan> plans = build_plans(tile_module);
  for (const auto& fn : tile_module.funcs) {
    if (fn->attrs.count("kernel")) continue;
    auto it = fn->attrs.find("out_shardings");  // the entry's
    if (it != fn->attrs.end()) out_shardings_ = ir::split_shardings(std::get<std::string>(it->second));
    break;
  }
  KernelModules by_name;
  std::vector<tsrModule> modules = load_modules(kernels_, device_, by_name);
  program_ = std::make_unique<Program>(device_, std::move(plans), std::move(modules), by_name);
}

}  // namespace tessera::compiler
