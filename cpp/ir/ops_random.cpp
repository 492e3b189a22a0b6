// Random numbers inside kernels: `rand_like`, and `dropout` built on it.
//
// rand_like(x, seed, offset) is a primitive whose element i (row-major flat index in x's
// shape) is the uniform value the runtime's host generator gives element i + offset of
// `tessera.rand(..., seed=seed, dtype=x.dtype)`: Philox4x32-10 and the per-dtype mappings of
// runtime/random.hpp, rebuilt here from Tile IR integer ops. Only x's shape and dtype are used.
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
  Value* pick(Value* j, int64_t n, Value* a, Value* other) { return b.value("arith.select", {b.cmp("eq", j, k(n)), a, other}); }

  // The four 32-bit words (in i64) of block `c` (an i64 >= 0) under `seed`.
  std::array<Value*, 4> block(Value* c, uint64_t seed) {
    std::array<Value*, 4> x{lo(c), hi(c), k(0), k(0)};
    uint32_t key0 = uint32_t(seed), key1 = uint32_t(seed >> 32);
    for (int round = 0; round < 10; ++round) {
      if (round > 0) key0 += kW0, key1 += kW1;  // the key schedule is known at compile time
      Value* p0 = op("mul", k(kM0), x[0]);
      Value* p1 = op("mul", k(kM1), x[2]);
      x = {op("xor", op("xor", hi(p1), x[1]), k(key0)), lo(p1), op("xor", op("xor", hi(p0), x[3]), k(key1)), lo(p0)};
    }
    return x;
  }

  // Element i's uniform value in the compute dtype of `dt` (runtime/random.hpp's mappings).
  Value* uniform(Value* i, uint64_t seed, DType dt) {
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
    return b.arith("mul", b.cast(op("lshr", w, k(shift)), DType::F32), b.constant(DType::F32, std::ldexp(1.0, shift - 32)));
  }
};

uint64_t seed_of(const Op& op) { return uint64_t(op.int_attr("seed")); }

OpInfo rand_like() {
  OpInfo info;
  info.name = "rand_like";
  info.cls = OpClass::ElementwiseUnary;
  info.min_operands = info.max_operands = 1;
  info.operand_names = {"x"};
  info.attrs = {{"seed", "int", true, "the Philox key (as tessera.rand's seed)"},
                {"offset", "int", false, "added to each element's flat index (skips that many values)", "0"}};
  info.summary = "Uniform [0, 1) values of x's shape and float dtype, generated inside the kernel: element i "
                 "equals element i + offset of tessera.rand(n, seed=seed, dtype=x.dtype). x's values are "
                 "not read. Not differentiable (zero gradient).";
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    require_tensor("rand_like", in[0]);
    if (!is_float(in[0].dtype)) fail(ErrorCode::DType, "rand_like: needs a floating-point tensor, got " + in[0].str());
    return std::vector<Type>{in[0]};
  };
  info.lower_at = [](ValueAt& e, const Op& op, const ValueAt::Coords& c) {
    Value* i = e.arith("add", e.flatten(c, op.result()->type.static_shape()), e.i64(op.int_attr("offset", 0)));
    return Philox{e, e.builder()}.uniform(i, seed_of(op), op.result()->type.dtype);
  };
  // A constant of x: no gradient flows to x, and no tangent comes out.
  info.vjp = [](Builder&, const Op&, Value*) { return std::vector<Value*>{nullptr}; };
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
  info.min_operands = info.max_operands = 1;
  info.operand_names = {"x"};
  info.attrs = {{"p", "float", true, "probability of zeroing an element, in [0, 1]"},
                {"seed", "int", true, "the random stream (see rand_like)"},
                {"offset", "int", false, "position in the stream (see rand_like)", "0"}};
  info.summary = "Training-mode dropout: keeps x where rand_like(x, seed, offset) >= p, scaled by 1/(1-p), and "
                 "zeroes the rest. Reproducible: the same seed and offset give the same mask on every device.";
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("dropout", in[0]);
    if (!is_float(in[0].dtype)) fail(ErrorCode::DType, "dropout: needs a floating-point tensor, got " + in[0].str());
    const Attr& pa = a.at("p");
    double p = std::holds_alternative<int64_t>(pa) ? double(std::get<int64_t>(pa)) : std::get<double>(pa);
    if (!(p >= 0.0 && p <= 1.0)) fail(ErrorCode::Value, "dropout: p must be in [0, 1], got " + std::to_string(p));
    return std::vector<Type>{in[0]};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* x = op.operands[0];
    DType dt = x->type.dtype;
    double p = number_attr(op, "p");
    Value* u = b.value("rand_like", {x}, {{"seed", op.int_attr("seed")}, {"offset", op.int_attr("offset", 0)}});
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
