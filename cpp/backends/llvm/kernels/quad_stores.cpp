// The 16-bit stores of GEMM-style epilogues (wgmma GEMM and flash attention): a pair of f32
// values rounded and packed in an i32, and the quad transpose that turns a wgmma accumulator
// row's pairs into 16-byte vector stores.
#include "backends/llvm/codegen.hpp"

namespace tessera::backends {

using llvm::Value;

Value* KernelEmitter::pack_pair(Value* lo, Value* hi, DType dt) {
  llvm::Type* f32 = b_.getFloatTy();
  Value* p = llvm::PoisonValue::get(llvm::FixedVectorType::get(f32, 2));
  p = b_.CreateInsertElement(p, lo, uint64_t(0));
  p = b_.CreateInsertElement(p, hi, uint64_t(1));
  return b_.CreateBitCast(b_.CreateFPTrunc(p, llvm::FixedVectorType::get(memory_type(ctx_, dt), 2)), b_.getInt32Ty());
}

// 16-bit C: v[j] (j < 4) is this lane's pair of columns 8(4q + j) + 2t, 8(4q + j) + 2t + 1 of
// row `row`, packed in an i32 (t = lane % 4); a 4 x 4 transpose of the pairs across the quad
// (two butterfly stages of warp shuffles) gives lane t all 8 columns of block 4q + t, stored as
// one 16-byte vector at C[c_off + row*ldc + 8(4q + t)] when aligned() (called just before the
// store: C's layout keeps it 16-byte aligned) and inside `cols`, else element by element.
void KernelEmitter::store_quad_16(Value* C, DType dt, Value* c_off, Value* ldc, Value* row, Value* row_in, Value* t,
                                  int q, Value* v[4], Value* cols, const std::function<Value*()>& aligned) {
  llvm::Type *i32 = b_.getInt32Ty(), *i64 = b_.getInt64Ty(), *et = memory_type(ctx_, dt);
  auto c32 = [&](int64_t x) { return b_.getInt32(uint32_t(x)); };
  auto c64 = [&](int64_t x) { return b_.getInt64(uint64_t(x)); };
  for (int k = 0; k < 2; ++k) {  // swap bit k of (lane, slot): the partner is lane ^ (1 << k)
    Value* hi = b_.CreateICmpNE(b_.CreateAnd(t, c32(1 << k)), c32(0));
    for (int j = 0; j < 4; ++j) {
      if (j & (1 << k)) continue;
      int j2 = j | (1 << k);
      Value* recv = hooks_.shuffle_xor(b_, b_.CreateSelect(hi, v[j], v[j2]), int64_t(1) << k, 32);
      v[j] = b_.CreateSelect(hi, recv, v[j]);
      v[j2] = b_.CreateSelect(hi, v[j2], recv);
    }
  }
  Value* vec = llvm::PoisonValue::get(llvm::FixedVectorType::get(i32, 4));
  for (int j = 0; j < 4; ++j) vec = b_.CreateInsertElement(vec, v[j], uint64_t(j));
  Value* col = b_.CreateZExt(b_.CreateMul(b_.CreateAdd(t, c32(4 * q)), c32(8)), i64);
  Value* ptr = hooks_.element_pointer(b_, C, et, b_.CreateAdd(c_off, b_.CreateAdd(b_.CreateMul(row, ldc), col)));
  llvm::BasicBlock* vec_bb = llvm::BasicBlock::Create(ctx_, "wgmma.st16", f_);
  llvm::BasicBlock* elem_bb = llvm::BasicBlock::Create(ctx_, "wgmma.st2", f_);
  llvm::BasicBlock* stored = llvm::BasicBlock::Create(ctx_, "wgmma.stored", f_);
  b_.CreateCondBr(b_.CreateAnd({aligned(), row_in, b_.CreateICmpSLE(b_.CreateAdd(col, c64(8)), cols)}), vec_bb,
                  elem_bb);
  b_.SetInsertPoint(vec_bb);
  b_.CreateAlignedStore(vec, ptr, llvm::Align(16));
  b_.CreateBr(stored);
  b_.SetInsertPoint(elem_bb);
  Value* elems = b_.CreateBitCast(vec, llvm::FixedVectorType::get(et, 8));
  for (int e = 0; e < 8; ++e)
    emit_if(b_.CreateAnd(row_in, b_.CreateICmpSLT(b_.CreateAdd(col, c64(e)), cols)), [&] {
      b_.CreateStore(b_.CreateExtractElement(elems, uint64_t(e)), b_.CreateConstInBoundsGEP1_64(et, ptr, uint64_t(e)));
    });
  b_.CreateBr(stored);
  b_.SetInsertPoint(stored);
}

}  // namespace tessera::backends
