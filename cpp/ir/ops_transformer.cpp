// Transformer building blocks (issue 18, Deliver 7), composites:
//   rope(x, positions)  rotary position embedding over the last dim of x [..., S, D]
#include <cmath>

#include "ir/composite.hpp"

namespace tessera::ir {
namespace {

using namespace composite;

Value* slice_last(Builder& b, Value* x, int64_t start, int64_t stop) {
  const int64_t r = x->type.rank();
  IntList lo(size_t(r), 0), hi(size_t(r), kWholeStop);
  lo.back() = start, hi.back() = stop;
  return b.value("slice", {x}, {{"start", lo}, {"stop", hi}});
}

// Rotates pairs (x1, x2) of the last dim by the angles: (x1 cos - x2 sin, x2 cos + x1 sin).
// Non-interleaved pairs are (i, i + D/2) (GPT-NeoX, LLaMA as in Hugging Face); interleaved ones
// (2i, 2i + 1) (GPT-J, the RoFormer paper).
OpInfo rope() {
  OpInfo info = make("rope", OpClass::ElementwiseUnary, {"x", "positions"},
                     {{"base", "float", false, "theta_i = base^(-2i/D)", "10000.0"},
                      {"interleaved", "bool", false, "pairs (2i, 2i+1) instead of (i, i + D/2)", "false"}},
                     "Rotary position embedding of x [..., S, D] (D even): pair i of position p turns by "
                     "p * base^(-2i/D). positions [S] or broadcasting to x's [..., S] (default 0..S-1). Computed "
                     "in f32 or wider.");
  info.min_operands = 1;
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    const Type& x = in[0];
    require_tensor("rope", x);
    require_float("rope", x);
    if (x.rank() < 2 || !x.shape.back().is_static() || x.shape.back().size % 2)
      fail(ErrorCode::Shape, "rope: x must be [..., S, D] with a static, even D, got " + x.str());
    if (in.size() > 1) {
      require_tensor("rope", in[1]);
      if (in[1].rank() < 1 || in[1].shape.back() != x.shape[x.shape.size() - 2])
        fail(ErrorCode::Shape, "rope: positions " + in[1].str() + " must end in x's S dim (" + x.str() + ")");
      broadcast_shapes("rope", Type::tensor(x.dtype, std::vector<Dim>(x.shape.begin(), x.shape.end() - 1)), in[1]);
    }
    return std::vector<Type>{x};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* x = widen(b, op.operands[0]);
    const DType dt = x->type.dtype;
    const int64_t r = x->type.rank(), d = x->type.shape.back().size, half = d / 2;
    const Dim s = x->type.shape[size_t(r - 2)];
    Value* pos = op.operands.size() > 1
                     ? cast_to(b, op.operands[1], dt)
                     : b.value("iota", {}, {{"type", Type::tensor(dt, std::vector<Dim>{s})}, {"axis", int64_t(0)}});
    double base = op.has_attr("base") ? number_attr(op, "base") : 10000.0;
    Value* i = b.value("iota", {}, {{"type", Type::tensor(dt, std::vector<int64_t>{half})}, {"axis", int64_t(0)}});
    Value* inv_freq = op1(b, "exp", op2(b, "mul", i, b.graph_constant(dt, -2.0 * std::log(base) / double(d))));
    Value* angles = op2(b, "mul", b.value("expand_dims", {pos}, {{"axis", int64_t(-1)}}), inv_freq);  // [..., S, D/2]
    Value *c = op1(b, "cos", angles), *sn = op1(b, "sin", angles);
    const bool inter = op.bool_attr("interleaved", false);
    Value *x1, *x2;
    if (inter) {  // [..., S, D/2, 2]: even and odd elements
      std::vector<Dim> pairs(x->type.shape.begin(), x->type.shape.end() - 1);
      pairs.push_back(Dim::of(half));
      pairs.push_back(Dim::of(2));
      Value* xp = reshape_to(b, x, Type::tensor(dt, pairs));
      x1 = b.value("squeeze", {slice_last(b, xp, 0, 1)}, {{"axes", IntList{r}}});
      x2 = b.value("squeeze", {slice_last(b, xp, 1, 2)}, {{"axes", IntList{r}}});
    } else {
      x1 = slice_last(b, x, 0, half);
      x2 = slice_last(b, x, half, d);
    }
    Value* y1 = op2(b, "sub", op2(b, "mul", x1, c), op2(b, "mul", x2, sn));
    Value* y2 = op2(b, "add", op2(b, "mul", x2, c), op2(b, "mul", x1, sn));
    Value* y = inter ? reshape_to(b, b.value("stack", {y1, y2}, {{"axis", int64_t(-1)}}), x->type)
                     : b.value("concat", {y1, y2}, {{"axis", int64_t(-1)}});
    return {cast_to(b, y, op.result()->type.dtype)};
  };
  return info;
}

}  // namespace

void register_transformer_ops(std::vector<OpInfo>& out) { out.push_back(rope()); }

}  // namespace tessera::ir
