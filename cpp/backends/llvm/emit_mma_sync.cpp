// tile.mma_sync: a block-tile GEMM on NVIDIA tensor cores (sm_80+), GPU lane strategy.
//
// Shared memory holds `stages` copies of a bm x bk tile of A and a bk x bn tile of B (16-bit
// elements, rows of 16-byte chunks). The K loop is the usual cp.async multi-stage pipeline:
//
//   prologue: copy K slices 0 .. stages-2 (one cp.async group each)
//   for kt:   wait until slice kt has landed; barrier (also: everyone is done with slice kt-1)
//             copy slice kt+stages-1 into the buffer slice kt-1 used; commit
//             per 16-deep step: ldmatrix A (x4) and B (x4.trans) fragments, then
//             (wm/16) x (wn/8) mma.sync.m16n8k16 into f32 accumulators held in registers
//
// Chunks are XOR-swizzled within each row so the eight row addresses of one ldmatrix phase
// hit eight different bank groups. Global -> shared copies are 16-byte cp.async with a zero
// fill for chunks past the edges; when a row stride or base is not a multiple of 8 elements
// (odd K or N, offset views) every element is loaded and checked on its own instead. The
// accumulators are rounded to C's dtype and stored under the rows/cols mask.
//
// Parts (docs/kernels.md): the cp.async chunk producer (load_stage), the shared K loop
// (mainloop), the ldmatrix + mma.sync step (mma_slice) and the pair-store epilogue.
#include <llvm/IR/IntrinsicsNVPTX.h>

#include "backends/llvm/kernels/cp_async.hpp"
#include "backends/llvm/kernels/k_loop.hpp"
#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {
namespace {

using llvm::Value;

// The physical 16-byte chunk of logical chunk `c` in row `row` of a tile with `cpr` chunks per
// row: rows that share a 128-byte bank line get different chunk orders.
Value* swizzle(llvm::IRBuilder<>& b, Value* row, Value* c, int cpr) {
  int rows_per_line = cpr >= 8 ? 1 : 8 / cpr;
  int mask = std::min(cpr, 8) - 1;
  return b.CreateXor(c,
                     b.CreateAnd(b.CreateUDiv(row, b.getInt32(unsigned(rows_per_line))), b.getInt32(unsigned(mask))));
}

}  // namespace

// 16-byte copies of 16-bit A and B tiles need every 8-element chunk wholly in or out of bounds
// and 16-byte aligned: strides, offsets, K and the columns left multiples of 8, aligned bases.
Value* KernelEmitter::chunk_copies_ok(Value* A, Value* a_off, Value* lda, Value* B, Value* b_off, Value* ldb, Value* K,
                                      Value* cols) {
  auto mult8 = [&](Value* v) { return b_.CreateICmpEQ(b_.CreateAnd(v, b_.getInt64(7)), b_.getInt64(0)); };
  auto aligned16 = [&](Value* p) {
    return b_.CreateICmpEQ(b_.CreateAnd(b_.CreatePtrToInt(p, b_.getInt64Ty()), b_.getInt64(15)), b_.getInt64(0));
  };
  return b_.CreateAnd(
      {mult8(lda), mult8(ldb), mult8(K), mult8(cols), mult8(a_off), mult8(b_off), aligned16(A), aligned16(B)});
}

// One 16-byte chunk into shared memory at `dst`: elements off .. off+7 of the 16-bit buffer
// `buf`, element e valid when ok && p + e < limit (else 0). `vector`: one cp.async, zero-filled
// when the chunk is out (chunk_copies_ok holds); otherwise element by element.
void KernelEmitter::copy_chunk16(bool vector, Value* dst, Value* buf, Value* off, Value* ok, Value* p, Value* limit) {
  llvm::Type* i16 = b_.getInt16Ty();
  auto c64 = [&](int64_t v) { return b_.getInt64(uint64_t(v)); };
  if (vector) {
    Value* in = b_.CreateAnd(ok, b_.CreateICmpSLT(p, limit));
    Value* src = hooks_.element_pointer(b_, buf, i16, b_.CreateSelect(in, off, c64(0)));
    cp_async::copy(b_, 16, dst, src, in);
    return;
  }
  Value* v = llvm::PoisonValue::get(llvm::FixedVectorType::get(i16, 8));
  for (int e = 0; e < 8; ++e) {
    Value* in = b_.CreateAnd(ok, b_.CreateICmpSLT(b_.CreateAdd(p, c64(e)), limit));
    Value* src = hooks_.element_pointer(b_, buf, i16, b_.CreateSelect(in, b_.CreateAdd(off, c64(e)), c64(0)));
    v = b_.CreateInsertElement(v, b_.CreateSelect(in, b_.CreateLoad(i16, src), b_.getInt16(0)), uint64_t(e));
  }
  b_.CreateAlignedStore(v, dst, llvm::Align(16));
}

// Elements (row, col) and (row, col + 1) of C at element offset `off`, as far as they are
// inside rows x cols: one paired store when `pairs_ok` (C's layout keeps pairs aligned) and
// both are inside, else one at a time.
void KernelEmitter::store_c_pair(Value* C, Value* off, Value* col, Value* cols, Value* row, Value* rows, Value* v0,
                                 Value* v1, Value* pairs_ok) {
  llvm::Type* et = v0->getType();
  auto* et2 = llvm::FixedVectorType::get(et, 2);
  const uint64_t esize = et->getPrimitiveSizeInBits() / 8;
  Value* ptr = hooks_.element_pointer(b_, C, et, off);
  Value* second_in = b_.CreateICmpSLT(b_.CreateAdd(col, b_.getInt64(1)), cols);
  emit_if(b_.CreateAnd(b_.CreateICmpSLT(row, rows), b_.CreateICmpSLT(col, cols)), [&] {
    llvm::BasicBlock* pair_bb = llvm::BasicBlock::Create(ctx_, "c.pair", f_);
    llvm::BasicBlock* single_bb = llvm::BasicBlock::Create(ctx_, "c.single", f_);
    llvm::BasicBlock* stored = llvm::BasicBlock::Create(ctx_, "c.stored", f_);
    b_.CreateCondBr(b_.CreateAnd(pairs_ok, second_in), pair_bb, single_bb);
    b_.SetInsertPoint(pair_bb);
    Value* v =
        b_.CreateInsertElement(b_.CreateInsertElement(llvm::PoisonValue::get(et2), v0, uint64_t(0)), v1, uint64_t(1));
    b_.CreateAlignedStore(v, ptr, llvm::Align(2 * esize));
    b_.CreateBr(stored);
    b_.SetInsertPoint(single_bb);
    b_.CreateStore(v0, ptr);
    emit_if(second_in, [&] { b_.CreateStore(v1, b_.CreateConstInBoundsGEP1_64(et, ptr, 1)); });
    b_.CreateBr(stored);
    b_.SetInsertPoint(stored);
  });
}

struct KernelEmitter::MmaSyncGemm {
  KernelEmitter& e;
  llvm::IRBuilder<>& b;
  const ir::Op& op;
  const std::vector<Value*>& args;
  int bm, bn, bk, warps_m, warps_n, stages, threads, wm, wn, frag_m, frag_n, cpr_a, cpr_b, a_bytes, b_bytes;
  DType in_dt;
  Value *c_off, *ldc, *A, *a_off, *lda, *B, *b_off, *ldb, *rows, *cols, *K;
  llvm::Type *i8, *i16, *i32, *i64;
  llvm::GlobalVariable* smem;
  Value *tid, *lane, *warp, *warp_row, *warp_col, *n_k, *vector_copies;

  MmaSyncGemm(KernelEmitter& em, const ir::Op& o, const std::vector<Value*>& a);
  llvm::ConstantInt* c32(int64_t v) { return b.getInt32(uint32_t(v)); }
  llvm::ConstantInt* c64(int64_t v) { return b.getInt64(uint64_t(v)); }
  Value* shared_at(Value* byte) { return b.CreateInBoundsGEP(i8, smem, byte); }
  void load_stage(Value* stage, Value* kt);
  std::vector<Value*> mainloop();
  void mma_slice(Value* kt, std::vector<Value*>& acc);
  void epilogue(const std::vector<Value*>& acc_out);
};

KernelEmitter::MmaSyncGemm::MmaSyncGemm(KernelEmitter& em, const ir::Op& o, const std::vector<Value*>& a)
    : e(em), b(em.b_), op(o), args(a) {
  bm = int(op.int_attr("bm")), bn = int(op.int_attr("bn")), bk = int(op.int_attr("bk"));
  warps_m = int(op.int_attr("warps_m")), warps_n = int(op.int_attr("warps_n"));
  stages = int(op.int_attr("stages"));
  threads = 32 * warps_m * warps_n;
  if (e.lanes_ != threads)
    fail(ErrorCode::Compile,
         "kernel " + e.fn_.name + ": tile.mma_sync needs " + std::to_string(threads) +
             " lanes (threads), the kernel has " + std::to_string(e.lanes_),
         op.loc.str());
  wm = bm / warps_m, wn = bn / warps_n;  // one warp's sub-tile
  frag_m = wm / 16, frag_n = wn / 8;
  cpr_a = bk / 8, cpr_b = bn / 8;  // 16-byte chunks per shared row
  a_bytes = bm * bk * 2, b_bytes = bk * bn * 2;
  in_dt = op.operands[3]->type.dtype;
  c_off = args[1], ldc = args[2], A = args[3], a_off = args[4], lda = args[5], B = args[6];
  b_off = args[7], ldb = args[8], rows = args[9], cols = args[10], K = args[11];
  i8 = b.getInt8Ty(), i16 = b.getInt16Ty(), i32 = b.getInt32Ty(), i64 = b.getInt64Ty();

  auto* smem_ty = llvm::ArrayType::get(i8, uint64_t(stages) * uint64_t(a_bytes + b_bytes));
  smem = new llvm::GlobalVariable(e.m_, smem_ty, false, llvm::GlobalValue::InternalLinkage,
                                  llvm::UndefValue::get(smem_ty), e.fn_.name + ".mma", nullptr,
                                  llvm::GlobalValue::NotThreadLocal, e.hooks_.shared_address_space());
  smem->setAlignment(llvm::Align(128));

  tid = b.CreateTrunc(e.tid_, i32);
  lane = b.CreateAnd(tid, c32(31));
  warp = b.CreateLShr(tid, c32(5));
  warp_row = b.CreateMul(b.CreateURem(warp, c32(warps_m)), c32(wm));
  warp_col = b.CreateMul(b.CreateUDiv(warp, c32(warps_m)), c32(wn));
  n_k = b.CreateTrunc(b.CreateSDiv(b.CreateAdd(K, c64(bk - 1)), c64(bk)), i32);

  // 16-byte copies need every chunk to be all in or all out of bounds and 16-byte aligned.
  vector_copies = e.chunk_copies_ok(A, a_off, lda, B, b_off, ldb, K, cols);
}

// Copies K slice `kt` (i32) of A and B into pipeline buffer `stage` (i32): 16-byte chunks,
// XOR-swizzled within each row (element by element where vector copies are not allowed).
void KernelEmitter::MmaSyncGemm::load_stage(Value* stage, Value* kt) {
  Value* k0 = b.CreateMul(b.CreateZExt(kt, i64), c64(bk));
  Value* a_base = b.CreateMul(stage, c32(a_bytes));
  Value* b_base = b.CreateAdd(c32(stages * a_bytes), b.CreateMul(stage, c32(b_bytes)));
  llvm::BasicBlock* vec_bb = llvm::BasicBlock::Create(e.ctx_, "mma.copy.vec", e.f_);
  llvm::BasicBlock* elem_bb = llvm::BasicBlock::Create(e.ctx_, "mma.copy.elem", e.f_);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(e.ctx_, "mma.copy.done", e.f_);
  b.CreateCondBr(vector_copies, vec_bb, elem_bb);
  for (bool vector : {true, false}) {
    b.SetInsertPoint(vector ? vec_bb : elem_bb);
    for (int i = 0; i < bm * cpr_a / threads; ++i) {
      Value* ci = b.CreateAdd(tid, c32(i * threads));
      Value* row = b.CreateUDiv(ci, c32(cpr_a));
      Value* c = b.CreateURem(ci, c32(cpr_a));
      Value* dst = b.CreateAdd(
          a_base, b.CreateAdd(b.CreateMul(row, c32(bk * 2)), b.CreateMul(swizzle(b, row, c, cpr_a), c32(16))));
      Value* grow = b.CreateZExt(row, i64);
      Value* gk = b.CreateAdd(k0, b.CreateZExt(b.CreateMul(c, c32(8)), i64));
      Value* off = b.CreateAdd(a_off, b.CreateAdd(b.CreateMul(grow, lda), gk));
      e.copy_chunk16(vector, shared_at(dst), A, off, b.CreateICmpSLT(grow, rows), gk, K);
    }
    for (int i = 0; i < bk * cpr_b / threads; ++i) {
      Value* ci = b.CreateAdd(tid, c32(i * threads));
      Value* row = b.CreateUDiv(ci, c32(cpr_b));
      Value* c = b.CreateURem(ci, c32(cpr_b));
      Value* dst = b.CreateAdd(
          b_base, b.CreateAdd(b.CreateMul(row, c32(bn * 2)), b.CreateMul(swizzle(b, row, c, cpr_b), c32(16))));
      Value* gk = b.CreateAdd(k0, b.CreateZExt(row, i64));
      Value* gn = b.CreateZExt(b.CreateMul(c, c32(8)), i64);
      Value* off = b.CreateAdd(b_off, b.CreateAdd(b.CreateMul(gk, ldb), gn));
      e.copy_chunk16(vector, shared_at(dst), B, off, b.CreateICmpSLT(gk, K), gn, cols);
    }
    b.CreateBr(done);
  }
  b.SetInsertPoint(done);
}

// Prologue: slices 0 .. stages-2, one group each (empty groups keep the count uniform); then
// per slice: wait, barrier, refill the stage slice kt-1 used, and the slice's mma steps.
std::vector<Value*> KernelEmitter::MmaSyncGemm::mainloop() {
  for (int s = 0; s + 1 < stages; ++s) {
    e.emit_if(b.CreateICmpSLT(c32(s), n_k), [&] { load_stage(c32(s), c32(s)); });
    cp_async::commit(b);
  }
  return k_loop(b, n_k, "mma", {}, frag_m * frag_n * 4, [&](Value* kt, std::vector<Value*>&, std::vector<Value*>& acc) {
    cp_async::wait(b, stages - 2);
    e.hooks_.barrier(b);
    Value* next = b.CreateAdd(kt, c32(stages - 1));
    e.emit_if(b.CreateICmpSLT(next, n_k), [&] { load_stage(b.CreateURem(next, c32(stages)), next); });
    cp_async::commit(b);
    mma_slice(kt, acc);
  });
}

// The bk-deep slice kt: per 16-deep step, ldmatrix A (x4) and B (x4.trans) fragments, then
// (wm/16) x (wn/8) mma.sync.m16n8k16 into the f32 accumulators.
void KernelEmitter::MmaSyncGemm::mma_slice(Value* kt, std::vector<Value*>& acc) {
  Value* stage = b.CreateURem(kt, c32(stages));
  Value* a_stage = b.CreateMul(stage, c32(a_bytes));
  Value* b_stage = b.CreateAdd(c32(stages * a_bytes), b.CreateMul(stage, c32(b_bytes)));
  Value* lane_row = b.CreateAnd(lane, c32(15));  // ldmatrix: lanes 0-15 address rows, 16-31 the next chunk
  Value* lane_chunk = b.CreateLShr(lane, c32(4));
  llvm::Type* pair =
      in_dt == DType::BF16 ? static_cast<llvm::Type*>(i32) : llvm::FixedVectorType::get(b.getHalfTy(), 2);
  auto as_operand = [&](Value* r) { return in_dt == DType::BF16 ? r : b.CreateBitCast(r, pair); };
  auto ldmatrix = [&](llvm::Intrinsic::ID id, Value* byte, std::vector<Value*>& out) {
    Value* ptr = shared_at(byte);
    Value* r = b.CreateIntrinsic(id, {ptr->getType()}, {ptr});  // overloaded on the address space
    for (unsigned i = 0; i < 4; ++i) out.push_back(as_operand(b.CreateExtractValue(r, i)));
  };
  auto mma_id = in_dt == DType::BF16 ? llvm::Intrinsic::nvvm_mma_m16n8k16_row_col_bf16
                                     : llvm::Intrinsic::nvvm_mma_m16n8k16_row_col_f32_f32;
  for (int kk = 0; kk < bk / 16; ++kk) {
    std::vector<Value*> a_frag, b_frag;  // 4 registers per m16 fragment; 2 per n8 fragment
    for (int mi = 0; mi < frag_m; ++mi) {
      Value* row = b.CreateAdd(warp_row, b.CreateAdd(c32(mi * 16), lane_row));
      Value* chunk = b.CreateAdd(c32(kk * 2), lane_chunk);
      Value* byte = b.CreateAdd(
          a_stage, b.CreateAdd(b.CreateMul(row, c32(bk * 2)), b.CreateMul(swizzle(b, row, chunk, cpr_a), c32(16))));
      ldmatrix(llvm::Intrinsic::nvvm_ldmatrix_sync_aligned_m8n8_x4_b16, byte, a_frag);
    }
    for (int nj = 0; nj < wn / 16; ++nj) {  // one x4.trans load: k 0-7/8-15 of two n8 fragments
      Value* krow = b.CreateAdd(c32(kk * 16), lane_row);
      Value* chunk = b.CreateAdd(b.CreateUDiv(warp_col, c32(8)), b.CreateAdd(c32(nj * 2), lane_chunk));
      Value* byte = b.CreateAdd(
          b_stage, b.CreateAdd(b.CreateMul(krow, c32(bn * 2)), b.CreateMul(swizzle(b, krow, chunk, cpr_b), c32(16))));
      ldmatrix(llvm::Intrinsic::nvvm_ldmatrix_sync_aligned_m8n8_x4_trans_b16, byte, b_frag);
    }
    for (int mi = 0; mi < frag_m; ++mi)
      for (int ni = 0; ni < frag_n; ++ni) {
        Value** d = &acc[size_t((mi * frag_n + ni) * 4)];
        Value* r = b.CreateIntrinsic(
            mma_id, {},
            {a_frag[size_t(mi * 4)], a_frag[size_t(mi * 4 + 1)], a_frag[size_t(mi * 4 + 2)], a_frag[size_t(mi * 4 + 3)],
             b_frag[size_t(ni * 2)], b_frag[size_t(ni * 2 + 1)], d[0], d[1], d[2], d[3]});
        for (unsigned i = 0; i < 4; ++i) d[i] = b.CreateExtractValue(r, i);
      }
  }
}

void KernelEmitter::MmaSyncGemm::epilogue(const std::vector<Value*>& acc_out) {
  // Epilogue: accumulator (mi, ni) holds rows g and g+8, columns 2t and 2t+1 of its 16 x 8 tile
  // (g = lane / 4, t = lane % 4). Each output's pair (the product, or what the epilogue region
  // makes of it) goes out as one store when that output's layout keeps pairs aligned.
  cp_async::wait(b, 0);
  const std::vector<GemmOutput> outputs = e.gemm_outputs(op, args);
  std::vector<Value*> pairs_ok;
  for (const GemmOutput& o : outputs) {
    const int64_t esize = int64_t(memory_type(e.ctx_, o.dt)->getPrimitiveSizeInBits() / 8);
    auto even = [&](Value* v) { return b.CreateICmpEQ(b.CreateAnd(v, c64(1)), c64(0)); };
    pairs_ok.push_back(
        b.CreateAnd({even(ldc), even(c_off),
                     b.CreateICmpEQ(b.CreateAnd(b.CreatePtrToInt(o.ptr, i64), c64(2 * esize - 1)), c64(0))}));
  }
  Value* g = b.CreateZExt(b.CreateLShr(lane, c32(2)), i64);
  Value* t2 = b.CreateZExt(b.CreateMul(b.CreateAnd(lane, c32(3)), c32(2)), i64);
  Value* row0 = b.CreateAdd(b.CreateZExt(warp_row, i64), g);
  Value* col0 = b.CreateAdd(b.CreateZExt(warp_col, i64), t2);
  for (int mi = 0; mi < frag_m; ++mi)
    for (int ni = 0; ni < frag_n; ++ni)
      for (int h = 0; h < 2; ++h) {
        Value* row = b.CreateAdd(row0, c64(mi * 16 + h * 8));
        Value* col = b.CreateAdd(col0, c64(ni * 8));
        size_t at = size_t((mi * frag_n + ni) * 4 + h * 2);
        std::vector<Value*> v0 = e.gemm_epilogue(op, args, acc_out[at], row, col, rows, cols);
        std::vector<Value*> v1 = e.gemm_epilogue(op, args, acc_out[at + 1], row, b.CreateAdd(col, c64(1)), rows, cols);
        Value* off = b.CreateAdd(c_off, b.CreateAdd(b.CreateMul(row, ldc), col));
        for (size_t o = 0; o < outputs.size(); ++o)
          e.store_c_pair(outputs[o].ptr, off, col, cols, row, rows, v0[o], v1[o], pairs_ok[o]);
      }
}

void KernelEmitter::emit_mma_sync(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  MmaSyncGemm k(*this, op, args);
  std::vector<Value*> acc = k.mainloop();
  k.epilogue(acc);
}

}  // namespace tessera::backends
