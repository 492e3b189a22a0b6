// cp.async (sm_80+): copies from global to shared memory that run in the background, grouped
// by commit and waited on by how many groups may still be in flight. Every pipeline that
// stages operands through shared memory without TMA is built on these: the mma.sync and
// CUDA-core GEMMs, the wgmma GEMM's cp.async variant and flash attention on mma.sync.
#pragma once
#include <llvm/IR/IRBuilder.h>

namespace tessera::backends::cp_async {

// Copies `bytes` (4 or 16) from global `src` to shared `dst`; where `in` is false nothing is
// read (src may point anywhere) and zeros are written.
void copy(llvm::IRBuilder<>& b, int bytes, llvm::Value* dst, llvm::Value* src, llvm::Value* in);
// The same with the bytes to read given as an i32 (`bytes` or 0).
void copy_sized(llvm::IRBuilder<>& b, int bytes, llvm::Value* dst, llvm::Value* src, llvm::Value* src_bytes);
// Closes the group of copies issued since the last commit.
void commit(llvm::IRBuilder<>& b);
// Waits until at most `pending` committed groups are still in flight.
void wait(llvm::IRBuilder<>& b, int pending);

}  // namespace tessera::backends::cp_async
