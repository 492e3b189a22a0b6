// Tile IR for the dense factorizations and triangular solves of linear algebra (ops_linalg.cpp):
//   potrf      the upper Cholesky factor U of (A + A^T)/2 (U^T U = A); not positive definite: NaN
//   getrf      LU with partial pivoting: rows [0, n) hold L (unit, below the diagonal) and U,
//              row n the permutation (row i of L U is row perm[i] of A), row n+1 a 1 for each
//              step that swapped rows (the permutation's sign)
//   tri_solve  X with A X = B, A lower or upper triangular (unit diagonal optional)
// and the shared pieces of linalg.hpp; linalg_orthogonal.cpp has QR, eigh and SVD. Each inner
// loop is a vector operation on one row (an axpy or a dot product); only the pivot search reads
// a column. A factorization works in place in its output: the input is copied in first. The
// algorithms are LAPACK's unblocked right-looking ones (dpotf2, dgetf2) and row-oriented
// substitution.
#include "tilegen/linalg.hpp"

namespace tessera::tilegen {
using namespace ir;

namespace linalg {

Matrix::Matrix(const Op& k, Function& f, Builder& builder)
    : kernel(k), fn(f), op(*k.region->ops.back()->operands[0]->def), b(builder) {
  ct = compute_dtype(op.result()->type.dtype);
  std::vector<int64_t> shape = op.operands[0]->type.static_shape();
  rows = shape[shape.size() - 2];
  cols = shape.back();
  batch_shape.assign(shape.begin(), shape.end() - 2);
  for (int64_t d : batch_shape) batch *= d;
  lanes = kernel.int_attr("lanes");
  out = fn.body.args[k.region->args.size()].get();
}

void Matrix::locate(Value* matrix) {
  std::vector<int64_t> oshape = op.result()->type.static_shape();
  row = oshape.back();
  ValueEmitter e(b, *kernel.region, fn, nullptr);
  z = e.unflatten(matrix, batch_shape);
  base = b.arith("mul", matrix, b.i64(oshape[oshape.size() - 2] * row));
}

Value* Matrix::at(Builder& ib, Value* i, Value* j) const {
  return ib.arith("add", base, ib.arith("add", ib.arith("mul", i, ib.i64(row)), j));
}

Value* Matrix::operand(Builder& ib, int index, Value* i, Value* j, Value* mask) const {
  ValueEmitter e(ib, *kernel.region, fn, mask);
  ValueAt::Coords c = z;
  c.push_back(i);
  c.push_back(j);
  return e.at(op.operands[size_t(index)], c);
}

Value* Matrix::load(Builder& ib, Value* i, Value* j, Value* mask) const {
  return tilegen::load(ib, out, at(ib, i, j), mask);
}

void Matrix::store(Builder& ib, Value* i, Value* j, Value* v, Value* mask) const {
  tilegen::store(ib, out, at(ib, i, j), v, mask);
}

Value* sum_lanes(const Matrix& m, Builder& b, Value* lo, Value* hi,
                 const std::function<Value*(Builder&, Value*, Value*)>& term) {
  Value* zero = zero_tile(b, m.ct, m.lanes);
  Value* acc = emit_for(b, lo, hi, b.i64(m.lanes), zero, [&](Builder& ib, Value* k, Value* a) {
    Value* j = ib.arith("add", ib.arange(m.lanes), k);
    Value* mask = ib.cmp("lt", j, hi);
    Value* t = ib.value("arith.select", {mask, term(ib, j, mask), zero_tile(ib, m.ct, m.lanes)});
    return ib.arith("add", a, t);
  });
  return b.create("tile.reduce", {acc}, {{"kind", std::string("sum")}})->result();
}

void axpy_row(const Matrix& m, Builder& b, Value* i, Value* k, Value* f, Value* lo, Value* hi) {
  for_lanes(b, lo, hi, m.lanes, [&](Builder& jb, Value* j, Value* mask) {
    Value* w = jb.arith("sub", m.load(jb, i, j, mask), jb.arith("mul", f, m.load(jb, k, j, mask)));
    m.store(jb, i, j, w, mask);
  });
}

void rotate_rows(const Matrix& m, Builder& b, Value* p, Value* q, Value* c, Value* s, Value* lo, Value* hi) {
  for_lanes(b, lo, hi, m.lanes, [&](Builder& jb, Value* j, Value* mask) {
    Value *x = m.load(jb, p, j, mask), *y = m.load(jb, q, j, mask);
    m.store(jb, p, j, jb.arith("sub", jb.arith("mul", c, x), jb.arith("mul", s, y)), mask);
    m.store(jb, q, j, jb.arith("add", jb.arith("mul", s, x), jb.arith("mul", c, y)), mask);
  });
}

Rotation jacobi_rotation(const Matrix& m, Builder& b, Value* app, Value* aqq, Value* apq) {
  Value* zero = b.cmp("eq", apq, m.c(b, 0.0));
  Value* theta = b.arith("div", b.arith("sub", aqq, app), b.arith("add", apq, apq));
  Value* root = b.value("arith.sqrt", {b.arith("add", b.arith("mul", theta, theta), m.c(b, 1.0))});
  Value* t =
      b.arith("div", b.arith("copysign", m.c(b, 1.0), theta), b.arith("add", b.value("arith.abs", {theta}), root));
  t = b.value("arith.select", {zero, m.c(b, 0.0), t});  // theta^2 overflowing gives t = 0: also right
  Value* c = b.arith("div", m.c(b, 1.0), b.value("arith.sqrt", {b.arith("add", b.arith("mul", t, t), m.c(b, 1.0))}));
  return {c, b.arith("mul", t, c), t};
}

Value* best_index(const Matrix& m, Builder& b, Value* first, Value* hi, const char* better,
                  const std::function<Value*(Builder&, Value*)>& key) {
  Value* best = key(b, first);
  Op* loop = b.create_typed("tile.for", {m.add1(b, first), hi, b.i64(1), best, first}, {best->type, first->type});
  Block* region = loop->add_region();
  Value* i = region->add_arg(Type::scalar(DType::I64));
  Value* cur = region->add_arg(best->type);
  Value* idx = region->add_arg(first->type);
  Builder ib(region, loop->loc);
  Value* v = key(ib, i);
  Value* wins = ib.cmp(better, v, cur);
  ib.create_typed("tile.yield", {ib.value("arith.select", {wins, v, cur}), ib.value("arith.select", {wins, i, idx})},
                  {});
  return loop->result(1);
}

void swap_rows(const Matrix& m, Builder& b, Value* p, Value* q, Value* lo, Value* hi) {
  for_lanes(b, lo, hi, m.lanes, [&](Builder& jb, Value* j, Value* mask) {
    Value *x = m.load(jb, p, j, mask), *y = m.load(jb, q, j, mask);
    m.store(jb, p, j, y, mask);
    m.store(jb, q, j, x, mask);
  });
}

namespace {

Grid emit_potrf(Matrix& m) {
  Builder& b = m.b;
  m.locate(b.program_id(0));
  Value* n = b.i64(m.cols);
  for_each(b, b.i64(0), n, [&](Builder& ib, Value* i) {  // W = upper triangle of (A + A^T)/2
    for_lanes(ib, ib.i64(0), ib.i64(m.cols), m.lanes, [&](Builder& jb, Value* j, Value* mask) {
      Value* s = jb.arith("add", m.operand(jb, 0, i, j, mask), m.operand(jb, 0, j, i, mask));
      s = jb.arith("mul", s, m.c(jb, 0.5));
      Value* upper = jb.cmp("ge", j, i);
      m.store(jb, i, j, jb.value("arith.select", {upper, s, zero_tile(jb, m.ct, m.lanes)}), mask);
    });
  });
  sync(b);
  for_each(b, b.i64(0), n, [&](Builder& kb, Value* k) {
    Value* d = kb.value("arith.sqrt", {m.load(kb, k, k, nullptr)});
    sync(kb);
    for_lanes(kb, k, kb.i64(m.cols), m.lanes, [&](Builder& jb, Value* j, Value* mask) {  // row k of U
      m.store(jb, k, j, jb.arith("div", m.load(jb, k, j, mask), d), mask);
    });
    sync(kb);
    for_each(kb, m.add1(kb, k), kb.i64(m.cols), [&](Builder& ib, Value* i) {  // the trailing rows
      axpy_row(m, ib, i, k, m.load(ib, k, i, nullptr), i, ib.i64(m.cols));
    });
    sync(kb);
  });
  return {m.batch, 1, 1};
}

// The row p >= k with the largest |W[p, k]| (the first of equals, as LAPACK's idamax).
Value* pivot_row(const Matrix& m, Builder& b, Value* k) {
  return best_index(m, b, k, b.i64(m.cols), "gt",
                    [&](Builder& ib, Value* i) { return ib.value("arith.abs", {m.load(ib, i, k, nullptr)}); });
}

Grid emit_getrf(Matrix& m) {
  Builder& b = m.b;
  m.locate(b.program_id(0));
  Value *n = b.i64(m.cols), *perm = b.i64(m.cols), *swaps = b.i64(m.cols + 1);
  for_each(b, b.i64(0), n, [&](Builder& ib, Value* i) {
    for_lanes(ib, ib.i64(0), ib.i64(m.cols), m.lanes,
              [&](Builder& jb, Value* j, Value* mask) { m.store(jb, i, j, m.operand(jb, 0, i, j, mask), mask); });
  });
  for_lanes(b, b.i64(0), n, m.lanes, [&](Builder& jb, Value* j, Value* mask) {
    m.store(jb, perm, j, jb.cast(j, m.ct), mask);
    m.store(jb, swaps, j, zero_tile(jb, m.ct, m.lanes), mask);
  });
  sync(b);
  for_each(b, b.i64(0), n, [&](Builder& kb, Value* k) {
    Value* p = pivot_row(m, kb, k);
    sync(kb);
    swap_rows(m, kb, k, p, kb.i64(0), kb.i64(m.cols));
    Value *pk = m.load(kb, perm, k, nullptr), *pp = m.load(kb, perm, p, nullptr);
    m.store(kb, perm, k, pp, nullptr);
    m.store(kb, perm, p, pk, nullptr);
    m.store(kb, swaps, k, kb.cast(kb.cmp("ne", p, k), m.ct), nullptr);
    sync(kb);
    Value* piv = m.load(kb, k, k, nullptr);
    Value* nonzero = kb.cmp("ne", piv, m.c(kb, 0.0));
    for_each(kb, m.add1(kb, k), kb.i64(m.cols), [&](Builder& ib, Value* i) {
      // A zero pivot means a zero column below it (it was the largest): nothing to eliminate.
      Value* l = ib.value("arith.select", {nonzero, ib.arith("div", m.load(ib, i, k, nullptr), piv), m.c(ib, 0.0)});
      sync(ib);
      m.store(ib, i, k, l, nullptr);
      axpy_row(m, ib, i, k, l, m.add1(ib, k), ib.i64(m.cols));
    });
    sync(kb);
  });
  return {m.batch, 1, 1};
}

// Row-oriented substitution, a block of B's columns per program: row i of X is
// (B[i] - sum over the solved rows j of A[i, j] X[j]) / A[i, i], in order from the first row
// (lower) or the last (upper). A lane reads only its own column of X: no barriers.
Grid emit_tri_solve(Matrix& m) {
  Builder& b = m.b;
  const bool lower = m.op.bool_attr("lower", true), unit = m.op.bool_attr("unit_diagonal", false);
  const int64_t n = m.cols, cols = m.op.result()->type.static_shape().back(), blocks = ceil_div(cols, m.lanes);
  Value* pid = b.program_id(0);
  m.locate(b.arith("div", pid, b.i64(std::max<int64_t>(blocks, 1))));
  Value* col = b.arith("add", b.arange(m.lanes), b.arith("mul", b.arith("rem", pid, b.i64(blocks)), b.i64(m.lanes)));
  Value* mask = b.cmp("lt", col, b.i64(cols));
  for_each(b, b.i64(0), b.i64(n), [&](Builder& sb, Value* s) {
    Value* i = lower ? s : sb.arith("sub", sb.i64(n - 1), s);
    Value* lo = lower ? sb.i64(0) : m.add1(sb, i);
    Value* hi = lower ? i : sb.i64(n);
    Value* rhs = m.operand(sb, 1, i, col, mask);
    if (!rhs->type.is_tile()) rhs = sb.splat(rhs, m.lanes);  // b has one column: read once
    Value* acc = emit_for(sb, lo, hi, sb.i64(1), rhs, [&](Builder& jb, Value* j, Value* a) {
      return jb.arith("sub", a, jb.arith("mul", m.operand(jb, 0, i, j, nullptr), m.load(jb, j, col, mask)));
    });
    if (!unit) acc = sb.arith("div", acc, m.operand(sb, 0, i, i, nullptr));
    m.store(sb, i, col, acc, mask);
  });
  return {m.batch * blocks, 1, 1};
}

}  // namespace
}  // namespace linalg

Grid emit_linalg_kernel(const Op& kernel, Function& fn) {
  using namespace linalg;
  Builder b(&fn.body, kernel.loc);
  Matrix m(kernel, fn, b);
  const std::string& name = m.op.name;
  Grid grid = name == "potrf"   ? emit_potrf(m)
              : name == "getrf" ? emit_getrf(m)
              : name == "geqrf" ? emit_geqrf(m)
              : name == "orgqr" ? emit_orgqr(m)
              : name == "syevj" ? emit_syevj(m)
              : name == "gesvj" ? emit_gesvj(m)
              : name == "tri_solve"
                  ? emit_tri_solve(m)
                  : (fail(ErrorCode::Compile, "not a linalg kernel: " + name, m.op.loc.str()), Grid{});
  erase_dead_ops(fn.body);
  return grid;
}

bool is_linalg_kernel(const std::string& name) {
  for (const char* k : {"potrf", "getrf", "tri_solve", "geqrf", "orgqr", "syevj", "gesvj"})
    if (name == k) return true;
  return false;
}

}  // namespace tessera::tilegen
