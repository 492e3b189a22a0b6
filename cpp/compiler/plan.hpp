// Host function -> launch plan (runtime/plan.hpp): the Tile IR host functions of a compiled
// program become the flat step lists that the runtime runs (runtime/program.hpp).
#pragma once
#include "ir/ir.hpp"
#include "runtime/plan.hpp"

namespace tessera::compiler {

// The plan of a Tile IR host function, its buffers placed by memory_plan.hpp. Launch steps
// name their kernels; the runtime binds them when the program's modules are loaded.
Plan build_plan(const ir::Function& host);
// The plans of every host function of a Tile IR module, the entry first.
std::vector<Plan> build_plans(const ir::Module& tile_module);

}  // namespace tessera::compiler
