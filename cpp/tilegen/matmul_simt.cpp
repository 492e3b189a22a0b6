// Tile IR for an f32 matmul on NVIDIA CUDA cores (or TF32 tensor cores when the kernel's mma
// knob is "tf32"): one tile.fma_gemm per program instance, computing a 128 x 128 block of C
// with 256 threads over bk-deep K slices, `stages` of them in flight in dynamic shared memory
// (emit_fma_gemm.cpp). Block tiles are numbered as in tilegen/matmul_mma.cpp (groups of block rows
// sharing B's column panels in L2).
#include "ir/ops.hpp"
#include "ir/target.hpp"
#include "tilegen/matmul_mma.hpp"

namespace tessera::tilegen {
using namespace ir;

Grid emit_fma_gemm_matmul(Function& fn, Value* A, Value* B, Value* C, std::array<int64_t, 3> mnk, int64_t bk,
                          int64_t stages, bool tf32, const std::vector<int64_t>& a_batch,
                          const std::vector<int64_t>& b_batch, const std::vector<int64_t>& batch,
                          const GemmEpilogue* epi, const Location& loc) {
  constexpr int64_t kBm = 128, kBn = 128, kThreads = 256;
  Builder b(&fn.body, loc);
  fn.attrs["block"] = IntList{kThreads, 1, 1};
  fn.attrs["lanes"] = kThreads;
  fn.attrs["shared"] = fma_gemm_shared_bytes(bk, stages);
  BlockOrigin at = block_origin(b, mnk, kBm, kBn);
  AttrMap attrs = {{"bm", kBm}, {"bn", kBn}, {"bk", bk}, {"stages", stages}};
  if (tf32) attrs["tf32"] = int64_t(1);
  Op* gemm = b.create("tile.fma_gemm", block_operands(b, at, A, B, C, mnk, a_batch, b_batch, batch), attrs);
  attach_epilogue(fn, gemm, epi, at);
  return grid_of(mnk, kBm, kBn, batch);
}

// 32-deep slices: 0.85x cuBLAS at 4096^3 on an H200 against 0.84x with 16-deep ones
// (bench/results/2026-12-03-h200-fma-gemm-gelu.md).
void select_f32_gemm_kernels(Module& m) {
  // Measured on sm_90 and kept for sm_80 (as much shared memory); other GPUs keep 16-deep
  // slices until measured there.
  Target target = Target::of(m);
  if (!target.nvptx() || (target.sm != 80 && target.sm != 90)) return;
  for (auto& fn : m.funcs)
    for (auto& op : fn->body.ops)
      if (op->name == "sched.kernel" && op->str_attr("kind") == "matmul" && op->attrs.count("stages") &&
          kernel_matmul(*op).operands[0]->type.dtype == DType::F32)
        op->attrs["tile"] = IntList{128, 128, 32};
}

}  // namespace tessera::tilegen
