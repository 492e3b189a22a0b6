// The tensor-core matmul kernel (NVIDIA sm_80+, bf16/f16 operands): tile_matmul_mma.cpp.
#pragma once
#include "passes/tile_kernels.hpp"

namespace tessera::passes {

// Fills `fn` with one tile.mma_sync per program instance: C[z] = A[z] @ B[z] for the
// [M,K] x [K,N] matrices (mnk) of broadcast batch element z (grid axis 2), in block tiles
// [bm, bn, bk] (the kernel's tile knob). Sets the kernel's block to the op's thread count and
// returns the grid.
Grid emit_mma_sync_matmul(ir::Function& fn, ir::Value* A, ir::Value* B, ir::Value* C, std::array<int64_t, 3> mnk,
                          std::array<int64_t, 3> block_tile, const std::vector<int64_t>& a_batch, const std::vector<int64_t>& b_batch,
                          const std::vector<int64_t>& batch, const ir::Location& loc);

}  // namespace tessera::passes
