// Tile IR for the orthogonal factorizations (ops_decompositions.cpp), one matrix per program:
//   geqrf  Householder QR of A [m, n] on W = A^T [n, m], so that A's columns are W's contiguous
//          rows: W's lower triangle ends as R^T, the rest of row k as the k-th Householder
//          vector (its leading 1 implied), row n the scalars tau (LAPACK's dgeqr2, transposed)
//   orgqr  Q^T [c, m] from geqrf's result: the reflectors applied to the first c rows of the
//          identity, last reflector first (dorg2r)
//   syevj  eigh by cyclic Jacobi on W = (A + A^T)/2 [n, n]: rows [0, n) W, [n, 2n) the
//          eigenvectors as rows, row 2n the eigenvalues, ascending
//   gesvj  SVD by one-sided (Hestenes) Jacobi on the k = min(m, n) rows of W = A^T (m >= n)
//          or A: rows [0, k) W's rows normalised (right or left singular vectors), [k, 2k) the
//          accumulated rotations, row 2k the singular values, descending
// The Jacobi kernels run a fixed number of sweeps (kSweeps): cyclic Jacobi converges
// quadratically, and a rotation whose off-diagonal entry is already 0 is the identity.
#include "tilegen/linalg.hpp"

namespace tessera::tilegen::linalg {

namespace {

int64_t sweeps(const Matrix& m) { return m.ct == DType::F64 ? 14 : 9; }

// out[i, j] = (i == j) for i in [r0, r0 + count), j in [0, len): rows of the identity.
void identity_rows(const Matrix& m, Builder& b, int64_t r0, int64_t count, int64_t len) {
  for_each(b, b.i64(0), b.i64(count), [&](Builder& ib, Value* i) {
    for_lanes(ib, ib.i64(0), ib.i64(len), m.lanes, [&](Builder& jb, Value* j, Value* mask) {
      m.store(jb, jb.arith("add", i, jb.i64(r0)), j, jb.cast(jb.cmp("eq", j, i), m.ct), mask);
    });
  });
}

// out[i, :len] = operand 0 read transposed (out[i, j] = A[j, i]) or not.
void copy_in(const Matrix& m, Builder& b, int64_t count, int64_t len, bool transposed) {
  for_each(b, b.i64(0), b.i64(count), [&](Builder& ib, Value* i) {
    for_lanes(ib, ib.i64(0), ib.i64(len), m.lanes, [&](Builder& jb, Value* j, Value* mask) {
      m.store(jb, i, j, transposed ? m.operand(jb, 0, j, i, mask) : m.operand(jb, 0, i, j, mask), mask);
    });
  });
}

Value* dot(const Matrix& m, Builder& b, Value* i, Value* k, Value* lo, Value* hi) {  // out[i, lo:hi] . out[k, lo:hi]
  return sum_lanes(m, b, lo, hi, [&](Builder& jb, Value* j, Value* mask) {
    return jb.arith("mul", m.load(jb, i, j, mask), m.load(jb, k, j, mask));
  });
}

// Selection sort of rows [0, k) by key(i) = out[key_row(i), key_col(i)], ascending or descending,
// moving `key`'s entries and, for each (first, lo, hi) in `rows`, out[first + i, lo:hi].
struct RowBlock {
  int64_t first, lo, hi;
};
void sort_by_key(const Matrix& m, Builder& b, int64_t k, bool descending,
                 const std::function<Value*(Builder&, Value*)>& key_at, const std::vector<RowBlock>& rows) {
  for_each(b, b.i64(0), b.i64(k), [&](Builder& ib, Value* i) {
    Value* p = best_index(m, ib, i, ib.i64(k), descending ? "gt" : "lt",
                          [&](Builder& lb, Value* j) { return m.load(lb, key_at(lb, j), j, nullptr); });
    sync(ib);
    Value *ki = m.load(ib, key_at(ib, i), i, nullptr), *kp = m.load(ib, key_at(ib, p), p, nullptr);
    m.store(ib, key_at(ib, i), i, kp, nullptr);
    m.store(ib, key_at(ib, p), p, ki, nullptr);
    for (const RowBlock& r : rows)
      swap_rows(m, ib, ib.arith("add", i, ib.i64(r.first)), ib.arith("add", p, ib.i64(r.first)), ib.i64(r.lo),
                ib.i64(r.hi));
    sync(ib);
  });
}

// Every pair p < q of [0, k), `count` times over.
template <class Body>
void for_pairs(Builder& b, int64_t count, int64_t k, Body body) {
  for_each(b, b.i64(0), b.i64(count), [&](Builder& sb, Value*) {
    for_each(sb, sb.i64(0), sb.i64(k), [&](Builder& pb, Value* p) {
      for_each(pb, pb.arith("add", p, pb.i64(1)), pb.i64(k), [&](Builder& qb, Value* q) { body(qb, p, q); });
    });
  });
}

}  // namespace

Grid emit_geqrf(Matrix& m) {
  Builder& b = m.b;
  m.locate(b.program_id(0));
  const int64_t rows = m.rows, cols = m.cols;
  Value* len = b.i64(rows);  // W's row length
  copy_in(m, b, cols, rows, true);
  Value* tau_row = b.i64(cols);
  for_lanes(b, b.i64(0), len, m.lanes,
            [&](Builder& jb, Value* j, Value* mask) { m.store(jb, tau_row, j, zero_tile(jb, m.ct, m.lanes), mask); });
  sync(b);
  for_each(b, b.i64(0), b.i64(std::min(rows, cols)), [&](Builder& kb, Value* k) {
    Value* k1 = m.add1(kb, k);
    Value* alpha = m.load(kb, k, k, nullptr);
    Value* sigma = dot(m, kb, k, k, k1, len);
    Value* norm = kb.value("arith.sqrt", {kb.arith("add", kb.arith("mul", alpha, alpha), sigma)});
    Value* flat = kb.cmp("eq", sigma, m.c(kb, 0.0));  // nothing below the diagonal: H = I
    Value* beta = kb.arith("mul", kb.arith("copysign", norm, alpha), m.c(kb, -1.0));
    Value* tau = kb.value("arith.select", {flat, m.c(kb, 0.0), kb.arith("div", kb.arith("sub", beta, alpha), beta)});
    Value* scale =
        kb.value("arith.select", {flat, m.c(kb, 0.0), kb.arith("div", m.c(kb, 1.0), kb.arith("sub", alpha, beta))});
    sync(kb);  // every thread has read alpha (a one-warp reduce has no barrier) before thread 0 overwrites it
    for_lanes(kb, k1, len, m.lanes, [&](Builder& jb, Value* j, Value* mask) {  // v's tail
      m.store(jb, k, j, jb.arith("mul", m.load(jb, k, j, mask), scale), mask);
    });
    m.store(kb, k, k, kb.value("arith.select", {flat, alpha, beta}), nullptr);
    m.store(kb, tau_row, k, tau, nullptr);
    sync(kb);
    for_each(kb, k1, kb.i64(cols), [&](Builder& ib, Value* i) {  // the other columns: w -= tau (v . w) v
      Value* f = ib.arith("mul", tau, ib.arith("add", m.load(ib, i, k, nullptr), dot(m, ib, i, k, m.add1(ib, k), len)));
      Value* w = ib.arith("sub", m.load(ib, i, k, nullptr), f);
      sync(ib);
      m.store(ib, i, k, w, nullptr);
      axpy_row(m, ib, i, k, f, m.add1(ib, k), len);
    });
    sync(kb);
  });
  return {m.batch, 1, 1};
}

Grid emit_orgqr(Matrix& m) {
  Builder& b = m.b;
  m.locate(b.program_id(0));
  const int64_t n = m.rows - 1, len = m.cols, r = std::min(n, len);
  const int64_t c = m.op.result()->type.static_shape()[m.batch_shape.size()];
  identity_rows(m, b, 0, c, len);
  sync(b);
  Value* end = b.i64(len);
  for_each(b, b.i64(0), b.i64(r), [&](Builder& kb, Value* s) {
    Value* k = kb.arith("sub", kb.i64(r - 1), s);
    Value* tau = m.operand(kb, 0, kb.i64(n), k, nullptr);
    // Rows i < k are still e_i, which H_k leaves alone: start at k.
    for_each(kb, k, kb.i64(c), [&](Builder& ib, Value* i) {
      Value* k1 = m.add1(ib, k);
      Value* tail = sum_lanes(m, ib, k1, end, [&](Builder& jb, Value* j, Value* mask) {
        return jb.arith("mul", m.load(jb, i, j, mask), m.operand(jb, 0, k, j, mask));
      });
      Value* zik = m.load(ib, i, k, nullptr);
      Value* f = ib.arith("mul", tau, ib.arith("add", zik, tail));
      sync(ib);
      m.store(ib, i, k, ib.arith("sub", zik, f), nullptr);
      for_lanes(ib, k1, end, m.lanes, [&](Builder& jb, Value* j, Value* mask) {
        Value* w = jb.arith("sub", m.load(jb, i, j, mask), jb.arith("mul", f, m.operand(jb, 0, k, j, mask)));
        m.store(jb, i, j, w, mask);
      });
    });
    sync(kb);
  });
  return {m.batch, 1, 1};
}

Grid emit_syevj(Matrix& m) {
  Builder& b = m.b;
  m.locate(b.program_id(0));
  const int64_t n = m.cols;
  for_each(b, b.i64(0), b.i64(n), [&](Builder& ib, Value* i) {  // W = (A + A^T)/2
    for_lanes(ib, ib.i64(0), ib.i64(n), m.lanes, [&](Builder& jb, Value* j, Value* mask) {
      Value* s = jb.arith("add", m.operand(jb, 0, i, j, mask), m.operand(jb, 0, j, i, mask));
      m.store(jb, i, j, jb.arith("mul", s, m.c(jb, 0.5)), mask);
    });
  });
  identity_rows(m, b, n, n, n);
  sync(b);
  for_pairs(b, sweeps(m), n, [&](Builder& qb, Value* p, Value* q) {
    Value *app = m.load(qb, p, p, nullptr), *aqq = m.load(qb, q, q, nullptr), *apq = m.load(qb, p, q, nullptr);
    Rotation r = jacobi_rotation(m, qb, app, aqq, apq);
    sync(qb);
    rotate_rows(m, qb, p, q, r.c, r.s, qb.i64(0), qb.i64(n));  // J^T W
    sync(qb);
    for_lanes(qb, qb.i64(0), qb.i64(n), m.lanes, [&](Builder& jb, Value* j, Value* mask) {  // (J^T W) J
      Value *x = m.load(jb, j, p, mask), *y = m.load(jb, j, q, mask);
      m.store(jb, j, p, jb.arith("sub", jb.arith("mul", r.c, x), jb.arith("mul", r.s, y)), mask);
      m.store(jb, j, q, jb.arith("add", jb.arith("mul", r.s, x), jb.arith("mul", r.c, y)), mask);
    });
    sync(qb);
    Value* shift = qb.arith("mul", r.t, apq);  // the exact results where rounding would leave residue
    m.store(qb, p, p, qb.arith("sub", app, shift), nullptr);
    m.store(qb, q, q, qb.arith("add", aqq, shift), nullptr);
    m.store(qb, p, q, m.c(qb, 0.0), nullptr);
    m.store(qb, q, p, m.c(qb, 0.0), nullptr);
    Value *vp = qb.arith("add", p, qb.i64(n)), *vq = qb.arith("add", q, qb.i64(n));
    rotate_rows(m, qb, vp, vq, r.c, r.s, qb.i64(0), qb.i64(n));  // V = V J: V^T's rows
    sync(qb);
  });
  sort_by_key(m, b, n, false, [](Builder&, Value* i) { return i; }, {{n, 0, n}});  // the diagonal W[i, i]
  for_each(b, b.i64(0), b.i64(n),
           [&](Builder& ib, Value* i) { m.store(ib, ib.i64(2 * n), i, m.load(ib, i, i, nullptr), nullptr); });
  return {m.batch, 1, 1};
}

Grid emit_gesvj(Matrix& m) {
  Builder& b = m.b;
  m.locate(b.program_id(0));
  const bool tall = m.rows >= m.cols;
  const int64_t k = std::min(m.rows, m.cols), len = std::max(m.rows, m.cols);
  copy_in(m, b, k, len, tall);
  identity_rows(m, b, k, k, len);  // the rotations
  Value *zero = b.i64(0), *end = b.i64(len), *s_row = b.i64(2 * k);
  for_lanes(b, zero, end, m.lanes,
            [&](Builder& jb, Value* j, Value* mask) { m.store(jb, s_row, j, zero_tile(jb, m.ct, m.lanes), mask); });
  sync(b);
  for_pairs(b, sweeps(m), k, [&](Builder& qb, Value* p, Value* q) {
    Value *alpha = dot(m, qb, p, p, zero, end), *beta = dot(m, qb, q, q, zero, end);
    Rotation r = jacobi_rotation(m, qb, alpha, beta, dot(m, qb, p, q, zero, end));
    rotate_rows(m, qb, p, q, r.c, r.s, qb.i64(0), qb.i64(len));
    rotate_rows(m, qb, qb.arith("add", p, qb.i64(k)), qb.arith("add", q, qb.i64(k)), r.c, r.s, qb.i64(0), qb.i64(k));
    sync(qb);
  });
  for_each(b, b.i64(0), b.i64(k), [&](Builder& ib, Value* i) {
    m.store(ib, s_row, i, ib.value("arith.sqrt", {dot(m, ib, i, i, ib.i64(0), ib.i64(len))}), nullptr);
  });
  sync(b);
  sort_by_key(m, b, k, true, [&](Builder& ib, Value*) { return ib.i64(2 * k); }, {{0, 0, len}, {k, 0, k}});
  for_each(b, b.i64(0), b.i64(k), [&](Builder& ib, Value* i) {  // rows / sigma (0 where sigma is 0)
    Value* s = m.load(ib, s_row, i, nullptr);
    Value* inv =
        ib.value("arith.select", {ib.cmp("gt", s, m.c(ib, 0.0)), ib.arith("div", m.c(ib, 1.0), s), m.c(ib, 0.0)});
    for_lanes(ib, ib.i64(0), ib.i64(len), m.lanes, [&](Builder& jb, Value* j, Value* mask) {
      m.store(jb, i, j, jb.arith("mul", m.load(jb, i, j, mask), inv), mask);
    });
  });
  return {m.batch, 1, 1};
}

}  // namespace tessera::tilegen::linalg
