// Derivative rules of the linear-algebra ops (ops_linalg.cpp), from the matrix-calculus
// identities (Giles, "An extended collection of matrix derivative results", 2008; Murray,
// "Differentiation of the Cholesky decomposition", 2016). The rules are built from the same
// ops (tri_solve, solve, inv, matmul), so they differentiate again to any order. A vector
// right-hand side of solve is handled as a one-column matrix.
#include "ir/composite.hpp"
#include "ir/derivatives.hpp"
#include "ir/linalg.hpp"

namespace tessera::ir::derivative {
namespace {

using namespace linalg;

Value* cast_as(Builder& b, Value* x, DType dt) { return composite::cast_to(b, x, dt); }

Value* neg(Builder& b, Value* x) { return b.value("neg", {x}); }

// Murray's Phi: the lower triangle with the diagonal halved.
Value* phi(Builder& b, Value* m) {
  Value* both = op2(b, "add", b.value("tril", {m}), b.value("tril", {m}, {{"diagonal", int64_t(-1)}}));
  return op2(b, "mul", both, k(b, m, 0.5));
}

// [..., n] -> [..., n, 1]
Value* column(Builder& b, Value* v) { return b.value("expand_dims", {v}, {{"axis", int64_t(-1)}}); }
Value* uncolumn(Builder& b, Value* v) { return b.value("squeeze", {v}, {{"axes", IntList{-1}}}); }

struct TriAttrs {
  bool lower, left, unit;
  explicit TriAttrs(const Op& op)
      : lower(op.bool_attr("lower", true)),
        left(op.bool_attr("left", true)),
        unit(op.bool_attr("unit_diagonal", false)) {}
};

std::vector<Value*> tri_solve_vjp(Builder& b, const Op& op, Value* g) {
  TriAttrs t(op);
  DType dt = op.result()->type.dtype;
  Value *a = cast_as(b, op.operands[0], dt), *x = op.result();
  Value* gb = tri_solve(b, mT(b, a), g, !t.lower, t.left, t.unit);  // a x = b: gb = a^-T g (x a = b: g a^-T)
  Value* ga = neg(b, triangle(b, t.left ? matmul(b, gb, mT(b, x)) : matmul(b, mT(b, x), gb), t.lower, t.unit));
  return {to_operand(b, ga, op.operands[0]->type), to_operand(b, gb, op.operands[1]->type)};
}

Value* tri_solve_jvp(Builder& b, const Op& op, const std::vector<Value*>& tg) {
  TriAttrs t(op);
  DType dt = op.result()->type.dtype;
  Value *a = cast_as(b, op.operands[0], dt), *x = op.result();
  Value* rhs = tg[1] ? cast_as(b, tg[1], dt) : nullptr;
  if (tg[0]) {
    Value* da = triangle(b, cast_as(b, tg[0], dt), t.lower, t.unit);
    Value* moved = neg(b, t.left ? matmul(b, da, x) : matmul(b, x, da));
    rhs = add_maybe(b, rhs, moved);
  }
  return rhs ? tri_solve(b, a, rhs, t.lower, t.left, t.unit) : nullptr;
}

// a = L L^T (symmetrised): gA = sym(L^-T Phi(L^T gL) L^-1), dL = L Phi(L^-1 sym(dA) L^-T).
std::vector<Value*> cholesky_vjp(Builder& b, const Op& op, Value* g) {
  bool upper = op.bool_attr("upper", false);
  Value* l = upper ? mT(b, op.result()) : op.result();
  Value* gl = upper ? mT(b, g) : g;
  Value* p = phi(b, matmul(b, mT(b, l), gl));
  Value* q = tri_solve(b, mT(b, l), p, false, true, false);                 // L^-T P
  Value* ga = mT(b, tri_solve(b, mT(b, l), mT(b, q), false, true, false));  // L^-T P L^-1
  return {sym(b, ga)};
}

Value* cholesky_jvp(Builder& b, const Op& op, const std::vector<Value*>& t) {
  if (!t[0]) return nullptr;
  bool upper = op.bool_attr("upper", false);
  Value* l = upper ? mT(b, op.result()) : op.result();
  Value* y = tri_solve(b, l, sym(b, t[0]), true, true, false);  // L^-1 dA
  Value* z = tri_solve(b, l, mT(b, y), true, true, false);      // L^-1 dA L^-T (dA symmetric)
  Value* dl = matmul(b, l, phi(b, z));
  return upper ? mT(b, dl) : dl;
}

// x = a^-1 b: gb = a^-T g, ga = -gb x^T; dx = a^-1 (db - da x).
std::vector<Value*> solve_vjp(Builder& b, const Op& op, Value* g) {
  bool vector = op.operands[1]->type.rank() == 1;
  DType dt = op.result()->type.dtype;
  Value *a = cast_as(b, op.operands[0], dt), *x = op.result();
  if (vector) g = column(b, g), x = column(b, x);
  Value* gb = solve(b, mT(b, a), g);
  Value* ga = neg(b, matmul(b, gb, mT(b, x)));
  if (vector) gb = uncolumn(b, gb);
  return {to_operand(b, ga, op.operands[0]->type), to_operand(b, gb, op.operands[1]->type)};
}

Value* solve_jvp(Builder& b, const Op& op, const std::vector<Value*>& t) {
  bool vector = op.operands[1]->type.rank() == 1;
  DType dt = op.result()->type.dtype;
  Value *a = cast_as(b, op.operands[0], dt), *x = op.result();
  if (vector) x = column(b, x);
  Value* rhs = t[1] ? cast_as(b, vector ? column(b, t[1]) : t[1], dt) : nullptr;
  if (t[0]) rhs = add_maybe(b, rhs, neg(b, matmul(b, cast_as(b, t[0], dt), x)));
  if (!rhs) return nullptr;
  Value* dx = solve(b, a, rhs);
  return vector ? uncolumn(b, dx) : dx;
}

// a^-T without the singular check: det's and logabsdet's gradients are not finite at a
// singular a (as JAX's), rather than an error.
Value* inverse_transposed(Builder& b, Value* a) { return mT(b, b.value("inv", {a}, {{"check", false}})); }

void attach_determinants(Table& table) {
  attach(
      table, "det",  // d det = det tr(a^-1 da)
      [](Builder& b, const Op& op, Value* g) {
        Value* s = per_matrix(b, op2(b, "mul", g, op.result()));
        return std::vector<Value*>{op2(b, "mul", s, inverse_transposed(b, op.operands[0]))};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) -> Value* {
        if (!t[0]) return nullptr;
        return op2(b, "mul", op.result(), trace(b, b.value("solve", {op.operands[0], t[0]})));
      });
  attach(
      table, "logabsdet",
      [](Builder& b, const Op& op, Value* g) {
        return std::vector<Value*>{op2(b, "mul", per_matrix(b, g), inverse_transposed(b, op.operands[0]))};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) -> Value* {
        return t[0] ? trace(b, b.value("solve", {op.operands[0], t[0]})) : nullptr;
      });
  attach(
      table, "det_sign", [](Builder&, const Op&, Value*) { return std::vector<Value*>{nullptr}; },
      [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });
}

}  // namespace

void attach_linalg(Table& table) {
  attach(table, "tri_solve", tri_solve_vjp, tri_solve_jvp);
  attach(table, "cholesky", cholesky_vjp, cholesky_jvp);
  attach(table, "solve", solve_vjp, solve_jvp);
  attach(
      table, "inv",  // d(a^-1) = -a^-1 da a^-1
      [](Builder& b, const Op& op, Value* g) {
        Value* xt = mT(b, op.result());
        return std::vector<Value*>{neg(b, matmul(b, matmul(b, xt, g), xt))};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) -> Value* {
        if (!t[0]) return nullptr;
        return neg(b, matmul(b, matmul(b, op.result(), t[0]), op.result()));
      });
  attach_determinants(table);
}

}  // namespace tessera::ir::derivative
