// Derivative rules of the orthogonal decompositions (ops_decompositions.cpp). Each result is
// its own op, so each rule takes that result's cotangent alone (the VJP of the whole
// factorization is linear in the cotangents: the rules add up). Sources: JAX's qr_jvp_rule and
// eigh_jvp_rule; Townsend, "Differentiating the singular value decomposition" (2016), as in
// PyTorch's svd_backward. Repeated eigenvalues or singular values make the eigenvector and
// singular-vector derivatives infinite or NaN, as in PyTorch and JAX.
#include "ir/composite.hpp"
#include "ir/derivatives.hpp"
#include "ir/linalg.hpp"

namespace tessera::ir::derivative {
namespace {

using namespace linalg;

Value* mul(Builder& b, Value* x, Value* y) { return op2(b, "mul", x, y); }
Value* add(Builder& b, Value* x, Value* y) { return op2(b, "add", x, y); }
Value* sub(Builder& b, Value* x, Value* y) { return op2(b, "sub", x, y); }
Value* row(Builder& b, Value* v) { return b.value("expand_dims", {v}, {{"axis", int64_t(-2)}}); }  // [..., 1, k]
Value* col(Builder& b, Value* v) { return b.value("expand_dims", {v}, {{"axis", int64_t(-1)}}); }  // [..., k, 1]
Value* diag_embed(Builder& b, Value* v) {
  return mul(b, col(b, v),
             eye(b, Type::tensor(v->type.dtype, concat(v->type.static_shape(), {v->type.static_shape().back()}))));
}

// F[i, j] = 1 / (x[j] - x[i]) off the diagonal, 0 on it.
Value* gaps(Builder& b, Value* x) {
  Value* e = sub(b, row(b, x), col(b, x));
  Value* id = eye(b, e->type);
  Value* is_diag = op2(b, "equal", id, k(b, id, 1.0));
  Value* safe = b.value("where", {is_diag, k(b, e, 1.0), e});
  return b.value("where", {is_diag, k(b, e, 0.0), op2(b, "div", k(b, e, 1.0), safe)});
}

// ---- QR (m >= n, reduced): dA R^-1 = D, C = Q^T D, W = tril(C, -1) - tril(C, -1)^T:
//      dQ = Q (W - C) + D, dR = (C - W) R; gA = (gQ + Q X) R^-T, N = Q^T gQ - gR R^T,
//      X = -(triu(N) + triu(N, 1)^T).

void require_tall(const Op& op) {
  const Type& t = op.operands[0]->type;
  int64_t m = t.shape[t.shape.size() - 2].size, n = t.shape.back().size;
  bool reduced = !op.has_attr("mode") || op.str_attr("mode") == "reduced";
  if (m < n || (!reduced && m != n))
    fail(ErrorCode::Value,
         op.name + ": derivatives of QR need m >= n and mode \"reduced\", got " + t.str() + " mode \"" +
             (reduced ? "reduced" : "complete") + "\"",
         op.loc.str());
}

struct Qr {
  Value *q, *r;
};
Qr qr_of(Builder& b, const Op& op) {
  require_tall(op);
  return {b.value("qr_q", {op.operands[0]}, op.attrs), b.value("qr_r", {op.operands[0]}, op.attrs)};
}

Value* times_r_inverse_t(Builder& b, Value* z, Value* r) { return tri_solve(b, mT(b, r), z, true, false, false); }

std::vector<Value*> qr_vjp(Builder& b, const Op& op, Value* g, bool wrt_q) {
  Qr f = qr_of(b, op);
  Value* n = wrt_q ? matmul(b, mT(b, f.q), g) : op1(b, "neg", matmul(b, g, mT(b, f.r)));
  Value* x = op1(b, "neg", add(b, b.value("triu", {n}), mT(b, b.value("triu", {n}, {{"diagonal", int64_t(1)}}))));
  Value* qx = matmul(b, f.q, x);
  return {times_r_inverse_t(b, wrt_q ? add(b, g, qx) : qx, f.r)};
}

Value* qr_jvp(Builder& b, const Op& op, const std::vector<Value*>& t, bool wrt_q) {
  if (!t[0]) return nullptr;
  Qr f = qr_of(b, op);
  Value* d = tri_solve(b, f.r, t[0], false, false, false);  // dA R^-1
  Value* c = matmul(b, mT(b, f.q), d);
  Value* low = b.value("tril", {c}, {{"diagonal", int64_t(-1)}});
  Value* w = sub(b, low, mT(b, low));
  if (wrt_q) return add(b, matmul(b, f.q, sub(b, w, c)), d);
  return matmul(b, sub(b, c, w), f.r);
}

// ---- eigh: dw = diag(V^T S V), dV = V (F o V^T S V), S = sym(dA), F = gaps(w);
//      gA = sym(V (diag(gw) + F o V^T gV) V^T).

std::vector<Value*> eigh_vjp(Builder& b, const Op& op, Value* g, bool vectors) {
  Value* a = op.operands[0];
  Value* v = b.value("eigh_vectors", {a});
  Value* inner = vectors ? mul(b, gaps(b, b.value("eigvalsh", {a})), matmul(b, mT(b, v), g)) : diag_embed(b, g);
  return {sym(b, matmul(b, matmul(b, v, inner), mT(b, v)))};
}

Value* eigh_jvp(Builder& b, const Op& op, const std::vector<Value*>& t, bool vectors) {
  if (!t[0]) return nullptr;
  Value* a = op.operands[0];
  Value* v = b.value("eigh_vectors", {a});
  Value* p = matmul(b, matmul(b, mT(b, v), sym(b, t[0])), v);
  if (!vectors) return diagonal(b, p);
  return matmul(b, v, mul(b, gaps(b, b.value("eigvalsh", {a})), p));
}

// ---- SVD (reduced, k = min(m, n)): dP = U^T dA V, F = gaps(s^2);
//      dS = diag(dP), dU = U (F o (dP S + S dP^T)) + (I - U U^T) dA V S^-1,
//      dV = V (F o (S dP + dP^T S)) + (I - V V^T) dA^T U S^-1 (the projections only when m > k, n > k).

struct Svd {
  Value *u, *s, *vh, *f;
  bool tall_extra, wide_extra;  // m > k, n > k
};
Svd svd_of(Builder& b, const Op& op) {
  Value* a = op.operands[0];
  const Type& t = a->type;
  int64_t m = t.shape[t.shape.size() - 2].size, n = t.shape.back().size;
  Value* s = b.value("svdvals", {a});
  return {b.value("svd_u", {a}), s, b.value("svd_vh", {a}), gaps(b, mul(b, s, s)), m > std::min(m, n),
          n > std::min(m, n)};
}

std::vector<Value*> svd_vjp(Builder& b, const Op& op, Value* g, const std::string& part) {
  Svd f = svd_of(b, op);
  if (part == "s") return {matmul(b, matmul(b, f.u, diag_embed(b, g)), f.vh)};
  Value *s_row = row(b, f.s), *s_col = col(b, f.s);
  if (part == "u") {  // U ((G + G^T) S) Vh + (I - U U^T) gU S^-1 Vh, G = F o U^T gU
    Value* gm = mul(b, f.f, matmul(b, mT(b, f.u), g));
    Value* inner = matmul(b, f.u, mul(b, add(b, gm, mT(b, gm)), s_row));
    if (f.tall_extra) {
      Value* gs = op2(b, "div", g, s_row);
      inner = add(b, inner, sub(b, gs, matmul(b, f.u, matmul(b, mT(b, f.u), gs))));
    }
    return {matmul(b, inner, f.vh)};
  }
  // vh: U (S (H + H^T)) Vh + U S^-1 (gVh - gVh V Vh), H = F o V^T gV, gV = gVh^T
  Value* h = mul(b, f.f, matmul(b, f.vh, mT(b, g)));
  Value* inner = matmul(b, mul(b, s_col, add(b, h, mT(b, h))), f.vh);
  if (f.wide_extra) {
    Value* sg = op2(b, "div", g, s_col);
    inner = add(b, inner, sub(b, sg, matmul(b, matmul(b, sg, mT(b, f.vh)), f.vh)));
  }
  return {matmul(b, f.u, inner)};
}

Value* svd_jvp(Builder& b, const Op& op, const std::vector<Value*>& t, const std::string& part) {
  if (!t[0]) return nullptr;
  Svd f = svd_of(b, op);
  Value *da = t[0], *v = mT(b, f.vh);
  Value* dp = matmul(b, matmul(b, mT(b, f.u), da), v);
  if (part == "s") return diagonal(b, dp);
  Value *s_row = row(b, f.s), *s_col = col(b, f.s);
  if (part == "u") {
    Value* x = mul(b, dp, s_row);
    Value* du = matmul(b, f.u, mul(b, f.f, add(b, x, mT(b, x))));
    if (f.tall_extra) {
      Value* dav = op2(b, "div", matmul(b, da, v), s_row);
      du = add(b, du, sub(b, dav, matmul(b, f.u, matmul(b, mT(b, f.u), dav))));
    }
    return du;
  }
  Value* y = mul(b, s_col, dp);
  Value* dv = matmul(b, v, mul(b, f.f, add(b, y, mT(b, y))));
  if (f.wide_extra) {
    Value* dau = op2(b, "div", matmul(b, mT(b, da), f.u), s_row);
    dv = add(b, dv, sub(b, dau, matmul(b, v, matmul(b, f.vh, dau))));
  }
  return mT(b, dv);
}

}  // namespace

void attach_decompositions(Table& table) {
  for (bool q : {true, false})
    attach(
        table, q ? "qr_q" : "qr_r", [q](Builder& b, const Op& op, Value* g) { return qr_vjp(b, op, g, q); },
        [q](Builder& b, const Op& op, const std::vector<Value*>& t) { return qr_jvp(b, op, t, q); });
  for (bool vec : {true, false})
    attach(
        table, vec ? "eigh_vectors" : "eigvalsh",
        [vec](Builder& b, const Op& op, Value* g) { return eigh_vjp(b, op, g, vec); },
        [vec](Builder& b, const Op& op, const std::vector<Value*>& t) { return eigh_jvp(b, op, t, vec); });
  for (std::string part : {"s", "u", "vh"})
    attach(
        table, part == "s" ? "svdvals" : "svd_" + part,
        [part](Builder& b, const Op& op, Value* g) { return svd_vjp(b, op, g, part); },
        [part](Builder& b, const Op& op, const std::vector<Value*>& t) { return svd_jvp(b, op, t, part); });
}

}  // namespace tessera::ir::derivative
