// The arithmetic of a kernel's products, for the profiler's TFLOP/s (lowering.hpp).
#include "ir/ops.hpp"
#include "passes/lowering.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

int64_t batch_of(const Type& t, size_t matrix_dims) {
  int64_t n = 1;
  for (size_t i = 0; i + matrix_dims < size_t(t.rank()); ++i) n *= t.shape[i].size;
  return n;
}

// 2 x the multiply-adds of one op's products (0 for ops that are not products).
int64_t op_flops(const Op& op) {
  for (const Value* v : op.operands)
    if (!v->type.has_static_shape()) return 0;
  if (op.name == "matmul" || op.name == "sched.packed_matmul") {
    if (!op.result()->type.has_static_shape()) return 0;
    const Type& a = op.operands[0]->type;
    int64_t k = op.name == "matmul" ? a.shape.back().size : 0;
    if (op.name == "sched.packed_matmul") {  // packed A: [panels, K, mr]
      const auto s = a.static_shape();
      k = s.size() >= 2 ? s[s.size() - 2] : 0;
    }
    return 2 * op.result()->type.numel() * k;
  }
  if (op.name == "attention" || op.name == "attention_lse" || op.name == "attention_grad") {
    const Type &q = op.operands[0]->type, &k = op.operands[1]->type;
    if (q.rank() < 2 || k.rank() < 2) return 0;
    int64_t sq = q.shape[size_t(q.rank() - 2)].size, sk = k.shape[size_t(k.rank() - 2)].size;
    int64_t d = q.shape.back().size;
    // forward: S = q k^T and O = P v; dq and dk: S again, dP = dO v^T, then dq or dk; dv: S, dv.
    int64_t products = op.name != "attention_grad" ? 2 : op.str_attr("wrt") == "v" ? 2 : 3;
    int64_t f = 2 * batch_of(q, 2) * sq * sk * d * products;
    return op.bool_attr("causal", false) ? f / 2 : f;
  }
  return 0;
}

}  // namespace

int64_t kernel_flops(const Op& kernel) {
  int64_t total = 0;
  if (kernel.region)
    for (const auto& op : kernel.region->ops) total += op_flops(*op);
  return total;
}

}  // namespace tessera::passes
