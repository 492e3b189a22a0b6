// Attention ops: `tril` (a data-movement primitive: keep the lower triangle of the last two
// dims, fill the rest) and `attention` (softmax(q @ k^T * scale) @ v, a composite).
//
// `attention` decomposes into matmul / tril / softmax / matmul on every target, so the CPU and
// autodiff (which differentiates the decomposition) work everywhere. On NVIDIA targets the
// match-attention pass marks qualifying instances (bf16/f16, head dim 64 or 128) and decompose
// keeps them: form-kernels gives each a flash-attention kernel of its own (docs/attention.md).
#include <cmath>

#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

Value* cast_to(Builder& b, Value* x, DType dt) {
  if (x->type.dtype == dt) return x;
  return b.value("cast", {x}, {{"dtype", std::string(dtype_name(dt))}});
}

// x with its last two dims swapped.
Value* swap_last(Builder& b, Value* x) {
  int64_t r = x->type.rank();
  IntList perm;
  for (int64_t d = 0; d < r; ++d) perm.push_back(d);
  std::swap(perm[size_t(r - 2)], perm[size_t(r - 1)]);
  return b.value("transpose", {x}, {{"perm", perm}});
}

OpInfo tril() {
  OpInfo info;
  info.name = "tril";
  info.cls = OpClass::DataMovement;
  info.min_operands = info.max_operands = 1;
  info.operand_names = {"x"};
  info.attrs = {{"diagonal", "int", false, "elements with column - row <= diagonal are kept", "0"},
                {"value", "float", false, "the value of the other elements", "0.0"}};
  info.summary = "The lower triangle of the last two dims of x (rank >= 2), as torch.tril: x[..., i, j] where "
                 "j - i <= diagonal, else `value` (e.g. -inf for a causal attention mask).";
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    require_tensor("tril", in[0]);
    if (in[0].rank() < 2) fail(ErrorCode::Shape, "tril: needs a tensor of rank >= 2, got " + in[0].str());
    return std::vector<Type>{in[0]};
  };
  info.lower_at = [](ValueAt& e, const Op& op, const ValueAt::Coords& c) {
    Builder& b = e.builder();
    DType dt = compute_dtype(op.result()->type.dtype);
    size_t r = c.size();
    Value* keep = b.cmp("le", e.arith("sub", c[r - 1], c[r - 2]), e.i64(op.int_attr("diagonal", 0)));
    Value* fill = b.constant(dt, op.has_attr("value") ? number_attr(op, "value") : 0.0);
    return b.value("arith.select", {keep, e.at(op.operands[0], c), fill});
  };
  // Linear in x: the cotangent and tangent are the same triangle of theirs, zero elsewhere.
  auto zero_filled = [](Builder& b, const Op& op, Value* t) {
    return b.value("tril", {t}, {{"diagonal", op.int_attr("diagonal", 0)}, {"value", 0.0}});
  };
  info.vjp = [zero_filled](Builder& b, const Op& op, Value* g) { return std::vector<Value*>{zero_filled(b, op, g)}; };
  info.jvp = [zero_filled](Builder& b, const Op& op, const std::vector<Value*>& t) -> Value* {
    return t[0] ? zero_filled(b, op, t[0]) : nullptr;
  };
  return info;
}

// [..., S, D] with at least rank 2; names the operand in errors.
void check_operand(const Type& t, const char* what) {
  require_tensor("attention", t);
  if (t.rank() < 2) fail(ErrorCode::Shape, std::string("attention: ") + what + " must be [..., S, D] (rank >= 2), got " + t.str());
  if (!is_float(t.dtype)) fail(ErrorCode::DType, std::string("attention: ") + what + " must be floating-point, got " + t.str());
}

OpInfo attention() {
  OpInfo info;
  info.name = "attention";
  info.cls = OpClass::Contraction;
  info.min_operands = info.max_operands = 3;
  info.operand_names = {"q", "k", "v"};
  info.attrs = {{"scale", "float", false, "multiplies q @ k^T; absent: 1 / sqrt(D)", ""},
                {"causal", "bool", false, "query i sees keys j <= i only (top-left aligned, as torch's is_causal)", "false"}};
  info.summary = "Scaled dot-product attention softmax(q @ k^T * scale) @ v over the last two dims of "
                 "q [..., Sq, D], k [..., Skv, D] and v [..., Skv, Dv] (equal batch dims and dtypes): "
                 "result [..., Sq, Dv]. NVIDIA bf16/f16 with D = Dv in {64, 128} runs a flash-attention "
                 "kernel (memory O(S)); elsewhere it is computed as those ops (f16/bf16 in f32).";
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    check_operand(in[0], "q");
    check_operand(in[1], "k");
    check_operand(in[2], "v");
    const Type &q = in[0], &k = in[1], &v = in[2];
    if (k.dtype != q.dtype || v.dtype != q.dtype)
      fail(ErrorCode::DType, "attention: q, k and v must have one dtype, got " + q.str() + ", " + k.str() + ", " + v.str());
    if (k.rank() != q.rank() || v.rank() != q.rank())
      fail(ErrorCode::Shape, "attention: q, k and v must have one rank, got " + q.str() + ", " + k.str() + ", " + v.str());
    size_t r = size_t(q.rank());
    for (size_t d = 0; d + 2 < r; ++d)
      if (k.shape[d] != q.shape[d] || v.shape[d] != q.shape[d])
        fail(ErrorCode::Shape, "attention: batch dims of q, k and v differ: " + q.str() + ", " + k.str() + ", " + v.str());
    if (k.shape[r - 1] != q.shape[r - 1])
      fail(ErrorCode::Shape, "attention: q and k head dims (D) differ: " + q.str() + " and " + k.str());
    if (v.shape[r - 2] != k.shape[r - 2])
      fail(ErrorCode::Shape, "attention: k and v sequence lengths differ: " + k.str() + " and " + v.str());
    std::vector<Dim> out = q.shape;
    out[r - 1] = v.shape[r - 1];
    return std::vector<Type>{Type::tensor(q.dtype, out)};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    DType storage = op.result()->type.dtype, ct = compute_dtype(storage);
    Value* q = cast_to(b, op.operands[0], ct);
    Value* k = cast_to(b, op.operands[1], ct);
    Value* v = cast_to(b, op.operands[2], ct);
    Value* s = b.value("matmul", {q, swap_last(b, k)});
    s = b.value("mul", {s, b.graph_constant(ct, attention_scale(op))});
    if (op.has_attr("causal") && std::get<bool>(op.attrs.at("causal")))
      s = b.value("tril", {s}, {{"diagonal", int64_t(0)}, {"value", -INFINITY}});
    Value* p = b.value("softmax", {s}, {{"axis", int64_t(-1)}});
    return {cast_to(b, b.value("matmul", {p, v}), storage)};
  };
  return info;
}

}  // namespace

double attention_scale(const Op& op) {
  if (op.has_attr("scale")) return number_attr(op, "scale");
  const Dim& d = op.operands[0]->type.shape.back();
  if (!d.is_static()) symbolic_dim_error("attention", op.operands[0]->type, size_t(op.operands[0]->type.rank() - 1),
                                         "the default scale is 1/sqrt(D)");
  return 1.0 / std::sqrt(double(d.size));
}

void register_attention_ops(std::vector<OpInfo>& out) {
  out.push_back(tril());
  out.push_back(attention());
}

}  // namespace tessera::ir
