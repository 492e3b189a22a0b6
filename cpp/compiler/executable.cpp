// Running a compiled program: the host function of the Tile IR module becomes a flat plan of
// buffer allocations and kernel launches over numbered slots.
#include <algorithm>
#include <cstdlib>
#include <map>

#include "backends/cpu/cpu_backend.hpp"
#include "compiler/compiler.hpp"

namespace tessera::compiler {

Executable::~Executable() {
  if (module_) tsrModuleUnload(module_);
}

std::string Executable::ir(const std::string& level) const {
  static const char* const known[] = {"graph", "schedule", "tile", "llvm", "asm"};
  if (std::find(std::begin(known), std::end(known), level) == std::end(known))
    fail(ErrorCode::Value, "unknown IR level '" + level + "' (known: graph, schedule, tile, llvm, asm)");
  std::lock_guard<std::mutex> lock(ir_mutex_);
  // Loaded from the disk cache, or CPU assembly (not made unless asked for): run the compiler
  // again for the texts, not for its code.
  // Only missing texts are filled in: the ones already given out stay as they were.
  if (ir_text_[level].empty())
    for (auto& [name, text] : compile_for_target(source_, kernels_.target.str()))
      if (name != "binary" && ir_text_[name].empty()) ir_text_[name] = std::move(text);
  return ir_text_.at(level);
}

void Executable::load_kernels() {
  const auto& names = kernels_.kernel_names;
  if (kernels_.target.kind == "cpu") {
    backends::load_cpu_kernels(kernels_);
    std::vector<tsrHostKernelEntry> entries;
    for (size_t i = 0; i < names.size(); ++i) entries.push_back({names[i].c_str(), kernels_.host_functions[i]});
    check_status(tsrModuleLoadHost(entries.data(), int32_t(entries.size()), &module_), "tsrModuleLoadHost");
  } else if (!names.empty()) {
    const std::string& image = kernels_.binary;
    check_status(tsrModuleLoadData(device_.raw(), image.data(), image.size(), &module_), "tsrModuleLoadData");
  }
}

void Executable::build_plan(const ir::Function& host) {
  std::map<const ir::Value*, int> slot;
  for (const auto& arg : host.body.args) {
    slot[arg.get()] = num_slots_++;
    input_types_.push_back(arg->type);
    input_shapes_.push_back(arg->type.static_shape());
  }
  for (const auto& op : host.body.ops) {
    if (op->name == "rt.alloc") {
      Step s;
      s.slot = slot[op->result()] = num_slots_++;
      s.type = op->result()->type;
      s.shape = s.type.static_shape();
      steps_.push_back(s);
    } else if (op->name == "rt.launch") {
      Step s;
      s.launch = true;
      s.kernel_name = op->str_attr("kernel");
      check_status(tsrModuleGetKernel(module_, s.kernel_name.c_str(), &s.kernel), "tsrModuleGetKernel");
      for (ir::Value* v : op->operands) s.args.push_back(slot.at(v));
      const auto& grid = op->ints_attr("grid");
      const auto& block = op->ints_attr("block");
      for (int i = 0; i < 3; ++i) {
        if (grid[size_t(i)] > int64_t(UINT32_MAX)) fail(ErrorCode::Compile, s.kernel_name + ": grid too large");
        s.config.grid[i] = uint32_t(grid[size_t(i)]);
        s.config.block[i] = uint32_t(block[size_t(i)]);
      }
      if (op->has_attr("shared")) s.config.shared_bytes = uint32_t(op->int_attr("shared"));  // dynamic shared memory
      steps_.push_back(s);
    } else if (op->name == "return") {
      for (ir::Value* v : op->operands) output_slots_.push_back(slot.at(v));
    } else {
      fail(ErrorCode::Internal, "executor: unexpected host op '" + op->name + "'", op->loc.str());
    }
  }
}

std::vector<Array> Executable::run(const std::vector<Array>& inputs) const {
  if (inputs.size() != input_types_.size())
    fail(ErrorCode::Value, "expected " + std::to_string(input_types_.size()) + " inputs, got " +
                               std::to_string(inputs.size()));
  std::vector<Array> slots(static_cast<size_t>(num_slots_));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Array& a = inputs[i];
    const ir::Type& want = input_types_[i];
    if (a.dtype != want.dtype || a.shape != input_shapes_[i])
      fail(ErrorCode::Shape, "input " + std::to_string(i) + " is " + ir::Type::tensor(a.dtype, a.shape).str() +
                                 ", the compiled program expects " + want.str());
    if (a.device() != device_)
      fail(ErrorCode::Device, "input " + std::to_string(i) + " is on " + a.device().str() +
                                  ", the compiled program runs on " + device_.str());
    slots[i] = a.is_contiguous() ? a : a.contiguous();
  }
  // TESSERA_POISON_OUTPUTS=1 fills new buffers with 0xFF bytes (NaN for floats), so tests
  // catch elements a kernel forgot to write.
  const char* poison_env = std::getenv("TESSERA_POISON_OUTPUTS");
  bool poison = poison_env && *poison_env && std::string(poison_env) != "0";
  for (const Step& s : steps_) {
    if (!s.launch) {
      Array a = Array::empty(device_, s.type.dtype, s.shape);
      if (poison) check_status(tsrMemset(device_.raw(), a.data(), 0xFF, a.nbytes(), nullptr), "tsrMemset");
      slots[size_t(s.slot)] = a;
      continue;
    }
    if (s.config.grid[0] == 0 || s.config.grid[1] == 0 || s.config.grid[2] == 0) continue;  // empty tensors
    // args[i] points at the i-th buffer pointer; kernels rarely take many, so no heap for few.
    constexpr size_t kInline = 16;
    void* ptrs_inline[kInline];
    void* args_inline[kInline];
    std::vector<void*> ptrs_heap, args_heap;
    void** ptrs = ptrs_inline;
    void** args = args_inline;
    if (s.args.size() > kInline) {
      ptrs_heap.resize(s.args.size());
      args_heap.resize(s.args.size());
      ptrs = ptrs_heap.data();
      args = args_heap.data();
    }
    for (size_t i = 0; i < s.args.size(); ++i) {
      ptrs[i] = slots[size_t(s.args[i])].data();
      args[i] = &ptrs[i];
    }
    tsrStatus st = tsrLaunchKernel(s.kernel, &s.config, args, nullptr);
    if (st != TSR_SUCCESS)
      fail(ErrorCode::Runtime, "kernel " + s.kernel_name + " failed: " + std::string(tsrGetLastError()));
  }
  std::vector<Array> out;
  out.reserve(output_slots_.size());
  for (int slot : output_slots_) out.push_back(slots[size_t(slot)]);  // a slot may be returned twice: copy
  return out;
}

}  // namespace tessera::compiler
