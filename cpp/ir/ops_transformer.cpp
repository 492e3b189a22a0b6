// Transformer building blocks (issue 18, Deliver 7), composites:
//   rope(x, positions)        rotary position embedding over the last dim of x [..., S, D]
//   qkv_projection(x, weight) one fused projection to queries, keys and values, split into
//                             heads: one op per part (q, k, v), the product shared through CSE
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

// x [..., S, D] @ weight [D, (H + 2 KV) * hd] -> the `part` slice of columns (q: H heads, then
// k, v: KV heads each), as [..., heads, S, hd]: the layout attention takes.
OpInfo qkv_projection() {
  OpInfo info = make("qkv_projection", OpClass::Contraction, {"x", "weight"},
                     {{"heads", "int", true, "H, the query heads"},
                      {"kv_heads", "int", true, "KV, the key/value heads (H for multi-head attention)"},
                      {"part", "str", true, "\"q\", \"k\" or \"v\""}},
                     "One part of a fused query/key/value projection: x [..., S, D] @ weight [D, (H + 2 KV) * hd] "
                     "(columns: the H query heads, then the KV key heads, then the KV value heads), split into "
                     "heads as [..., H or KV, S, hd]. The three parts of one x and weight share one GEMM.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("qkv_projection", in[0]);
    require_tensor("qkv_projection", in[1]);
    int64_t h = std::get<int64_t>(a.at("heads")), kv = std::get<int64_t>(a.at("kv_heads"));
    std::string part = std::get<std::string>(a.at("part"));
    if (part != "q" && part != "k" && part != "v")
      fail(ErrorCode::Value, "qkv_projection: part must be \"q\", \"k\" or \"v\", got \"" + part + "\"");
    if (h < 1 || kv < 1 || h % kv)
      fail(ErrorCode::Value, "qkv_projection: heads (" + std::to_string(h) +
                                 ") must be a positive multiple of kv_heads (" + std::to_string(kv) + ")");
    const Type &x = in[0], &w = in[1];
    if (x.rank() < 2 || w.rank() != 2 || !w.has_static_shape() || !x.shape.back().is_static() ||
        !x.shape[x.shape.size() - 2].is_static() || x.shape.back() != w.shape[0] || w.shape[1].size % (h + 2 * kv))
      fail(ErrorCode::Shape, "qkv_projection: x " + x.str() + " and weight " + w.str() +
                                 " must be [..., S, D] and [D, (heads + 2 kv_heads) * head_dim] with static D and S");
    int64_t hd = w.shape[1].size / (h + 2 * kv);
    std::vector<Dim> shape(x.shape.begin(), x.shape.end() - 2);
    shape.push_back(Dim::of(part == "q" ? h : kv));
    shape.push_back(x.shape[x.shape.size() - 2]);
    shape.push_back(Dim::of(hd));
    return std::vector<Type>{Type::tensor(infer_as("matmul", {x, w}, {})[0].dtype, shape)};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* y = b.value("matmul", {op.operands[0], op.operands[1]});  // [..., S, (H + 2 KV) hd]
    int64_t h = op.int_attr("heads"), kv = op.int_attr("kv_heads");
    const std::string part = op.str_attr("part");
    const Type& out = op.result()->type;
    int64_t hd = out.shape.back().size, r = out.rank();
    int64_t first = part == "q" ? 0 : part == "k" ? h : h + kv, count = part == "q" ? h : kv;
    Value* cols = slice_last(b, y, first * hd, (first + count) * hd);  // [..., S, count * hd]
    std::vector<Dim> split(cols->type.shape.begin(), cols->type.shape.end() - 1);
    split.push_back(Dim::of(count));
    split.push_back(Dim::of(hd));
    Value* heads = reshape_to(b, cols, Type::tensor(out.dtype, split));  // [..., S, count, hd]
    IntList perm;
    for (int64_t d = 0; d < r - 3; ++d) perm.push_back(d);
    perm.insert(perm.end(), {r - 2, r - 3, r - 1});
    return {b.value("transpose", {heads}, {{"perm", perm}})};
  };
  return info;
}

}  // namespace

void register_transformer_ops(std::vector<OpInfo>& out) {
  out.push_back(rope());
  out.push_back(qkv_projection());
}

}  // namespace tessera::ir
