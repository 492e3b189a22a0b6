// Hopper building blocks of the wgmma kernels (hopper.hpp).
#include "backends/llvm/hopper.hpp"

#include <llvm/IR/InlineAsm.h>
#include <llvm/IR/IntrinsicsNVPTX.h>

namespace tessera::backends::hopper {

using llvm::Value;

Value* inline_asm(llvm::IRBuilder<>& b, const std::string& text, const std::string& constraints,
                  std::vector<Value*> args, bool ret) {
  std::vector<llvm::Type*> types;
  for (Value* a : args) types.push_back(a->getType());
  auto* ty = llvm::FunctionType::get(ret ? b.getInt32Ty() : b.getVoidTy(), types, false);
  std::string c = constraints + (constraints.empty() ? "" : ",") + "~{memory}";
  return b.CreateCall(llvm::InlineAsm::get(ty, text, c, true), args);
}

Value* descriptor(llvm::IRBuilder<>& b, Value* addr32, uint64_t lbo, uint64_t sbo) {
  Value* start = b.CreateZExt(b.CreateLShr(b.CreateAnd(addr32, b.getInt32(0x3FFFF)), b.getInt32(4)), b.getInt64Ty());
  return b.CreateOr(start, b.getInt64(((lbo >> 4) << 16) | ((sbo >> 4) << 32) | (uint64_t(1) << 62)));
}

SharedMemory dynamic_shared(llvm::Module& m, llvm::IRBuilder<>& b, const std::string& name, unsigned addrspace) {
  auto* ty = llvm::ArrayType::get(b.getInt8Ty(), 0);
  auto* var = new llvm::GlobalVariable(m, ty, false, llvm::GlobalValue::ExternalLinkage, nullptr, name, nullptr,
                                       llvm::GlobalValue::NotThreadLocal, addrspace);
  var->setAlignment(llvm::Align(16));
  Value* raw = b.CreatePtrToInt(var, b.getInt32Ty());
  Value* pad = b.CreateAnd(b.CreateSub(b.getInt32(0), raw), b.getInt32(1023));
  return {var, pad, b.CreateAdd(raw, pad)};
}

void fence(llvm::IRBuilder<>& b) {
  b.CreateIntrinsic(llvm::Intrinsic::nvvm_wgmma_fence_sync_aligned, llvm::ArrayRef<llvm::Type*>(),
                    llvm::ArrayRef<Value*>());
}

void commit(llvm::IRBuilder<>& b) {
  b.CreateIntrinsic(llvm::Intrinsic::nvvm_wgmma_commit_group_sync_aligned, llvm::ArrayRef<llvm::Type*>(),
                    llvm::ArrayRef<Value*>());
}

void wait(llvm::IRBuilder<>& b, int pending) {
  b.CreateIntrinsic(llvm::Intrinsic::nvvm_wgmma_wait_group_sync_aligned, {}, {b.getInt64(uint64_t(pending))});
}

namespace {

std::string constraint_of(llvm::Type* t) { return t->isFloatTy() ? "f" : t->isIntegerTy(64) ? "l" : "r"; }

// An asm statement with side effects whose outputs are `out_types` (one value, or a struct of
// them), called with `args`; returns the outputs.
std::vector<Value*> call_asm(llvm::IRBuilder<>& b, const std::string& text, const std::string& constraints,
                             const std::vector<llvm::Type*>& out_types, const std::vector<Value*>& args) {
  std::vector<llvm::Type*> arg_types;
  for (Value* a : args) arg_types.push_back(a->getType());
  llvm::Type* ret = out_types.size() == 1 ? out_types[0] : llvm::StructType::get(b.getContext(), out_types);
  auto* ia = llvm::InlineAsm::get(llvm::FunctionType::get(ret, arg_types, false), text, constraints, true);
  Value* r = b.CreateCall(ia, args);
  if (out_types.size() == 1) return {r};
  std::vector<Value*> out;
  for (unsigned i = 0; i < out_types.size(); ++i) out.push_back(b.CreateExtractValue(r, i));
  return out;
}

}  // namespace

void pin(llvm::IRBuilder<>& b, std::vector<Value*>& values) {
  if (values.empty()) return;
  std::string constraints;
  std::vector<llvm::Type*> types;
  for (Value* v : values) {
    constraints += "=" + constraint_of(v->getType()) + ",";
    types.push_back(v->getType());
  }
  for (size_t i = 0; i < values.size(); ++i) constraints += (i ? "," : "") + std::to_string(i);
  values = call_asm(b, "", constraints, types, values);
}

void mma(llvm::IRBuilder<>& b, int n, DType in, const std::vector<Value*>& a, Value* b_desc, bool trans_b,
         std::vector<Value*>& acc, bool trans_a) {
  const int n_acc = n / 2;
  const bool accumulate = !acc.empty(), regs = a.size() == 4;
  std::string elt = in == DType::BF16 ? "bf16" : "f16";
  std::string text = "wgmma.mma_async.sync.aligned.m64n" + std::to_string(n) + "k16.f32." + elt + "." + elt + " {";
  std::string constraints;
  for (int i = 0; i < n_acc; ++i) {
    text += (i ? ", $" : "$") + std::to_string(i);
    constraints += "=f,";
  }
  text += "}, ";
  int next = n_acc;
  if (regs) {  // {a0, a1, a2, a3}, b-desc, scale-d, imm-scale-a, imm-scale-b, imm-trans-b
    text += "{$" + std::to_string(next) + ", $" + std::to_string(next + 1) + ", $" + std::to_string(next + 2) + ", $" +
            std::to_string(next + 3) + "}, ";
    next += 4;
    constraints += "r,r,r,r,";
  } else {  // a-desc, b-desc, scale-d, imm-scale-a, imm-scale-b, imm-trans-a, imm-trans-b
    text += "$" + std::to_string(next++) + ", ";
    constraints += "l,";
  }
  text += "$" + std::to_string(next) + ", " + (accumulate ? "1" : "0") + ", 1, 1, " +
          (regs      ? ""
           : trans_a ? "1, "
                     : "0, ") +
          (trans_b ? "1" : "0") + ";";
  constraints += "l";
  std::vector<Value*> args(a.begin(), a.end());
  args.push_back(b_desc);
  if (accumulate) {
    for (int i = 0; i < n_acc; ++i) constraints += "," + std::to_string(i);
    args.insert(args.end(), acc.begin(), acc.end());
  }
  acc = call_asm(b, text, constraints, std::vector<llvm::Type*>(size_t(n_acc), b.getFloatTy()), args);
}

void mbarrier_init(llvm::IRBuilder<>& b, Value* bar, int arrivals) {
  inline_asm(b, "mbarrier.init.shared::cta.b64 [$0], $1;", "r,r", {bar, b.getInt32(uint32_t(arrivals))});
}

void mbarrier_init_fence(llvm::IRBuilder<>& b) { inline_asm(b, "fence.mbarrier_init.release.cluster;"); }

void mbarrier_arrive(llvm::IRBuilder<>& b, Value* bar) {
  inline_asm(b, "mbarrier.arrive.shared::cta.b64 _, [$0];", "r", {bar});
}

void mbarrier_expect_tx(llvm::IRBuilder<>& b, Value* bar, int bytes) {
  inline_asm(b, "mbarrier.arrive.expect_tx.shared::cta.b64 _, [$0], $1;", "r,r", {bar, b.getInt32(uint32_t(bytes))});
}

void mbarrier_wait(llvm::IRBuilder<>& b, Value* bar, Value* parity) {
  llvm::Function* f = b.GetInsertBlock()->getParent();
  llvm::BasicBlock* loop = llvm::BasicBlock::Create(b.getContext(), "mbar.wait", f);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(b.getContext(), "mbar.waited", f);
  b.CreateBr(loop);
  b.SetInsertPoint(loop);
  Value* ok =
      inline_asm(b, "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [$1], $2;\nselp.b32 $0, 1, 0, p;\n}",
                 "=r,r,r", {bar, parity}, true);
  b.CreateCondBr(b.CreateICmpNE(ok, b.getInt32(0)), done, loop);
  b.SetInsertPoint(done);
}

void tma_load_3d(llvm::IRBuilder<>& b, Value* dst, Value* map, Value* c0, Value* c1, Value* c2, Value* bar) {
  inline_asm(b,
             "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes "
             "[$0], [$1, {$2, $3, $4}], [$5];",
             "r,l,r,r,r,r", {dst, map, c0, c1, c2, bar});
}

void named_barrier_sync(llvm::IRBuilder<>& b, Value* id, int threads) {
  inline_asm(b, "bar.sync $0, $1;", "r,r", {id, b.getInt32(uint32_t(threads))});
}

void named_barrier_arrive(llvm::IRBuilder<>& b, Value* id, int threads) {
  inline_asm(b, "bar.arrive $0, $1;", "r,r", {id, b.getInt32(uint32_t(threads))});
}

void keep_rolled(llvm::BranchInst* latch) {
  llvm::LLVMContext& ctx = latch->getContext();
  llvm::MDNode* disable = llvm::MDNode::get(ctx, {llvm::MDString::get(ctx, "llvm.loop.unroll.disable")});
  llvm::MDNode* loop_id = llvm::MDNode::getDistinct(ctx, {nullptr, disable});
  loop_id->replaceOperandWith(0, loop_id);
  latch->setMetadata(llvm::LLVMContext::MD_loop, loop_id);
}

void set_max_registers(llvm::IRBuilder<>& b, bool increase, int count) {
  inline_asm(
      b, std::string("setmaxnreg.") + (increase ? "inc" : "dec") + ".sync.aligned.u32 " + std::to_string(count) + ";");
}

}  // namespace tessera::backends::hopper
