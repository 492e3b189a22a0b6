// Symbolic Graph IR -> the same program at concrete sizes (specialize.cpp).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "ir/ir.hpp"

namespace tessera::passes {

// Replaces every symbolic dim of every type (parameters, results, `constant` type attributes)
// by its size in `sizes`, folds `dim_size` ops into constants and verifies the result. Throws
// Error(Value) naming a symbol without a size, and the type rules' errors for sizes that do
// not fit the program.
void specialize(ir::Module& m, const std::map<std::string, int64_t>& sizes);

}  // namespace tessera::passes
