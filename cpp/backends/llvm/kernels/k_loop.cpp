// The K loop of GEMM-like kernels (k_loop.hpp).
#include "backends/llvm/kernels/k_loop.hpp"

namespace tessera::backends {

std::vector<llvm::Value*> k_loop(llvm::IRBuilder<>& b, llvm::Value* n_k, const std::string& name,
                                 const std::vector<llvm::Value*>& carried_init, int n_acc, const KLoopBody& body) {
  llvm::LLVMContext& ctx = b.getContext();
  llvm::Function* f = b.GetInsertBlock()->getParent();
  llvm::Type *i32 = b.getInt32Ty(), *f32 = b.getFloatTy();
  llvm::BasicBlock* pre = b.GetInsertBlock();
  llvm::BasicBlock* header = llvm::BasicBlock::Create(ctx, name + ".k", f);
  llvm::BasicBlock* body_bb = llvm::BasicBlock::Create(ctx, name + ".body", f);
  llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx, name + ".exit", f);
  b.CreateBr(header);
  b.SetInsertPoint(header);
  llvm::PHINode* kt = b.CreatePHI(i32, 2, "kt");
  std::vector<llvm::PHINode*> carried_phi;
  for (size_t i = 0; i < carried_init.size(); ++i) carried_phi.push_back(b.CreatePHI(i32, 2, "carried"));
  kt->addIncoming(b.getInt32(0), pre);
  for (size_t i = 0; i < carried_init.size(); ++i) carried_phi[i]->addIncoming(carried_init[i], pre);
  std::vector<llvm::PHINode*> acc_phi(static_cast<size_t>(n_acc), nullptr);
  for (auto& p : acc_phi) {
    p = b.CreatePHI(f32, 2, "acc");
    p->addIncoming(llvm::ConstantFP::get(f32, 0.0), pre);
  }
  b.CreateCondBr(b.CreateICmpSLT(kt, n_k), body_bb, exit);
  b.SetInsertPoint(body_bb);
  std::vector<llvm::Value*> carried(carried_phi.begin(), carried_phi.end());
  std::vector<llvm::Value*> acc(acc_phi.begin(), acc_phi.end());
  body(kt, carried, acc);
  kt->addIncoming(b.CreateAdd(kt, b.getInt32(1)), b.GetInsertBlock());
  for (size_t i = 0; i < carried.size(); ++i) carried_phi[i]->addIncoming(carried[i], b.GetInsertBlock());
  for (size_t i = 0; i < acc.size(); ++i) acc_phi[i]->addIncoming(acc[i], b.GetInsertBlock());
  b.CreateBr(header);
  b.SetInsertPoint(exit);
  return std::vector<llvm::Value*>(acc_phi.begin(), acc_phi.end());
}

}  // namespace tessera::backends
