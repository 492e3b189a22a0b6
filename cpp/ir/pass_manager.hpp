// Passes by name and pipelines of them ("verify,cse,dce").
//
// A pass is a `void(Module&)` registered under a name with a one-line description. The
// built-in passes are listed once, in cpp/passes/passes.def, and registered before the first
// lookup; other code (tests, extensions) adds passes with register_pass().
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
