// Running a compiled program: the host function of the Tile IR module becomes a flat plan of
// buffer allocations and kernel launches over numbered slots.
#include <algorithm>
#include <cstdlib>
#include <map>

#include "backends/cpu/cpu_backend.hpp"
#include "compiler/compiler.hpp"
#include "compiler/log.hpp"

namespace tessera::compiler {

Executable::~Executable() {
  replay_.reset();  // the graph goes before the module of its kernels (in-flight replays finish)
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
    for (auto& [name, text] : compile_texts(source_, kernels_.target.str(), &device_))
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
    } else if (op->name == "rt.view") {  // the same buffer, another shape
      Step s;
      s.view_of = slot.at(op->operands[0]);
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
      if (op->attrs.count("shared")) s.config.shared_bytes = uint32_t(op->int_attr("shared"));
      if (op->attrs.count("tensor_maps")) s.tensor_maps = op->ints_attr("tensor_maps");
      if (s.has_work()) ++launches_;
      steps_.push_back(s);
    } else if (op->name == "rt.assert") {
      Step s;
      s.check_of = slot.at(op->operands[0]);
      s.message = op->str_attr("message");
      steps_.push_back(s);
    } else if (op->name == "return") {
      for (ir::Value* v : op->operands) output_slots_.push_back(slot.at(v));
    } else {
      fail(ErrorCode::Internal, "executor: unexpected host op '" + op->name + "'", op->loc.str());
    }
  }
}

// rt.launch tensor_maps: 11 numbers a map, [arg, elem_bytes, 3 dims, 2 byte strides, 3 box
// dims, swizzle bytes] (tile_matmul_mma.cpp). TMA needs a 16-byte aligned base: an argument
// that is not (an offset view) is copied to a fresh buffer first.
std::vector<Executable::TensorMap> Executable::encode_tensor_maps(const Step& s, std::vector<Array>& slots,
                                                                  void** ptrs) const {
  std::vector<TensorMap> maps(s.tensor_maps.size() / 11);
  for (size_t m = 0; m < maps.size(); ++m) {
    const int64_t* r = &s.tensor_maps[m * 11];
    size_t arg = size_t(r[0]);
    Array& a = slots[size_t(s.args[arg])];
    if (reinterpret_cast<uintptr_t>(ptrs[arg]) % 16) {
      Array copy = Array::empty(device_, a.dtype, a.shape);
      check_status(tsrMemcpy(copy.data(), device_.raw(), a.data(), device_.raw(), a.nbytes(), nullptr), "tsrMemcpy");
      a = copy;
      ptrs[arg] = a.data();
    }
    uint64_t dims[3] = {uint64_t(r[2]), uint64_t(r[3]), uint64_t(r[4])}, strides[2] = {uint64_t(r[5]), uint64_t(r[6])};
    uint32_t box[3] = {uint32_t(r[7]), uint32_t(r[8]), uint32_t(r[9])};
    check_status(tsrEncodeTensorMap(device_.raw(), maps[m].bytes, ptrs[arg], uint32_t(r[1]), 3, dims, strides, box,
                                    uint32_t(r[10])),
                 "tsrEncodeTensorMap");
  }
  return maps;
}

void Executable::fill_args(const Step& s, std::vector<Array>& slots, LaunchArgs& out) const {
  out.ptrs.resize(s.args.size());
  for (size_t i = 0; i < s.args.size(); ++i) out.ptrs[i] = slots[size_t(s.args[i])].data();
  out.maps.clear();
  if (!s.tensor_maps.empty()) out.maps = encode_tensor_maps(s, slots, out.ptrs.data());
  out.args.resize(s.args.size() + out.maps.size());
  for (size_t i = 0; i < s.args.size(); ++i) out.args[i] = &out.ptrs[i];
  for (size_t m = 0; m < out.maps.size(); ++m) out.args[s.args.size() + m] = out.maps[m].bytes;  // after the pointers
}

void Executable::launch_directly(std::vector<Array>& slots) const {
  thread_local LaunchArgs a;  // keeps its capacity: no allocation per call
  for (const Step& s : steps_) {
    if (!s.has_work()) continue;
    fill_args(s, slots, a);
    if (tsrLaunchKernel(s.kernel, &s.config, a.args.data(), nullptr) != TSR_SUCCESS)
      fail(ErrorCode::Runtime, "kernel " + s.kernel_name + " failed: " + std::string(tsrGetLastError()));
  }
}

void Executable::check_asserts(const std::vector<Array>& slots) const {
  for (const Step& s : steps_) {
    if (s.check_of < 0) continue;
    const Array& flag = slots[size_t(s.check_of)];
    uint8_t ok = 0;  // a copy to the host waits for the kernels before it
    check_status(tsrMemcpy(&ok, Device{}.raw(), flag.data(), device_.raw(), 1, nullptr), "tsrMemcpy");
    if (!ok) fail(ErrorCode::Value, s.message);
  }
}

Executable::Replay::~Replay() {
  if (graph) tsrGraphDestroy(graph);
}

// TESSERA_CUDA_GRAPHS=0 turns replay off (every kernel launched on its own).
static bool graphs_enabled() {
  const char* env = std::getenv("TESSERA_CUDA_GRAPHS");
  return !(env && std::string(env) == "0");
}

bool Executable::launch_as_graph(std::vector<Array>& slots) const {
  std::unique_lock<std::mutex> lock(replay_mutex_, std::try_to_lock);
  if (!lock.owns_lock() || replay_disabled_) return false;  // another thread replays it: launch directly
  LaunchArgs a;
  if (!replay_) {  // record: nothing has been launched yet, so a failure falls back to direct launches
    auto r = std::make_unique<Replay>();
    bool ok = tsrGraphCreate(device_.raw(), &r->graph) == TSR_SUCCESS;
    for (size_t i = 0; ok && i < steps_.size(); ++i) {
      const Step& s = steps_[i];
      if (!s.has_work()) continue;
      std::vector<void*> raw(s.args.size());
      for (size_t j = 0; j < s.args.size(); ++j) raw[j] = slots[size_t(s.args[j])].data();
      fill_args(s, slots, a);
      ok = tsrGraphAddKernel(r->graph, s.kernel, &s.config, a.args.data(), nullptr) == TSR_SUCCESS;
      r->node_ptrs.push_back(std::move(raw));
    }
    // The first launch instantiates the graph: if that fails, nothing ran, so launch directly.
    ok = ok && tsrGraphLaunch(r->graph, nullptr) == TSR_SUCCESS;
    if (!ok) {
      log::write("launch", "CUDA graph replay is off for this program: " + std::string(tsrGetLastError()));
      replay_disabled_ = true;
      return false;
    }
    replay_ = std::move(r);
    replays_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  {  // replay: only nodes whose buffers moved get new arguments
    size_t node = 0;
    for (const Step& s : steps_) {
      if (!s.has_work()) continue;
      std::vector<void*>& last = replay_->node_ptrs[node++];  // the buffers' pointers, before any copy
      bool same = true;
      for (size_t j = 0; j < s.args.size(); ++j) same = same && last[j] == slots[size_t(s.args[j])].data();
      for (size_t m = 0; m < s.tensor_maps.size(); m += 11)  // misaligned TMA operands are copied each run
        same = same && reinterpret_cast<uintptr_t>(last[size_t(s.tensor_maps[m])]) % 16 == 0;
      if (same) continue;
      std::vector<void*> raw(s.args.size());
      for (size_t j = 0; j < s.args.size(); ++j) raw[j] = slots[size_t(s.args[j])].data();
      try {
        fill_args(s, slots, a);
      } catch (...) {
        replay_.reset();  // nodes before this one were updated: record the graph again next time
        throw;
      }
      if (tsrGraphSetKernelArgs(replay_->graph, int32_t(node - 1), a.args.data()) != TSR_SUCCESS) {
        const std::string why = tsrGetLastError();
        replay_.reset();
        fail(ErrorCode::Runtime, "kernel " + s.kernel_name + ": updating its CUDA graph node failed: " + why);
      }
      last = std::move(raw);
    }
  }
  if (tsrGraphLaunch(replay_->graph, nullptr) != TSR_SUCCESS) {
    std::string names;
    for (const Step& s : steps_)
      if (s.launch) names += (names.empty() ? "" : ", ") + s.kernel_name;
    fail(ErrorCode::Runtime, "CUDA graph of kernels " + names + " failed: " + std::string(tsrGetLastError()));
  }
  replays_.fetch_add(1, std::memory_order_relaxed);
  return true;
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
  // The kernel that writes the buffer allocated by step `at`: the first later launch using it.
  auto writer_of = [&](size_t at) -> std::string {
    for (size_t j = at + 1; j < steps_.size(); ++j)
      if (steps_[j].launch && std::find(steps_[j].args.begin(), steps_[j].args.end(), steps_[at].slot) != steps_[j].args.end())
        return steps_[j].kernel_name;
    return "(none)";
  };
  const char* poison_env = std::getenv("TESSERA_POISON_OUTPUTS");
  bool poison = poison_env && *poison_env && std::string(poison_env) != "0";
  for (size_t si = 0; si < steps_.size(); ++si) {  // every buffer first, then the launches
    const Step& s = steps_[si];
    if (s.launch || s.check_of >= 0) continue;
    if (s.view_of >= 0) {
      Array v = slots[size_t(s.view_of)];
      v.shape = s.shape;
      v.strides = Array::contiguous_strides(s.shape);
      slots[size_t(s.slot)] = v;
      continue;
    }
    Array a;
    try {
      a = Array::empty(device_, s.type.dtype, s.shape);
    } catch (const Error& e) {  // out of memory: say which kernel's output did not fit
      fail(e.code(), "allocating the " + ir::Type::tensor(s.type.dtype, s.shape).str() + " output of kernel " +
                         writer_of(si) + ": " + e.message());
    }
    if (poison) check_status(tsrMemset(device_.raw(), a.data(), 0xFF, a.nbytes(), nullptr), "tsrMemset");
    slots[size_t(s.slot)] = a;
  }
  // The first run launches kernel by kernel (a failing launch names its kernel); later runs of
  // a multi-kernel CUDA program replay a graph.
  const bool replay = launches_ >= 2 && runs_.fetch_add(1, std::memory_order_relaxed) > 0 &&
                      device_.type == TSR_DEVICE_CUDA && graphs_enabled();
  if (!replay || !launch_as_graph(slots)) launch_directly(slots);
  check_asserts(slots);
  std::vector<Array> out;
  out.reserve(output_slots_.size());
  for (int slot : output_slots_) out.push_back(slots[size_t(slot)]);  // a slot may be returned twice: copy
  return out;
}

}  // namespace tessera::compiler
