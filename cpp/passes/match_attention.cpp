// Graph IR -> Graph IR, NVIDIA targets only: finds attention written as ops,
//
//   matmul(softmax(X), v)   with X one of   S * c,  c * S,  S / c,  S,
//                           tril(X', 0, -inf) (causal), or X' * c with X' = tril(S, 0, -inf),
//   S = matmul(q, transpose(k))   (last two dims swapped; q may be q0 * c as well),
// or the same with einsum("...qd,...kd->...qk", q, k) for S and einsum("...qk,...kd->...qd", P, v)
// for the product,
//
// and replaces it by one `attention(q, k, v) {scale, causal}` op when the flash-attention
// kernel applies (bf16/f16, head dim 64 or 128: flash_attention_applies). Elsewhere (CPU,
// other dtypes) the user's ops are left alone: their kernels are as good as the decomposition.
// The intermediate values must have no other users, so the whole chain goes away (dce).
// It also moves each attention_lse (part of attention's gradient) right after the attention op
// whose kernel will write it.
#include <algorithm>
#include <cmath>

#include "ir/builder.hpp"
#include "ir/op_rules.hpp"
#include "ir/target.hpp"
#include "passes/lowering.hpp"
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;

namespace {

// The kernels' conditions on q, k, v: bf16/f16, static shapes, D = Dv in {64, 128}, at least one
// query and one key, a positive scale (they take row maxima of the unscaled scores).
bool flash_shapes(const Module& m, const Op& op) {
  if (!Target::of(m).nvptx()) return false;
  const Type &q = op.operands[0]->type, &k = op.operands[1]->type, &v = op.operands[2]->type;
  if (q.dtype != DType::BF16 && q.dtype != DType::F16) return false;
  if (!q.has_static_shape() || !k.has_static_shape() || !v.has_static_shape()) return false;
  int64_t d = q.shape.back().size;
  if ((d != 64 && d != 128) || v.shape.back().size != d) return false;
  if (!(attention_scale(op) > 0)) return false;
  return k.numel() > 0 && q.numel() > 0;  // no keys: the decomposition gives zeros
}

// Same q and k, scale and mask: the forward kernel of `att` can write `lse`'s values.
bool same_scores(const Op& att, const Op& lse) {
  return att.operands[0] == lse.operands[0] && att.operands[1] == lse.operands[1] &&
         attention_scale(att) == attention_scale(lse) &&
         att.bool_attr("causal", false) == lse.bool_attr("causal", false);
}

const Op* forward_writing(const Function& fn, const Module& m, const Op& lse) {
  for (const auto& op : fn.body.ops)
    if (op->name == "attention" && same_scores(*op, lse) && flash_shapes(m, *op)) return op.get();
  return nullptr;
}

}  // namespace

bool flash_attention_applies(const Module& m, const Function& fn, const Op& op) {
  if (op.name == "attention" || op.name == "attention_grad") return flash_shapes(m, op);
  if (op.name == "attention_lse") return forward_writing(fn, m, op) != nullptr;
  return false;
}

namespace {

// An einsum equation "P a b, P c d -> P e f" (P: the same batch letters, single letters a..f,
// no ellipsis) split into its three index strings, or false.
bool einsum_parts(const Op* op, std::string& x, std::string& y, std::string& out) {
  if (!op || op->name != "einsum" || op->operands.size() != 2) return false;
  std::string eq;
  for (char c : op->str_attr("equation"))
    if (c != ' ') eq += c;
  size_t comma = eq.find(','), arrow = eq.find("->");
  if (comma == std::string::npos || arrow == std::string::npos || comma > arrow || eq.find('.') != std::string::npos)
    return false;
  x = eq.substr(0, comma), y = eq.substr(comma + 1, arrow - comma - 1), out = eq.substr(arrow + 2);
  size_t r = x.size();
  if (r < 2 || y.size() != r || out.size() != r || x.substr(0, r - 2) != y.substr(0, r - 2) ||
      x.substr(0, r - 2) != out.substr(0, r - 2))
    return false;
  std::string tail = x.substr(r - 2) + y.substr(r - 2) + out.substr(r - 2);
  for (char c : tail)
    if (x.substr(0, r - 2).find(c) != std::string::npos) return false;  // batch letters stay batch letters
  return true;
}

// "...ad,...bd->...ab" (q k^T) when `scores`, else "...ab,...bd->...ad" (p v).
bool einsum_is(const Op* op, bool scores) {
  std::string x, y, o;
  if (!einsum_parts(op, x, y, o)) return false;
  size_t r = x.size();
  char a = x[r - 2], b = scores ? y[r - 2] : x[r - 1], d = scores ? x[r - 1] : y[r - 1];
  if (a == b || a == d || b == d) return false;
  return scores ? y[r - 1] == d && o[r - 2] == a && o[r - 1] == b : y[r - 2] == b && o[r - 2] == a && o[r - 1] == d;
}

const Op* def_of(const Value* v, const char* name) { return v->def && v->def->name == name ? v->def : nullptr; }

// The value of a one-element constant, if `v` is one.
bool scalar_constant(const Value* v, double& out) {
  const Op* c = def_of(v, "constant");
  if (!c || c->result()->type.numel() != 1) return false;
  out = number_attr(*c, "value");
  return true;
}

struct Matcher {
  const Block& body;
  // True when `v` is used once, by the op that is consuming it in the pattern.
  bool single_use(const Value* v) const { return count_uses(body, v) == 1; }

  // x * c, c * x or x / c with a one-element constant c: x and the factor.
  bool scaled(const Value* v, const Value*& x, double& factor) const {
    const Op* op = v->def;
    if (!op || (op->name != "mul" && op->name != "div") || !single_use(v)) return false;
    if (op->result()->type != op->operands[0]->type && op->result()->type != op->operands[1]->type) return false;
    double c;
    if (scalar_constant(op->operands[1], c) && op->result()->type == op->operands[0]->type) {
      x = op->operands[0];
      factor = op->name == "mul" ? c : 1.0 / c;
      return true;
    }
    if (op->name == "mul" && scalar_constant(op->operands[0], c) && op->result()->type == op->operands[1]->type) {
      x = op->operands[1];
      factor = c;
      return true;
    }
    return false;
  }

  // tril(x, 0, -inf): x.
  const Value* causal_mask(const Value* v) const {
    const Op* t = def_of(v, "tril");
    if (!t || !single_use(v) || t->int_attr("diagonal", 0) != 0 || !t->has_attr("value")) return nullptr;
    double fill = number_attr(*t, "value");
    return std::isinf(fill) && fill < 0 ? t->operands[0] : nullptr;
  }

  // k when `v` is transpose(k) swapping the last two dims.
  const Value* transposed(const Value* v) const {
    const Op* t = def_of(v, "transpose");
    if (!t || !single_use(v)) return nullptr;
    int64_t r = t->operands[0]->type.rank();
    IntList perm = t->has_attr("perm") ? t->ints_attr("perm") : IntList{};
    if (perm.empty() && r == 2) return t->operands[0];
    if (int64_t(perm.size()) != r || r < 2) return nullptr;
    for (int64_t d = 0; d + 2 < r; ++d)
      if (perm[size_t(d)] != d) return nullptr;
    return perm[size_t(r - 2)] == r - 1 && perm[size_t(r - 1)] == r - 2 ? t->operands[0] : nullptr;
  }

  // The attention op's operands and attributes for `mm` = matmul(softmax(...), v), if it is one.
  bool match(const Op& mm, Value*& q, Value*& k, AttrMap& attrs) const {
    if (mm.name != "matmul" && !einsum_is(&mm, false)) return false;
    const Op* sm = def_of(mm.operands[0], "softmax");
    if (!sm || !single_use(mm.operands[0])) return false;
    int64_t rank = sm->operands[0]->type.rank();
    if (rank < 2 || normalize_axis("softmax", sm->int_attr("axis", -1), rank) != rank - 1) return false;
    const Value* x = sm->operands[0];
    if (!single_use(x)) return false;
    double scale = 1.0, f;
    bool causal = false;
    const Value* inner;
    if (const Value* m = causal_mask(x)) {
      causal = true;
      x = m;
    }
    if (scaled(x, inner, f)) {
      scale *= f;
      x = inner;
    }
    if (!causal)
      if (const Value* m = causal_mask(x)) {
        causal = true;
        x = m;
      }
    if (causal && !(scale > 0)) return false;  // -inf * c must stay -inf
    const Op* s = x->def;
    if (!s || !single_use(x) || (s->name != "matmul" && !einsum_is(s, true))) return false;
    const Value* kk = s->name == "matmul" ? transposed(s->operands[1]) : s->operands[1];
    if (!kk) return false;
    const Value* qq = s->operands[0];
    if (scaled(qq, inner, f)) {
      scale *= f;
      qq = inner;
    }
    q = const_cast<Value*>(qq);
    k = const_cast<Value*>(kk);
    attrs = {{"scale", scale}, {"causal", causal}};
    return true;
  }
};

void match_function(const Module& m, Function& fn) {
  Block& body = fn.body;
  for (auto it = body.ops.begin(); it != body.ops.end(); ++it) {
    Op& mm = **it;
    Value *q, *k;
    AttrMap attrs;
    if (!Matcher{body}.match(mm, q, k, attrs)) continue;
    Value* v = mm.operands[1];
    std::vector<Type> types;
    try {  // the matmuls may broadcast batch dims or mix dtypes: then it is not attention's shape
      types = lookup_op("attention")->infer({q->type, k->type, v->type}, attrs);
    } catch (const Error&) { continue; }
    if (types[0] != mm.result()->type) continue;
    auto att = Op::make("attention", {q, k, v}, types, attrs, mm.loc);
    if (!flash_attention_applies(m, fn, *att)) continue;
    Op* placed = body.insert(it, std::move(att));
    replace_all_uses(body, mm.result(), placed->result());
  }
}

}  // namespace

// Each attention_lse (from attention's gradient) the forward kernel can write moves next to
// that attention op, so that form-kernels puts both in one kernel.
void place_lse_after_forward(const Module& m, Function& fn) {
  Block& body = fn.body;
  for (auto it = body.ops.begin(); it != body.ops.end(); ++it) {
    if ((*it)->name != "attention_lse") continue;
    const Op* att = forward_writing(fn, m, **it);
    if (!att) continue;
    auto at = std::find_if(body.ops.begin(), body.ops.end(), [&](const auto& o) { return o.get() == att; });
    if (std::next(at) == it) continue;
    auto next = std::next(it);
    body.ops.splice(std::next(at), body.ops, it);  // its operands q, k come before the forward op
    it = std::prev(next);
  }
}

void match_attention(Module& m) {
  if (!Target::of(m).nvptx()) return;
  for (auto& fn : m.funcs)
    if (!fn->attrs.count("kernel")) {
      match_function(m, *fn);
      place_lse_after_forward(m, *fn);
    }
}

}  // namespace tessera::passes
