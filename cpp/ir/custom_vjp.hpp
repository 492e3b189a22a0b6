// `custom_vjp`: a call whose derivative is given by the user instead of derived from its body.
//
//   %y = custom_vjp(%x...) {name = "f", fn = "f_fn_..", fwd = "f_fwd_..", bwd = "f_bwd_.."} : T
//
// The three attributes name functions of the same module:
//   fn:  (x...) -> (y)                 the primal, used when nothing differentiates the call;
//   fwd: (x...) -> (y, r...)           the primal value and residuals for the backward pass;
//   bwd: (x..., r..., ct) -> (dx...)   one cotangent per operand.
// `decompose` inlines `fn` (so compiled programs never see the op) and drops the functions;
// `vjp_transform` inlines `fwd` in place of the call and `bwd` in the reverse sweep. Operands
// are the user's tensor arguments followed by tensors the functions closed over.
#pragma once
#include <string>
#include <vector>

#include "ir/ir.hpp"

namespace tessera::ir {

// The function that `op`'s attribute `role` ("fn", "fwd" or "bwd") names; throws naming the
// user's function when it is missing.
const Function& custom_vjp_callee(const Module& m, const Op& op, const std::string& role);

// Checks every custom_vjp op of `m`: its functions exist and their types fit the call.
void verify_custom_vjp_calls(const Module& m);

// Copies `callee`'s body before `pos` in `block`, with its parameters bound to `args`, and
// returns the values it returns. The copied ops keep their own source locations.
std::vector<Value*> inline_call(Block& block, std::list<std::unique_ptr<Op>>::iterator pos, const Function& callee,
                                const std::vector<Value*>& args);

// Replaces every custom_vjp op of `m`'s functions by its inlined `fn` and removes the
// functions the calls named.
void inline_custom_vjp_calls(Module& m);

}  // namespace tessera::ir
