// Random numbers inside kernels: `rand_like`, and `dropout` built on it.
//
// rand_like(x, seed, offset) is a primitive whose element i (row-major flat index in x's
// shape) is the uniform value the runtime's host generator gives element i + offset of
// `tessera.rand(..., seed=seed, dtype=x.dtype)`: Philox4x32-10 and the per-dtype mappings of
// runtime/random.hpp, rebuilt here from Tile IR integer ops. Only x's shape and dtype are used.
// seed and offset are rank-0 integer tensors read by the kernel at run time (the key schedule
// too), so a training step that changes its seed reuses the compiled program.
// The op needs its element's flat index, which a data-movement style `lower_at` receives as
// coordinates; so it is lowered through `lower_at` (no operand is read, no index tensor is
// materialised, and value_emitter.cpp is unchanged). Philox needs 32x32->64-bit products and
// shifts: 32-bit words are held in i64 (the product wraps mod 2^64 and keeps every bit), with
// arith.lshr/arith.shl (ops_tile.cpp) splitting the halves.
#include <array>
#include <cmath>
#include <cstdint>

#include "common/half.hpp"
#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // key schedule increments
constexpr int64_t kLow32 = 0xffffffffLL;

struct Philox {
  ValueAt& e;
  Builder& b;
  Value* k(int64_t v) { return e.i64(v); }
  Value* op(const char* name, Value* x, Value* y) { return b.arith(name, x, y); }  // no constant folding of bit ops
  Value* lo(Value* x) { return op("and", x, k(kLow32)); }
  Value* hi(Value* x) { return op("lshr", x, k(32)); }
  Value* pick(Value* j, int64_t n, Value* a, Value* other) {
    return b.value("arith.select", {b.cmp("eq", j, k(n)), a, other});
  }

  // The four 32-bit words (in i64) of block `c` (an i64 >= 0) under the 64-bit key `seed`.
  std::array<Value*, 4> block(Value* c, Value* seed) {
    std::array<Value*, 4> x{lo(c), hi(c), k(0), k(0)};
    Value *key0 = lo(seed), *key1 = hi(seed);
    for (int round = 0; round < 10; ++round) {
      if (round > 0) key0 = lo(op("add", key0, k(kW0))), key1 = lo(op("add", key1, k(kW1)));
      Value* p0 = op("mul", k(kM0), x[0]);
      Value* p1 = op("mul", k(kM1), x[2]);
      x = {op("xor", op("xor", hi(p1), x[1]), key0), lo(p1), op("xor", op("xor", hi(p0), x[3]), key1), lo(p0)};
    }
    return x;
  }

  // Element i's uniform value in the compute dtype of `dt` (runtime/random.hpp's mappings).
  Value* uniform(Value* i, Value* seed, DType dt) {
    if (dt == DType::F64) {
      auto x = block(op("lshr", i, k(1)), seed);
      Value* j = op("and", i, k(1));
      Value* bits = op("or", op("shl", pick(j, 0, x[0], x[2]), k(32)), pick(j, 0, x[1], x[3]));
      return b.arith("mul", b.cast(op("lshr", bits, k(11)), DType::F64), b.constant(DType::F64, 0x1p-53));
    }
    auto x = block(op("lshr", i, k(2)), seed);
    Value* j = op("and", i, k(3));
    Value* w = pick(j, 0, x[0], pick(j, 1, x[1], pick(j, 2, x[2], x[3])));
    int shift = dt == DType::F16 ? 21 : dt == DType::BF16 ? 24 : 8;  // 11, 8 or 24 bits: exact in the dtype
    return b.arith("mul", b.cast(op("lshr", w, k(shift)), DType::F32),
                   b.constant(DType::F32, std::ldexp(1.0, shift - 32)));
  }
};

// seed and offset: rank-0 integer tensors (any integer dtype; used as 64-bit words).
void check_counters(const std::string& name, const std::vector<Type>& in) {
  const char* what[] = {"", "seed", "offset"};
  for (size_t i = 1; i < in.size(); ++i) {
    require_tensor(name, in[i]);
    if (in[i].rank() != 0 || is_float(in[i].dtype) || in[i].dtype == DType::Bool)
      fail(ErrorCode::DType, name + ": " + what[i] + " must be a rank-0 integer tensor, got " + in[i].str());
  }
}

Value* counter(ValueAt& e, const Op& op, size_t i) {
  if (op.operands.size() <= i) return e.i64(0);
  return e.builder().cast(e.at(op.operands[i], {}), DType::I64);
}

OpInfo rand_like() {
  OpInfo info;
  info.name = "rand_like";
  info.cls = OpClass::ElementwiseUnary;
  info.min_operands = 2;
  info.max_operands = 3;
  info.operand_names = {"x", "seed", "offset"};
  info.summary =
      "Uniform [0, 1) values of x's shape and float dtype, generated inside the kernel: element i "
      "equals element i + offset of tessera.rand(n, seed=seed, dtype=x.dtype). seed and offset are "
      "rank-0 integer tensors (Python ints become ones) read at run time, so new seeds reuse the "
      "compiled program. x's values are not read. Not differentiable (zero gradient).";
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    require_tensor("rand_like", in[0]);
    if (!is_float(in[0].dtype)) fail(ErrorCode::DType, "rand_like: needs a floating-point tensor, got " + in[0].str());
    check_counters("rand_like", in);
    return std::vector<Type>{in[0]};
  };
  info.lower_at = [](ValueAt& e, const Op& op, const ValueAt::Coords& c) {
    Value* i = e.arith("add", e.flatten(c, op.result()->type.static_shape()), counter(e, op, 2));
    return Philox{e, e.builder()}.uniform(i, counter(e, op, 1), op.result()->type.dtype);
  };
  // A constant of x: no gradient flows to x, and no tangent comes out.
  info.vjp = [](Builder&, const Op&, Value*) { return std::vector<Value*>{nullptr, nullptr, nullptr}; };
  info.jvp = [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); };
  return info;
}

// p as stored in `dt`: the threshold the kernel compares with, whatever precision it
// computes in (so the mask is exactly `rand(..., dtype=dt) >= p` in that dtype).
double round_to(double v, DType dt) {
  if (dt == DType::F32) return double(float(v));
  if (dt == DType::F16) return double(half_bits_to_float(double_to_half_bits(v)));
  if (dt == DType::BF16) return double(bf16_bits_to_float(double_to_bf16_bits(v)));
  return v;
}

OpInfo dropout() {
  OpInfo info;
  info.name = "dropout";
  info.cls = OpClass::ElementwiseUnary;
  info.min_operands = 2;
  info.max_operands = 3;
  info.operand_names = {"x", "seed", "offset"};
  info.attrs = {{"p", "float", false, "probability of zeroing an element, in [0, 1]", "0.5"}};
  info.summary =
      "Training-mode dropout: keeps x where rand_like(x, seed, offset) >= p, scaled by 1/(1-p), and "
      "zeroes the rest. Reproducible: the same seed and offset give the same mask on every device; "
      "they are read at run time, so a new seed does not compile again.";
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("dropout", in[0]);
    if (!is_float(in[0].dtype)) fail(ErrorCode::DType, "dropout: needs a floating-point tensor, got " + in[0].str());
    check_counters("dropout", in);
    auto it = a.find("p");
    double p = it == a.end()                                 ? 0.5
               : std::holds_alternative<int64_t>(it->second) ? double(std::get<int64_t>(it->second))
                                                             : std::get<double>(it->second);
    if (!(p >= 0.0 && p <= 1.0)) fail(ErrorCode::Value, "dropout: p must be in [0, 1], got " + std::to_string(p));
    return std::vector<Type>{in[0]};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* x = op.operands[0];
    DType dt = x->type.dtype;
    double p = op.has_attr("p") ? number_attr(op, "p") : 0.5;
    std::vector<Value*> rand_operands(op.operands.begin(), op.operands.end());
    Value* u = b.value("rand_like", rand_operands);
    Value* keep = b.value("greater_equal", {u, b.graph_constant(dt, round_to(p, dt))});
    // p = 1 keeps nothing; scale 0 (not inf) keeps the gradient 0 rather than 0 * inf.
    Value* scaled = b.value("mul", {x, b.graph_constant(dt, p < 1.0 ? 1.0 / (1.0 - p) : 0.0)});
    return {b.value("where", {keep, scaled, b.graph_constant(dt, 0.0)})};
  };
  return info;
}

}  // namespace

void register_random_ops(std::vector<OpInfo>& out) {
  out.push_back(rand_like());
  out.push_back(dropout());
}

}  // namespace tessera::ir
