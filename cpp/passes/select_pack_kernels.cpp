// Schedule IR, CPU: an elementwise kernel that does nothing but sched.pack one of its inputs
// (the usual case: a matmul operand that is a parameter or an earlier kernel's output) becomes
// kind "pack", lowered to one tile.pack per panel: row copies and small transposes that run
// at memory speed, where the general per-element path spends its time on index arithmetic.
// Packs that fuse producers (a cast, a transpose, an activation) stay elementwise.
#include "ir/ops.hpp"
#include "ir/target.hpp"
#include "passes/lowering.hpp"
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

bool only_packs_an_input(const Op& kernel) {
  if (kernel.str_attr("kind") != "elementwise" || kernel.results.size() != 1) return false;
  const Block& r = *kernel.region;
  if (r.ops.size() != 2) return false;  // the pack and the yield
  const Op& pack = *r.ops.front();
  return pack.name == "sched.pack" && pack.operands[0]->owner == &r && r.args.size() == 1;
}

}  // namespace

void select_pack_kernels(Module& m) {
  if (Target::of(m).gpu()) return;
  for (auto& fn : m.funcs)
    for (auto& op : fn->body.ops)
      if (op->name == "sched.kernel" && only_packs_an_input(*op)) op->attrs["kind"] = std::string("pack");
}

}  // namespace tessera::passes
