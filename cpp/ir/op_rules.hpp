// Building blocks for op definitions: common type rules shared by the ops_*.cpp files, and the
// dtype promotion rule (docs/dtype_promotion.md).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ir/builder.hpp"
#include "ir/ops.hpp"

namespace tessera::ir {

void require_tensor(const std::string& op, const Type& t);
void require_float(const std::string& op, const Type& t);

// NumPy-style promotion: bool < u8/i8 < i32 < i64 < f16/bf16 < f32 < f64; u8+i8 -> i32,
// f16+bf16 -> f32, integer + float -> that float.
DType promote_types(DType a, DType b);
// The NumPy broadcast of two tensor shapes (Shape error naming `op` when incompatible).
std::vector<Dim> broadcast_shapes(const std::string& op, const Type& a, const Type& b);

// Elementwise op of one operand: same type out. `float_only` rejects integer tensors.
OpInfo unary_op(const std::string& name, bool float_only, const std::string& summary);
// Elementwise op of two operands: promoted dtype (bool rejected), NumPy-broadcast shapes.
OpInfo binary_op(const std::string& name, const std::string& summary);
// As binary_op, but integer and bool results become f32 (true division).
OpInfo float_binary_op(const std::string& name, const std::string& summary);
// Comparison of two operands of any dtypes (compared in the promoted dtype): bool out.
OpInfo compare_op(const std::string& name, const std::string& summary);
// Logical op of one or two operands of any dtypes (nonzero is true): bool out.
OpInfo logical_op(const std::string& name, int arity, const std::string& summary);
// A data-movement op with these operand names ({"xs"}: variadic) and attributes; the caller
// sets infer and lower_at (ops_movement.cpp).
OpInfo movement(const std::string& name, std::vector<std::string> operands, std::vector<AttrSpec> attrs,
                const std::string& summary);
// Reduction over attribute `axis` (with optional `keepdims`).
OpInfo reduction_op(const std::string& name, const std::string& summary);

// ---- symbolic dims (docs/design.md, "Symbolic dims") ----

// A slice stop meaning "to the end": the only way to slice a symbolic dim (whole, step 1).
constexpr int64_t kWholeStop = INT64_MAX;
// "128" or "B".
std::string dim_text(const Dim& d);
// "[1, 2, 3]": sizes, strides or paddings in error messages.
std::string ints_text(const IntList& v);
// Shape error for an op that needs the size of dim `d` of `t`, which is symbolic: names the op,
// the symbol and the fix (the caller adds the user's line).
[[noreturn]] void symbolic_dim_error(const std::string& op, const Type& t, size_t d, const std::string& why);
// `t`'s shape as a `reshape` target: static sizes, and -1 for its symbolic dim (at most one;
// more is an error naming `op`).
IntList reshape_shape(const std::string& op, const Type& t);

// `v` reshaped to `t`'s shape: a reshape (-1 for t's one symbolic dim, if any); with several
// symbolic dims, one that only drops and inserts size-1 dims is squeeze + expand_dims.
Value* reshape_value(Builder& b, Value* v, const Type& t);

// Normalised (start, step, length) per dim of a `slice` of `x` (Python's slice.indices rules).
std::vector<std::array<int64_t, 3>> slice_bounds(const Type& x, const AttrMap& attrs);

// ---- out-of-range indices (take, gather, scatter_add, embedding) ----

// The `mode` attribute: "clip" (the default: a negative index counts from the end once, then
// the index is clamped into the axis), "wrap" (modulo the axis size), "fill" (reads give the
// fill value, scatter_add drops the update) or "error" (checked when the program runs).
extern const AttrSpec kIndexMode;
std::string index_mode(const std::string& op, const AttrMap& attrs);  // validated
// An index read from an index operand (any integer dtype) as an in-bounds i64 index into an
// axis of `n` > 0 elements, by `mode`; with "fill", `*valid` tells whether it was in [-n, n).
Value* in_bounds_index(ValueAt& e, Value* j, int64_t n, const std::string& mode, Value** valid);
// mode "error": `idx` checked to lie in [-n, n) when the program runs (a `checked` op).
Value* checked_indices(Builder& b, const Op& op, Value* idx, int64_t n, int64_t axis);

// The op's numeric attribute `key` (int or float) as a double.
double number_attr(const Op& op, const std::string& key);

// Lowering helper: `v` (an element of an operand) converted to the compute dtype of `storage`.
inline Value* to_compute(Builder& b, Value* v, DType storage) { return b.cast(v, compute_dtype(storage)); }

}  // namespace tessera::ir
