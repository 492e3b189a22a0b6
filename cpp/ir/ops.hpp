// Op definitions, grouped by IR level. Each file appends its OpInfo entries; registry.cpp
// collects them once. Shared shape helpers live here too.
#pragma once
#include <map>
#include <vector>

#include "ir/registry.hpp"

namespace tessera::ir {

void register_elementwise_ops(std::vector<OpInfo>& out);    // ops_elementwise.cpp
void register_math_ops(std::vector<OpInfo>& out);           // ops_math.cpp: rounding, atan, bitwise...
void register_reduction_ops(std::vector<OpInfo>& out);      // ops_reduction.cpp
void register_contraction_ops(std::vector<OpInfo>& out);    // ops_contraction.cpp
void register_movement_ops(std::vector<OpInfo>& out);       // ops_movement.cpp
void register_tile_ops(std::vector<OpInfo>& out);           // ops_tile.cpp: tile.* and arith.*
void register_structural_ops(std::vector<OpInfo>& out);     // ops_structural.cpp: return, sched.*, rt.*
void register_control_ops(std::vector<OpInfo>& out);        // ops_control.cpp: scan, while_loop, cond
void register_autodiff_ops(std::vector<OpInfo>& out);       // ops_autodiff.cpp: stop_gradient
void register_window_ops(std::vector<OpInfo>& out);         // ops_windows.cpp: windows, overlap_add, iota
void register_conv_ops(std::vector<OpInfo>& out);           // ops_conv.cpp: convolution and pooling composites
void register_segment_ops(std::vector<OpInfo>& out);        // ops_segment.cpp: segment_sum, spmm_coo, ...
void register_transformer_ops(std::vector<OpInfo>& out);    // ops_transformer.cpp: rope
void register_sort_ops(std::vector<OpInfo>& out);           // ops_sort.cpp: argsort, sort, cumsum, cummax, ...
void register_linalg_ops(std::vector<OpInfo>& out);         // ops_linalg.cpp: cholesky, tri_solve, solve, det, ...
void register_decomposition_ops(std::vector<OpInfo>& out);  // ops_decompositions.cpp: qr, eigh, svd, lstsq
void register_moe_ops(std::vector<OpInfo>& out);            // ops_moe.cpp: moe_dispatch, moe_combine
// The scans of ops_sort.cpp (cumsum, cumprod, cummax, cummin, cumargmax, cumargmin): kernels of kind "scan".
bool is_scan(const std::string& name);
void register_nn_ops(std::vector<OpInfo>& out);          // ops_nn*.cpp, ops_random.cpp: nn composites, rand_like
void register_packed_ops(std::vector<OpInfo>& out);      // ops_packed.cpp: sched.pack, sched.packed_matmul
void register_collective_ops(std::vector<OpInfo>& out);  // ops_collective.cpp: all_reduce, all_gather, ...
// derivatives.cpp: sets the vjp/jvp rules of the registered ops.
void attach_derivatives(std::map<std::string, OpInfo>& table);
void attach_batching(std::map<std::string, OpInfo>& table);  // batching.cpp: vmap rules

void check_attrs(const OpInfo& info, const AttrMap& attrs);

// An attention op's scale: its `scale` attribute, else 1/sqrt(D) (ops_attention.cpp).
double attention_scale(const Op& op);
// Dynamic shared memory of tile.flash_attention_wgmma (ops_tile.cpp): 1 KiB to align the
// buffers to the 1024-byte swizzle atom, the Q block, `stages` K and V tiles, and the mbarriers
// (Q full; K full, V full, K empty, V empty per stage), in that order.
int64_t flash_attention_wgmma_shared_bytes(int64_t head_dim, int64_t block_m, int64_t block_n, int64_t stages);
// The same for tile.flash_attention_bwd_wgmma: the block's two own tiles (block_own rows each),
// `stages` pairs of streamed tiles and their columns' two f32 values, mbarriers (own full; x
// full, y full, x empty, y empty, columns full per stage).
int64_t flash_attention_bwd_wgmma_shared_bytes(int64_t head_dim, int64_t block_own, int64_t block_stream,
                                               int64_t stages);
// The same for tile.fma_gemm: per stage a bk-deep slice of A transposed and of B, rows padded
// from 128 to 136 floats.
int64_t fma_gemm_shared_bytes(int64_t bk, int64_t stages);
// The layout of tile.wgmma_gemm's dynamic shared memory, in byte offsets from its start
// rounded up to the 1024-byte swizzle atom: `stages` A slices (bm x bk), `stages` B slices
// (bk x bn), the staged epilogue's C buffer (bm rows of bn 16-bit values, each padded by 16
// bytes so a warp's pair stores hit 32 banks; staged only), then the mbarriers (full and empty
// per stage, then C full and C empty when staged). `total` is what the kernel asks for.
struct WgmmaGemmSmem {
  int64_t a_stage, b_stage;  // bytes of one A / B slice
  int64_t b_start;           // first B slice
  int64_t c_start, c_row;    // the C buffer, and the bytes of one of its rows
  int64_t barriers;          // first mbarrier (8 bytes each)
  int64_t total;             // including 1 KiB to align the start
};
WgmmaGemmSmem wgmma_gemm_smem(int64_t bm, int64_t bn, int64_t bk, int64_t stages, bool staged);

// NumPy broadcasting of two shapes; throws ErrorCode::Shape naming `op` and both types.
std::vector<Dim> broadcast_shapes(const std::string& op, const Type& a, const Type& b);
// Normalises a possibly negative axis for a tensor of `rank`; throws ErrorCode::Value.
int64_t normalize_axis(const std::string& op, int64_t axis, int64_t rank);

// Deterministic mode (ops_collective.cpp): a floating `reduce` ("sum" or "prod") over a group
// that combines the members' values in member order, the same bits on every member and run:
// all_gather of x with a new leading dim, then the reduction over it.
Value* ordered_all_reduce(Builder& b, Value* x, const std::string& group, int64_t size, const std::string& reduce);
// Its reduce_scatter: an all_to_all of the blocks along `axis`, then the reduction in order.
Value* ordered_reduce_scatter(Builder& b, Value* x, const std::string& group, int64_t size, int64_t axis,
                              const std::string& reduce);

}  // namespace tessera::ir
