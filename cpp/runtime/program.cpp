// Running launch plans (program.hpp): buffers, kernel launches, checks and CUDA graph replay.
#include "runtime/program.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "common/log.hpp"
#include "common/profiler.hpp"

namespace tessera {

std::string TensorType::str() const {
  std::string s = std::string(dtype_name(dtype)) + "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t TensorType::bytes() const {
  int64_t n = int64_t(dtype_size(dtype));
  for (int64_t d : shape) n = d > 0 && n > INT64_MAX / d ? INT64_MAX : n * d;
  return n;
}

Program::Program(Device device, std::vector<Plan> plans, std::vector<tsrModule> modules, const KernelModules& kernels,
                 std::shared_ptr<void> keep_alive)
    : device_(device), plans_(std::move(plans)), modules_(std::move(modules)), keep_alive_(std::move(keep_alive)) {
  try {
    if (plans_.empty()) fail(ErrorCode::Internal, "a program needs at least one plan");
    main_ = &plans_.front();
    for (Plan& p : plans_)
      for (Step& s : p.steps) {
        if (s.kind != Step::Launch) continue;
        auto module = kernels.find(s.kernel_name);
        if (module == kernels.end())
          fail(ErrorCode::Internal, "executor: kernel " + s.kernel_name + " was not compiled");
        check_status(tsrModuleGetKernel(module->second, s.kernel_name.c_str(), &s.kernel), "tsrModuleGetKernel");
      }
  } catch (...) {
    for (tsrModule m : modules_)  // the program is not built: nothing else unloads them
      if (m) tsrModuleUnload(m);
    throw;
  }
}

Program::~Program() {
  replay_.reset();  // the graph goes before the module of its kernels (in-flight replays finish)
  for (tsrModule m : modules_)
    if (m) tsrModuleUnload(m);
}

const Plan& Program::plan_named(const std::string& name) const {
  for (const Plan& p : plans_)
    if (p.name == name) return p;
  fail(ErrorCode::Internal, "executor: no plan for function @" + name);
}

// rt.launch tensor_maps: 11 numbers a map, [arg, elem_bytes, 3 dims, 2 byte strides, 3 box
// dims, swizzle bytes] (tilegen/matmul_mma.cpp). TMA needs a 16-byte aligned base: an argument
// that is not (an offset view) is copied to a fresh buffer first.
std::vector<Program::TensorMap> Program::encode_tensor_maps(const Step& s, std::vector<Array>& slots,
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

void Program::fill_args(const Step& s, std::vector<Array>& slots, LaunchArgs& out) const {
  out.ptrs.resize(s.args.size());
  for (size_t i = 0; i < s.args.size(); ++i) out.ptrs[i] = slots[size_t(s.args[i])].data();
  out.maps.clear();
  if (!s.tensor_maps.empty()) out.maps = encode_tensor_maps(s, slots, out.ptrs.data());
  out.args.resize(s.args.size() + out.maps.size());
  for (size_t i = 0; i < s.args.size(); ++i) out.args[i] = &out.ptrs[i];
  for (size_t m = 0; m < out.maps.size(); ++m) out.args[s.args.size() + m] = out.maps[m].bytes;  // after the pointers
}

void Program::launch(const Step& s, std::vector<Array>& slots) const {
  thread_local LaunchArgs a;  // keeps its capacity: no allocation per call
  fill_args(s, slots, a);
  if (profiler::active()) return launch_profiled(s, slots, a);
  if (tsrLaunchKernel(s.kernel, &s.config, a.args.data(), nullptr) != TSR_SUCCESS)
    fail(ErrorCode::Runtime, "kernel " + s.kernel_name + " failed: " + std::string(tsrGetLastError()));
}

// One kernel's span: its wall time on the CPU (launches there are synchronous), the time
// between two CUDA events around it on NVIDIA (waited for at once: profiling serializes).
void Program::launch_profiled(const Step& s, std::vector<Array>& slots, LaunchArgs& a) const {
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
    line.replace(at, 2, "<" + TensorType{a.dtype, a.shape}.str() + " on " + a.device().str() + ">");
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

void Program::check_asserts(const Plan& plan, const std::vector<Array>& slots) const {
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

Program::Replay::~Replay() {
  if (graph) tsrGraphDestroy(graph);
}

// TESSERA_CUDA_GRAPHS=0 turns replay off (every kernel launched on its own).
static bool graphs_enabled() {
  const char* env = std::getenv("TESSERA_CUDA_GRAPHS");
  return !(env && std::string(env) == "0");
}

bool Program::launch_as_graph(std::vector<Array>& slots) const {
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

std::vector<Array> Program::run(const std::vector<Array>& inputs) const {
  const Plan& plan = *main_;
  if (inputs.size() != plan.input_types.size())
    fail(ErrorCode::Value,
         "expected " + std::to_string(plan.input_types.size()) + " inputs, got " + std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Array& a = inputs[i];
    const TensorType& want = plan.input_types[i];
    if (a.dtype != want.dtype || a.shape != want.shape)
      fail(ErrorCode::Shape, "input " + std::to_string(i) + " is " + TensorType{a.dtype, a.shape}.str() +
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

void Program::make_buffer(const Plan& plan, size_t at, std::vector<Array>& slots, const Array& arena,
                          bool poison) const {
  const Step& s = plan.steps[at];
  if (s.kind == Step::View) {
    Array v = slots[size_t(s.view_of)];
    v.shape = s.type.shape;
    v.strides = Array::contiguous_strides(s.type.shape);
    slots[size_t(s.slot)] = v;
    return;
  }
  Array a;
  try {
    if (int64_t offset = plan.arena_offset[size_t(s.slot)]; offset >= 0 && arena.storage) {  // its bytes in the arena
      a = arena;
      a.offset_bytes = size_t(offset);
      a.dtype = s.type.dtype;
      a.shape = s.type.shape;
      a.strides = Array::contiguous_strides(s.type.shape);
    } else {
      a = Array::empty(device_, s.type.dtype, s.type.shape);
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
    fail(e.code(), "allocating the " + s.type.str() + " output of kernel " + writer + ": " + e.message());
  }
  if (poison) check_status(tsrMemset(device_.raw(), a.data(), 0xFF, a.nbytes(), nullptr), "tsrMemset");
  slots[size_t(s.slot)] = a;
}

std::vector<Array> Program::run_plan(const Plan& plan, std::vector<Array> inputs, bool top) const {
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

}  // namespace tessera
