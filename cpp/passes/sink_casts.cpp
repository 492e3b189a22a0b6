// The `sink-casts` pass: moves each widening cast (to a dtype of more bytes, e.g. bf16 -> f32)
// of a function body down to just before its first user.
//
// form-kernels groups ops in program order, so a cast written (or produced by autodiff or
// decompose) next to its operand's definition lands in the producer's kernel, which then
// writes the wide copy to memory for a later kernel to read. Next to its user it joins the
// user's kernel and is computed there from the narrow value: e.g. the attention backward's
// delta = sum(cast(do) * cast(o)) reads do in bf16 instead of an f32 copy twice its size.
// Moving a pure op later, still before every use, changes no result. Casts used only inside
// other ops' regions stay where they are.
#include <utility>
#include <vector>

#include "ir/registry.hpp"
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

bool widening_cast(const Op& op) {
  return op.name == "cast" && op.results.size() == 1 && op.operands.size() == 1 &&
         dtype_size(op.result()->type.dtype) > dtype_size(op.operands[0]->type.dtype);
}

bool uses(const Op& op, const Value* v) {
  for (const Value* x : op.operands)
    if (x == v) return true;
  return false;
}

// The moves are found first and made after, so that no op is looked at twice (two casts
// with one user would otherwise take turns in front of it). Each cast goes right before its
// user, in program order; a cast of a cast moved itself still stays before it.
void sink(Block& b) {
  using It = std::list<std::unique_ptr<Op>>::iterator;
  std::vector<std::pair<It, It>> moves;
  for (It it = b.ops.begin(); it != b.ops.end(); ++it) {
    if (!widening_cast(**it)) continue;
    const Value* v = (*it)->result();
    It user = std::next(it);
    while (user != b.ops.end() && !uses(**user, v)) ++user;
    if (user != b.ops.end() && user != std::next(it)) moves.emplace_back(it, user);
  }
  for (auto& [cast, user] : moves) b.ops.splice(user, b.ops, cast);
}

}  // namespace

void sink_casts(Module& m) {
  for (auto& f : m.funcs) sink(f->body);
}

}  // namespace tessera::passes
