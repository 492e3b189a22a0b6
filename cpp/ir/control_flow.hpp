// Control flow in Graph IR: ops that call functions of the same module, run by the executor
// (each called function is compiled like the entry function, into kernels and a launch plan).
//
//   %c.., %ys.. = scan(%init.., %xs.., %k..) {body = "B", length = T, n_carry = a, n_xs = b, reverse = false}
//       B: (c.., x.., k..) -> (c'.., y..). Step t runs B on the carries and slice t of each xs
//       (t = T-1 down to 0 with reverse); the results are the last carries and the ys stacked
//       along a new axis 0, in the order of t.
//   %c.. = while_loop(%init.., %k..) {cond = "C", body = "B", n_carry = a}
//       C: (c.., k..) -> (bool[]), B: (c.., k..) -> (c'..): B runs while C holds.
//   %r.. = cond(%pred, %x..) {then = "T", else = "E"}
//       T, E: (x..) -> (r..); pred is a rank-0 bool tensor.
//
// The k operands are values the functions read but do not change (closures, loop constants).
// Result types are written on the op; `verify_control_flow` checks them against the functions.
#pragma once
#include <string>
#include <vector>

#include "ir/ir.hpp"

namespace tessera::ir {

bool is_control_flow(const Op& op);
// The attribute roles that name functions: {"body"}, {"cond", "body"} or {"then", "else"}.
std::vector<std::string> callee_roles(const Op& op);
// The function an attribute role names (a Verify error naming the op when it is missing).
const Function& control_callee(const Module& m, const Op& op, const std::string& role);
// Checks every control-flow op of `m` against the functions it calls.
void verify_control_flow(const Module& m);

}  // namespace tessera::ir
