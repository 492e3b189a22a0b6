// Graph IR -> Graph IR: sums over the leading axis that gradients of batched layers make,
// folded into fewer, larger ops.
//
//   sum(matmul(transpose(x), g), axis 0)  ->  matmul(transpose(reshape(x, [n K, M])), reshape(g, [n K, N]))
//       for x [n, K, M], g [n, K, N]: the weight gradient of a layer applied to [n, K, M]
//       activations (sum over n of x_n^T g_n) as one GEMM with K n deep, instead of n GEMMs
//       writing [n, M, N] and a reduction over them. The reshapes move no data and the
//       transpose is read in place (pack-matmul on CPUs, absorb-transposes on GPUs).
//   sum(matmul(g, transpose(x)), axis 0)  ->  matmul(reshape(transpose(g, [1, 0, 2]), [M, n K]), ...)
//       the same for g [n, M, K], x [n, N, K]: the weight of W [M, K'] applied to [n, K', K].
//   sum(sum(x, axis 0), axis 0)  ->  sum(reshape(x, [d0 d1, ...]), axis 0)
//       bias and normalization-weight gradients of [n, S, D] activations: one column reduction.
//
// The sums run in another order than before (in f32 inside the GEMM), and the same order
// every run.
#include <optional>

#include "ir/builder.hpp"
#include "ir/ops.hpp"
#include "passes/lowering.hpp"
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

// The one axis a reduction reduces (an int or a one-element list), normalized.
std::optional<int64_t> single_axis(const Op& op) {
  if (!op.has_attr("axis")) return std::nullopt;
  const Attr& a = op.attrs.at("axis");
  int64_t axis = 0;
  if (const auto* i = std::get_if<int64_t>(&a))
    axis = *i;
  else if (const auto* l = std::get_if<IntList>(&a); l && l->size() == 1)
    axis = l->front();
  else
    return std::nullopt;
  return normalize_axis(op.name, axis, op.operands[0]->type.rank());
}

// A plain sum over the leading axis of a value with static shape.
bool sums_leading_axis(const Op& op) {
  if (op.name != "sum" || op.operands.size() != 1 || single_axis(op) != 0) return false;
  if (op.has_attr("keepdims") && std::get<bool>(op.attrs.at("keepdims"))) return false;
  if (op.has_attr("dtype") && parse_dtype(op.str_attr("dtype")) != op.operands[0]->type.dtype) return false;
  const Value* x = op.operands[0];
  return x->type.has_static_shape();
}

Value* reshape(Builder& b, Value* v, IntList shape) { return b.value("reshape", {v}, {{"shape", shape}}); }

// sum over n of x_n^T g_n as one matmul, or null when `mm` is not that product.
Value* fold_product(Builder& b, const Op& mm) {
  if (mm.name != "matmul" || mm.result()->type.rank() != 3) return nullptr;
  const Value *a = mm.operands[0], *g = mm.operands[1];
  if (a->type.rank() != 3 || g->type.rank() != 3 || !a->def || !swaps_last_two(*a->def)) return nullptr;
  Value* x = a->def->operands[0];
  std::vector<int64_t> xs = x->type.static_shape(), gs = g->type.static_shape();
  if (xs.size() != 3 || gs.size() != 3 || xs[0] != gs[0]) return nullptr;  // both carry the batch
  int64_t n = xs[0], k = xs[1], m = xs[2];
  Value* at = b.value("transpose", {reshape(b, x, {n * k, m})}, {{"perm", IntList{1, 0}}});
  AttrMap attrs;
  if (mm.has_attr("precision")) attrs["precision"] = mm.attrs.at("precision");
  return b.value("matmul", {at, reshape(b, mm.operands[1], {n * k, gs[2]})}, attrs);
}

// sum over n of g_n x_n^T as one matmul, or null when `mm` is not that product: for g [n, M, K]
// and x [n, N, K] (a layer applied as W [M, K'] times [n, K', K] activations: its weight
// gradient, e.g. a convolution's over the windows), [M, n K] times [n K, N].
Value* fold_product_transposed(Builder& b, const Op& mm) {
  if (mm.name != "matmul" || mm.result()->type.rank() != 3) return nullptr;
  Value *g = mm.operands[0], *xt = mm.operands[1];
  if (g->type.rank() != 3 || xt->type.rank() != 3 || !xt->def || !swaps_last_two(*xt->def)) return nullptr;
  if (!g->type.has_static_shape() || !xt->type.has_static_shape()) return nullptr;
  std::vector<int64_t> gs = g->type.static_shape(), ts = xt->type.static_shape();  // ts: [n, K, N]
  if (gs[0] != ts[0]) return nullptr;
  int64_t n = gs[0], m = gs[1], k = gs[2];
  Value* gm = reshape(b, b.value("transpose", {g}, {{"perm", IntList{1, 0, 2}}}), {m, n * k});
  AttrMap attrs;
  if (mm.has_attr("precision")) attrs["precision"] = mm.attrs.at("precision");
  return b.value("matmul", {gm, reshape(b, xt, {n * k, ts[2]})}, attrs);
}

// sum(reshape(x, [d0 d1, ...]), axis 0) for the inner sum(x, axis 0) `inner`.
Value* fold_sums(Builder& b, const Op& outer, const Op& inner) {
  std::vector<int64_t> s = inner.operands[0]->type.static_shape();
  if (s.size() < 2) return nullptr;
  IntList merged{s[0] * s[1]};
  merged.insert(merged.end(), s.begin() + 2, s.end());
  return b.value("sum", {reshape(b, inner.operands[0], merged)}, outer.attrs);
}

void fold_function(Function& fn) {
  Block& body = fn.body;
  for (auto it = body.ops.begin(); it != body.ops.end(); ++it) {
    Op& op = **it;
    if (!sums_leading_axis(op) || !op.operands[0]->def || count_uses(body, op.operands[0]) != 1) continue;
    const Op& producer = *op.operands[0]->def;
    Block scratch;
    Builder b(&scratch, op.loc);
    Value* repl = sums_leading_axis(producer) ? fold_sums(b, op, producer) : fold_product(b, producer);
    if (!repl && !sums_leading_axis(producer)) repl = fold_product_transposed(b, producer);
    if (!repl || repl->type != op.result()->type) continue;
    for (auto& p : scratch.ops) body.insert(it, std::move(p));
    replace_all_uses(body, op.result(), repl);
    it = std::prev(body.ops.erase(it));  // the producer, now unused, goes in dce
  }
}

}  // namespace

void fold_batch_sums(Module& m) {
  for (auto& fn : m.funcs)
    if (!fn->attrs.count("kernel")) fold_function(*fn);
}

}  // namespace tessera::passes
