// Building blocks for op definitions: common type rules shared by the ops_*.cpp files.
#pragma once
#include <string>
#include <vector>

#include "ir/builder.hpp"
#include "ir/ops.hpp"

namespace tessera::ir {

void require_tensor(const std::string& op, const Type& t);
void require_float(const std::string& op, const Type& t);

// Elementwise op of one operand: same type out. `float_only` rejects integer tensors.
OpInfo unary_op(const std::string& name, bool float_only, const std::string& summary);
// Elementwise op of two operands of one dtype, NumPy-broadcast shapes.
OpInfo binary_op(const std::string& name, const std::string& summary);
// Reduction over attribute `axis` (with optional `keepdims`).
OpInfo reduction_op(const std::string& name, const std::string& summary);

// The op's numeric attribute `key` (int or float) as a double.
double number_attr(const Op& op, const std::string& key);

}  // namespace tessera::ir
