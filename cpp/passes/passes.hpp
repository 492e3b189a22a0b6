// The built-in passes as functions (one per entry of passes.def), for code that runs one
// directly; pipelines run them by name through the pass manager (ir/pass_manager.hpp).
#pragma once
#include "ir/ir.hpp"

namespace tessera::passes {

#define TESSERA_PASS(FN, NAME, DESCRIPTION) void FN(ir::Module& m);
#include "passes/passes.def"
#undef TESSERA_PASS

}  // namespace tessera::passes
