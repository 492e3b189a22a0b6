// Graph IR builders shared by the linear-algebra ops (ops_linalg.cpp) and their derivative
// rules (derivatives_linalg.cpp). Matrices are the last two dims; leading dims are a batch.
#pragma once
#include <functional>
#include <string>

#include "ir/op_rules.hpp"

namespace tessera::ir::linalg {

using Shape = std::vector<int64_t>;

// Why the factorizations do not run on GPUs yet (OpInfo::cpu_only; lower-to-tile's error).
inline const char* const kCpuOnly =
    "its kernel walks a matrix in one program instance; the GPU path (barriers between phases) awaits a GPU run";

// Shape/dtype check of a (batch of) matrices with static sizes, f32 or f64; square ones.
void require_matrix(const std::string& op, const Type& t);
void require_square(const std::string& op, const Type& t);
Shape batch_of(const Type& t, size_t matrix_dims);  // t's shape without its last matrix_dims dims
// An op whose result is [batch..., matrix(operand 0 type, attrs)...] of operand 0's dtype, for a
// (square, with `square`) matrix operand: the kernel primitives (potrf, getrf, geqrf, ...) and
// the decompositions' parts.
OpInfo matrix_op(const std::string& name, std::vector<std::string> operands, std::vector<AttrSpec> attrs,
                 const std::string& summary, bool square, std::function<Shape(const Type&, const AttrMap&)> matrix);
Shape concat(Shape a, const Shape& c);
// Rows [from, to) of the matrices of x (a slice of dim -2), and columns likewise.
Value* rows_of(Builder& b, Value* x, int64_t from, int64_t to);
Value* cols_of(Builder& b, Value* x, int64_t from, int64_t to);
Value* mT(Builder& b, Value* x);                // the last two dims swapped
Value* matmul(Builder& b, Value* x, Value* y);  // full f32/f64 precision
Value* diagonal(Builder& b, Value* x);          // [..., n, n] -> [..., n]
Value* trace(Builder& b, Value* x);             // [..., n, n] -> [...]
Value* eye(Builder& b, const Type& t);          // the identity broadcast to t (square last dims)
Value* sym(Builder& b, Value* x);               // (x + x^T) / 2
// The triangle a triangular solve reads: lower or upper, without the diagonal when unit.
Value* triangle(Builder& b, Value* x, bool lower, bool unit);
Value* tri_solve(Builder& b, Value* a, Value* rhs, bool lower, bool left, bool unit);
Value* solve(Builder& b, Value* a, Value* rhs);
Value* inv(Builder& b, Value* a);
// x[..., None, None]: one value per matrix, to broadcast over it.
Value* per_matrix(Builder& b, Value* x);

}  // namespace tessera::ir::linalg
