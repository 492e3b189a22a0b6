// Graph IR -> Graph IR: replaces composite ops (mean, var, reductions over every axis, ...)
// by the primitives their registry entry's `decompose` builds, so later passes and kernel
// generators only see primitives. The new ops are visited in turn, so decompositions may use
// other composites. custom_vjp calls are inlined first (their primal function), unless autodiff
// asks to keep them so that it can use their rules; autodiff also keeps composites that have a
// rule of their own for its mode (attention: a flash backward instead of the decomposition's;
// solve: the matrix-calculus identities instead of differentiating through the LU kernel).
#include "ir/builder.hpp"
#include "ir/custom_vjp.hpp"
#include "ir/ops.hpp"
#include "passes/autodiff.hpp"
#include "passes/lowering.hpp"
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

void decompose_function(const Module& m, Function& fn, KeepRules keep) {
  Block& body = fn.body;
  for (auto it = body.ops.begin(); it != body.ops.end();) {
    Op& op = **it;
    const OpInfo* info = lookup_op(op.name);
    bool has_rule = (keep == KeepRules::Vjp && info && info->vjp) ||
                    (keep == KeepRules::Jvp && info && info->jvp && info->jvp_covers_composite);
    if (!info || !info->decompose || has_rule || flash_attention_applies(m, fn, op)) {
      ++it;  // kept: its own gradient rule, or its own kernel
      continue;
    }
    Block scratch;
    Builder b(&scratch, op.loc);
    std::vector<Value*> repl = info->decompose(b, op);
    if (repl.empty()) {
      ++it;
      continue;
    }
    if (repl.size() != op.results.size())
      fail(ErrorCode::Internal, "decompose: " + op.name + " built the wrong number of results", op.loc.str());
    for (size_t i = 0; i < repl.size(); ++i)
      if (repl[i]->type != op.result(int(i))->type)
        fail(ErrorCode::Internal,
             "decompose: " + op.name + " built " + repl[i]->type.str() + " for " + op.result(int(i))->type.str(),
             op.loc.str());
    size_t n = scratch.ops.size();
    for (auto& p : scratch.ops) body.insert(it, std::move(p));
    for (size_t i = 0; i < repl.size(); ++i) replace_all_uses(body, op.result(int(i)), repl[i]);
    it = body.ops.erase(it);
    std::advance(it, -std::ptrdiff_t(n));  // visit the new ops next
  }
}

}  // namespace

void decompose_for_autodiff(Module& m, KeepRules keep) {
  for (auto& fn : m.funcs)
    if (!fn->attrs.count("kernel")) decompose_function(m, *fn, keep);
}

void decompose(Module& m) {
  inline_custom_vjp_calls(m);
  decompose_for_autodiff(m, KeepRules::None);
}

}  // namespace tessera::passes
