// Running a compiled program: each host function of the Tile IR module becomes a plan of buffer
// allocations, kernel launches, checks and control-flow steps over numbered slots (plan.hpp);
// the entry plan runs, and control-flow steps run the others (executable_control.cpp).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <utility>

#include "backends/cpu/cpu_backend.hpp"
#include "common/parallel.hpp"
#include "common/profiler.hpp"
#include "compiler/collectives.hpp"
#include "compiler/compiler.hpp"
#include "compiler/log.hpp"
#include "ir/sharding.hpp"

namespace tessera::compiler {

Executable::~Executable() {
  replay_.reset();  // the graph goes before the module of its kernels (in-flight replays finish)
  for (tsrModule m : modules_)
    if (m) tsrModuleUnload(m);
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
  if (kernels_.target.cpu()) {
    backends::load_cpu_kernels(kernels_);
    std::vector<tsrHostKernelEntry> entries;
    for (size_t i = 0; i < names.size(); ++i) entries.push_back({names[i].c_str(), kernels_.host_functions[i]});
    tsrModule m = nullptr;
    check_status(tsrModuleLoadHost(entries.data(), int32_t(entries.size()), &m), "tsrModuleLoadHost");
    modules_.push_back(m);
    for (const std::string& n : names) kernel_modules_[n] = m;
    return;
  }
  if (names.empty()) return;
  // One module per compiled part; the driver compiles each part's PTX to machine code on its
  // own thread (the loads are independent).
  std::vector<backends::CodePart> parts = backends::decode_parts(kernels_.binary, names.size());
  modules_.assign(parts.size(), nullptr);
  std::vector<tsrStatus> status(parts.size(), TSR_SUCCESS);
  std::vector<std::string> errors(parts.size());
  auto load = [&](size_t i) {
    status[i] = tsrModuleLoadData(device_.raw(), parts[i].image.data(), parts[i].image.size(), &modules_[i]);
    if (status[i] != TSR_SUCCESS) errors[i] = tsrGetLastError();  // thread-local: read it here
  };
  run_in_parallel(parts.size(), load);
  for (size_t i = 0; i < parts.size(); ++i)
    if (status[i] != TSR_SUCCESS) {
      for (tsrModule& m : modules_)  // the executable is not built: nothing else unloads them
        if (m) tsrModuleUnload(std::exchange(m, nullptr));
      fail(status[i] == TSR_ERROR_DEVICE_UNAVAILABLE ? ErrorCode::Device : ErrorCode::Runtime,
           errors[i].empty() ? std::string("tsrModuleLoadData: ") + tsrStatusName(status[i]) : errors[i]);
    }
  size_t k = 0;
  for (size_t i = 0; i < parts.size(); ++i)
    for (size_t j = 0; j < parts[i].kernels; ++j) kernel_modules_[names[k++]] = modules_[i];
}

void Executable::build_plans(const ir::Module& tile_module) {
  for (const auto& fn : tile_module.funcs) {
    if (fn->attrs.count("kernel")) continue;
    Plan p = build_plan(*fn, kernel_modules_);
    std::string name = p.name;
    plans_.emplace(name, std::move(p));
    if (!main_) {
      main_ = &plans_.at(name);
      auto it = fn->attrs.find("out_shardings");
      if (it != fn->attrs.end()) out_shardings_ = ir::split_shardings(std::get<std::string>(it->second));
    }
  }
  if (!main_) fail(ErrorCode::Internal, "the Tile IR module has no host function");
}

const Plan& Executable::plan_named(const std::string& name) const {
  auto it = plans_.find(name);
  if (it == plans_.end()) fail(ErrorCode::Internal, "executor: no plan for function @" + name);
  return it->second;
}

// rt.launch tensor_maps: 11 numbers a map, [arg, elem_bytes, 3 dims, 2 byte strides, 3 box
// dims, swizzle bytes] (tilegen/matmul_mma.cpp). TMA needs a 16-byte aligned base: an argument
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

void Executable::launch(const Step& s, std::vector<Array>& slots) const {
  thread_local LaunchArgs a;  // keeps its capacity: no allocation per call
  fill_args(s, slots, a);
  if (profiler::active()) return launch_profiled(s, slots, a);
  if (tsrLaunchKernel(s.kernel, &s.config, a.args.data(), nullptr) != TSR_SUCCESS)
    fail(ErrorCode::Runtime, "kernel " + s.kernel_name + " failed: " + std::string(tsrGetLastError()));
}

// One kernel's span: its wall time on the CPU (launches there are synchronous), the time
// between two CUDA events around it on NVIDIA (waited for at once: profiling serializes).
void Executable::launch_profiled(const Step& s, std::vector<Array>& slots, LaunchArgs& a) const {
  profiler::Span span;
  span.name = s.kernel_name;
  span.category = "kernel";
  span.device = device_.str();
  for (int64_t slot : s.args) span.bytes += int64_t(slots[size_t(slot)].nbytes());
  span.flops = s.flops;
  tsrEvent ev[2] = {nullptr, nullptr};
  const bool cuda = device_.type == TSR_DEVICE_CUDA;
  if (cuda) {
    check_status(tsrEventCreate(device_.raw(), &ev[0]), "tsrEventCreate");
    check_status(tsrEventCreate(device_.raw(), &ev[1]), "tsrEventCreate");
    tsrEventRecord(ev[0], nullptr);
  }
  span.begin_ns = profiler::now_ns();
  tsrStatus st = tsrLaunchKernel(s.kernel, &s.config, a.args.data(), nullptr);
  span.dur_ns = profiler::now_ns() - span.begin_ns;
  if (cuda) {
    float ms = 0;
    if (st == TSR_SUCCESS && tsrEventRecord(ev[1], nullptr) == TSR_SUCCESS &&
        tsrEventSynchronize(ev[1]) == TSR_SUCCESS && tsrEventElapsedMs(ev[0], ev[1], &ms) == TSR_SUCCESS)
      span.dur_ns = int64_t(double(ms) * 1e6);
    tsrEventDestroy(ev[0]);
    tsrEventDestroy(ev[1]);
  }
  if (st != TSR_SUCCESS)
    fail(ErrorCode::Runtime, "kernel " + s.kernel_name + " failed: " + std::string(tsrGetLastError()));
  profiler::add(std::move(span));
}

namespace {

void default_print(const std::string& format, const std::vector<Array>& values) {
  std::string line = format;
  for (const Array& a : values) {
    size_t at = line.find("{}");
    if (at == std::string::npos) break;
    line.replace(at, 2, "<" + ir::Type::tensor(a.dtype, a.shape).str() + " on " + a.device().str() + ">");
  }
  std::fprintf(stderr, "%s\n", line.c_str());
}

std::mutex print_mutex;
PrintCallback print_callback = default_print;

}  // namespace

void set_print_callback(PrintCallback callback) {
  std::lock_guard<std::mutex> lock(print_mutex);
  print_callback = callback ? std::move(callback) : PrintCallback(default_print);
}

void Executable::check_asserts(const Plan& plan, const std::vector<Array>& slots) const {
  for (const Step& s : plan.steps) {
    if (s.kind != Step::Assert) continue;
    const Array& flag = slots[size_t(s.args[0])];
    uint8_t ok = 0;  // a copy to the host waits for the kernels before it
    check_status(tsrMemcpy(&ok, Device{}.raw(), flag.data(), device_.raw(), 1, nullptr), "tsrMemcpy");
    if (!ok) fail(ErrorCode::Value, s.message);
  }
  for (const Step& s : plan.steps) {
    if (s.kind != Step::Print) continue;
    std::vector<Array> values;
    for (int slot : s.args) values.push_back(slots[size_t(slot)]);
    PrintCallback print;
    {
      std::lock_guard<std::mutex> lock(print_mutex);
      print = print_callback;
    }
    print(s.message, values);
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
    for (size_t i = 0; ok && i < main_->steps.size(); ++i) {
      const Step& s = main_->steps[i];
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
    for (const Step& s : main_->steps) {
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
    for (const Step& s : main_->steps)
      if (s.kind == Step::Launch) names += (names.empty() ? "" : ", ") + s.kernel_name;
    fail(ErrorCode::Runtime, "CUDA graph of kernels " + names + " failed: " + std::string(tsrGetLastError()));
  }
  replays_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::vector<Array> Executable::run(const std::vector<Array>& inputs) const {
  const Plan& plan = *main_;
  if (inputs.size() != plan.input_types.size())
    fail(ErrorCode::Value,
         "expected " + std::to_string(plan.input_types.size()) + " inputs, got " + std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Array& a = inputs[i];
    const ir::Type& want = plan.input_types[i];
    if (a.dtype != want.dtype || a.shape != plan.input_shapes[i])
      fail(ErrorCode::Shape, "input " + std::to_string(i) + " is " + ir::Type::tensor(a.dtype, a.shape).str() +
                                 ", the compiled program expects " + want.str());
    if (a.device() != device_)
      fail(ErrorCode::Device, "input " + std::to_string(i) + " is on " + a.device().str() +
                                  ", the compiled program runs on " + device_.str());
  }
  profiler::Scope span("run", "program");
  return run_plan(plan, inputs, true);
}

// TESSERA_POISON_OUTPUTS=1 fills new buffers with 0xFF bytes (NaN for floats), so tests catch
// elements a kernel forgot to write.
static bool poison_outputs() {
  const char* env = std::getenv("TESSERA_POISON_OUTPUTS");
  return env && *env && std::string(env) != "0";
}

void Executable::make_buffer(const Plan& plan, size_t at, std::vector<Array>& slots, const Array& arena,
                             bool poison) const {
  const Step& s = plan.steps[at];
  if (s.kind == Step::View) {
    Array v = slots[size_t(s.view_of)];
    v.shape = s.shape;
    v.strides = Array::contiguous_strides(s.shape);
    slots[size_t(s.slot)] = v;
    return;
  }
  Array a;
  try {
    if (int64_t offset = plan.arena_offset[size_t(s.slot)]; offset >= 0 && arena.storage) {  // its bytes in the arena
      a = arena;
      a.offset_bytes = size_t(offset);
      a.dtype = s.type.dtype;
      a.shape = s.shape;
      a.strides = Array::contiguous_strides(s.shape);
    } else {
      a = Array::empty(device_, s.type.dtype, s.shape);
    }
  } catch (const Error& e) {        // out of memory: say which kernel's output did not fit
    std::string writer = "(none)";  // the kernel that writes it: the first later launch using it
    for (size_t j = at + 1; j < plan.steps.size(); ++j) {
      const Step& l = plan.steps[j];
      if (l.kind == Step::Launch && std::find(l.args.begin(), l.args.end(), s.slot) != l.args.end()) {
        writer = l.kernel_name;
        break;
      }
    }
    fail(e.code(), "allocating the " + ir::Type::tensor(s.type.dtype, s.shape).str() + " output of kernel " + writer +
                       ": " + e.message());
  }
  if (poison) check_status(tsrMemset(device_.raw(), a.data(), 0xFF, a.nbytes(), nullptr), "tsrMemset");
  slots[size_t(s.slot)] = a;
}

std::vector<Array> Executable::run_plan(const Plan& plan, std::vector<Array> inputs, bool top) const {
  std::vector<Array> slots(static_cast<size_t>(plan.num_slots));
  for (size_t i = 0; i < inputs.size(); ++i) slots[i] = inputs[i].is_contiguous() ? inputs[i] : inputs[i].contiguous();
  const bool poison = poison_outputs();
  // The intermediates' bytes (memory_plan.hpp), freed when the run ends. Poisoning gives each
  // buffer its own bytes: a buffer over a dead one's bytes would start with its values, not NaN.
  Array arena;
  if (plan.arena_bytes > 0 && !poison) {
    try {
      arena = Array::empty(device_, DType::U8, {plan.arena_bytes});
    } catch (const Error& e) {
      fail(e.code(), "allocating the " + std::to_string(plan.arena_bytes) + " bytes of " + plan.name +
                         "'s intermediate buffers: " + e.message());
    }
  }
  if (plan.has_control) {  // step by step: a control step's results are views' and kernels' inputs
    for (size_t i = 0; i < plan.steps.size(); ++i) {
      const Step& s = plan.steps[i];
      if (s.kind == Step::Alloc || s.kind == Step::View)
        make_buffer(plan, i, slots, arena, poison);
      else if (s.has_work())
        launch(s, slots);
      else if (s.kind == Step::Control)
        run_control(s, slots);
      else if (s.kind == Step::Collective)
        slots[size_t(s.results[0])] = run_collective(s, slots, device_);
    }
  } else {
    for (size_t i = 0; i < plan.steps.size(); ++i)  // every buffer first, then the launches
      if (plan.steps[i].kind == Step::Alloc || plan.steps[i].kind == Step::View)
        make_buffer(plan, i, slots, arena, poison);
    // The first run launches kernel by kernel (a failing launch names its kernel); later runs of
    // a multi-kernel CUDA program replay a graph.
    const bool replay = top && &plan == main_ && plan.launches >= 2 && !profiler::active() &&
                        runs_.fetch_add(1, std::memory_order_relaxed) > 0 && device_.type == TSR_DEVICE_CUDA &&
                        graphs_enabled();
    if (!replay || !launch_as_graph(slots))
      for (const Step& s : plan.steps)
        if (s.has_work()) launch(s, slots);
  }
  check_asserts(plan, slots);
  std::vector<Array> out;
  out.reserve(plan.output_slots.size());
  for (int slot : plan.output_slots) out.push_back(slots[size_t(slot)]);  // a slot may be returned twice: copy
  return out;
}

}  // namespace tessera::compiler
