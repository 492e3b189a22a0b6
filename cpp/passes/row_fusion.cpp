// Legality of row-wise fusion (see row_fusion.hpp).
#include "passes/row_fusion.hpp"

#include <algorithm>

#include "ir/ops.hpp"

namespace tessera::passes {
using namespace ir;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

bool is_row_reduction(const Op& op) {
  const OpInfo* info = lookup_op(op.name);
  if (!info || info->cls != OpClass::Reduction || op.operands.size() != 1 || !op.has_attr("axis")) return false;
  const Type& in = op.operands[0]->type;
  if (!in.has_static_shape() || in.rank() == 0 || !op.result()->type.has_static_shape()) return false;
  return normalize_axis(op.name, op.int_attr("axis"), in.rank()) == in.rank() - 1;
}

std::vector<int64_t> row_shape(const Op& reduction) { return reduction.operands[0]->type.static_shape(); }

namespace {

std::vector<int64_t> keep_shape(std::vector<int64_t> S) {
  S.back() = 1;
  return S;
}

std::vector<int64_t> drop_shape(const std::vector<int64_t>& S) { return {S.begin(), S.end() - 1}; }

// May a row-dependent operand of shape `x` be read by an element-wise op of shape `t`,
// always at the same row? Equal shapes, a scalar, or one value per row (keepdims)
// broadcast over the row.
bool same_row_read(const std::vector<int64_t>& x, const std::vector<int64_t>& t, const std::vector<int64_t>& S) {
  if (x == t || x.empty()) return true;
  return x == keep_shape(S) && (t == S || t == keep_shape(S));
}

}  // namespace

bool is_row_or_per_row(const std::vector<int64_t>& shape, const std::vector<int64_t>& S) {
  return shape == S || shape == keep_shape(S) || shape == drop_shape(S);
}

std::string row_join_blocker(const Op& op, const std::vector<int64_t>& S, const std::set<const Value*>& row_dependent) {
  bool dependent = false;
  for (const Value* x : op.operands) dependent = dependent || row_dependent.count(x);
  if (is_row_reduction(op)) {
    if (row_shape(op) == S) return "";
    const Op* partial = op.operands[0]->def;
    if (dependent && partial && partial->operands[0]->def && partial->operands[0]->def->name == "reshape")
      return op.name + " of the " + op.operands[0]->type.str() +
             " partial results of the kernel before it: a long "
             "row is reduced in fixed blocks by many program instances, then the partials in a fixed order";
    if (dependent)
      return op.name + " across the per-row results " + op.operands[0]->type.str() + " of the kernel before it (rows " +
             shape_text(S) + "): it needs every row first";
    return op.name + " over rows of " + op.operands[0]->type.str() + ": the kernel before it reduces rows of " +
           shape_text(S);
  }
  const OpInfo* info = lookup_op(op.name);
  if (!info || (info->cls == OpClass::Reduction))
    return op.name +
           " over a non-innermost axis: such reductions walk the axis per output element, in a kernel of their own";
  if (info->cls == OpClass::Contraction) return op.name + ": contractions are kernels of their own";
  if (!dependent) return "";  // prologue-like: reads inputs at any coordinates
  if (!op.result()->type.has_static_shape()) return op.name + ": symbolic shape " + op.result()->type.str();
  std::vector<int64_t> t = op.result()->type.static_shape();
  std::string reason_head = op.name + " of a per-row result (" + shape_text(S) + " rows): ";
  if (!is_row_or_per_row(t, S))
    return reason_head + "its result " + op.result()->type.str() + " is neither a row nor one value per row";
  if (op.name == "reshape") {
    std::vector<int64_t> x = op.operands[0]->type.static_shape();
    if (x == t || (x != S && t != S)) return "";
    return reason_head + "a reshape that moves values between rows";
  }
  if (!info->lower_elementwise) return reason_head + op.name + " would read it at other rows' coordinates";
  for (const Value* x : op.operands)
    if (row_dependent.count(x) && !same_row_read(x->type.static_shape(), t, S))
      return reason_head + "broadcasting " + x->type.str() + " to " + op.result()->type.str() + " mixes rows";
  return "";
}

}  // namespace tessera::passes
