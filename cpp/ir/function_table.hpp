// Functions that modules call by name (custom_vjp's fn/fwd/bwd, the bodies and branches of
// scan, while_loop and cond), kept in one process-wide table.
//
// A trace defines each such function once (define_function); a transform that makes new ones
// (the derivative of a loop body) registers them from its result (register_functions); and a
// module about to be compiled gets copies of every function its ops name, directly or through
// other functions (link_functions). Names carry a hash of the function's text without
// locations, so equal functions share a name (and compiled code) and one name never stands for
// two different functions.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ir/ir.hpp"

namespace tessera::ir {

// The names of the functions `op` calls through its attributes.
std::vector<std::string> called_functions(const Op& op);

// `f` named `base`_<hash of its text>; the name is set on f and returned.
std::string content_name(Function& f, const std::string& base);

// Names `f` (content_name) and keeps it in the table; returns the name.
std::string define_function(std::unique_ptr<Function> f, const std::string& base);

// Keeps every function of `m` but the first (its entry) in the table.
void register_functions(const Module& m);

// Appends to `m` a copy of every function that its ops call and it lacks, from the table,
// transitively, in name order. Throws ErrorCode::Value naming a function the table lacks.
void link_functions(Module& m);

}  // namespace tessera::ir
