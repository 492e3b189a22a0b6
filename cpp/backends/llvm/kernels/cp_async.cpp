// cp.async copies, groups and waits (cp_async.hpp).
#include "backends/llvm/kernels/cp_async.hpp"

#include <llvm/IR/IntrinsicsNVPTX.h>

namespace tessera::backends::cp_async {

void copy_sized(llvm::IRBuilder<>& b, int bytes, llvm::Value* dst, llvm::Value* src, llvm::Value* src_bytes) {
  // 16 bytes bypass L1 (.cg: operands are read once per block); 4 bytes must go through it (.ca).
  auto id = bytes == 16 ? llvm::Intrinsic::nvvm_cp_async_cg_shared_global_16_s
                        : llvm::Intrinsic::nvvm_cp_async_ca_shared_global_4_s;
  b.CreateIntrinsic(id, {}, {dst, src, src_bytes});
}

void copy(llvm::IRBuilder<>& b, int bytes, llvm::Value* dst, llvm::Value* src, llvm::Value* in) {
  copy_sized(b, bytes, dst, src, b.CreateSelect(in, b.getInt32(uint32_t(bytes)), b.getInt32(0)));
}

void commit(llvm::IRBuilder<>& b) {
  b.CreateIntrinsic(llvm::Intrinsic::nvvm_cp_async_commit_group, llvm::ArrayRef<llvm::Type*>(),
                    llvm::ArrayRef<llvm::Value*>());
}

void wait(llvm::IRBuilder<>& b, int pending) {
  b.CreateIntrinsic(llvm::Intrinsic::nvvm_cp_async_wait_group, {}, {b.getInt32(uint32_t(pending))});
}

}  // namespace tessera::backends::cp_async
