// Control-flow steps of launch plans (control_flow.hpp): scan, while_loop and cond run the plans
// of the functions they call, threading buffers between them. Predicates are read back to the
// host (a device-to-host copy waits for the kernels before it).
#include "runtime/program.hpp"

namespace tessera {
namespace {

// Element t of an array along axis 0, as a view (no copy).
Array slice0(const Array& a, int64_t t) {
  Array v = a;
  v.shape.erase(v.shape.begin());
  v.strides.erase(v.strides.begin());
  v.offset_bytes += size_t(t * a.strides[0]) * dtype_size(a.dtype);
  return v;
}

bool read_bool(const Array& flag, Device device) {
  uint8_t v = 0;
  check_status(tsrMemcpy(&v, Device{}.raw(), flag.data(), device.raw(), 1, nullptr), "tsrMemcpy");
  return v != 0;
}

std::vector<Array> gather(const std::vector<Array>& slots, const std::vector<int>& at, size_t begin, size_t end) {
  std::vector<Array> out;
  for (size_t i = begin; i < end; ++i) out.push_back(slots[size_t(at[i])]);
  return out;
}

}  // namespace

void Program::run_control(const Step& s, std::vector<Array>& slots) const {
  std::vector<Array> out;
  const size_t a = size_t(s.n_carry), n = s.args.size();
  if (s.op == "cond") {
    const Plan& branch = plan_named(s.callees[read_bool(slots[size_t(s.args[0])], device_) ? 0 : 1]);
    out = run_plan(branch, gather(slots, s.args, 1, n), false);
  } else if (s.op == "while_loop") {
    const Plan &test = plan_named(s.callees[0]), &body = plan_named(s.callees[1]);
    std::vector<Array> carry = gather(slots, s.args, 0, a), consts = gather(slots, s.args, a, n);
    auto with_consts = [&](std::vector<Array> c) {
      c.insert(c.end(), consts.begin(), consts.end());
      return c;
    };
    while (read_bool(run_plan(test, with_consts(carry), false)[0], device_))
      carry = run_plan(body, with_consts(carry), false);
    out = carry;
  } else {  // scan
    const Plan& body = plan_named(s.callees[0]);
    const size_t b = size_t(s.n_xs);
    std::vector<Array> carry = gather(slots, s.args, 0, a), xs = gather(slots, s.args, a, a + b);
    std::vector<Array> consts = gather(slots, s.args, a + b, n);
    for (Array& x : xs) x = x.contiguous();
    std::vector<Array> ys;  // stacked outputs, [length, ...]
    for (size_t i = a; i < s.result_types.size(); ++i)
      ys.push_back(Array::empty(device_, s.result_types[i].dtype, s.result_types[i].shape));
    for (int64_t k = 0; k < s.length; ++k) {
      int64_t t = s.reverse ? s.length - 1 - k : k;
      std::vector<Array> in = carry;
      for (const Array& x : xs) in.push_back(slice0(x, t));
      in.insert(in.end(), consts.begin(), consts.end());
      std::vector<Array> r = run_plan(body, in, false);
      carry.assign(r.begin(), r.begin() + long(a));
      for (size_t j = 0; j < ys.size(); ++j) {
        Array dst = slice0(ys[j], t);
        check_status(tsrMemcpy(dst.data(), device_.raw(), r[a + j].data(), device_.raw(), r[a + j].nbytes(), nullptr),
                     "tsrMemcpy");
      }
    }
    out = carry;
    out.insert(out.end(), ys.begin(), ys.end());
  }
  for (size_t i = 0; i < s.results.size(); ++i) slots[size_t(s.results[i])] = out[i];
}

}  // namespace tessera
