// The compiler's view of the code generators. No LLVM types here: only cpp/backends/ includes
// LLVM headers, so the rest of the project builds fast.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ir/ir.hpp"
#include "ir/target.hpp"
#include "tessera/tessera.h"

namespace tessera::backends {

// The result of compiling every kernel function of a Tile IR module.
struct CompiledKernels {
  ir::Target target;
  std::vector<std::string> kernel_names;
  std::string llvm_ir;   // optimised LLVM IR of all kernels
  std::string assembly;  // PTX / AMDGPU assembly / x86 assembly (text)
  std::string binary;    // what gets loaded: PTX text, HSACO, SPIR-V bytes, the cpu's ELF object, or
                         // (compiled in parts) encode_parts of the parts' images
  std::vector<tsrHostKernelFn> host_functions;  // cpu: one per kernel name, set by load_cpu_kernels
  std::shared_ptr<void> jit;                    // cpu: keeps the JIT-linked code alive
};

// Lowers the kernel functions of `tile_module` through the shared Tile IR -> LLVM IR lowering
// and the target's code generator. Throws ErrorCode::Compile naming the kernel and the target.
// `assembly` also produces assembly text: the CPU backend otherwise emits only its object file
// (a second code generation costs compile time), so it is asked for when a user inspects it.
CompiledKernels compile_kernels(const ir::Module& tile_module, const ir::Target& target, bool assembly = false);

// Images of a program compiled in parts (llvm/parallel_codegen.hpp): each with the number of
// kernel_names it defines, in order. decode_parts gives a blob that is not encoded as one part
// holding every kernel.
struct CodePart {
  size_t kernels = 0;
  std::string image;
};
std::string encode_parts(const std::vector<CodePart>& parts);
std::vector<CodePart> decode_parts(const std::string& binary, size_t kernels);

std::string host_cpu_name();
// Widest SIMD register of the host CPU in bits (512 with AVX-512F, 256 with AVX/AVX2, else 128).
int host_simd_bits();

}  // namespace tessera::backends
