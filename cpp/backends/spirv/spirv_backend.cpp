// SPIR-V backend for Vulkan compute: one invocation per lane, buffers bound as storage buffers
// (descriptor set 0; bindings numbered through the module: kernel k's parameter i has binding
// (parameters of kernels before k) + i), kernels as GLCompute entry points with the
// workgroup size in hlsl.numthreads. Vulkan has no pointer arithmetic on buffers, so every
// element access asks the buffer handle for the element's address.
#include <llvm/IR/IntrinsicsSPIRV.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include "backends/llvm/codegen.hpp"

namespace tessera::backends {
namespace {

class SpirvHooks : public TargetHooks {
 public:
  bool lanes_are_threads() const override { return true; }

  llvm::Function* begin_kernel(llvm::Module& m, const ir::Function& fn, llvm::IRBuilder<>& b,
                               std::vector<llvm::Value*>& buffers) override {
    auto& ctx = m.getContext();
    auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {}, false);
    auto* f = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage, fn.name, m);
    f->addFnAttr("hlsl.shader", "compute");
    f->addFnAttr("hlsl.numthreads", std::to_string(kernel_block_size(fn)) + ",1,1");
    b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", f));
    for (size_t i = 0; i < fn.body.args.size(); ++i) {
      llvm::Type* elem = memory_type(ctx, fn.body.args[i]->type.dtype);
      // StorageBuffer (12), writable (1).
      llvm::Type* handle_ty =
          llvm::TargetExtType::get(ctx, "spirv.VulkanBuffer", {llvm::ArrayType::get(elem, 0)}, {12, 1});
      // Each binding needs a name (llc-22 crashes on a null one), unique in the module: the
      // backend makes one variable per name.
      std::string param = fn.body.args[i]->name.empty() ? "buf" + std::to_string(i) : fn.body.args[i]->name;
      llvm::Value* name = b.CreateGlobalString(fn.name + "." + param);
      // Bindings are numbered across the whole module (kernel after kernel): kernels of one
      // module must not declare one binding with two element types.
      llvm::Value* handle =
          b.CreateIntrinsic(handle_ty, llvm::Intrinsic::spv_resource_handlefrombinding,
                            {b.getInt32(0), b.getInt32(next_binding_++), b.getInt32(1), b.getInt32(0), name});
      buffers.push_back(handle);
    }
    return f;
  }

  llvm::Value* element_pointer(llvm::IRBuilder<>& b, llvm::Value* buffer, llvm::Type* elem,
                               llvm::Value* offset) override {
    (void)elem;
    llvm::Type* ptr = llvm::PointerType::get(b.getContext(), 11);
    return b.CreateIntrinsic(ptr, llvm::Intrinsic::spv_resource_getpointer,
                             {buffer, b.CreateTrunc(offset, b.getInt32Ty())});
  }

  llvm::Value* program_id(llvm::IRBuilder<>& b, int axis) override {
    return b.CreateZExt(b.CreateIntrinsic(b.getInt32Ty(), llvm::Intrinsic::spv_group_id, {b.getInt32(uint32_t(axis))}),
                        b.getInt64Ty());
  }

  llvm::Value* thread_id(llvm::IRBuilder<>& b) override {
    return b.CreateZExt(b.CreateIntrinsic(b.getInt32Ty(), llvm::Intrinsic::spv_thread_id_in_group, {b.getInt32(0)}),
                        b.getInt64Ty());
  }

  void barrier(llvm::IRBuilder<>& b) override {
    b.CreateIntrinsic(llvm::Intrinsic::spv_group_memory_barrier_with_group_sync, llvm::ArrayRef<llvm::Type*>(),
                      llvm::ArrayRef<llvm::Value*>());
  }

 private:
  uint32_t next_binding_ = 0;
};

const char* const kTriple = "spirv1.6-unknown-vulkan1.3-compute";

}  // namespace

CompiledKernels compile_spirv(const ir::Module& tile_module, const ir::Target& target) {
  auto tm = make_target_machine(kTriple, "", "");
  llvm::LLVMContext ctx;
  SpirvHooks hooks;
  auto m = build_llvm_module(tile_module, ctx, hooks, *tm);
  // Vulkan's logical addressing cannot express the byte-offset GEPs that InstCombine
  // canonicalises to, so SPIR-V gets the scalar clean-ups without it.
  optimize_module(*m, *tm, "function(sroa,early-cse,simplifycfg,gvn,loop-mssa(licm),adce,simplifycfg)");
  CompiledKernels out;
  out.target = target;
  out.kernel_names = kernel_names(tile_module);
  out.llvm_ir = module_to_string(*m);
  // The SPIR-V subtarget caches the module's values in its target machine, so each emission
  // gets a target machine of its own.
  out.assembly = emit_code(*llvm::CloneModule(*m), *make_target_machine(kTriple, "", ""), false);
  out.binary = emit_code(*m, *make_target_machine(kTriple, "", ""), true);
  return out;
}

}  // namespace tessera::backends
