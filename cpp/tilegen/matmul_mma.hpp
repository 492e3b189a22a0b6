// The tensor-core matmul kernel (NVIDIA sm_80+, bf16/f16 operands): tilegen/matmul_mma.cpp.
#pragma once
#include "tilegen/tilegen.hpp"

namespace tessera::tilegen {

// The program instance's bm x bn block of C = A @ B: grid axis 0 numbers block tiles in groups
// of block rows, axis 2 the broadcast batch element z; m0, n0 are the block's first row and column.
struct BlockOrigin {
  ir::Value *z, *m0, *n0;
};
BlockOrigin block_origin(ir::Builder& b, std::array<int64_t, 3> mnk, int64_t bm, int64_t bn);
// Operands stored transposed: A as [K, M] rows, B as [N, K] (absorb-transposes; wgmma only).
struct Transposed {
  bool a = false, b = false;
};
// The 12 operands of a block-tile GEMM op (tile.mma_sync, tile.wgmma_gemm, tile.fma_gemm) for
// that block. And the grid that covers every tile.
std::vector<ir::Value*> block_operands(ir::Builder& b, const BlockOrigin& at, ir::Value* A, ir::Value* B, ir::Value* C,
                                       std::array<int64_t, 3> mnk, const std::vector<int64_t>& a_batch,
                                       const std::vector<int64_t>& b_batch, const std::vector<int64_t>& batch,
                                       Transposed stored = {});
Grid grid_of(std::array<int64_t, 3> mnk, int64_t bm, int64_t bn, const std::vector<int64_t>& batch);

// Element-wise ops that form-kernels fused after a GPU matmul (bias, activation, residual,
// cast): the kernel computes its outputs from each element of the product while it is still
// in registers. Null when the kernel's only output is the product.
struct GemmEpilogue {
  const ir::Op& kernel;        // the sched.kernel
  const ir::Op& mm;            // its matmul
  std::vector<int64_t> batch;  // the product's batch dims
  int64_t fold_rows = 0;       // > 0: the batch is folded into the rows, `fold_rows` rows an element
};
// Gives the block-GEMM op `gemm` its epilogue region, the block origin operands and the
// pointers of the kernel's other outputs (tile.mma_sync's epilogue_op docs in ops_tile.cpp).
// `rounded`: the region receives the product rounded to the matmul's dtype (the staged
// epilogue passes it through shared memory), else in f32.
void attach_epilogue(ir::Function& fn, ir::Op* gemm, const GemmEpilogue* epi, const BlockOrigin& at,
                     bool rounded = false);

// Fills `fn` with one tile.mma_sync per program instance: C[z] = A[z] @ B[z] for the
// [M,K] x [K,N] matrices (mnk) of broadcast batch element z (grid axis 2), in block tiles
// [bm, bn, bk] (the kernel's tile knob). Sets the kernel's block to the op's thread count and
// returns the grid.
Grid emit_mma_sync_matmul(ir::Function& fn, ir::Value* A, ir::Value* B, ir::Value* C, std::array<int64_t, 3> mnk,
                          std::array<int64_t, 3> block_tile, const std::vector<int64_t>& a_batch,
                          const std::vector<int64_t>& b_batch, const std::vector<int64_t>& batch,
                          const GemmEpilogue* epi, const ir::Location& loc);

// The same for f32 on CUDA cores, or TF32 tensor cores with `tf32`: one tile.fma_gemm (128 x
// 128 x bk, 256 threads, `stages` slices in flight) per instance (tilegen/matmul_simt.cpp).
Grid emit_fma_gemm_matmul(ir::Function& fn, ir::Value* A, ir::Value* B, ir::Value* C, std::array<int64_t, 3> mnk,
                          int64_t bk, int64_t stages, bool tf32, const std::vector<int64_t>& a_batch,
                          const std::vector<int64_t>& b_batch, const std::vector<int64_t>& batch,
                          const GemmEpilogue* epi, const ir::Location& loc);

}  // namespace tessera::tilegen

namespace tessera::tilegen {

// The Schedule IR knobs of a Hopper matmul kernel (tile.wgmma_gemm).
struct WgmmaKnobs {
  bool tma = true;              // operands copied by TMA from a producer warpgroup, else cp.async by every thread
  int64_t persistent = 0;       // > 0 (TMA, no batch): that many instances loop over the block tiles
  int64_t staged = -1;          // epilogue staged through shared memory: 1, 0 (in registers), -1 (stage_epilogue)
  int64_t epilogue_chunks = 1;  // staged: chunks a thread computes before storing
  Transposed stored;            // A and/or B read in their transposed stored layout (trans_a, trans_b)
};
// The same on Hopper (sm_90a) through one tile.wgmma_gemm per program instance; sets the
// kernel's block and its dynamic shared memory (attribute `shared`); TMA descriptors in the
// kernel attribute tensor_maps.
Grid emit_wgmma_matmul(ir::Function& fn, ir::Value* A, ir::Value* B, ir::Value* C, std::array<int64_t, 3> mnk,
                       std::array<int64_t, 3> block_tile, const std::vector<int64_t>& a_batch,
                       const std::vector<int64_t>& b_batch, const std::vector<int64_t>& batch, const WgmmaKnobs& knobs,
                       const GemmEpilogue* epi, const ir::Location& loc);
// Pipeline depth that fits the block's shared memory (ir::wgmma_gemm_smem lays it out);
// `staged`: with the staged epilogue's C buffer (kernels/wgmma_gemm.cpp).
int64_t wgmma_stages(int64_t bm, int64_t bn, int64_t bk, bool staged);
// form-kernels on sm_90a (module attribute arch): switches tensor-core matmul kernels whose
// shapes allow it to wgmma (knob mma = "wgmma", tile [bm, bn, 64]).
void select_wgmma_kernels(ir::Module& m);
// f32 block GEMMs (tile.fma_gemm) on GPUs with at least 164 KiB of shared memory per SM
// (sm_80, sm_90, sm_90a) take 32-deep K slices: two blocks of 68 KiB still share an SM
// (tilegen/matmul_simt.cpp). Before sm_80 form-kernels makes no block GEMMs at all.
void select_f32_gemm_kernels(ir::Module& m);

}  // namespace tessera::tilegen
