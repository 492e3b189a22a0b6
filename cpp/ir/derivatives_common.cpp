// Shared builders of the derivative rules (see derivatives.hpp).
#include "ir/derivatives.hpp"

namespace tessera::ir::derivative {

Value* zeros(Builder& b, const Type& t) { return b.graph_constant(t, 0.0); }

// Sums `g` over the dims that broadcasting added or stretched to get from `target` to g.
Value* unbroadcast(Builder& b, Value* g, const Type& target) {
  // The innermost dim first when it is summed: a row reduction (the fast kind of kernel), which
  // also shrinks what the other sums read (a conv bias's gradient: over L, then over N).
  const int64_t r = g->type.rank();
  if (r >= 1 && g->type.shape.back() != Dim::of(1) && (target.rank() == 0 || target.shape.back() == Dim::of(1)))
    g = b.value("sum", {g}, {{"axis", r - 1}, {"keepdims", true}});
  while (g->type.rank() > target.rank()) g = b.value("sum", {g}, {{"axis", int64_t(0)}, {"keepdims", false}});
  for (int64_t d = 0; d < target.rank(); ++d)
    if (target.shape[size_t(d)] == Dim::of(1) && g->type.shape[size_t(d)] != Dim::of(1))
      g = b.value("sum", {g}, {{"axis", d}, {"keepdims", true}});
  return g;
}

// 1 where `x` > 0, else 0, in x's dtype: the derivative of relu.
Value* positive_mask(Builder& b, Value* x) {
  Value* zero = b.graph_constant(x->type.dtype, 0.0);
  return b.value("cast", {b.value("greater", {x, zero})}, {{"dtype", std::string(dtype_name(x->type.dtype))}});
}

// Adds tangents that may be null (zero).
Value* add_maybe(Builder& b, Value* a, Value* c) {
  if (!a) return c;
  if (!c) return a;
  return b.value("add", {a, c});
}

Jvp padded_linear_jvp() {
  return [](Builder& b, const Op& op, const std::vector<Value*>& t) {
    AttrMap attrs = op.attrs;
    attrs["value"] = 0.0;
    return b.value(op.name, {t[0]}, attrs);
  };
}

void attach(Table& table, const std::string& name, Vjp vjp, Jvp jvp) {
  auto it = table.find(name);
  if (it == table.end()) return;  // the op is not in this build
  it->second.vjp = std::move(vjp);
  it->second.jvp = std::move(jvp);
}

// Ops linear in their floating-point operands: the tangent is the op applied to the tangents
// (zeros where missing); other operands (indices, masks) are passed through.
Jvp linear_jvp() {
  return [](Builder& b, const Op& op, const std::vector<Value*>& t) {
    std::vector<Value*> args;
    for (size_t i = 0; i < t.size(); ++i) {
      Value* x = op.operands[i];
      args.push_back(!is_float(x->type.dtype) ? x : t[i] ? t[i] : zeros(b, x->type));
    }
    return b.value(op.name, args, op.attrs);
  };
}

// x[start:stop:step] along dim d only (the dims before it whole, symbolic ones too).
Value* slice_dim(Builder& b, Value* x, size_t d, int64_t start, int64_t stop, int64_t step) {
  IntList st(d + 1, 0), sp, stp(d + 1, 1);
  for (size_t i = 0; i <= d; ++i) sp.push_back(x->type.shape[i].is_static() ? x->type.shape[i].size : kWholeStop);
  st[d] = start, sp[d] = stop, stp[d] = step;
  return b.value("slice", {x}, {{"start", st}, {"stop", sp}, {"step", stp}});
}

// x with lo zeros before and hi zeros after along dim d.
Value* pad_dim(Builder& b, Value* x, size_t d, int64_t lo, int64_t hi) {
  IntList p(2 * size_t(x->type.rank()), 0);
  p[2 * d] = lo, p[2 * d + 1] = hi;
  return b.value("pad", {x}, {{"pad", p}, {"value", 0.0}});
}

// The cotangent of x from that of x[start::step] (length n) along dim d: g's elements go back
// to positions start, start + step, ... and zeros fill the rest.
Value* unslice_dim(Builder& b, Value* g, size_t d, int64_t start, int64_t step, int64_t n, int64_t size) {
  if (step < 0) {  // reverse, then it is a positive-step slice starting at the lowest position
    g = slice_dim(b, g, d, n - 1, -n - 1, -1);
    start += (n - 1) * step;
    step = -step;
  }
  if (step > 1) {  // interleave step-1 zeros after each element, keep up to the last element
    IntList shape = reshape_shape("slice", g->type);
    Value* wide = pad_dim(b, b.value("expand_dims", {g}, {{"axis", int64_t(d) + 1}}), d + 1, 0, step - 1);
    shape[d] *= step;
    g = slice_dim(b, b.value("reshape", {wide}, {{"shape", IntList(shape)}}), d, 0, (n - 1) * step + 1, 1);
  }
  int64_t len = (n - 1) * step + 1;
  return pad_dim(b, g, d, start, size - start - len);
}

// g reshaped to t's shape (see reshape_value).
Value* reshape_to(Builder& b, Value* g, const Type& t) { return reshape_value(b, g, t); }

// Unary ops f with derivative f'(x) built by `deriv`: VJP g * f'(x), JVP t * f'(x).
void attach_unary(Table& table, const std::string& name, Deriv deriv) {
  attach(
      table, name,
      [deriv](Builder& b, const Op& op, Value* g) { return std::vector<Value*>{b.value("mul", {g, deriv(b, op)})}; },
      [deriv](Builder& b, const Op& op, const std::vector<Value*>& t) { return b.value("mul", {t[0], deriv(b, op)}); });
}

// Cotangent for a binary-op operand: summed over broadcast dims, in the operand's dtype.
Value* to_operand(Builder& b, Value* g, const Type& operand) {
  g = unbroadcast(b, g, operand);
  if (g->type.dtype != operand.dtype) g = b.value("cast", {g}, {{"dtype", std::string(dtype_name(operand.dtype))}});
  return g;
}

Value* op2(Builder& b, const char* name, Value* x, Value* y) { return b.value(name, {x, y}); }
Value* op1(Builder& b, const char* name, Value* x) { return b.value(name, {x}); }
Value* k(Builder& b, Value* like, double v) { return b.graph_constant(like->type.dtype, v); }

}  // namespace tessera::ir::derivative
