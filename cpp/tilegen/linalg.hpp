// What the linear-algebra kernels share (linalg.cpp: potrf, getrf, tri_solve;
// linalg_orthogonal.cpp: geqrf, orgqr, syevj, gesvj): loops, the program's matrix, and row
// operations. Each program instance owns one matrix (tri_solve: one block of columns of one);
// lanes run along rows, which are contiguous in row-major storage.
#pragma once
#include <functional>

#include "ir/op_rules.hpp"
#include "tilegen/tilegen.hpp"
#include "tilegen/value_emitter.hpp"

namespace tessera::tilegen::linalg {

using ir::Block;
using ir::Builder;
using ir::Function;
using ir::Op;
using ir::Type;
using ir::Value;

// Lanes' stores before it are seen by every lane's loads after it (GPUs: a block barrier; lanes
// are threads there, and a scalar store is thread 0's). Each phase whose results other lanes
// read ends with one, and so does each uniform read (a pivot, a key) of an element that the
// phase after it overwrites: no thread may still be reading it.
inline void sync(Builder& b) { b.create("tile.barrier", {}); }

// The kernel's op, the program's matrix (its batch coordinates and output offset) and index
// arithmetic on the output, which the factorizations use as their workspace.
struct Matrix {
  const Op& kernel;
  Function& fn;
  const Op& op;
  Builder& b;
  DType ct;            // compute dtype
  int64_t rows, cols;  // operand 0's matrix
  int64_t lanes, batch = 1;
  std::vector<int64_t> batch_shape;
  ir::ValueAt::Coords z;  // batch coordinates of this program's matrix
  Value* out;
  Value* base = nullptr;  // output offset of the matrix
  int64_t row = 0;        // output row length

  Matrix(const Op& kernel, Function& fn, Builder& b);
  void locate(Value* matrix);                                                     // sets z, base, row
  Value* at(Builder& ib, Value* i, Value* j) const;                               // output offset of (i, j)
  Value* operand(Builder& ib, int index, Value* i, Value* j, Value* mask) const;  // element (i, j) of an operand
  Value* load(Builder& ib, Value* i, Value* j, Value* mask) const;                // output (i, j)
  void store(Builder& ib, Value* i, Value* j, Value* v, Value* mask) const;
  Value* c(Builder& ib, double v) const { return ib.constant(ct, v); }
  Value* add1(Builder& ib, Value* i) const { return ib.arith("add", i, ib.i64(1)); }
};

// sum over j in [lo, hi) of term(builder, j's tile, mask): a scalar.
Value* sum_lanes(const Matrix& m, Builder& b, Value* lo, Value* hi,
                 const std::function<Value*(Builder&, Value*, Value*)>& term);
// out[i, lo:hi] -= f * out[k, lo:hi]
void axpy_row(const Matrix& m, Builder& b, Value* i, Value* k, Value* f, Value* lo, Value* hi);
// out[p, lo:hi], out[q, lo:hi] = c out[p] - s out[q], s out[p] + c out[q]  (a plane rotation)
void rotate_rows(const Matrix& m, Builder& b, Value* p, Value* q, Value* c, Value* s, Value* lo, Value* hi);
// The Jacobi rotation (c, s) that zeroes the off-diagonal of [[app, apq], [apq, aqq]], and t = s / c
// (Golub and Van Loan, sym.schur2); the identity where apq = 0.
struct Rotation {
  Value *c, *s, *t;
};
Rotation jacobi_rotation(const Matrix& m, Builder& b, Value* app, Value* aqq, Value* apq);
// The i in [first, hi) whose scalar key(i) is best (`better`: "gt" for the largest, "lt" the
// smallest), the first of equals (LAPACK's idamax; a stable selection).
Value* best_index(const Matrix& m, Builder& b, Value* first, Value* hi, const char* better,
                  const std::function<Value*(Builder&, Value*)>& key);
// Swaps out[p, lo:hi] and out[q, lo:hi].
void swap_rows(const Matrix& m, Builder& b, Value* p, Value* q, Value* lo, Value* hi);

Grid emit_geqrf(Matrix& m);
Grid emit_orgqr(Matrix& m);
Grid emit_syevj(Matrix& m);
Grid emit_gesvj(Matrix& m);

}  // namespace tessera::tilegen::linalg
