// Which Graph IR ops may share a row-wise kernel (see form_kernels.cpp and tilegen/rowwise.cpp).
//
// A row-wise kernel runs one program instance per row of S = [rows..., R], the operand shape
// of its reductions over the innermost axis. A value is "row-dependent" when it is computed
// from one of the kernel's reductions: the instance knows it for its own row only. So a
// row-dependent value must be a row (shape S) or one value per row (S with the last dim 1 or
// dropped), and may only be read at its own row: by element-wise ops (a per-row value
// broadcast over the row) and by reshapes between the per-row shapes. Values that are not
// row-dependent (prologue ops, inputs) may be read at any coordinates.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "ir/ir.hpp"

namespace tessera::passes {

// A reduction over the innermost axis of a static shape (a row-wise kernel can compute it).
bool is_row_reduction(const ir::Op& op);
// The operand shape S of a row reduction.
std::vector<int64_t> row_shape(const ir::Op& reduction);
// Is `shape` S, or S with its last dim 1 or dropped?
bool is_row_or_per_row(const std::vector<int64_t>& shape, const std::vector<int64_t>& S);

// Empty when `op` may join a row-wise kernel over S whose row-dependent values are
// `row_dependent`; otherwise why it may not (a sentence for explain()).
std::string row_join_blocker(const ir::Op& op, const std::vector<int64_t>& S,
                             const std::set<const ir::Value*>& row_dependent);

std::string shape_text(const std::vector<int64_t>& shape);  // "[4,5]"

}  // namespace tessera::passes
