// Cold compiles spend their time in LLVM (the optimisation pipeline and code generation), one
// kernel after another. The kernels of a program are independent, so they are split into parts
// (balanced by Tile IR op count), each lowered into its own LLVMContext and module, optimised and
// emitted on its own thread: one part per hardware thread (TESSERA_COMPILE_THREADS caps it), at
// least 3 kernels a part. The images are kept apart (encode_parts): CPU objects are linked into
// one JIT library, PTX parts loaded as modules of one executable.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "backends/backend.hpp"

namespace tessera::backends {

// One part: kernels to compile, and (alias, kernel) names for kernels whose code is the same as
// one of them, to be defined as aliases of it.
struct Part {
  std::vector<const ir::Function*> kernels;
  std::vector<std::pair<std::string, std::string>> aliases;
  bool texts = true;  // keep the LLVM IR and assembly text: only when there is one part (a
                      // program in parts regenerates them as one module when they are read)
};
// One part's output; `kernels` (filled by compile_in_parts) names its kernels, then its aliases.
struct PartCode {
  std::vector<std::string> kernels;
  std::string llvm_ir, assembly, image;
};
using PartCompiler = std::function<PartCode(const Part& part)>;

// Kernel functions in `parts` groups of about equal cost.
std::vector<std::vector<const ir::Function*>> partition_kernels(const std::vector<const ir::Function*>& kernels,
                                                                int parts);
// Runs `compile_part` on each group on its own thread (parts <= 0: as many as pay); rethrows
// the first error. `share`: kernels whose Tile IR is the same (the layers of a model, the two
// layernorms of a block) compile once, the others become aliases (the target must define them).
std::vector<PartCode> compile_in_parts(const ir::Module& tile_module, int parts, bool share,
                                       const PartCompiler& compile_part);
// Fills out's kernel_names, llvm_ir, assembly and binary (one image as is; several encoded).
void gather_parts(std::vector<PartCode>& parts, CompiledKernels& out);

}  // namespace tessera::backends
