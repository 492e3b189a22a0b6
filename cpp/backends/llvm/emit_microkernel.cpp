// tile.microkernel, the register-blocked matmul micro-kernel (CPU lane strategy).
//
// The mr x nr accumulator lives in mr vector registers of nr elements (LLVM splits them into
// the target's SIMD registers: 12 ymm for 6 x 16 f32 on AVX2). Each step of the k loop loads
// one nr-wide row of the B panel, broadcasts the mr elements of the A panel's column and does
// mr vector FMAs; the panels are contiguous (sched.pack), so every load is sequential.
// A full tile is then added to C (or stored) a row vector at a time; an edge tile goes
// through a stack copy and scalar loops over its valid rows and columns.
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/MDBuilder.h>

#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {

void KernelEmitter::emit_microkernel(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  const unsigned mr = unsigned(op.int_attr("mr")), nr = unsigned(op.int_attr("nr"));
  llvm::Type* et = register_type(ctx_, op.operands[0]->type.dtype);
  auto* vt = llvm::FixedVectorType::get(et, nr);
  llvm::Value *C = args[0], *c_off = args[1], *ldc = args[2], *A = args[3], *a_off = args[4], *B = args[5],
              *b_off = args[6], *k = args[7], *rows = args[8], *cols = args[9], *accumulate = args[10];
  llvm::Value* a_ptr = b_.CreateInBoundsGEP(et, A, a_off);
  llvm::Value* b_ptr = b_.CreateInBoundsGEP(et, B, b_off);
  llvm::Function* fma = llvm::Intrinsic::getOrInsertDeclaration(&m_, llvm::Intrinsic::fmuladd, {vt});

  // for p in [0, k): acc[i] += splat(A[p*mr + i]) * B[p*nr .. p*nr + nr)
  ForLoop loop = begin_loop(b_.getInt64(0), b_.getInt64(1), "mma.k");
  // Pointer induction variables: each step advances the panels by one column/row, so the
  // unrolled body addresses them with constant offsets (no index arithmetic per FMA group).
  llvm::PHINode* a_cur = b_.CreatePHI(a_ptr->getType(), 2, "a.cur");
  a_cur->addIncoming(a_ptr, loop.pre);
  llvm::PHINode* b_cur = b_.CreatePHI(b_ptr->getType(), 2, "b.cur");
  b_cur->addIncoming(b_ptr, loop.pre);
  std::vector<llvm::PHINode*> acc(mr);
  for (unsigned i = 0; i < mr; ++i) {
    acc[i] = b_.CreatePHI(vt, 2, "acc");
    acc[i]->addIncoming(llvm::Constant::getNullValue(vt), loop.pre);
  }
  enter_loop_body(loop, k);
  llvm::Value* brow = b_.CreateAlignedLoad(vt, b_cur, llvm::Align(et->getPrimitiveSizeInBits() / 8));
  for (unsigned i = 0; i < mr; ++i) {
    llvm::Value* a = b_.CreateLoad(et, b_.CreateConstInBoundsGEP1_64(et, a_cur, i));
    acc[i]->addIncoming(b_.CreateCall(fma, {b_.CreateVectorSplat(nr, a), brow, acc[i]}), loop.body);
  }
  a_cur->addIncoming(b_.CreateConstInBoundsGEP1_64(et, a_cur, mr), loop.body);
  b_cur->addIncoming(b_.CreateConstInBoundsGEP1_64(et, b_cur, nr), loop.body);
  llvm::BranchInst* latch = end_loop(loop);
  // Unrolling the k loop a little hides the FMA latency chain between iterations.
  llvm::MDNode* unroll = llvm::MDNode::get(
      ctx_, {llvm::MDString::get(ctx_, "llvm.loop.unroll.count"), llvm::ConstantAsMetadata::get(b_.getInt32(4))});
  llvm::MDNode* loop_id = llvm::MDNode::getDistinct(ctx_, {nullptr, unroll});
  loop_id->replaceOperandWith(0, loop_id);
  latch->setMetadata(llvm::LLVMContext::MD_loop, loop_id);

  llvm::Value* full = b_.CreateAnd(b_.CreateICmpEQ(rows, b_.getInt64(mr)), b_.CreateICmpEQ(cols, b_.getInt64(nr)));
  llvm::BasicBlock* full_bb = llvm::BasicBlock::Create(ctx_, "mma.full", f_);
  llvm::BasicBlock* edge_bb = llvm::BasicBlock::Create(ctx_, "mma.edge", f_);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "mma.done", f_);
  b_.CreateCondBr(full, full_bb, edge_bb);

  b_.SetInsertPoint(full_bb);
  llvm::Align elem_align(et->getPrimitiveSizeInBits() / 8);
  for (unsigned i = 0; i < mr; ++i) {
    llvm::Value* off = b_.CreateAdd(c_off, b_.CreateMul(b_.getInt64(i), ldc));
    llvm::Value* ptr = b_.CreateInBoundsGEP(et, C, off);
    llvm::Value* v = acc[i];
    llvm::BasicBlock* from = b_.GetInsertBlock();
    llvm::BasicBlock* add_bb = llvm::BasicBlock::Create(ctx_, "mma.add", f_);
    llvm::BasicBlock* store_bb = llvm::BasicBlock::Create(ctx_, "mma.store", f_);
    b_.CreateCondBr(accumulate, add_bb, store_bb);
    b_.SetInsertPoint(add_bb);
    llvm::Value* sum = b_.CreateFAdd(b_.CreateAlignedLoad(vt, ptr, elem_align), v);
    b_.CreateBr(store_bb);
    b_.SetInsertPoint(store_bb);
    llvm::PHINode* out = b_.CreatePHI(vt, 2);
    out->addIncoming(v, from);
    out->addIncoming(sum, add_bb);
    b_.CreateAlignedStore(out, ptr, elem_align);
  }
  b_.CreateBr(done);

  // Edge tile: spill the accumulators, then write the valid rows x cols one element at a time.
  b_.SetInsertPoint(edge_bb);
  llvm::AllocaInst* spill;
  {
    llvm::IRBuilder<> entry(&f_->getEntryBlock(), f_->getEntryBlock().begin());
    spill = entry.CreateAlloca(llvm::ArrayType::get(vt, mr));
    spill->setAlignment(llvm::Align(64));
  }
  for (unsigned i = 0; i < mr; ++i)
    b_.CreateStore(acc[i], b_.CreateConstInBoundsGEP2_32(spill->getAllocatedType(), spill, 0, i));
  ForLoop row = begin_loop(b_.getInt64(0), b_.getInt64(1), "mma.edge.row");
  enter_loop_body(row, rows);
  ForLoop col = begin_loop(b_.getInt64(0), b_.getInt64(1), "mma.edge.col");
  enter_loop_body(col, cols);
  llvm::Value *i = row.iv, *j = col.iv;
  llvm::Value* flat = b_.CreateAdd(b_.CreateMul(i, b_.getInt64(nr)), j);
  llvm::Value* x = b_.CreateLoad(et, b_.CreateInBoundsGEP(et, spill, flat));
  llvm::Value* cptr = b_.CreateInBoundsGEP(et, C, b_.CreateAdd(c_off, b_.CreateAdd(b_.CreateMul(i, ldc), j)));
  b_.CreateStore(b_.CreateSelect(accumulate, b_.CreateFAdd(b_.CreateLoad(et, cptr), x), x), cptr);
  end_loop(col);
  end_loop(row);
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
}

llvm::Value* KernelEmitter::emit_scratch(const ir::Op& op) {
  if (hooks_.lanes_are_threads())
    fail(ErrorCode::Compile, "kernel " + fn_.name + ": tile.scratch is for CPU kernels", op.loc.str());
  // In the entry block, so the stack frame is set up once per instance, not per loop trip.
  llvm::IRBuilder<> entry(&f_->getEntryBlock(), f_->getEntryBlock().begin());
  llvm::Type* et = memory_type(ctx_, op.result()->type.dtype);
  auto* buffer = entry.CreateAlloca(llvm::ArrayType::get(et, uint64_t(op.int_attr("size"))));
  buffer->setAlignment(llvm::Align(64));
  return buffer;
}

}  // namespace tessera::backends
