// Cold compiles spend their time in LLVM (the optimisation pipeline and code generation), one
// kernel after another. The kernels of a program are independent, so they are split into parts
// (balanced by Tile IR op count), each lowered into its own LLVMContext and module, optimised and
// emitted on its own thread: one part per hardware thread (TESSERA_COMPILE_THREADS caps it), at
// least 3 kernels a part. The images are kept apart (encode_parts): CPU objects are linked into
// one JIT library, PTX parts loaded as modules of one executable.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "backends/backend.hpp"

namespace tessera::backends {

// One part's output; `kernels` (filled by compile_in_parts) names its kernels in order.
struct PartCode {
  std::vector<std::string> kernels;
  std::string llvm_ir, assembly, image;
};
using PartCompiler = std::function<PartCode(const std::vector<const ir::Function*>& kernels)>;

// The kernel functions of `tile_module` in `parts` groups of about equal cost.
std::vector<std::vector<const ir::Function*>> partition_kernels(const ir::Module& tile_module, int parts);
// Runs `compile_part` on each group on its own thread (parts <= 0: as many as pay); rethrows
// the first error.
std::vector<PartCode> compile_in_parts(const ir::Module& tile_module, int parts, const PartCompiler& compile_part);
// Fills out's kernel_names, llvm_ir, assembly and binary (one image as is; several encoded).
void gather_parts(std::vector<PartCode>& parts, CompiledKernels& out);

}  // namespace tessera::backends
