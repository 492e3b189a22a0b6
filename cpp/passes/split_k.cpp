// Graph IR -> Graph IR, NVIDIA GPUs with the f32 block GEMM (sm_80 and newer): an f32 matrix
// product with too few 128 x 128 output tiles to occupy the SMs is split along K into S
// products that run side by side, then summed:
//
//   A[M,K] @ B[K,N]  ->  sum(transpose(reshape(A, [M,S,K/S]), [1,0,2]) @ reshape(B, [S,K/S,N]), axis 0)
//
// The f32 GEMM computes one 128 x 128 tile an SM at about 0.45 TFLOP/s; 128 x 512 x 2048 has 4
// such tiles and took 223 us on an H200, 25 us split (cuBLAS: 17; bench/results/2026-12-03-h200-launch.md).
// S is the largest power of two with S * tiles <= the SM count that divides K and leaves at
// least kMinDepth of K to each product. The transpose copies A (M x K: few tiles, so few rows
// or a short K), B's reshape is free, and the sum over S reads contiguous [M, N] slabs.
// Only f32: a 16-bit product would round its partial sums.
#include "ir/builder.hpp"
#include "ir/ops.hpp"
#include "ir/target.hpp"
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;

namespace {

constexpr int64_t kTile = 128;      // the f32 GEMM's block tile (tilegen/matmul_simt.cpp)
constexpr int64_t kMinDepth = 128;  // K per product: at least four 32-deep slices

int64_t splits_for(int64_t M, int64_t N, int64_t K, int64_t sm_count) {
  int64_t tiles = ((M + kTile - 1) / kTile) * ((N + kTile - 1) / kTile);
  int64_t s = 1;
  while (2 * s * tiles <= sm_count && K % (2 * s) == 0 && K / (2 * s) >= kMinDepth) s *= 2;
  return s;
}

void split_function(Function& fn, int64_t sm_count) {
  Block& body = fn.body;
  for (auto it = body.ops.begin(); it != body.ops.end(); ++it) {
    Op& op = **it;
    if (op.name != "matmul" || op.operands.size() != 2) continue;
    Value *a = op.operands[0], *bm = op.operands[1];
    if (a->type.dtype != DType::F32 || a->type.rank() != 2 || bm->type.rank() != 2 || !a->type.has_static_shape() ||
        !bm->type.has_static_shape())
      continue;
    std::vector<int64_t> as = a->type.static_shape(), bs = bm->type.static_shape();
    int64_t M = as[0], K = as[1], N = bs[1];
    int64_t s = splits_for(M, N, K, sm_count);
    if (s == 1) continue;
    Block scratch;
    Builder b(&scratch, op.loc);
    Value* a3 = b.value("reshape", {a}, {{"shape", IntList{M, s, K / s}}});
    Value* at = b.value("transpose", {a3}, {{"perm", IntList{1, 0, 2}}});
    Value* b3 = b.value("reshape", {bm}, {{"shape", IntList{s, K / s, N}}});
    Value* partial = b.value("matmul", {at, b3}, op.attrs);  // keeps precision = "tf32"
    Value* sum = b.value("sum", {partial}, {{"axis", int64_t(0)}});
    if (sum->type != op.result()->type)
      fail(ErrorCode::Internal, "split-k: built " + sum->type.str() + " for " + op.result()->type.str(), op.loc.str());
    for (auto& p : scratch.ops) body.insert(it, std::move(p));
    replace_all_uses(body, op.result(), sum);
    it = std::prev(body.ops.erase(it));
  }
}

}  // namespace

void split_k(Module& m) {
  Target target = Target::of(m);
  if (!target.nvptx() || !target.cp_async) return;  // the f32 block GEMM needs cp.async (sm_80+)
  for (auto& fn : m.funcs)
    if (!fn->attrs.count("kernel")) split_function(*fn, target.sm_count);
}

}  // namespace tessera::passes
