// tile.fma_gemm: an f32 block GEMM on NVIDIA CUDA cores, GPU lane strategy.
//
// 256 threads form a 16 x 16 grid (ty, tx); thread (ty, tx) owns rows {ty*4 + i, 64 + ty*4 + i}
// and columns {tx*4 + j, 64 + tx*4 + j} (i, j < 4) of the 128 x 128 block: 64 f32 accumulators.
// Shared memory holds 16-deep K slices of A transposed (As[k][m]: a thread's eight rows are two
// 16-byte reads, the same for the 16 threads of a row of the grid, so a warp broadcasts them)
// and of B as stored (Bs[k][n]: a warp reads 256 contiguous bytes). Each k step is four 16-byte
// shared reads and 64 fma. Two buffers: while slice kt's fma run, slice kt+1 of B is copied
// into the other buffer by cp.async, and of A read into registers (it is transposed on the
// way) and stored after them; one barrier per slice.
// Global reads are 16-byte vectors when strides, offsets and K (for A) or N (for B) keep every
// 4-float chunk aligned and wholly in or out of bounds; otherwise each element is read alone.
// Sums run over k in order with fma, the same order for every element.
#include <llvm/IR/IntrinsicsNVPTX.h>

#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {

using llvm::Value;

void KernelEmitter::emit_fma_gemm(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  constexpr int bm = 128, bn = 128, bk = 16, threads = 256;
  if (lanes_ != threads)
    fail(ErrorCode::Compile, "kernel " + fn_.name + ": tile.fma_gemm needs 256 lanes (threads), the kernel has " +
                                 std::to_string(lanes_), op.loc.str());
  Value *c_off = args[1], *ldc = args[2], *A = args[3], *a_off = args[4], *lda = args[5], *B = args[6],
        *b_off = args[7], *ldb = args[8], *rows = args[9], *cols = args[10], *K = args[11];
  llvm::Type *f32 = b_.getFloatTy(), *i32 = b_.getInt32Ty(), *i64 = b_.getInt64Ty();
  auto* v4 = llvm::FixedVectorType::get(f32, 4);
  auto c32 = [&](int64_t v) { return b_.getInt32(uint32_t(v)); };
  auto c64 = [&](int64_t v) { return b_.getInt64(uint64_t(v)); };
  Value* zero4 = llvm::Constant::getNullValue(v4);

  // As[2][bk][bm] then Bs[2][bk][bn], in floats.
  constexpr int a_floats = bk * bm, b_floats = bk * bn;
  auto* smem_ty = llvm::ArrayType::get(f32, uint64_t(2 * (a_floats + b_floats)));
  auto* smem = new llvm::GlobalVariable(m_, smem_ty, false, llvm::GlobalValue::InternalLinkage,
                                        llvm::UndefValue::get(smem_ty), fn_.name + ".fma", nullptr,
                                        llvm::GlobalValue::NotThreadLocal, hooks_.shared_address_space());
  smem->setAlignment(llvm::Align(16));
  auto shared_at = [&](Value* index) { return b_.CreateInBoundsGEP(f32, smem, b_.CreateZExt(index, i64)); };
  auto a_slot = [&](Value* buf, Value* k, Value* m) {
    return b_.CreateAdd(b_.CreateMul(buf, c32(a_floats)), b_.CreateAdd(b_.CreateMul(k, c32(bm)), m));
  };
  auto b_slot = [&](Value* buf, Value* k, Value* n) {
    return b_.CreateAdd(c32(2 * a_floats), b_.CreateAdd(b_.CreateMul(buf, c32(b_floats)), b_.CreateAdd(b_.CreateMul(k, c32(bn)), n)));
  };

  Value* tid = b_.CreateTrunc(tid_, i32);
  Value* ty = b_.CreateLShr(tid, c32(4));
  Value* tx = b_.CreateAnd(tid, c32(15));
  Value* a_col = b_.CreateMul(ty, c32(4));  // the thread's first row, and first column
  Value* b_col = b_.CreateMul(tx, c32(4));
  Value* n_k = b_.CreateTrunc(b_.CreateSDiv(b_.CreateAdd(K, c64(bk - 1)), c64(bk)), i32);

  auto mult4 = [&](Value* v) { return b_.CreateICmpEQ(b_.CreateAnd(v, c64(3)), c64(0)); };
  auto aligned16 = [&](Value* p) { return b_.CreateICmpEQ(b_.CreateAnd(b_.CreatePtrToInt(p, i64), c64(15)), c64(0)); };
  Value* a_vector = b_.CreateAnd({mult4(lda), mult4(a_off), mult4(K), aligned16(A)});
  Value* b_vector = b_.CreateAnd({mult4(ldb), mult4(b_off), mult4(cols), aligned16(B)});

  // Four consecutive floats of `buf` from `off`; element e is read when ok && p + e < limit.
  auto read4 = [&](Value* vector_ok, Value* buf, Value* off, Value* ok, Value* p, Value* limit) {
    llvm::BasicBlock* vec_bb = llvm::BasicBlock::Create(ctx_, "fma.read.vec", f_);
    llvm::BasicBlock* elem_bb = llvm::BasicBlock::Create(ctx_, "fma.read.elem", f_);
    llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "fma.read.done", f_);
    b_.CreateCondBr(vector_ok, vec_bb, elem_bb);
    b_.SetInsertPoint(vec_bb);
    Value* in = b_.CreateAnd(ok, b_.CreateICmpSLT(p, limit));
    Value* src = hooks_.element_pointer(b_, buf, f32, b_.CreateSelect(in, off, c64(0)));
    Value* vv = b_.CreateSelect(in, b_.CreateAlignedLoad(v4, src, llvm::Align(16)), zero4);
    llvm::BasicBlock* vec_end = b_.GetInsertBlock();
    b_.CreateBr(done);
    b_.SetInsertPoint(elem_bb);
    Value* ev = zero4;
    for (int e = 0; e < 4; ++e) {
      Value* ine = b_.CreateAnd(ok, b_.CreateICmpSLT(b_.CreateAdd(p, c64(e)), limit));
      Value* s = hooks_.element_pointer(b_, buf, f32, b_.CreateSelect(ine, b_.CreateAdd(off, c64(e)), c64(0)));
      ev = b_.CreateInsertElement(ev, b_.CreateSelect(ine, b_.CreateLoad(f32, s), llvm::ConstantFP::get(f32, 0.0)), uint64_t(e));
    }
    llvm::BasicBlock* elem_end = b_.GetInsertBlock();
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    llvm::PHINode* phi = b_.CreatePHI(v4, 2);
    phi->addIncoming(vv, vec_end);
    phi->addIncoming(ev, elem_end);
    return static_cast<Value*>(phi);
  };

  // Slice kt (i32) of A into registers: two 4-float chunks per thread. Chunk ci covers row
  // ci % 128, k (ci / 128) * 4 .. +3 (a warp: 32 rows, one k group, so the transposed stores
  // hit 32 banks).
  struct Slice {
    Value* a[2];
  };
  auto read_slice = [&](Value* kt) {
    Slice s;
    Value* k0 = b_.CreateMul(b_.CreateZExt(kt, i64), c64(bk));
    for (int i = 0; i < 2; ++i) {
      Value* ci = b_.CreateAdd(tid, c32(i * threads));
      Value* row = b_.CreateZExt(b_.CreateAnd(ci, c32(bm - 1)), i64);
      Value* gk = b_.CreateAdd(k0, b_.CreateZExt(b_.CreateMul(b_.CreateLShr(ci, c32(7)), c32(4)), i64));
      Value* off = b_.CreateAdd(a_off, b_.CreateAdd(b_.CreateMul(row, lda), gk));
      s.a[i] = read4(a_vector, A, off, b_.CreateICmpSLT(row, rows), gk, K);
    }
    return s;
  };
  auto write_slice = [&](Value* buf, const Slice& s) {
    for (int i = 0; i < 2; ++i) {
      Value* ci = b_.CreateAdd(tid, c32(i * threads));
      Value* m = b_.CreateAnd(ci, c32(bm - 1));
      Value* k = b_.CreateMul(b_.CreateLShr(ci, c32(7)), c32(4));
      for (int e = 0; e < 4; ++e)
        b_.CreateStore(b_.CreateExtractElement(s.a[i], uint64_t(e)), shared_at(a_slot(buf, b_.CreateAdd(k, c32(e)), m)));
    }
  };
  // Slice kt of B straight into buffer `buf`: chunk ci covers k ci / 32, columns (ci % 32) * 4
  // .. +3. Aligned layouts use cp.async (16 bytes, zero-filled past the edges; no registers
  // held across the fma), others read and store each element.
  auto copy_b = [&](Value* kt, Value* buf) {
    Value* k0 = b_.CreateMul(b_.CreateZExt(kt, i64), c64(bk));
    llvm::BasicBlock* vec_bb = llvm::BasicBlock::Create(ctx_, "fma.b.async", f_);
    llvm::BasicBlock* elem_bb = llvm::BasicBlock::Create(ctx_, "fma.b.elem", f_);
    llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "fma.b.done", f_);
    b_.CreateCondBr(b_vector, vec_bb, elem_bb);
    for (bool vector : {true, false}) {
      b_.SetInsertPoint(vector ? vec_bb : elem_bb);
      for (int i = 0; i < 2; ++i) {
        Value* ci = b_.CreateAdd(tid, c32(i * threads));
        Value* krow = b_.CreateLShr(ci, c32(5));
        Value* n = b_.CreateMul(b_.CreateAnd(ci, c32(31)), c32(4));
        Value* gk = b_.CreateAdd(k0, b_.CreateZExt(krow, i64));
        Value* gn = b_.CreateZExt(n, i64);
        Value* off = b_.CreateAdd(b_off, b_.CreateAdd(b_.CreateMul(gk, ldb), gn));
        Value* dst = shared_at(b_slot(buf, krow, n));
        if (vector) {
          Value* in = b_.CreateAnd(b_.CreateICmpSLT(gk, K), b_.CreateICmpSLT(gn, cols));
          Value* src = hooks_.element_pointer(b_, B, f32, b_.CreateSelect(in, off, c64(0)));
          b_.CreateIntrinsic(llvm::Intrinsic::nvvm_cp_async_cg_shared_global_16_s, {},
                             {dst, src, b_.CreateSelect(in, c32(16), c32(0))});
        } else {
          b_.CreateAlignedStore(read4(b_.getFalse(), B, off, b_.CreateICmpSLT(gk, K), gn, cols), dst, llvm::Align(16));
        }
      }
      b_.CreateBr(done);
    }
    b_.SetInsertPoint(done);
    b_.CreateIntrinsic(llvm::Intrinsic::nvvm_cp_async_commit_group, llvm::ArrayRef<llvm::Type*>(), llvm::ArrayRef<Value*>());
  };
  auto wait_b = [&] { b_.CreateIntrinsic(llvm::Intrinsic::nvvm_cp_async_wait_group, {}, {c32(0)}); };

  emit_if(b_.CreateICmpSGT(n_k, c32(0)), [&] {
    copy_b(c32(0), c32(0));
    write_slice(c32(0), read_slice(c32(0)));
    wait_b();
  });
  hooks_.barrier(b_);

  llvm::BasicBlock* pre = b_.GetInsertBlock();
  llvm::BasicBlock* header = llvm::BasicBlock::Create(ctx_, "fma.k", f_);
  llvm::BasicBlock* body = llvm::BasicBlock::Create(ctx_, "fma.body", f_);
  llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx_, "fma.exit", f_);
  b_.CreateBr(header);
  b_.SetInsertPoint(header);
  llvm::PHINode* kt = b_.CreatePHI(i32, 2, "kt");
  kt->addIncoming(c32(0), pre);
  std::vector<llvm::PHINode*> acc_phi(64);
  for (auto& p : acc_phi) {
    p = b_.CreatePHI(f32, 2, "acc");
    p->addIncoming(llvm::ConstantFP::get(f32, 0.0), pre);
  }
  b_.CreateCondBr(b_.CreateICmpSLT(kt, n_k), body, exit);

  b_.SetInsertPoint(body);
  Value* next = b_.CreateAdd(kt, c32(1));
  Value* buf = b_.CreateAnd(kt, c32(1));
  // Past the last slice every element is out of bounds: zeros, into a buffer nobody reads.
  copy_b(next, b_.CreateXor(buf, c32(1)));
  Slice prefetched = read_slice(next);
  std::vector<Value*> acc(acc_phi.begin(), acc_phi.end());
  for (int k = 0; k < bk; ++k) {
    Value* a[8];
    Value* bv[8];
    for (int h = 0; h < 2; ++h) {
      Value* av = b_.CreateAlignedLoad(v4, shared_at(a_slot(buf, c32(k), b_.CreateAdd(a_col, c32(h * 64)))), llvm::Align(16));
      Value* bw = b_.CreateAlignedLoad(v4, shared_at(b_slot(buf, c32(k), b_.CreateAdd(b_col, c32(h * 64)))), llvm::Align(16));
      for (int e = 0; e < 4; ++e) {
        a[h * 4 + e] = b_.CreateExtractElement(av, uint64_t(e));
        bv[h * 4 + e] = b_.CreateExtractElement(bw, uint64_t(e));
      }
    }
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j)
        acc[size_t(i * 8 + j)] = b_.CreateIntrinsic(llvm::Intrinsic::fma, {f32}, {a[i], bv[j], acc[size_t(i * 8 + j)]});
  }
  write_slice(b_.CreateXor(buf, c32(1)), prefetched);
  wait_b();
  hooks_.barrier(b_);
  kt->addIncoming(next, b_.GetInsertBlock());
  for (size_t i = 0; i < acc.size(); ++i) acc_phi[i]->addIncoming(acc[i], b_.GetInsertBlock());
  b_.CreateBr(header);

  // Epilogue: each thread's rows, in two runs of four columns; for each output (c, or those of
  // the epilogue region) a run is one vector store when that output's layout keeps it aligned
  // and it lies wholly inside the block's columns.
  b_.SetInsertPoint(exit);
  const std::vector<GemmOutput> outputs = gemm_outputs(op, args);
  std::vector<Value*> run_ok;  // ldc, c_off and the pointer keep runs of 4 aligned
  for (const GemmOutput& o : outputs) run_ok.push_back(run_aligned(o, ldc, c_off, 4));
  for (int i = 0; i < 8; ++i) {
    Value* row = b_.CreateZExt(b_.CreateAdd(a_col, c32((i / 4) * 64 + i % 4)), i64);
    emit_if(b_.CreateICmpSLT(row, rows), [&] {
      for (int h = 0; h < 2; ++h) {
        Value* col = b_.CreateZExt(b_.CreateAdd(b_col, c32(h * 64)), i64);
        std::vector<std::vector<Value*>> vals(outputs.size());  // [output][element]
        for (int e = 0; e < 4; ++e) {
          std::vector<Value*> v = gemm_epilogue(op, args, acc_phi[size_t(i * 8 + h * 4 + e)], row, b_.CreateAdd(col, c64(e)), rows, cols);
          for (size_t o = 0; o < outputs.size(); ++o) vals[o].push_back(v[o]);
        }
        Value* off = b_.CreateAdd(c_off, b_.CreateAdd(b_.CreateMul(row, ldc), col));
        for (size_t o = 0; o < outputs.size(); ++o) store_run(outputs[o], off, vals[o], col, cols, run_ok[o]);
      }
    });
  }
}

}  // namespace tessera::backends
