// Helpers shared by the lowering passes (form-kernels, lower-to-tile: passes.hpp).
#pragma once
#include "ir/ir.hpp"

namespace tessera::passes {

// True when an attention, attention_lse or attention_grad op of `fn` gets a flash-attention
// kernel on the module's target (NVIDIA, bf16/f16, head dim 64 or 128; an attention_lse when a
// forward kernel with its q, k and mask writes it; match_attention.cpp): decompose keeps it then.
bool flash_attention_applies(const ir::Module& m, const ir::Function& fn, const ir::Op& op);

// A transpose of the last two dims only: a matrix transpose, batched (op_patterns.cpp).
bool swaps_last_two(const ir::Op& op);
// reshape, squeeze, expand_dims: the same elements in the same row-major order (no data moves).
bool keeps_row_major_order(const ir::Op& op);

// The floating-point operations of a sched.kernel's products (matmuls, attention; 2 per
// multiply-add), 0 for a kernel without any: the profiler's TFLOP/s (kernel_flops.cpp).
int64_t kernel_flops(const ir::Op& kernel);

}  // namespace tessera::passes
