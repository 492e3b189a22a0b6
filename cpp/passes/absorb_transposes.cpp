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
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

bool swaps_last_two(const Op& t) {
  int64_t r = t.result()->type.rank();
  if (t.name != "transpose" || r < 2) return false;
  if (!t.attrs.count("perm")) return r == 2;  // default: reversed dims
  const IntList& perm = t.ints_attr("perm");
  for (int64_t d = 0; d < r; ++d)
    if (perm[size_t(d)] != (d < r - 2 ? d : d == r - 2 ? r - 1 : r - 2)) return false;
  return true;
}

bool is_reshape(const Op& op) { return op.name == "reshape" || op.name == "squeeze" || op.name == "expand_dims"; }

// A kernel computing transpose(reshape*(x)) of its one input x, and nothing else; its transpose.
const Op* transposing_kernel(const Value* v) {
  const Op* k = v->def;
  if (!k || k->name != "sched.kernel" || k->str_attr("kind") != "elementwise" || k->results.size() != 1 ||
      k->operands.size() != 1)
    return nullptr;
  const Block& r = *k->region;
  const Value* cur = r.args[0].get();
  const Op* last = nullptr;
  for (const auto& op : r.ops) {
    if (op->name == "sched.yield")
      return op->operands.size() == 1 && last && op->operands[0] == last->result() && swaps_last_two(*last) ? last
                                                                                                            : nullptr;
    if (last && last->name == "transpose") return nullptr;  // the transpose must be the last op
    if ((!is_reshape(*op) && op->name != "transpose") || op->operands.size() != 1 || op->operands[0] != cur)
      return nullptr;
    last = op.get();
    cur = op->result();
  }
  return nullptr;
}

// The matmul op of a matmul kernel's region.
Op* matmul_in(Op& kernel) {
  for (auto& op : kernel.region->ops)
    if (op->name == "matmul") return op.get();
  return nullptr;
}

// Moves operand `i` of matmul `mm` in `kernel` from a transposing kernel's output to its input.
bool absorb(Function& fn, Op& kernel, Op& mm, size_t i) {
  Value* arg = mm.operands[i];
  Block& region = *kernel.region;
  if (arg->owner != &region || count_uses(region, arg) != 1) return false;
  Value* outer = kernel.operands[size_t(arg->index)];
  const Op* t = transposing_kernel(outer);
  if (!t) return false;
  if (i == 0 && t->operands[0]->type.shape.back().size % 8 != 0) return false;  // A stored [K, M]: rows of M
  Op& producer = *outer->def;
  kernel.operands[size_t(arg->index)] = producer.operands[0];
  arg->type = producer.operands[0]->type;
  std::map<Value*, Value*> map{{producer.region->args[0].get(), arg}};
  auto at = region.ops.begin();
  while (at != region.ops.end() && (*at)->name == "constant") ++at;
  Value* last = arg;
  for (const auto& op : producer.region->ops) {
    if (op->name == "sched.yield") break;
    Op* copy = region.insert(at, clone_op(*op, map));
    map[op->result()] = last = copy->result();
  }
  mm.operands[i] = last;
  if (count_uses(fn.body, outer) == 0)
    fn.body.ops.remove_if([&](const std::unique_ptr<Op>& o) { return o.get() == &producer; });
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
