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
  Value *a = composite::cast_to(b, op.operands[0], dt), *x = op.result();
  Value* gb = tri_solve(b, mT(b, a), g, !t.lower, t.left, t.unit);  // a x = b: gb = a^-T g (x a = b: g a^-T)
  Value* ga = op1(b, "neg", triangle(b, t.left ? matmul(b, gb, mT(b, x)) : matmul(b, mT(b, x), gb), t.lower, t.unit));
  return {to_operand(b, ga, op.operands[0]->type), to_operand(b, gb, op.operands[1]->type)};
}

Value* tri_solve_jvp(Builder& b, const Op& op, const std::vector<Value*>& tg) {
  TriAttrs t(op);
  DType dt = op.result()->type.dtype;
  Value *a = composite::cast_to(b, op.operands[0], dt), *x = op.result();
  Value* rhs = tg[1] ? composite::cast_to(b, tg[1], dt) : nullptr;
  if (tg[0]) {
    Value* da = triangle(b, composite::cast_to(b, tg[0], dt), t.lower, t.unit);
    Value* moved = op1(b, "neg", t.left ? matmul(b, da, x) : matmul(b, x, da));
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
  Value *a = composite::cast_to(b, op.operands[0], dt), *x = op.result();
  if (vector) g = column(b, g), x = column(b, x);
  Value* gb = solve(b, mT(b, a), g);
  Value* ga = op1(b, "neg", matmul(b, gb, mT(b, x)));
  if (vector) gb = uncolumn(b, gb);
  return {to_operand(b, ga, op.operands[0]->type), to_operand(b, gb, op.operands[1]->type)};
}

Value* solve_jvp(Builder& b, const Op& op, const std::vector<Value*>& t) {
  bool vector = op.operands[1]->type.rank() == 1;
  DType dt = op.result()->type.dtype;
  Value *a = composite::cast_to(b, op.operands[0], dt), *x = op.result();
  if (vector) x = column(b, x);
  Value* rhs = t[1] ? composite::cast_to(b, vector ? column(b, t[1]) : t[1], dt) : nullptr;
  if (t[0]) rhs = add_maybe(b, rhs, op1(b, "neg", matmul(b, composite::cast_to(b, t[0], dt), x)));
  if (!rhs) return nullptr;
  Value* dx = solve(b, a, rhs);
  return vector ? uncolumn(b, dx) : dx;
}

// a^-1 without the singular check: det's and logabsdet's derivatives at a singular a are not
// finite rather than an error. (JAX's cofactor rule gives det's finite derivative at rank
// n - 1; Tessera does not yet.)
Value* unchecked_inverse(Builder& b, Value* a) { return b.value("inv", {a}, {{"check", false}}); }

void attach_determinants(Table& table) {
  attach(
      table, "det",  // d det = det tr(a^-1 da)
      [](Builder& b, const Op& op, Value* g) {
        Value* s = per_matrix(b, op2(b, "mul", g, op.result()));
        return std::vector<Value*>{op2(b, "mul", s, mT(b, unchecked_inverse(b, op.operands[0])))};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) -> Value* {
        if (!t[0]) return nullptr;
        return op2(b, "mul", op.result(), trace(b, matmul(b, unchecked_inverse(b, op.operands[0]), t[0])));
      });
  attach(
      table, "logabsdet",
      [](Builder& b, const Op& op, Value* g) {
        return std::vector<Value*>{op2(b, "mul", per_matrix(b, g), mT(b, unchecked_inverse(b, op.operands[0])))};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) -> Value* {
        return t[0] ? trace(b, matmul(b, unchecked_inverse(b, op.operands[0]), t[0])) : nullptr;
      });
  attach(
      table, "det_sign", [](Builder&, const Op&, Value*) { return std::vector<Value*>{nullptr}; },
      [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });
}

// x = A+ b (lstsq), from d(A+) = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+
// (Golub and Pereyra; where the rank is locally constant), with r = b - A x:
//   dx = A+ (db - dA x) + A+ A+^T dA^T r + (I - A+ A) dA^T A+^T x
//   gb = A+^T g, gA = -A+^T g x^T + r g^T A+ A+^T + A+^T x g^T (I - A+ A)
// No division by singular values: finite where they repeat or vanish.
struct Lstsq {
  Value *a, *pinv, *x, *r, *g_cols;  // g_cols: the cotangent or tangent as columns
  bool vector;
};
Lstsq lstsq_parts(Builder& b, const Op& op) {
  Value *a = op.operands[0], *x = op.result(), *rhs = op.operands[1];
  bool vector = rhs->type.rank() == 1;
  const Type& t = a->type;
  int64_t m = t.shape[t.shape.size() - 2].size;
  Shape eye_shape = concat(batch_of(t, 2), {m, m});
  Value* pinv = b.value("lstsq", {a, eye(b, Type::tensor(t.dtype, eye_shape))}, op.attrs);
  if (vector) x = column(b, x), rhs = column(b, rhs);
  return {a, pinv, x, op2(b, "sub", rhs, matmul(b, a, x)), nullptr, vector};
}

Value* projector_complement(Builder& b, Value* pinv, Value* a) {  // I - A+ A
  Value* p = matmul(b, pinv, a);
  return op2(b, "sub", eye(b, p->type), p);
}

std::vector<Value*> lstsq_vjp(Builder& b, const Op& op, Value* g) {
  Lstsq f = lstsq_parts(b, op);
  if (f.vector) g = column(b, g);
  Value* pt = mT(b, f.pinv);
  Value* ptg = matmul(b, pt, g);  // A+^T g: gb
  Value* ga = op1(b, "neg", matmul(b, ptg, mT(b, f.x)));
  ga = op2(b, "add", ga, matmul(b, matmul(b, f.r, mT(b, g)), matmul(b, f.pinv, pt)));
  ga = op2(b, "add", ga, matmul(b, matmul(b, pt, matmul(b, f.x, mT(b, g))), projector_complement(b, f.pinv, f.a)));
  Value* gb = f.vector ? uncolumn(b, ptg) : ptg;
  return {to_operand(b, ga, op.operands[0]->type), to_operand(b, gb, op.operands[1]->type)};
}

Value* lstsq_jvp(Builder& b, const Op& op, const std::vector<Value*>& t) {
  Lstsq f = lstsq_parts(b, op);
  Value* inner = t[1] ? (f.vector ? column(b, t[1]) : t[1]) : nullptr;
  Value* dx = nullptr;
  if (t[0]) {
    Value* da = t[0];
    inner = add_maybe(b, inner, op1(b, "neg", matmul(b, da, f.x)));
    Value* dat = mT(b, da);
    dx = matmul(b, matmul(b, f.pinv, mT(b, f.pinv)), matmul(b, dat, f.r));
    dx = op2(b, "add", dx,
             matmul(b, projector_complement(b, f.pinv, f.a), matmul(b, dat, matmul(b, mT(b, f.pinv), f.x))));
  }
  if (inner) dx = add_maybe(b, dx, matmul(b, f.pinv, inner));
  if (!dx) return nullptr;
  return f.vector ? uncolumn(b, dx) : dx;
}

}  // namespace

void attach_linalg(Table& table) {
  attach(table, "lstsq", lstsq_vjp, lstsq_jvp);
  attach(table, "tri_solve", tri_solve_vjp, tri_solve_jvp);
  attach(table, "cholesky", cholesky_vjp, cholesky_jvp);
  attach(table, "solve", solve_vjp, solve_jvp);
  attach(
      table, "inv",  // d(a^-1) = -a^-1 da a^-1
      [](Builder& b, const Op& op, Value* g) {
        Value* xt = mT(b, op.result());
        return std::vector<Value*>{op1(b, "neg", matmul(b, matmul(b, xt, g), xt))};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) -> Value* {
        if (!t[0]) return nullptr;
        return op1(b, "neg", matmul(b, matmul(b, op.result(), t[0]), op.result()));
      });
  attach_determinants(table);
}

}  // namespace tessera::ir::derivative
