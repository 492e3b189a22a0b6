// Knob tuning by measurement: see autotune.hpp.
#include "compiler/autotune.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

#include "backends/cpu/cpu_backend.hpp"
#include "common/log.hpp"
#include "compiler/autotune_cache.hpp"
#include "compiler/compiler.hpp"
#include "ir/builder.hpp"

namespace tessera::compiler {
namespace {

using Clock = std::chrono::steady_clock;

thread_local bool t_measuring = false;  // compiling a candidate: keep its knobs as written
std::atomic<uint64_t> measurements{0};

struct Blocks {
  int64_t mc, nc, kc;
  bool operator<(const Blocks& o) const { return std::tie(mc, nc, kc) < std::tie(o.mc, o.nc, o.kc); }
};

double budget_seconds() {
  const char* env = std::getenv("TESSERA_AUTOTUNE_BUDGET_MS");
  double ms = env && *env ? std::atof(env) : 3000.0;
  return std::max(ms, 0.0) / 1e3;
}

// What the measurement depends on: the op's operand types and sizes, and where it runs.
std::string cache_key(const ir::Op& op, const ir::Target& target) {
  std::string key = "packed_matmul|" + op.operands[0]->type.str() + "|" + op.operands[1]->type.str() +
                    "|m=" + std::to_string(op.int_attr("m")) + "|n=" + std::to_string(op.int_attr("n")) + "|" +
                    target.str();
  if (target.cpu()) key += "|" + backends::host_cpu_description();
  return key;
}

std::string encode(const Blocks& b) {
  return std::to_string(b.mc) + " " + std::to_string(b.nc) + " " + std::to_string(b.kc);
}

bool decode(const std::string& text, Blocks& b) {
  std::istringstream in(text);
  return bool(in >> b.mc >> b.nc >> b.kc) && b.mc > 0 && b.nc > 0 && b.kc > 0 && b.mc <= 65536 && b.nc <= 65536 &&
         b.mc * b.nc <= 65536;
}

void apply(ir::Op& op, const Blocks& b) {
  op.attrs["mc"] = b.mc;
  op.attrs["nc"] = b.nc;
  op.attrs["kc"] = b.kc;
}

// A module holding only `op` with knobs `b`, its packed operands as parameters.
std::string candidate_module(const ir::Op& op, const Blocks& b) {
  ir::Module m;
  ir::Function* fn = m.add_function("tune");
  ir::Value* a = fn->body.add_arg(op.operands[0]->type, "a");
  ir::Value* bp = fn->body.add_arg(op.operands[1]->type, "b");
  ir::Builder builder(&fn->body);
  ir::AttrMap attrs = op.attrs;
  attrs["mc"] = b.mc, attrs["nc"] = b.nc, attrs["kc"] = b.kc;
  ir::Value* c = builder.value(op.name, {a, bp}, attrs);
  fn->result_types = {c->type};
  builder.create_typed("return", {c}, {});
  return ir::print(m, false);
}

// Median seconds of a few runs of `exe` (after one warm-up run).
double time_runs(const Executable& exe, const std::vector<Array>& inputs, Device device) {
  std::vector<double> times;
  for (int i = 0; i < 4; ++i) {
    auto t0 = Clock::now();
    exe.run(inputs);
    if (device.type != TSR_DEVICE_CPU) check_status(tsrDeviceSynchronize(device.raw()), "tsrDeviceSynchronize");
    double t = std::chrono::duration<double>(Clock::now() - t0).count();
    if (i > 0) times.push_back(t);
    if (t > 0.2 && i > 0) break;  // slow candidates: one timed run, so the budget holds roughly
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Candidate values of each knob around what fits the problem (multiples of the panel widths).
std::vector<Blocks> neighbours(const Blocks& at, int knob, int64_t mr, int64_t nr, int64_t M, int64_t N, int64_t K) {
  std::vector<Blocks> out;
  auto round_up = [](int64_t v, int64_t q) { return (v + q - 1) / q * q; };
  std::vector<int64_t> values;
  if (knob == 0) values = {64, 128, 192, 256, 384, 512};
  if (knob == 1) values = {mr * 4, mr * 8, mr * 16, mr * 24, mr * 32};
  if (knob == 2) values = {nr * 4, nr * 8, nr * 16, nr * 32, nr * 64};
  for (int64_t v : values) {
    Blocks b = at;
    if (knob == 0) b.kc = std::min(v, K);
    if (knob == 1) b.mc = std::min(v, round_up(M, mr));
    if (knob == 2) b.nc = std::min(v, round_up(N, nr));
    if (b.mc * b.nc <= 65536) out.push_back(b);  // sched.packed_matmul's limit (stack block of C)
  }
  return out;
}

Blocks search(const ir::Op& op, const ir::Target& target, Device device) {
  const auto& pa = op.operands[0]->type.shape;
  const auto& pb = op.operands[1]->type.shape;
  int64_t mr = pa.back().size, nr = pb.back().size, K = pa[pa.size() - 2].size;
  int64_t M = op.int_attr("m"), N = op.int_attr("n");
  std::vector<Array> inputs;
  for (ir::Value* v : op.operands) {
    Array x = Array::empty(device, v->type.dtype, v->type.static_shape());
    // 0x3F bytes: ordinary numbers (about 0.75 in f32), never denormals or NaN, which would
    // time differently.
    check_status(tsrMemset(device.raw(), x.data(), 0x3F, x.nbytes(), nullptr), "tsrMemset");
    inputs.push_back(x);
  }
  Blocks best{op.int_attr("mc"), op.int_attr("nc"), op.int_attr("kc")};
  double best_time = 1e300;
  std::set<Blocks> seen;
  auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(budget_seconds()));
  auto measure = [&](const Blocks& b) {
    if (!seen.insert(b).second || Clock::now() > deadline) return;
    auto exe = compile_uncached(candidate_module(op, b), device, target);
    double t = time_runs(*exe, inputs, device);
    ++measurements;
    log::write("autotune", "packed_matmul m=" + std::to_string(M) + " n=" + std::to_string(N) +
                               " k=" + std::to_string(K) + ": mc nc kc = " + encode(b) + ": " +
                               std::to_string(t * 1e3) + " ms");
    if (t < best_time) best_time = t, best = b;
  };
  measure(best);
  for (int round = 0; round < 2; ++round)
    for (int knob = 0; knob < 3; ++knob) {
      Blocks at = best;
      for (const Blocks& b : neighbours(at, knob, mr, nr, M, N, K)) measure(b);
    }
  return best;
}

// ---- lane counts of CPU element-wise and row-wise kernels ----

// A cached lane count: digits only, in sched.kernel's range; anything else is a miss.
bool valid_lanes(const std::string& text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos) return false;
  int64_t v = std::stoll(text);
  return v >= 1 && v <= 65536;
}

bool tunable_kernel(const ir::Op& op, const ir::Target& target) {
  if (op.name != "sched.kernel") return false;
  const std::string& kind = op.str_attr("kind");
  if (kind != "elementwise" && kind != "rowwise") return false;
  if (op.has_attr("rows")) return false;  // row mode: whole rows per instance, `lanes` unused
  return target.cpu() || (target.nvptx() && op.has_attr("vector"));
}

// Where a measurement holds: the CPU model, or the GPU model, compute capability, SM count and
// driver version (a new driver may compile PTX differently).
std::string device_description(const ir::Target& target, const Device& device) {
  if (target.cpu()) return backends::host_cpu_description();
  tsrDeviceProperties p{};
  check_status(tsrGetDeviceProperties(device.raw(), &p), "tsrGetDeviceProperties");
  return std::string(p.name, strnlen(p.name, sizeof p.name)) + " cc " + std::to_string(p.compute_capability_major) +
         "." + std::to_string(p.compute_capability_minor) + " sms " + std::to_string(p.multiprocessor_count) +
         " driver " + std::to_string(p.driver_version);
}

// NVIDIA knobs of a memory-bound kernel: threads per block and lanes (threads * vector *
// chunks per thread), cached as "threads lanes".
struct GpuKnobs {
  int64_t threads, lanes;
  bool operator<(const GpuKnobs& o) const { return std::tie(threads, lanes) < std::tie(o.threads, o.lanes); }
};

bool decode(const std::string& text, int64_t vec, GpuKnobs& k) {
  std::istringstream in(text);
  std::string rest;
  if (!(in >> k.threads >> k.lanes) || (in >> rest)) return false;
  return k.threads >= 1 && k.threads <= 1024 && (k.threads & (k.threads - 1)) == 0 && k.lanes >= 1 &&
         k.lanes <= 65536 && k.lanes % (k.threads * vec) == 0;
}

// Row-wise: the row's lanes are fixed (one tile per row), the threads sharing them vary.
// Element-wise: 1, 2 or 4 vector chunks per thread, 128 to 1024 threads.
std::vector<GpuKnobs> gpu_candidates(const ir::Op& kernel) {
  int64_t vec = kernel.int_attr("vector"), lanes = kernel.int_attr("lanes");
  std::vector<GpuKnobs> out = {{kernel.int_attr("threads"), lanes}};
  if (kernel.str_attr("kind") == "rowwise") {
    for (int64_t t = 32; t <= 1024 && t * vec <= lanes; t *= 2) out.push_back({t, lanes});
  } else {
    for (int64_t t : {128, 256, 512, 1024})
      for (int64_t chunks : {1, 2, 4}) out.push_back({t, t * vec * chunks});
  }
  return out;
}

// A copy of `m` whose function holds only its `index`-th op (a sched.kernel), with the
// kernel's operands as parameters and its results returned.
std::unique_ptr<ir::Module> lone_kernel(const ir::Module& m, const ir::Function& fn, size_t index) {
  std::unique_ptr<ir::Module> copy = m.clone();
  copy->funcs.erase(
      std::remove_if(copy->funcs.begin(), copy->funcs.end(), [&](const auto& f) { return f->name != fn.name; }),
      copy->funcs.end());
  ir::Function& f = *copy->funcs.front();
  ir::Op* kernel = std::next(f.body.ops.begin(), long(index))->get();
  size_t old_args = f.body.args.size();
  for (ir::Value*& v : kernel->operands) v = f.body.add_arg(v->type);
  f.body.ops.remove_if([&](const auto& o) { return o.get() != kernel; });
  f.body.args.erase(f.body.args.begin(), f.body.args.begin() + long(old_args));
  for (size_t i = 0; i < f.body.args.size(); ++i) f.body.args[i]->index = int(i);
  std::vector<ir::Value*> results;
  f.result_types.clear();
  for (auto& r : kernel->results) results.push_back(r.get()), f.result_types.push_back(r->type);
  f.body.append(ir::Op::make("return", results, {}, {}, kernel->loc));
  return copy;
}

ir::Op& only_kernel(ir::Module& m) { return *m.funcs.front()->body.ops.front(); }

std::vector<Array> filled_inputs(const ir::Module& lone, Device device) {
  std::vector<Array> inputs;
  for (const auto& arg : lone.funcs.front()->body.args) {
    Array x = Array::empty(device, arg->type.dtype, arg->type.static_shape());
    check_status(tsrMemset(device.raw(), x.data(), 0x3F, x.nbytes(), nullptr), "tsrMemset");  // see search()
    inputs.push_back(x);
  }
  return inputs;
}

GpuKnobs search_gpu(ir::Module& lone, const ir::Target& target, Device device) {
  ir::Op& kernel = only_kernel(lone);
  std::vector<Array> inputs = filled_inputs(lone, device);
  GpuKnobs best{kernel.int_attr("threads"), kernel.int_attr("lanes")};
  double best_time = 1e300;
  std::set<GpuKnobs> seen;
  auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(budget_seconds()));
  for (const GpuKnobs& k : gpu_candidates(kernel)) {
    if (!seen.insert(k).second || Clock::now() > deadline) continue;
    kernel.attrs["threads"] = k.threads;
    kernel.attrs["lanes"] = k.lanes;
    auto exe = compile_uncached(ir::print(lone, false), device, target);
    double t = time_runs(*exe, inputs, device);
    ++measurements;
    log::write("autotune", kernel.str_attr("kind") + " kernel: threads " + std::to_string(k.threads) + " lanes " +
                               std::to_string(k.lanes) + ": " + std::to_string(t * 1e3) + " ms");
    if (t < best_time) best_time = t, best = k;
  }
  return best;
}

int64_t search_lanes(ir::Module& lone, const ir::Target& target, Device device) {
  ir::Op& kernel = only_kernel(lone);
  std::vector<Array> inputs = filled_inputs(lone, device);
  int64_t best = kernel.int_attr("lanes");
  double best_time = 1e300;
  std::set<int64_t> seen;
  auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(budget_seconds()));
  for (int64_t lanes : {best, int64_t(256), int64_t(512), int64_t(1024), int64_t(2048), int64_t(4096), int64_t(8192)}) {
    if (!seen.insert(lanes).second || Clock::now() > deadline) continue;
    kernel.attrs["lanes"] = lanes;
    auto exe = compile_uncached(ir::print(lone, false), device, target);
    double t = time_runs(*exe, inputs, device);
    ++measurements;
    log::write("autotune", kernel.str_attr("kind") + " kernel: lanes " + std::to_string(lanes) + ": " +
                               std::to_string(t * 1e3) + " ms");
    if (t < best_time) best_time = t, best = lanes;
  }
  return best;
}

}  // namespace

bool autotune_enabled() {
  const char* env = std::getenv("TESSERA_AUTOTUNE");
  return env && *env && std::string(env) != "0";
}

uint64_t autotune_measurements() { return measurements.load(); }

void tune_knobs(ir::Module& m, const ir::Target& target, const Device* device) {
  if (t_measuring || !autotune_enabled()) return;
  for (auto& fn : m.funcs)
    for (auto& op : fn->body.ops) {
      if (op->name != "sched.packed_matmul") continue;
      std::string key = cache_key(*op, target);
      Blocks b;
      if (auto hit = autotune::lookup(key); hit && decode(*hit, b)) {
        apply(*op, b);
        continue;
      }
      if (!device) continue;
      t_measuring = true;
      try {
        b = search(*op, target, *device);
      } catch (...) {
        t_measuring = false;
        throw;
      }
      t_measuring = false;
      autotune::store(key, encode(b));
      log::write("autotune", "packed_matmul: chose mc nc kc = " + encode(b));
      apply(*op, b);
    }
}

bool is_schedule_ir(const ir::Module& m) {
  for (const auto& fn : m.funcs)
    for (const auto& op : fn->body.ops)
      if (op->name == "sched.kernel") return true;
  return false;
}

// Runs `search` with t_measuring set, so the candidates' own compiles keep their knobs.
template <class F>
auto measuring(F search) {
  t_measuring = true;
  try {
    auto r = search();
    t_measuring = false;
    return r;
  } catch (...) {
    t_measuring = false;
    throw;
  }
}

void tune_kernel_knobs(ir::Module& m, const ir::Target& target, const Device* device) {
  if (t_measuring || !autotune_enabled()) return;
  bool gpu = target.gpu();
  if (gpu && !device) return;  // the GPU model is part of the key: without a device nothing applies
  std::string where;
  for (auto& fn : m.funcs) {
    size_t index = 0;
    for (auto& op : fn->body.ops) {
      size_t at = index++;
      if (!tunable_kernel(*op, target)) continue;
      if (where.empty()) where = device ? device_description(target, *device) : backends::host_cpu_description();
      std::unique_ptr<ir::Module> lone = lone_kernel(m, *fn, at);
      ir::Op& kernel = only_kernel(*lone);
      // The key is the kernel without its tunable knobs.
      ir::AttrMap heuristic = kernel.attrs;
      for (const char* knob : {"lanes", "threads", "why_split"}) kernel.attrs.erase(knob);
      std::string key =
          std::string(gpu ? "gpu_kernel|" : "kernel|") + target.str() + "|" + where + "\n" + ir::print(*lone, false);
      kernel.attrs = heuristic;
      kernel.attrs.erase("why_split");
      if (gpu) {
        GpuKnobs k;
        auto hit = autotune::lookup(key);
        if (!hit || !decode(*hit, kernel.int_attr("vector"), k)) {
          k = measuring([&] { return search_gpu(*lone, target, *device); });
          autotune::store(key, std::to_string(k.threads) + " " + std::to_string(k.lanes));
          log::write("autotune", op->str_attr("kind") + " kernel: chose threads " + std::to_string(k.threads) +
                                     " lanes " + std::to_string(k.lanes));
        }
        op->attrs["threads"] = k.threads;
        op->attrs["lanes"] = k.lanes;
        continue;
      }
      if (auto hit = autotune::lookup(key); hit && valid_lanes(*hit)) {
        op->attrs["lanes"] = std::stoll(*hit);
        continue;
      }
      if (!device) continue;
      int64_t lanes = measuring([&] { return search_lanes(*lone, target, *device); });
      autotune::store(key, std::to_string(lanes));
      log::write("autotune", op->str_attr("kind") + " kernel: chose lanes " + std::to_string(lanes));
      op->attrs["lanes"] = lanes;
    }
  }
}

}  // namespace tessera::compiler
