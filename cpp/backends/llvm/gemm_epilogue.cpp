// The epilogue of the NVIDIA block-GEMM ops (tile.mma_sync, tile.wgmma_gemm, tile.fma_gemm):
// which outputs a block tile is stored to, and each output's value at one element of the
// product. Without an epilogue region the only output is c and its value the product; with
// one, the region (element-wise ops form-kernels fused after the matmul) runs on the element
// in registers, so a bias, activation, residual or cast costs no pass over memory.
#include <algorithm>

#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {

using llvm::Value;

std::vector<KernelEmitter::GemmOutput> KernelEmitter::gemm_outputs(const ir::Op& op, const std::vector<Value*>& args) {
  std::vector<GemmOutput> outs = {{args[0], op.operands[0]->type.dtype}};
  for (size_t i = 15; i < args.size(); ++i) outs.push_back({args[i], op.operands[i]->type.dtype});
  return outs;
}

std::vector<Value*> KernelEmitter::gemm_epilogue(const ir::Op& op, const std::vector<Value*>& args, Value* acc,
                                                 Value* row, Value* col, Value* rows, Value* cols, Value* m0, Value* n0,
                                                 DType acc_dt) {
  if (!op.region) return {convert(acc, acc_dt, op.operands[0]->type.dtype)};
  const ir::Block& region = *op.region;
  // Elements past the matrix edge are computed but never stored: clamp their coordinates so
  // the region's loads (a bias, a residual) stay inside their buffers.
  llvm::Type* i64 = b_.getInt64Ty();
  auto clamp = [&](Value* v, Value* n) {
    return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b_.CreateSExtOrTrunc(v, i64),
                                    b_.CreateSub(n, b_.getInt64(1)));
  };
  Value* r = b_.CreateAdd(args[13], clamp(row, rows));
  Value* c = b_.CreateAdd(args[14], clamp(col, cols));
  if (m0) r = b_.CreateAdd(r, m0);
  if (n0) c = b_.CreateAdd(c, n0);
  values_[region.args[0].get()] = convert(acc, acc_dt, region.args[0]->type.dtype);
  values_[region.args[1].get()] = args[12];
  values_[region.args[2].get()] = r;
  values_[region.args[3].get()] = c;
  threads_block(region);
  std::vector<Value*> out;
  for (const ir::Value* v : region.ops.back()->operands) out.push_back(scalar(v));
  return out;
}

// Pieces of up to 16 bytes: aligned when the row stride, the offset and the pointer keep them so.
static int piece_of(DType dt, llvm::LLVMContext& ctx, int n) {
  return std::max(1, std::min(n, int(16 / (memory_type(ctx, dt)->getPrimitiveSizeInBits() / 8))));
}

Value* KernelEmitter::run_aligned(const GemmOutput& o, Value* ld, Value* off, int n) {
  const int64_t piece = piece_of(o.dt, ctx_, n);
  const int64_t bytes = piece * int64_t(memory_type(ctx_, o.dt)->getPrimitiveSizeInBits() / 8);
  llvm::Type* i64 = b_.getInt64Ty();
  auto mult = [&](Value* v, int64_t k) {
    return b_.CreateICmpEQ(b_.CreateAnd(v, b_.getInt64(uint64_t(k - 1))), b_.getInt64(0));
  };
  return b_.CreateAnd({mult(ld, piece), mult(off, piece), mult(b_.CreatePtrToInt(o.ptr, i64), bytes)});
}

void KernelEmitter::store_run(const GemmOutput& o, Value* off, const std::vector<Value*>& vals, Value* col, Value* cols,
                              Value* aligned) {
  llvm::Type* et = memory_type(ctx_, o.dt);
  const int n = int(vals.size()), piece = piece_of(o.dt, ctx_, n);
  Value* ptr = hooks_.element_pointer(b_, o.ptr, et, off);
  llvm::BasicBlock* vec_bb = llvm::BasicBlock::Create(ctx_, "run.vec", f_);
  llvm::BasicBlock* elem_bb = llvm::BasicBlock::Create(ctx_, "run.elem", f_);
  llvm::BasicBlock* stored = llvm::BasicBlock::Create(ctx_, "run.stored", f_);
  b_.CreateCondBr(b_.CreateAnd(aligned, b_.CreateICmpSLE(b_.CreateAdd(col, b_.getInt64(uint64_t(n))), cols)), vec_bb,
                  elem_bb);
  b_.SetInsertPoint(vec_bb);
  auto* piece_ty = llvm::FixedVectorType::get(et, unsigned(piece));
  for (int p = 0; p < n; p += piece) {
    Value* v = llvm::PoisonValue::get(piece_ty);
    for (int e = 0; e < piece; ++e) v = b_.CreateInsertElement(v, vals[size_t(p + e)], uint64_t(e));
    b_.CreateAlignedStore(v, b_.CreateConstInBoundsGEP1_64(et, ptr, uint64_t(p)),
                          llvm::Align(uint64_t(piece) * (et->getPrimitiveSizeInBits() / 8)));
  }
  b_.CreateBr(stored);
  b_.SetInsertPoint(elem_bb);
  for (int e = 0; e < n; ++e)
    emit_if(b_.CreateICmpSLT(b_.CreateAdd(col, b_.getInt64(uint64_t(e))), cols),
            [&] { b_.CreateStore(vals[size_t(e)], b_.CreateConstInBoundsGEP1_64(et, ptr, uint64_t(e))); });
  b_.CreateBr(stored);
  b_.SetInsertPoint(stored);
}

}  // namespace tessera::backends
