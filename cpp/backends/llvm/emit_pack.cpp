// tile.pack: one panel of sched.pack's layout (CPU lane strategy). A full panel of a right
// operand is `depth` vector copies of `width` contiguous elements; a full panel of a left
// operand gathers `width` rows element by element into one vector per depth step (a small
// transpose). Edge panels (fewer than `width` rows or columns) fill the rest with zeros.
#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {

void KernelEmitter::emit_pack(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  const unsigned w = unsigned(op.int_attr("width"));
  const bool rows_of_left = op.int_attr("axis") == -2;
  llvm::Type* et = memory_type(ctx_, op.operands[0]->type.dtype);
  auto* vt = llvm::FixedVectorType::get(et, w);
  llvm::Align align(et->getPrimitiveSizeInBits() / 8);
  llvm::Value *dst = args[0], *dst_off = args[1], *src = args[2], *src_off = args[3], *ld = args[4], *rows = args[5],
              *depth = args[6];
  llvm::Value* full = b_.CreateICmpEQ(rows, b_.getInt64(w));

  // for p in [0, depth): panel row p = the source's elements (p, 0..w) or (0..w, p).
  ForLoop loop = begin_loop(b_.getInt64(0), b_.getInt64(1), "pack.p");
  enter_loop_body(loop, depth);
  llvm::Value* p = loop.iv;
  llvm::Value* out = b_.CreateInBoundsGEP(et, dst, b_.CreateAdd(dst_off, b_.CreateMul(p, b_.getInt64(w))));
  // Element i of panel row p, for i < rows (callers guard the edge).
  auto source = [&](llvm::Value* i) {
    llvm::Value* off = rows_of_left ? b_.CreateAdd(b_.CreateMul(i, ld), p) : b_.CreateAdd(b_.CreateMul(p, ld), i);
    return b_.CreateInBoundsGEP(et, src, b_.CreateAdd(src_off, off));
  };
  llvm::BasicBlock* full_bb = llvm::BasicBlock::Create(ctx_, "pack.full", f_);
  llvm::BasicBlock* edge_bb = llvm::BasicBlock::Create(ctx_, "pack.edge", f_);
  llvm::BasicBlock* latch = llvm::BasicBlock::Create(ctx_, "pack.latch", f_);
  b_.CreateCondBr(full, full_bb, edge_bb);

  b_.SetInsertPoint(full_bb);
  llvm::Value* v;
  if (rows_of_left) {
    v = llvm::PoisonValue::get(vt);
    for (unsigned i = 0; i < w; ++i) v = b_.CreateInsertElement(v, b_.CreateLoad(et, source(b_.getInt64(i))), i);
  } else {
    v = b_.CreateAlignedLoad(vt, source(b_.getInt64(0)), align);
  }
  b_.CreateAlignedStore(v, out, align);
  b_.CreateBr(latch);

  b_.SetInsertPoint(edge_bb);
  for (unsigned i = 0; i < w; ++i) {
    llvm::Value* slot = b_.CreateConstInBoundsGEP1_64(et, out, i);
    b_.CreateStore(llvm::Constant::getNullValue(et), slot);
    emit_if(b_.CreateICmpULT(b_.getInt64(i), rows),
            [&] { b_.CreateStore(b_.CreateLoad(et, source(b_.getInt64(i))), slot); });
  }
  b_.CreateBr(latch);

  b_.SetInsertPoint(latch);
  end_loop(loop);
}

}  // namespace tessera::backends
