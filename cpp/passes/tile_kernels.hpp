// Tile IR generators, one per Schedule IR kernel kind. Each fills the body of an empty kernel
// function (whose parameters are the kernel's input pointers, then its output pointers) and
// returns the launch grid.
#pragma once
#include <array>

#include "ir/builder.hpp"
#include "ir/ops.hpp"

namespace tessera::passes {

using Grid = std::array<int64_t, 3>;

Grid emit_elementwise_kernel(const ir::Op& kernel, ir::Function& fn);
Grid emit_reduce_kernel(const ir::Op& kernel, ir::Function& fn);
Grid emit_matmul_kernel(const ir::Op& kernel, ir::Function& fn);

}  // namespace tessera::passes
