// Passes by name and pipelines of them ("verify,cse,dce").
//
// A pass is a `void(Module&)` registered under a name with a one-line description. Define one
// in any .cpp, at global namespace scope:
//
//   static void run_dce(tessera::ir::Module& m) { ... }
//   TESSERA_REGISTER_PASS(dce, "dce", "removes pure ops whose results are unused", run_dce);
//
// The macro registers the pass twice over, once at static-initialisation time and once through
// a function `tessera_pass_link_<id>()` that registers it on first call (both paths register it
// exactly once). Static initialisation alone is not enough: the linker drops an object file of
// a static library that nothing references, and its initialiser with it. So every pass of
// cpp/passes/ is also listed in pass_manager.cpp (TESSERA_BUILTIN_PASSES), whose calls to their
// link functions both pull their object files into every program that runs a pipeline and
// register them before any lookup. Passes of another library call TESSERA_LINK_PASS(id) from a
// function of theirs that the program reaches (or call register_pass() directly).
//
// Environment:
//   TESSERA_DUMP_IR=<dir>    writes <dir>/NN-input.tir, then <dir>/NN-<pass>.tir after each pass
//                            (NN counts up across the process, so runs never overwrite).
//   TESSERA_VERIFY_EACH=1    verifies the module after every pass (default on in debug builds;
//                            =0 turns it off there).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ir/ir.hpp"

namespace tessera::ir {

using PassFn = std::function<void(Module&)>;

struct PassInfo {
  std::string name;         // [A-Za-z0-9_.-]+
  std::string description;  // one line
  PassFn run;
};

// Throws Error(Internal) if the name is invalid or already registered.
void register_pass(const std::string& name, const std::string& description, PassFn fn);
const PassInfo* find_pass(const std::string& name);  // null if unknown
std::vector<const PassInfo*> list_passes();          // sorted by name

// Splits a pipeline ("verify, cse,dce"; whitespace allowed; "" is empty) into pass names.
// Throws Error(Value) on an unknown or empty pass name, listing the known passes.
std::vector<std::string> parse_pipeline(const std::string& pipeline);

// Runs the pipeline's passes in order (see the environment variables above). `verify_each`,
// when given, overrides TESSERA_VERIFY_EACH and the build's default.
void run_pipeline(Module& m, const std::string& pipeline, std::optional<bool> verify_each = std::nullopt);

}  // namespace tessera::ir

#define TESSERA_REGISTER_PASS(ID, NAME, DESCRIPTION, FN)                                     \
  void tessera_pass_link_##ID() {                                                             \
    static const bool registered = (::tessera::ir::register_pass(NAME, DESCRIPTION, FN), true); \
    (void)registered;                                                                         \
  }                                                                                           \
  [[maybe_unused]] static const bool tessera_pass_init_##ID = (tessera_pass_link_##ID(), true)

// Declares a pass's link function (at global namespace scope) ...
#define TESSERA_DECLARE_PASS(ID) void tessera_pass_link_##ID()
// ... and calls it (in a function body): pulls in and registers the pass.
#define TESSERA_LINK_PASS(ID) ::tessera_pass_link_##ID()
