// LLVM plumbing shared by the target backends: target initialisation, target machines, the
// optimisation pipeline, and emitting assembly or objects.
#pragma once
#include <memory>
#include <string>

#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include "backends/backend.hpp"
#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {

void initialize_llvm_targets();  // once per process; only the targets Tessera uses

std::unique_ptr<llvm::TargetMachine> make_target_machine(const std::string& triple, const std::string& cpu,
                                                         const std::string& features);

// Builds an LLVM module holding every kernel of `tile_module`, lowered with `hooks`, with the
// target machine's triple and data layout, verified. Throws ErrorCode::Compile.
std::unique_ptr<llvm::Module> build_llvm_module(const ir::Module& tile_module, llvm::LLVMContext& ctx,
                                                TargetHooks& hooks, llvm::TargetMachine& tm);
// The same for some of the kernels (a part compiled on its own thread: parallel_codegen.hpp).
std::unique_ptr<llvm::Module> build_llvm_module(const std::string& name,
                                                const std::vector<const ir::Function*>& kernels, llvm::LLVMContext& ctx,
                                                TargetHooks& hooks, llvm::TargetMachine& tm);

// The O3 pipeline, or an LLVM pass pipeline string for targets that cannot take all of O3.
void optimize_module(llvm::Module& m, llvm::TargetMachine& tm, const char* pipeline = nullptr);
std::string emit_code(llvm::Module& m, llvm::TargetMachine& tm, bool object_file);
std::string module_to_string(const llvm::Module& m);

std::vector<std::string> kernel_names(const ir::Module& tile_module);

// A GPU kernel entry taking one noalias global pointer (in `addrspace`) per Tile IR parameter,
// with calling convention `cc`; positions `b` in its entry block.
llvm::Function* declare_pointer_kernel(llvm::Module& m, const ir::Function& fn, llvm::IRBuilder<>& b,
                                       std::vector<llvm::Value*>& buffers, unsigned addrspace,
                                       llvm::CallingConv::ID cc);
// A 32-bit hardware index register (block id, thread id) read by intrinsic `id`, as i64.
llvm::Value* read_index(llvm::IRBuilder<>& b, llvm::Intrinsic::ID id);

// The block size (threads per program instance) of a kernel function.
int64_t kernel_block_size(const ir::Function& fn);

// Per-target entry points (each in its own backend file).
// `parts`: how many parts compile in parallel (parallel_codegen.hpp; 0: as many as pay).
CompiledKernels compile_cpu(const ir::Module& tile_module, const ir::Target& target, bool assembly, int parts);
CompiledKernels compile_nvptx(const ir::Module& tile_module, const ir::Target& target, int parts);
CompiledKernels compile_amdgpu(const ir::Module& tile_module, const ir::Target& target);
CompiledKernels compile_spirv(const ir::Module& tile_module, const ir::Target& target);

}  // namespace tessera::backends
