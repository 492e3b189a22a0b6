// The K loop of GEMM-like kernels (the wgmma, mma.sync and CUDA-core GEMMs): kt (i32) runs from
// 0 to n_k; `carried` i32 values (a stage counter, ...) and n_acc f32 accumulators (zero first)
// ride along as phis. body(kt, carried, acc) emits one iteration and leaves the next
// iteration's values in `carried` and `acc`. The builder ends after the loop; the result is
// the accumulators' phis, i.e. their values at exit. Blocks are named <name>.k, .body, .exit.
#pragma once
#include <llvm/IR/IRBuilder.h>

#include <functional>
#include <string>
#include <vector>

namespace tessera::backends {

using KLoopBody =
    std::function<void(llvm::Value* kt, std::vector<llvm::Value*>& carried, std::vector<llvm::Value*>& acc)>;

std::vector<llvm::Value*> k_loop(llvm::IRBuilder<>& b, llvm::Value* n_k, const std::string& name,
                                 const std::vector<llvm::Value*>& carried_init, int n_acc, const KLoopBody& body);

}  // namespace tessera::backends
