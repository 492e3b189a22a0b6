// Tile IR for the dense factorizations and triangular solves of linear algebra (ops_linalg.cpp):
//   potrf      the upper Cholesky factor U of (A + A^T)/2 (U^T U = A); not positive definite: NaN
//   getrf      LU with partial pivoting: rows [0, n) hold L (unit, below the diagonal) and U,
//              row n the permutation (row i of L U is row perm[i] of A), row n+1 a 1 for each
//              step that swapped rows (the permutation's sign)
//   tri_solve  X with A X = B, A lower or upper triangular (unit diagonal optional)
// One program instance per matrix (per matrix and block of B's columns for tri_solve); lanes run
// along a row, which is contiguous in row-major storage, so each inner loop is a vector
// operation on one row (an axpy) and no loop reads a column lane by lane but the pivot search.
// A factorization works in place in its output: the input is copied in first. The algorithms
// are LAPACK's unblocked right-looking ones (dpotf2, dgetf2) and row-oriented substitution.
#include "ir/op_rules.hpp"
#include "tilegen/tilegen.hpp"
#include "tilegen/value_emitter.hpp"

namespace tessera::tilegen {
using namespace ir;

namespace {

// for i in [lo, hi): body(builder, i).
template <class Body>
void for_each(Builder& b, Value* lo, Value* hi, Body body) {
  Op* loop = b.create_typed("tile.for", {lo, hi, b.i64(1)}, {});
  Block* region = loop->add_region();
  Value* i = region->add_arg(Type::scalar(DType::I64));
  Builder inner(region, loop->loc);
  body(inner, i);
  inner.create_typed("tile.yield", {}, {});
}

// for j in [lo, hi) by tiles of `lanes`: body(builder, j's tile, j < hi).
template <class Body>
void for_lanes(Builder& b, Value* lo, Value* hi, int64_t lanes, Body body) {
  Op* loop = b.create_typed("tile.for", {lo, hi, b.i64(lanes)}, {});
  Block* region = loop->add_region();
  Value* k = region->add_arg(Type::scalar(DType::I64));
  Builder inner(region, loop->loc);
  Value* j = inner.arith("add", inner.arange(lanes), k);
  body(inner, j, inner.cmp("lt", j, hi));
  inner.create_typed("tile.yield", {}, {});
}

// What every linalg kernel knows: the op, its matrix size, the program's matrix (batch
// coordinates and the flat offset of its output), and index arithmetic on the output.
struct Matrix {
  const Op& kernel;
  Function& fn;
  const Op& op;
  Builder& b;
  int64_t n, lanes, batch = 1;
  std::vector<int64_t> batch_shape;
  ValueAt::Coords z;  // the batch coordinates of this program's matrix
  Value* out;
  Value* base = nullptr;  // output offset of the matrix
  int64_t row = 0;        // output row length

  Matrix(const Op& k, Function& f, Builder& builder)
      : kernel(k), fn(f), op(*k.region->ops.back()->operands[0]->def), b(builder) {
    std::vector<int64_t> shape = op.operands[0]->type.static_shape();
    n = shape.back();
    batch_shape.assign(shape.begin(), shape.end() - 2);
    for (int64_t d : batch_shape) batch *= d;
    lanes = kernel.int_attr("lanes");
    out = fn.body.args[k.region->args.size()].get();
  }
  void locate(Value* matrix) {  // this program's matrix: batch coordinates and output base
    std::vector<int64_t> oshape = op.result()->type.static_shape();
    row = oshape.back();
    ValueEmitter e(b, *kernel.region, fn, nullptr);
    z = e.unflatten(matrix, batch_shape);
    base = b.arith("mul", matrix, b.i64(oshape[oshape.size() - 2] * row));
  }
  Value* at(Builder& ib, Value* i, Value* j) const {  // output offset of (i, j)
    return ib.arith("add", base, ib.arith("add", ib.arith("mul", i, ib.i64(row)), j));
  }
  // The operand's element (i, j) of this program's matrix, read inside `ib`'s block.
  Value* operand(Builder& ib, int index, Value* i, Value* j, Value* mask) const {
    ValueEmitter e(ib, *kernel.region, fn, mask);
    ValueAt::Coords c = z;
    c.push_back(i);
    c.push_back(j);
    return e.at(op.operands[size_t(index)], c);
  }
  Value* add1(Builder& ib, Value* i) const { return ib.arith("add", i, ib.i64(1)); }
};

Value* scalar(Builder& b, DType t, double v) { return b.constant(t, v); }

// W[i, j] -= f * W[k, j] for j in [from, n): the row update of both factorizations.
void axpy_row(const Matrix& m, Builder& b, Value* i, Value* k, Value* f, Value* from) {
  for_lanes(b, from, b.i64(m.n), m.lanes, [&](Builder& jb, Value* j, Value* mask) {
    Value* w = load(jb, m.out, m.at(jb, i, j), mask);
    store(jb, m.out, m.at(jb, i, j), jb.arith("sub", w, jb.arith("mul", f, load(jb, m.out, m.at(jb, k, j), mask))),
          mask);
  });
}

Grid emit_potrf(Matrix& m, DType ct) {
  Builder& b = m.b;
  m.locate(b.program_id(0));
  for_each(b, b.i64(0), b.i64(m.n), [&](Builder& ib, Value* i) {  // W = upper triangle of (A + A^T)/2
    for_lanes(ib, ib.i64(0), ib.i64(m.n), m.lanes, [&](Builder& jb, Value* j, Value* mask) {
      Value* s = jb.arith("add", m.operand(jb, 0, i, j, mask), m.operand(jb, 0, j, i, mask));
      s = jb.arith("mul", s, scalar(jb, ct, 0.5));
      Value* upper = jb.cmp("ge", j, i);
      store(jb, m.out, m.at(jb, i, j), jb.value("arith.select", {upper, s, jb.splat(scalar(jb, ct, 0.0), m.lanes)}),
            mask);
    });
  });
  for_each(b, b.i64(0), b.i64(m.n), [&](Builder& kb, Value* k) {
    Value* d = kb.value("arith.sqrt", {load(kb, m.out, m.at(kb, k, k), nullptr)});
    for_lanes(kb, k, kb.i64(m.n), m.lanes, [&](Builder& jb, Value* j, Value* mask) {  // row k of U
      store(jb, m.out, m.at(jb, k, j), jb.arith("div", load(jb, m.out, m.at(jb, k, j), mask), d), mask);
    });
    for_each(kb, m.add1(kb, k), kb.i64(m.n), [&](Builder& ib, Value* i) {  // the trailing rows
      axpy_row(m, ib, i, k, load(ib, m.out, m.at(ib, k, i), nullptr), i);
    });
  });
  return {m.batch, 1, 1};
}

// The row p >= k with the largest |W[p, k]| (the first of equals, as LAPACK's idamax).
Value* pivot_row(const Matrix& m, Builder& b, Value* k) {
  Value* best = b.value("arith.abs", {load(b, m.out, m.at(b, k, k), nullptr)});
  Op* loop = b.create_typed("tile.for", {m.add1(b, k), b.i64(m.n), b.i64(1), best, k}, {best->type, k->type});
  Block* region = loop->add_region();
  Value* i = region->add_arg(Type::scalar(DType::I64));
  Value* cur = region->add_arg(best->type);
  Value* idx = region->add_arg(k->type);
  Builder ib(region, loop->loc);
  Value* v = ib.value("arith.abs", {load(ib, m.out, m.at(ib, i, k), nullptr)});
  Value* better = ib.cmp("gt", v, cur);
  ib.create_typed("tile.yield",
                  {ib.value("arith.select", {better, v, cur}), ib.value("arith.select", {better, i, idx})}, {});
  return loop->result(1);
}

Grid emit_getrf(Matrix& m, DType ct) {
  Builder& b = m.b;
  m.locate(b.program_id(0));
  Value *n = b.i64(m.n), *perm = b.i64(m.n), *swaps = b.i64(m.n + 1);
  for_each(b, b.i64(0), n, [&](Builder& ib, Value* i) {
    for_lanes(ib, ib.i64(0), ib.i64(m.n), m.lanes, [&](Builder& jb, Value* j, Value* mask) {
      store(jb, m.out, m.at(jb, i, j), m.operand(jb, 0, i, j, mask), mask);
    });
  });
  for_lanes(b, b.i64(0), n, m.lanes, [&](Builder& jb, Value* j, Value* mask) {
    store(jb, m.out, m.at(jb, perm, j), jb.cast(j, ct), mask);
    store(jb, m.out, m.at(jb, swaps, j), jb.splat(scalar(jb, ct, 0.0), m.lanes), mask);
  });
  for_each(b, b.i64(0), n, [&](Builder& kb, Value* k) {
    Value* p = pivot_row(m, kb, k);
    for_lanes(kb, kb.i64(0), kb.i64(m.n), m.lanes, [&](Builder& jb, Value* j, Value* mask) {  // rows k <-> p
      Value *x = load(jb, m.out, m.at(jb, k, j), mask), *y = load(jb, m.out, m.at(jb, p, j), mask);
      store(jb, m.out, m.at(jb, k, j), y, mask);
      store(jb, m.out, m.at(jb, p, j), x, mask);
    });
    Value *pk = load(kb, m.out, m.at(kb, perm, k), nullptr), *pp = load(kb, m.out, m.at(kb, perm, p), nullptr);
    store(kb, m.out, m.at(kb, perm, k), pp, nullptr);
    store(kb, m.out, m.at(kb, perm, p), pk, nullptr);
    store(kb, m.out, m.at(kb, swaps, k), kb.cast(kb.cmp("ne", p, k), ct), nullptr);
    Value* piv = load(kb, m.out, m.at(kb, k, k), nullptr);
    Value* nonzero = kb.cmp("ne", piv, scalar(kb, ct, 0.0));
    for_each(kb, m.add1(kb, k), kb.i64(m.n), [&](Builder& ib, Value* i) {
      // A zero pivot means a zero column below it (it was the largest): nothing to eliminate.
      Value* l = ib.value("arith.select", {nonzero, ib.arith("div", load(ib, m.out, m.at(ib, i, k), nullptr), piv),
                                           scalar(ib, ct, 0.0)});
      store(ib, m.out, m.at(ib, i, k), l, nullptr);
      axpy_row(m, ib, i, k, l, m.add1(ib, k));
    });
  });
  return {m.batch, 1, 1};
}

// Row-oriented substitution, a block of B's columns per program: row i of X is
// (B[i] - sum over the solved rows j of A[i, j] X[j]) / A[i, i], in order from the first row
// (lower) or the last (upper).
Grid emit_tri_solve(Matrix& m, DType ct) {
  Builder& b = m.b;
  const bool lower = m.op.bool_attr("lower", true), unit = m.op.bool_attr("unit_diagonal", false);
  const int64_t cols = m.op.result()->type.static_shape().back(), blocks = ceil_div(cols, m.lanes);
  Value* pid = b.program_id(0);
  m.locate(b.arith("div", pid, b.i64(std::max<int64_t>(blocks, 1))));
  Value* col = b.arith("add", b.arange(m.lanes), b.arith("mul", b.arith("rem", pid, b.i64(blocks)), b.i64(m.lanes)));
  Value* mask = b.cmp("lt", col, b.i64(cols));
  for_each(b, b.i64(0), b.i64(m.n), [&](Builder& sb, Value* s) {
    Value* i = lower ? s : sb.arith("sub", sb.i64(m.n - 1), s);
    Value* lo = lower ? sb.i64(0) : m.add1(sb, i);
    Value* hi = lower ? i : sb.i64(m.n);
    Value* rhs = m.operand(sb, 1, i, col, mask);
    if (!rhs->type.is_tile()) rhs = sb.splat(rhs, m.lanes);  // b has one column: read once
    Value* acc = emit_for(sb, lo, hi, sb.i64(1), rhs, [&](Builder& jb, Value* j, Value* a) {
      Value* x = load(jb, m.out, m.at(jb, j, col), mask);
      return jb.arith("sub", a, jb.arith("mul", m.operand(jb, 0, i, j, nullptr), x));
    });
    if (!unit) acc = sb.arith("div", acc, m.operand(sb, 0, i, i, nullptr));
    store(sb, m.out, m.at(sb, i, col), acc, mask);
  });
  return {m.batch * blocks, 1, 1};
}

}  // namespace

Grid emit_linalg_kernel(const Op& kernel, Function& fn) {
  Builder b(&fn.body, kernel.loc);
  Matrix m(kernel, fn, b);
  DType ct = compute_dtype(m.op.result()->type.dtype);
  Grid grid = m.op.name == "potrf"   ? emit_potrf(m, ct)
              : m.op.name == "getrf" ? emit_getrf(m, ct)
              : m.op.name == "tri_solve"
                  ? emit_tri_solve(m, ct)
                  : (fail(ErrorCode::Compile, "linalg kernels compute potrf, getrf or tri_solve, got " + m.op.name,
                          m.op.loc.str()),
                     Grid{});
  erase_dead_ops(fn.body);
  return grid;
}

bool is_linalg_kernel(const std::string& name) { return name == "potrf" || name == "getrf" || name == "tri_solve"; }

}  // namespace tessera::tilegen
