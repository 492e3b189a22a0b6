// Attention ops: `tril` (a data-movement primitive: keep the lower triangle of the last two
// dims, fill the rest), `attention` (softmax(q @ k^T * scale) @ v, a composite) and the two
// composites its gradient is made of, `attention_lse` (the softmax's log-normaliser per query
// row) and `attention_grad` (dq, dk or dv from q, k, v, do, the lse and delta = rowsum(do * o)),
// FlashAttention-2's backward in Graph IR.
//
// All three decompose into matmul / tril / softmax (or exp) / matmul on every target, so the CPU
// runs them everywhere. Reverse-mode autodiff keeps `attention` whole and uses its VJP rule
// (the ops above), so the gradient never needs the softmax probabilities saved. On NVIDIA
// targets decompose keeps qualifying instances (bf16/f16, head dim 64 or 128): form-kernels
// gives them flash kernels, the lse is written by the forward kernel (docs/attention.md).
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
  info.summary =
      "The lower triangle of the last two dims of x (rank >= 2), as torch.tril: x[..., i, j] where "
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

// s = q @ k^T * scale (q, k already in the compute dtype), -inf right of the diagonal when causal.
Value* scaled_scores(Builder& b, const Op& op, Value* q, Value* k) {
  Value* s = b.value("matmul", {q, swap_last(b, k)});
  s = b.value("mul", {s, b.graph_constant(q->type.dtype, attention_scale(op))});
  if (op.bool_attr("causal", false)) s = b.value("tril", {s}, {{"diagonal", int64_t(0)}, {"value", -INFINITY}});
  return s;
}

// [..., S] -> [..., S, 1], to broadcast one value per query row over the keys.
Value* per_row(Builder& b, Value* x) {
  std::vector<Dim> shape = x->type.shape;
  shape.push_back(Dim::of(1));
  return reshape_value(b, x, Type::tensor(x->type.dtype, shape));
}

// [..., S, D] with at least rank 2; names the operand in errors.
void check_operand(const Type& t, const char* what) {
  require_tensor("attention", t);
  if (t.rank() < 2)
    fail(ErrorCode::Shape, std::string("attention: ") + what + " must be [..., S, D] (rank >= 2), got " + t.str());
  if (!is_float(t.dtype))
    fail(ErrorCode::DType, std::string("attention: ") + what + " must be floating-point, got " + t.str());
}

OpInfo attention() {
  OpInfo info;
  info.name = "attention";
  info.cls = OpClass::Contraction;
  info.min_operands = info.max_operands = 3;
  info.operand_names = {"q", "k", "v"};
  info.attrs = {
      {"scale", "float", false, "multiplies q @ k^T; absent: 1 / sqrt(D)", ""},
      {"causal", "bool", false, "query i sees keys j <= i only (top-left aligned, as torch's is_causal)", "false"}};
  info.summary =
      "Scaled dot-product attention softmax(q @ k^T * scale) @ v over the last two dims of "
      "q [..., Sq, D], k [..., Skv, D] and v [..., Skv, Dv] (equal batch dims and dtypes): "
      "result [..., Sq, Dv]. NVIDIA bf16/f16 with D = Dv in {64, 128} runs a flash-attention "
      "kernel (memory O(S)); elsewhere it is computed as those ops (f16/bf16 in f32).";
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    check_operand(in[0], "q");
    check_operand(in[1], "k");
    check_operand(in[2], "v");
    const Type &q = in[0], &k = in[1], &v = in[2];
    if (k.dtype != q.dtype || v.dtype != q.dtype)
      fail(ErrorCode::DType,
           "attention: q, k and v must have one dtype, got " + q.str() + ", " + k.str() + ", " + v.str());
    if (k.rank() != q.rank() || v.rank() != q.rank())
      fail(ErrorCode::Shape,
           "attention: q, k and v must have one rank, got " + q.str() + ", " + k.str() + ", " + v.str());
    size_t r = size_t(q.rank());
    for (size_t d = 0; d + 2 < r; ++d)
      if (k.shape[d] != q.shape[d] || v.shape[d] != q.shape[d])
        fail(ErrorCode::Shape,
             "attention: batch dims of q, k and v differ: " + q.str() + ", " + k.str() + ", " + v.str());
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
    Value* p = b.value("softmax", {scaled_scores(b, op, q, k)}, {{"axis", int64_t(-1)}});
    return {cast_to(b, b.value("matmul", {p, v}), storage)};
  };
  // FlashAttention-2's backward: with lse the softmax's log-normaliser per query row and
  // delta = rowsum(do * o), P = exp(s - lse), dv = P^T do, dS = P * (do v^T - delta),
  // dq = dS k * scale, dk = dS^T q * scale. Nothing of size Sq x Skv is kept from the forward.
  info.vjp = [](Builder& b, const Op& op, Value* g) {
    AttrMap at = {{"scale", attention_scale(op)}, {"causal", op.bool_attr("causal", false)}};
    Value *q = op.operands[0], *k = op.operands[1], *v = op.operands[2];
    Value* lse = b.value("attention_lse", {q, k}, at);
    DType ct = compute_dtype(g->type.dtype);
    Value* prod = b.value("mul", {cast_to(b, g, ct), cast_to(b, op.result(), ct)});
    Value* delta = b.value("sum", {prod}, {{"axis", int64_t(-1)}});
    std::vector<Value*> grads;
    for (const char* wrt : {"q", "k", "v"}) {
      AttrMap a = at;
      a["wrt"] = std::string(wrt);
      grads.push_back(b.value("attention_grad", {q, k, v, g, lse, delta}, a));
    }
    return grads;
  };
  return info;
}

const AttrSpec kScale{"scale", "float", true, "multiplies q @ k^T", ""};
const AttrSpec kCausal{"causal", "bool", false, "query i sees keys j <= i only", "false"};

// The per-query-row type [..., Sq] of q [..., Sq, D], in q's compute dtype (f32 for 16-bit q).
Type row_type(const Type& q) {
  std::vector<Dim> rows(q.shape.begin(), q.shape.end() - 1);
  return Type::tensor(compute_dtype(q.dtype), rows);
}

OpInfo attention_lse() {
  OpInfo info;
  info.name = "attention_lse";
  info.cls = OpClass::Contraction;
  info.min_operands = info.max_operands = 2;
  info.operand_names = {"q", "k"};
  info.attrs = {kScale, kCausal};
  info.summary =
      "The log-normaliser of attention's softmax per query row, in f32: lse[..., i] = "
      "log(sum over keys j of exp(scale * q[..., i, :] . k[..., j, :])) (j <= i when causal), f32 for "
      "16-bit inputs. "
      "Part of attention's gradient; on NVIDIA the flash-attention forward kernel writes it.";
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    check_operand(in[0], "q");
    check_operand(in[1], "k");
    if (in[1].dtype != in[0].dtype || in[1].rank() != in[0].rank() || in[1].shape.back() != in[0].shape.back())
      fail(ErrorCode::Shape,
           "attention_lse: q and k must have one dtype, rank and head dim, got " + in[0].str() + " and " + in[1].str());
    return std::vector<Type>{row_type(in[0])};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    DType ct = compute_dtype(op.operands[0]->type.dtype);
    Value* s = scaled_scores(b, op, cast_to(b, op.operands[0], ct), cast_to(b, op.operands[1], ct));
    return {b.value("logsumexp", {s}, {{"axis", int64_t(-1)}})};
  };
  return info;
}

OpInfo attention_grad() {
  OpInfo info;
  info.name = "attention_grad";
  info.cls = OpClass::Contraction;
  info.min_operands = info.max_operands = 6;
  info.operand_names = {"q", "k", "v", "dout", "lse", "delta"};
  info.attrs = {kScale, kCausal, {"wrt", "str", true, "q, k or v: the operand whose gradient this is", ""}};
  info.summary =
      "One gradient of attention (FlashAttention-2's backward): dq, dk or dv (`wrt`) of "
      "o = softmax(q @ k^T * scale) @ v given dout, lse = attention_lse(q, k) and delta = "
      "sum(dout * o, -1) ([..., Sq] in the compute dtype: f32 for 16-bit q). Result: the type of that operand.";
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    std::vector<Type> qkv(in.begin(), in.begin() + 3);
    std::vector<Type> o = lookup_op("attention")->infer(qkv, {});
    if (in[3] != o[0])
      fail(ErrorCode::Shape, "attention_grad: dout must have the output's type " + o[0].str() + ", got " + in[3].str());
    for (size_t i : {size_t(4), size_t(5)})
      if (in[i] != row_type(in[0]))
        fail(ErrorCode::Shape, std::string("attention_grad: ") + (i == 4 ? "lse" : "delta") + " must be " +
                                   row_type(in[0]).str() + ", got " + in[i].str());
    const std::string& wrt = std::get<std::string>(a.at("wrt"));
    if (wrt != "q" && wrt != "k" && wrt != "v")
      fail(ErrorCode::Value, "attention_grad: wrt must be q, k or v, got '" + wrt + "'");
    return std::vector<Type>{in[wrt == "q" ? 0 : wrt == "k" ? 1 : 2]};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    const std::string& wrt = op.str_attr("wrt");
    DType ct = compute_dtype(op.operands[0]->type.dtype);
    auto widen = [&](int i) { return cast_to(b, op.operands[size_t(i)], ct); };
    Value *q = widen(0), *k = widen(1), *v = widen(2), *dout = widen(3);
    Value* p = b.value("exp", {b.value("sub", {scaled_scores(b, op, q, k), per_row(b, op.operands[4])})});
    Value* r;
    if (wrt == "v") {
      r = b.value("matmul", {swap_last(b, p), dout});
    } else {
      Value* dp = b.value("matmul", {dout, swap_last(b, v)});
      Value* ds = b.value("mul", {p, b.value("sub", {dp, per_row(b, op.operands[5])})});
      r = wrt == "q" ? b.value("matmul", {ds, k}) : b.value("matmul", {swap_last(b, ds), q});
      r = b.value("mul", {r, b.graph_constant(ct, attention_scale(op))});
    }
    return {cast_to(b, r, op.result()->type.dtype)};
  };
  return info;
}

}  // namespace

double attention_scale(const Op& op) {
  if (op.has_attr("scale")) return number_attr(op, "scale");
  const Dim& d = op.operands[0]->type.shape.back();
  if (!d.is_static())
    symbolic_dim_error("attention", op.operands[0]->type, size_t(op.operands[0]->type.rank() - 1),
                       "the default scale is 1/sqrt(D)");
  return 1.0 / std::sqrt(double(d.size));
}

void register_attention_ops(std::vector<OpInfo>& out) {
  out.push_back(tril());
  out.push_back(attention());
  out.push_back(attention_lse());
  out.push_back(attention_grad());
}

}  // namespace tessera::ir
