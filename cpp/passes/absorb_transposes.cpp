// Schedule IR, NVIDIA: a matmul kernel whose operand is the output of a kernel that only
// transposes the last two dims of one input (after row-major reshapes, which move no data)
// reads that input directly: the movement ops move into the matmul kernel's region, before
// the product, and tilegen gives the GEMM the operand in its stored layout (A as [K, M], B as
// [N, K]; tilegen/matmul_mma.cpp). The transposing kernel goes when nothing else reads it.
//
// Why: backward passes multiply by transposes (dX = dY W^T, dW = X^T dY). A transpose written
// out as a copy costs a full read and write of the operand (147 us of a 3 ms GPT block step on
// an H100); wgmma reads either layout from shared memory at the same speed, as cuBLAS does.
//
// Only wgmma kernels (mma = "wgmma") take stored layouts; others keep the copy. Their 16-byte
// copies need the stored rows to be whole chunks: M % 8 for A stored [K, M] (K and N are
// multiples of 8 already for wgmma).
#include "ir/builder.hpp"
#include "ir/ops.hpp"
#include "ir/target.hpp"
#include "passes/lowering.hpp"
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

// Result `v` of an element-wise kernel when the kernel computes it as transpose(reshape*(x))
// of one of its inputs x: the chain of region ops from x's argument to the transpose, else empty.
std::vector<const Op*> transposing_chain(const Value* v) {
  const Op* k = v->def;
  if (!k || k->name != "sched.kernel" || k->str_attr("kind") != "elementwise") return {};
  const Block& r = *k->region;
  const Value* cur = r.ops.back()->operands[size_t(v->index)];  // what the kernel yields as v
  std::vector<const Op*> chain;
  while (cur->def && (keeps_row_major_order(*cur->def) || (chain.empty() && swaps_last_two(*cur->def)))) {
    chain.insert(chain.begin(), cur->def);
    cur = cur->def->operands[0];
  }
  if (chain.empty() || chain.back()->name != "transpose" || cur->owner != &r) return {};
  return chain;
}

// The matmul op of a matmul kernel's region.
Op* matmul_in(Op& kernel) {
  for (auto& op : kernel.region->ops)
    if (op->name == "matmul") return op.get();
  return nullptr;
}

// Drops result `v` of kernel `k`, unused now; the kernel itself when it has no results left.
void drop_result(Function& fn, Op& k, Value* v) {
  Op& yield = *k.region->ops.back();
  size_t i = size_t(v->index);
  yield.operands.erase(yield.operands.begin() + long(i));
  k.results.erase(k.results.begin() + long(i));
  for (size_t j = i; j < k.results.size(); ++j) k.results[j]->index = int(j);
  if (k.results.empty()) fn.body.ops.remove_if([&](const std::unique_ptr<Op>& o) { return o.get() == &k; });
}

// Moves operand `i` of matmul `mm` in `kernel` from a transposing kernel's output to its input.
bool absorb(Function& fn, Op& kernel, Op& mm, size_t i) {
  Value* arg = mm.operands[i];
  Block& region = *kernel.region;
  if (arg->owner != &region || count_uses(region, arg) != 1) return false;
  Value* outer = kernel.operands[size_t(arg->index)];
  std::vector<const Op*> chain = transposing_chain(outer);
  if (chain.empty()) return false;
  const Op& t = *chain.back();
  if (i == 0 && t.operands[0]->type.shape.back().size % 8 != 0) return false;  // A stored [K, M]: rows of M
  Op& producer = *outer->def;
  Value* x = producer.operands[size_t(chain.front()->operands[0]->index)];
  kernel.operands[size_t(arg->index)] = x;
  arg->type = x->type;
  std::map<Value*, Value*> map{{chain.front()->operands[0], arg}};
  auto at = region.ops.begin();
  while (at != region.ops.end() && (*at)->name == "constant") ++at;
  Value* last = arg;
  for (const Op* op : chain) {
    Op* copy = region.insert(at, clone_op(*op, map));
    map[op->result()] = last = copy->result();
  }
  mm.operands[i] = last;
  if (count_uses(fn.body, outer) == 0) drop_result(fn, producer, outer);
  return true;
}

}  // namespace

void absorb_transposes(Module& m) {
  if (!Target::of(m).nvptx()) return;
  for (auto& fn : m.funcs)
    for (auto& op : fn->body.ops) {
      if (op->name != "sched.kernel" || op->str_attr("kind") != "matmul" || !op->attrs.count("mma") ||
          op->str_attr("mma") != "wgmma")
        continue;
      Op* mm = matmul_in(*op);
      for (size_t i = 0; mm && i < 2; ++i) absorb(*fn, *op, *mm, i);
    }
}

}  // namespace tessera::passes
