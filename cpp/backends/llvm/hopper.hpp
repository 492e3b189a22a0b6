// Hopper (sm_90a) building blocks shared by the warp-specialized wgmma kernels
// (kernels/wgmma_gemm.cpp: the GEMM; emit_flash_attention_wgmma.cpp and emit_flash_attention_bwd_wgmma.cpp:
// the attention forward and backward): inline
// PTX for wgmma.mma_async and its fences, 64-bit shared-memory matrix descriptors, mbarriers,
// TMA bulk tensor copies and setmaxnreg, and the kernels' 1024-byte aligned dynamic shared
// memory. Addresses of shared memory are 32-bit shared-window addresses (i32).
//
// wgmma runs asynchronously: its accumulators (and register A operand) belong to the tensor
// cores from the wgmma.mma_async until a wgmma.wait_group retires its group. LLVM sees the asm
// results as ordinary values it may move, so a kernel passes values through `pin` right after
// the wait (no use can move above it) and right before the wgmma.fence that starts a batch
// (every write of the registers a wgmma reads happens before the fence), as CUTLASS's
// warpgroup_fence_operand does.
#pragma once
#include <string>
#include <vector>

#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends::hopper {

// Inline PTX with side effects and a memory clobber; `constraints` for `args` (i32 "r", i64
// "l"); an i32 result when `ret` ("=r" first in the constraints).
llvm::Value* inline_asm(llvm::IRBuilder<>& b, const std::string& text, const std::string& constraints = "",
                        std::vector<llvm::Value*> args = {}, bool ret = false);

// Shared-memory matrix descriptor: start address, leading and stride byte offsets (stored in
// 16-byte units) and the 128-byte swizzle mode (1 in bits 62-63). In that swizzle the 16-byte
// chunk c of 128-byte row r sits at chunk c ^ (r % 8), the layout TMA writes with
// CU_TENSOR_MAP_SWIZZLE_128B and a 64-element (16-bit) inner box. K-major operands (rows of
// 64 k values): sbo = 1024 (the next 8 rows), lbo unused; a k step of 16 adds 32 bytes to the
// start. N-major operands (rows of 64 n values, one row per k): sbo = 1024 (the next 8 k
// rows), lbo = the bytes between 64-column panels.
llvm::Value* descriptor(llvm::IRBuilder<>& b, llvm::Value* addr32, uint64_t lbo, uint64_t sbo);

// The kernel's dynamic shared memory (sized by the launch: the kernel attribute `shared`), used
// from its first 1024-byte boundary (the swizzle atom): `base` is that byte's shared-window
// address, `pad` its distance from the start of the allocation.
struct SharedMemory {
  llvm::GlobalVariable* var;
  llvm::Value *pad, *base;
  llvm::Value* at(llvm::IRBuilder<>& b, llvm::Value* byte) const {  // pointer to aligned byte `byte`
    return b.CreateInBoundsGEP(b.getInt8Ty(), var, b.CreateAdd(pad, byte));
  }
};
SharedMemory dynamic_shared(llvm::Module& m, llvm::IRBuilder<>& b, const std::string& name, unsigned addrspace);

void fence(llvm::IRBuilder<>& b);  // wgmma.fence: register/shared writes before it reach later wgmma
// wgmma.commit_group: the wgmma issued since the last commit form a group
void commit(llvm::IRBuilder<>& b);
void wait(llvm::IRBuilder<>& b, int pending);  // wgmma.wait_group: at most `pending` groups still run
// Passes `values` through an empty asm statement with side effects (a code-motion barrier,
// no instruction): the returned copies exist only after this point.
void pin(llvm::IRBuilder<>& b, std::vector<llvm::Value*>& values);

// wgmma.mma_async.sync.aligned.m64n<n>k16.f32.<in>.<in>: acc (n/2 f32 a thread) += A * B.
// `a`: one i64 descriptor (A in shared memory, K-major, or M-major when `trans_a`:
// imm-trans-a = 1) or four i32 registers (the A fragment:
// a thread's rows g and g+8 of its warp's 16, columns 2t, 2t+1 and 2t+8, 2t+9, pairs packed low
// first). B from shared memory through `b_desc`, N-major when `trans_b` (imm-trans-b = 1), else
// K-major. An empty `acc` computes acc = A * B (scale-d = 0) and fills it. Accumulator i of a
// thread (g = lane / 4, t = lane % 4, warp w of the warpgroup) is row 16w + g + 8((i / 2) % 2),
// column 8(i / 4) + 2t + i % 2.
void mma(llvm::IRBuilder<>& b, int n, DType in, const std::vector<llvm::Value*>& a, llvm::Value* b_desc, bool trans_b,
         std::vector<llvm::Value*>& acc, bool trans_a = false);

// mbarriers (8 bytes of shared memory each).
void mbarrier_init(llvm::IRBuilder<>& b, llvm::Value* bar, int arrivals);
void mbarrier_init_fence(llvm::IRBuilder<>& b);  // makes the inits visible to the async proxy (TMA)
void mbarrier_arrive(llvm::IRBuilder<>& b, llvm::Value* bar);
// Arrives and adds `bytes` to the transactions the current phase waits for.
void mbarrier_expect_tx(llvm::IRBuilder<>& b, llvm::Value* bar, int bytes);
// Spins until the phase with parity `parity` (i32 0 or 1) has completed. A fresh barrier is
// in phase 0, so waiting for parity 1 returns at once (a free buffer's first round).
void mbarrier_wait(llvm::IRBuilder<>& b, llvm::Value* bar, llvm::Value* parity);
// TMA: the box at tensor coordinates (c0 innermost, c1, c2; i32) of the tensor map at generic
// address `map` (i64) into shared memory at `dst`, completing its bytes on mbarrier `bar`.
// Elements outside the tensor are written as zeros.
void tma_load_3d(llvm::IRBuilder<>& b, llvm::Value* dst, llvm::Value* map, llvm::Value* c0, llvm::Value* c1,
                 llvm::Value* c2, llvm::Value* bar);
// setmaxnreg: the warpgroup's threads give up registers down to `count`, or wait for the
// block's free registers up to `count` (24 to 256, a multiple of 8).
void set_max_registers(llvm::IRBuilder<>& b, bool increase, int count);

// Named barriers (ids 1-15; 0 is the block's barrier): sync waits until `threads` threads
// (a multiple of 32) have arrived at barrier `id` (i32), counting itself; arrive counts itself
// and goes on.
void named_barrier_sync(llvm::IRBuilder<>& b, llvm::Value* id, int threads);
void named_barrier_arrive(llvm::IRBuilder<>& b, llvm::Value* id, int threads);

// Marks the loop whose back edge is `latch` as not to be unrolled: LLVM unrolls loops with
// known trip counts, and interleaved iterations of a wgmma pipeline keep more accumulators live
// than the registers hold (ptxas then spills and serializes the wgmma).
void keep_rolled(llvm::BranchInst* latch);

// Warp specialization after the block's barrier: warpgroup 0 (tid < 128, i32) gives its
// registers down to `producer_regs` and runs producer(); the other warpgroups take registers up
// to `consumer_regs` and run consumer(); both continue after. ptxas starts a 384-thread kernel
// that uses setmaxnreg with 168 registers a thread, so 40 + 2 x 232 (or 24 + 2 x 240) use up
// exactly what the block holds: an increase beyond the freed registers would wait forever.
template <class Producer, class Consumer>
void warp_specialize(llvm::IRBuilder<>& b, llvm::Value* tid, int producer_regs, int consumer_regs, Producer producer,
                     Consumer consumer) {
  llvm::Function* f = b.GetInsertBlock()->getParent();
  llvm::Value* warpgroup = b.CreateLShr(tid, b.getInt32(7));
  llvm::BasicBlock* producer_bb = llvm::BasicBlock::Create(b.getContext(), "ws.producer", f);
  llvm::BasicBlock* consumer_bb = llvm::BasicBlock::Create(b.getContext(), "ws.consumer", f);
  llvm::BasicBlock* join = llvm::BasicBlock::Create(b.getContext(), "ws.join", f);
  b.CreateCondBr(b.CreateICmpEQ(warpgroup, b.getInt32(0)), producer_bb, consumer_bb);
  b.SetInsertPoint(producer_bb);
  set_max_registers(b, false, producer_regs);
  producer();
  b.CreateBr(join);
  b.SetInsertPoint(consumer_bb);
  set_max_registers(b, true, consumer_regs);
  consumer();
  b.CreateBr(join);
  b.SetInsertPoint(join);
}

}  // namespace tessera::backends::hopper
