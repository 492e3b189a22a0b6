// The `verify` pass: runs the IR verifier (see cpp/ir/verifier.cpp).
#include "ir/pass_manager.hpp"

static void run_verify(tessera::ir::Module& m) { tessera::ir::verify(m); }

TESSERA_REGISTER_PASS(verify, "verify", "checks the IR's invariants and every op against the registry", run_verify);
