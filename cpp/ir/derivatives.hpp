// Building blocks of the derivative rules (derivatives*.cpp): small Graph IR builders that
// rules share, and the attach functions of each rule family.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/op_rules.hpp"

namespace tessera::ir::derivative {

using Vjp = std::function<std::vector<Value*>(Builder&, const Op&, Value*)>;
using Jvp = std::function<Value*(Builder&, const Op&, const std::vector<Value*>&)>;
using Table = std::map<std::string, OpInfo>;

Value* zeros(Builder& b, const Type& t);
// Sums `g` over the dims that broadcasting added or stretched to get from `target` to g.
Value* unbroadcast(Builder& b, Value* g, const Type& target);
// Cotangent for a binary-op operand: summed over broadcast dims, in the operand's dtype.
Value* to_operand(Builder& b, Value* g, const Type& operand);
// 1 where `x` > 0, else 0, in x's dtype: the derivative of relu.
Value* positive_mask(Builder& b, Value* x);
// Adds tangents that may be null (zero).
Value* add_maybe(Builder& b, Value* a, Value* c);
Value* reshape_to(Builder& b, Value* g, const Type& t);
Value* op2(Builder& b, const char* name, Value* x, Value* y);
Value* op1(Builder& b, const char* name, Value* x);
Value* k(Builder& b, Value* like, double v);  // a scalar constant of like's dtype
// x[start:stop:step] along dim d only; zeros before/after along dim d; the inverse of a slice.
Value* slice_dim(Builder& b, Value* x, size_t d, int64_t start, int64_t stop, int64_t step);
Value* pad_dim(Builder& b, Value* x, size_t d, int64_t lo, int64_t hi);
Value* unslice_dim(Builder& b, Value* g, size_t d, int64_t start, int64_t step, int64_t n, int64_t size);

void attach(Table& table, const std::string& name, Vjp vjp, Jvp jvp);
// Ops linear in their floating-point operands: the tangent is the op applied to the tangents.
Jvp linear_jvp();
// Ops linear in x but for a constant padding `value` (pad, windows): the op on the tangent
// with value 0.
Jvp padded_linear_jvp();
// Unary ops f with derivative f'(x) built by `deriv`: VJP g * f'(x), JVP t * f'(x).
using Deriv = std::function<Value*(Builder&, const Op&)>;
void attach_unary(Table& table, const std::string& name, Deriv deriv);

void attach_math(Table& table);            // derivatives_math.cpp
void attach_functions(Table& table);       // derivatives_functions.cpp: the ops of ops_math.cpp
void attach_reductions(Table& table);      // derivatives_shape.cpp: reductions and matmul
void attach_indexing(Table& table);        // derivatives_shape.cpp
void attach_movement(Table& table);        // derivatives_shape.cpp
void attach_scans(Table& table);           // derivatives_sort.cpp: cumsum, cumprod, cummax, cummin
void attach_linalg(Table& table);          // derivatives_linalg.cpp: tri_solve, cholesky, solve, inv, det, ...
void attach_decompositions(Table& table);  // derivatives_decompositions.cpp: qr, eigh and SVD results

}  // namespace tessera::ir::derivative
