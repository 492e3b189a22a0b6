// Automatic differentiation of Graph IR (autodiff.cpp). Both transforms act on the module's
// first function and return a new module; rules come from the op registry (derivatives.cpp).
#pragma once
#include <list>
#include <memory>
#include <utility>
#include <vector>

#include "ir/ir.hpp"

namespace tessera::passes {

// f(x...) -> (y...)  ==>  g(x..., ct_k for k in differentiated_outputs) -> (y..., dL/dx_i for i in wrt).
// With seed_ones, no ct parameters are added: each differentiated output (one element) gets 1.
std::unique_ptr<ir::Module> vjp_transform(const ir::Module& m, const std::vector<int>& wrt,
                                          const std::vector<int>& differentiated_outputs, bool seed_ones);

// The `decompose` pass without inlining custom_vjp calls (decompose.cpp). Composites with a
// rule of their own for the transform at hand stay (the transform uses the rule): reverse mode
// keeps those with a VJP rule (attention, solve), forward mode those whose JVP rule covers
// every form (OpInfo::jvp_covers_composite: the linear-algebra ops).
enum class KeepRules { None, Vjp, Jvp };
void decompose_for_autodiff(ir::Module& m, KeepRules keep);

// f(x...) -> (y...)  ==>  g(x..., t_i for i in wrt) -> (y..., dy/dx . t for each y).
std::unique_ptr<ir::Module> jvp_transform(const ir::Module& m, const std::vector<int>& wrt);

// Control flow under the transforms (autodiff_control.cpp). Reverse mode: the scan at `pos`
// replaced by one that also stacks its input carries (results: the old ones, then the stacks);
// the cotangents of a control op's operands from those of its results (null: none), built at
// the end of `body`. Forward mode: the tangents of the results of the op at `pos` (null: zero),
// from a copy of it carrying tangents too, appended at the end of `body`.
ir::Op* scan_with_residuals(ir::Module& m, ir::Block& body, std::list<std::unique_ptr<ir::Op>>::iterator pos);
std::vector<ir::Value*> control_vjp(ir::Module& m, ir::Block& body, const ir::Op& op,
                                    const std::vector<ir::Value*>& cotangents);
std::vector<ir::Value*> control_jvp(ir::Module& m, ir::Block& body, std::list<std::unique_ptr<ir::Op>>::iterator pos,
                                    const std::vector<ir::Value*>& tangents);

}  // namespace tessera::passes
