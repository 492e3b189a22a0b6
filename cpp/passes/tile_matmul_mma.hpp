// The tensor-core matmul kernel (NVIDIA sm_80+, bf16/f16 operands): tile_matmul_mma.cpp.
#pragma once
#include "passes/tile_kernels.hpp"

namespace tessera::passes {

// Where a program instance's block tile of C = A @ B starts (grid axis 0: block tiles in
// groups of block rows; axis 2: broadcast batch element), as offsets into A, B and C, and how
// many rows and columns of C remain from there.
struct BlockTileOrigin {
  ir::Value *a_off, *b_off, *c_off, *rows, *cols;
};
BlockTileOrigin block_tile_origin(ir::Builder& b, std::array<int64_t, 3> mnk, std::array<int64_t, 2> block,
                                  const std::vector<int64_t>& a_batch, const std::vector<int64_t>& b_batch,
                                  const std::vector<int64_t>& batch);

// Fills `fn` with one tile.mma_sync per program instance: C[z] = A[z] @ B[z] for the
// [M,K] x [K,N] matrices (mnk) of broadcast batch element z (grid axis 2), in block tiles
// [bm, bn, bk] (the kernel's tile knob). Sets the kernel's block to the op's thread count and
// returns the grid.
Grid emit_mma_sync_matmul(ir::Function& fn, ir::Value* A, ir::Value* B, ir::Value* C, std::array<int64_t, 3> mnk,
                          std::array<int64_t, 3> block_tile, const std::vector<int64_t>& a_batch, const std::vector<int64_t>& b_batch,
                          const std::vector<int64_t>& batch, const ir::Location& loc);

// The same for f32 on CUDA cores: one tile.fma_gemm (128 x 128 x 16, 256 threads) per instance
// (tile_matmul_simt.cpp).
Grid emit_fma_gemm_matmul(ir::Function& fn, ir::Value* A, ir::Value* B, ir::Value* C, std::array<int64_t, 3> mnk,
                          const std::vector<int64_t>& a_batch, const std::vector<int64_t>& b_batch,
                          const std::vector<int64_t>& batch, const ir::Location& loc);

}  // namespace tessera::passes
