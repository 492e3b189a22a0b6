// The lowering passes between IR levels (each in its own file).
#pragma once
#include "ir/ir.hpp"

namespace tessera::passes {

// Graph IR -> Schedule IR: groups ops into sched.kernel ops and picks each kernel's knobs for
// the module's `target` attribute ("cpu", "nvptx", "amdgpu", "spirv"; default "cpu").
void form_kernels(ir::Module& m);

// Schedule IR -> Tile IR: each sched.kernel becomes a kernel function plus rt.alloc/rt.launch
// ops in the host function.
void lower_to_tile(ir::Module& m);

// The target a module is compiled for (module attribute `target`, default "cpu").
std::string module_target(const ir::Module& m);
bool target_is_gpu(const std::string& target);

// True when an attention, attention_lse or attention_grad op of `fn` gets a flash-attention
// kernel on the module's target (NVIDIA, bf16/f16, head dim 64 or 128; an attention_lse when a
// forward kernel with its q, k and mask writes it; match_attention.cpp): decompose keeps it then.
bool flash_attention_applies(const ir::Module& m, const ir::Function& fn, const ir::Op& op);

// form-kernels on sm_90a (module attribute arch): attention forward kernels take the Hopper
// flash kernel (knob mma = "wgmma", tile [128, 128, 2], 384 lanes; tile_attention.cpp).
void select_wgmma_attention(ir::Module& m);

}  // namespace tessera::passes
