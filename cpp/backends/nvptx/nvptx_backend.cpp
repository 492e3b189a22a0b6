// NVIDIA backend: one thread per lane, kernels in the PTX calling convention with global
// (addrspace 1) buffer parameters, compiled by LLVM's NVPTX target to PTX text, which the
// runtime hands to the CUDA driver (cuModuleLoadDataEx) at load time.
#include <set>

#include <llvm/IR/IntrinsicsNVPTX.h>

#include "backends/llvm/codegen.hpp"
#include "backends/llvm/parallel_codegen.hpp"

namespace tessera::backends {
namespace {

bool has_op(const ir::Function& fn, const char* name) {
  bool found = false;
  ir::walk(const_cast<ir::Block&>(fn.body), [&](ir::Op& op) { found = found || op.name == name; });
  return found;
}

// TMA descriptors (kernel attribute tensor_maps, 11 numbers each) follow the buffers as
// 128-byte by-value parameters (.param .align 64 .b8 [128]). As grid constants their generic
// address (cvta.param) is what cp.async.bulk.tensor takes, with no copy to local memory.
llvm::Function* add_tensor_map_params(llvm::Module& m, llvm::Function* f, const ir::Function& fn, llvm::IRBuilder<>& b,
                                      std::vector<llvm::Value*>& buffers) {
  auto& ctx = m.getContext();
  size_t n_maps = std::get<ir::IntList>(fn.attrs.at("tensor_maps")).size() / 11;
  std::vector<llvm::Type*> params(f->getFunctionType()->param_begin(), f->getFunctionType()->param_end());
  params.insert(params.end(), n_maps, llvm::PointerType::get(ctx, 0));
  auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false);
  std::string name = f->getName().str();
  f->eraseFromParent();
  auto* g = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage, name, m);
  g->setCallingConv(llvm::CallingConv::PTX_Kernel);
  buffers.clear();
  for (size_t i = 0; i < fn.body.args.size(); ++i) {
    g->addParamAttr(unsigned(i), llvm::Attribute::NoAlias);
    buffers.push_back(g->getArg(unsigned(i)));
  }
  auto* map_ty = llvm::ArrayType::get(llvm::Type::getInt8Ty(ctx), 128);
  for (size_t i = fn.body.args.size(); i < params.size(); ++i) {
    g->addParamAttr(unsigned(i), llvm::Attribute::getWithByValType(ctx, map_ty));
    g->addParamAttr(unsigned(i), llvm::Attribute::getWithAlignment(ctx, llvm::Align(64)));
    g->addParamAttr(unsigned(i), llvm::Attribute::get(ctx, "nvvm.grid_constant"));
  }
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", g));
  return g;
}

class NvptxHooks : public TargetHooks {
 public:
  bool lanes_are_threads() const override { return true; }

  llvm::Function* begin_kernel(llvm::Module& m, const ir::Function& fn, llvm::IRBuilder<>& b,
                               std::vector<llvm::Value*>& buffers) override {
    llvm::Function* f = declare_pointer_kernel(m, fn, b, buffers, 1, llvm::CallingConv::PTX_Kernel);
    if (fn.attrs.count("tensor_maps")) f = add_tensor_map_params(m, f, fn, b, buffers);
    f->addFnAttr("nvvm.maxntid", std::to_string(kernel_block_size(fn)));
    // Two 256-thread GEMM blocks per SM cap registers at 128 (the 64 f32 accumulators and
    // fragments fit without spills; one block alone cannot hide the pipeline's latency).
    if (has_op(fn, "tile.mma_sync") || has_op(fn, "tile.fma_gemm")) f->addFnAttr("nvvm.minctasm", "2");
    // One wgmma block per SM (its pipeline takes most of the shared memory): up to 255
    // registers a thread for the 128 f32 accumulators of an m64n256 tile.
    if (has_op(fn, "tile.wgmma_gemm") || has_op(fn, "tile.flash_attention_wgmma") ||
        has_op(fn, "tile.flash_attention_bwd_wgmma"))
      f->addFnAttr("nvvm.minctasm", "1");
    // Buffers the kernel never stores to are read-only for its whole run: the backend may
    // then read them through the non-coherent cache (ld.global.nc).
    std::set<const ir::Value*> written;
    ir::walk(const_cast<ir::Block&>(fn.body), [&](ir::Op& op) {
      if (op.name == "tile.store" || op.name == "tile.mma_sync" || op.name == "tile.wgmma_gemm" ||
          op.name == "tile.fma_gemm" || op.name == "tile.flash_attention" || op.name == "tile.flash_attention_wgmma" ||
          op.name == "tile.flash_attention_bwd" || op.name == "tile.flash_attention_bwd_wgmma")
        written.insert(op.operands[0]);
      if (op.name == "tile.mma_sync" || op.name == "tile.wgmma_gemm" || op.name == "tile.fma_gemm")
        // the epilogue's other outputs
        for (size_t i = 15; i < op.operands.size(); ++i) written.insert(op.operands[i]);
      if (op.name == "tile.flash_attention" && op.operands.size() > 10) written.insert(op.operands[10]);  // lse
      if (op.name == "tile.flash_attention_wgmma" && op.operands.size() > 9) written.insert(op.operands[9]);
      if ((op.name == "tile.flash_attention_bwd" || op.name == "tile.flash_attention_bwd_wgmma") &&
          op.str_attr("wrt") == "kv")
        written.insert(op.operands[1]);
    });
    for (size_t i = 0; i < fn.body.args.size(); ++i)
      if (!written.count(fn.body.args[i].get())) f->addParamAttr(unsigned(i), llvm::Attribute::ReadOnly);
    return f;
  }

  bool has_shuffle() const override { return true; }
  bool native_bf16() const override { return true; }  // cvt.rn.bf16.f32 (sm_80+; LLVM expands it before)

  llvm::Value* shuffle_xor(llvm::IRBuilder<>& b, llvm::Value* v, int64_t distance, int64_t width) override {
    uint32_t mask = width >= 32 ? 0xffffffffu : (1u << width) - 1;
    return b.CreateIntrinsic(llvm::Intrinsic::nvvm_shfl_sync_bfly_i32, llvm::ArrayRef<llvm::Type*>(),
                             {b.getInt32(mask), v, b.getInt32(uint32_t(distance)), b.getInt32(0x1f)});
  }

  llvm::Value* program_id(llvm::IRBuilder<>& b, int axis) override {
    static const llvm::Intrinsic::ID ids[] = {llvm::Intrinsic::nvvm_read_ptx_sreg_ctaid_x,
                                              llvm::Intrinsic::nvvm_read_ptx_sreg_ctaid_y,
                                              llvm::Intrinsic::nvvm_read_ptx_sreg_ctaid_z};
    return read_index(b, ids[axis]);
  }

  llvm::Value* thread_id(llvm::IRBuilder<>& b) override {
    return read_index(b, llvm::Intrinsic::nvvm_read_ptx_sreg_tid_x);
  }

  void barrier(llvm::IRBuilder<>& b) override {
    b.CreateIntrinsic(llvm::Intrinsic::nvvm_barrier_cta_sync_aligned_all, llvm::ArrayRef<llvm::Type*>(),
                      {b.getInt32(0)});
  }
};

// tile.mma_sync and tile.flash_attention use mma.sync m16n8k16, ldmatrix and cp.async, tile.fma_gemm
// cp.async: sm_80 and newer.
void check_tensor_core_arch(const ir::Module& tile_module, const ir::Target& target) {
  const std::string& arch = target.arch;
  for (const auto& fn : tile_module.funcs)  // wgmma exists only on sm_90a (not sm_90, nor later chips)
    for (const char* op : {"tile.wgmma_gemm", "tile.flash_attention_wgmma", "tile.flash_attention_bwd_wgmma"})
      if (!target.wgmma && has_op(*fn, op))
        fail(ErrorCode::Compile,
             "kernel " + fn->name + ": " + op + " (wgmma.mma_async) needs the sm_90a target, not " + arch,
             fn->loc.str());
  if (target.cp_async) return;
  for (const auto& fn : tile_module.funcs)
    if (has_op(*fn, "tile.mma_sync"))
      fail(ErrorCode::Compile,
           "kernel " + fn->name +
               ": the bf16/f16 tensor-core matmul (tile.mma_sync) needs sm_80 or newer, "
               "not " +
               arch,
           fn->loc.str());
    else if (has_op(*fn, "tile.fma_gemm"))  // its copies are cp.async
      fail(ErrorCode::Compile,
           "kernel " + fn->name +
               ": the f32 block matmul (tile.fma_gemm) needs sm_80 or newer "
               "(cp.async), not " +
               arch,
           fn->loc.str());
    else if (has_op(*fn, "tile.flash_attention") || has_op(*fn, "tile.flash_attention_bwd"))  // same instructions
      fail(ErrorCode::Compile,
           "kernel " + fn->name +
               ": the flash-attention kernel (tile.flash_attention) needs sm_80 or "
               "newer, not " +
               arch + "; cast q, k and v to f32 for this GPU",
           fn->loc.str());
}

}  // namespace

CompiledKernels compile_nvptx(const ir::Module& tile_module, const ir::Target& target, int parts) {
  check_tensor_core_arch(tile_module, target);
  // Not shared: kernels are entry points, which PTX does not alias.
  std::vector<PartCode> code = compile_in_parts(tile_module, parts, false, [&](const Part& part) {
    auto tm = make_target_machine("nvptx64-nvidia-cuda", target.arch, "+ptx80");
    llvm::LLVMContext ctx;
    NvptxHooks hooks;
    auto m = build_llvm_module(tile_module.name, part.kernels, ctx, hooks, *tm);
    optimize_module(*m, *tm);
    PartCode p;
    if (part.texts) p.llvm_ir = module_to_string(*m);
    p.image = emit_code(*m, *tm, false);
    if (part.texts) p.assembly = p.image;
    p.image.push_back('\0');  // the driver wants NUL-terminated PTX
    return p;
  });
  CompiledKernels out;
  out.target = target;
  gather_parts(code, out);
  return out;
}

}  // namespace tessera::backends
