// Tile IR for an f32 matmul on NVIDIA CUDA cores: one tile.fma_gemm per program instance,
// computing a 128 x 128 block of C with 256 threads (an 8 x 8 register tile each) over
// 16-deep K slices staged through shared memory (emit_fma_gemm.cpp). Block tiles are
// numbered as in tile_matmul_mma.cpp (groups of block rows sharing B's column panels in L2).
#include "passes/tile_matmul_mma.hpp"

namespace tessera::passes {
using namespace ir;

Grid emit_fma_gemm_matmul(Function& fn, Value* A, Value* B, Value* C, std::array<int64_t, 3> mnk,
                          const std::vector<int64_t>& a_batch, const std::vector<int64_t>& b_batch,
                          const std::vector<int64_t>& batch, const GemmEpilogue* epi, const Location& loc) {
  constexpr int64_t kBm = 128, kBn = 128, kBk = 16, kThreads = 256;
  Builder b(&fn.body, loc);
  fn.attrs["block"] = IntList{kThreads, 1, 1};
  fn.attrs["lanes"] = kThreads;
  BlockOrigin at = block_origin(b, mnk, kBm, kBn);
  Op* gemm = b.create("tile.fma_gemm", block_operands(b, at, A, B, C, mnk, a_batch, b_batch, batch),
                      {{"bm", kBm}, {"bn", kBn}, {"bk", kBk}});
  attach_epilogue(fn, gemm, epi, at);
  return grid_of(mnk, kBm, kBn, batch);
}

}  // namespace tessera::passes
