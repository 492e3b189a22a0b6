// The `verify` pass: runs the IR verifier (see cpp/ir/verifier.cpp).
#include "passes/passes.hpp"

namespace tessera::passes {

void verify(ir::Module& m) { ir::verify(m); }

}  // namespace tessera::passes
