// tile.fma_gemm: an f32 block GEMM on NVIDIA CUDA cores (or, with tf32 = 1, on tensor cores
// with TF32 inputs), GPU lane strategy.
//
// Shared memory holds a ring of `stages` bk-deep K slices: A transposed (As[k][m]) and B as
// stored (Bs[k][n]), rows padded to 136 floats.
// CUDA cores: 256 threads form a 16 x 16 grid (ty, tx); thread (ty, tx) owns rows {ty*4 + i,
// 64 + ty*4 + i} and columns {tx*4 + j, 64 + tx*4 + j} (i, j < 4) of the 128 x 128 block: 64
// f32 accumulators. Each k step is four 16-byte shared reads (a thread's eight rows are the
// same for the 16 threads of a row of the grid, so a warp broadcasts them; a warp reads 256
// contiguous bytes of B) and 64 fma.
// TF32: warp w owns rows (w / 4) * 64 .. +63 and columns (w % 4) * 32 .. +31, as 4 x 4
// mma.sync.m16n8k8 tiles; per 8-deep k step a lane reads its fragments with 24 4-byte shared
// loads (lanes (g, t) = (lane / 4, lane % 4) read k t or t + 4 and row or column g: the padding
// puts them in 32 banks), rounds them to TF32 (cvt.rna) and issues 16 mma.
// Every copy is a cp.async, so no registers are held across the fma: A element by element
// (4 bytes; the transposing store), B in 16-byte chunks when strides, offset and N keep them
// aligned and wholly in or out of bounds, else element by element. Copies past the edges are
// zero-filled. While slice kt's fma run, slices up to kt + stages - 1 are in flight; one
// barrier per slice.
//
// Parts (docs/kernels.md): the cp.async producer (copy_slice), the shared K loop with a stage
// counter (mainloop), the CUDA-core and TF32 steps, and the run-wise epilogue.
#include <llvm/IR/IntrinsicsNVPTX.h>

#include "backends/llvm/kernels/cp_async.hpp"
#include "backends/llvm/kernels/k_loop.hpp"
#include "backends/llvm/tile_to_llvm.hpp"
#include "ir/ops.hpp"

namespace tessera::backends {

using llvm::Value;

struct KernelEmitter::FmaGemm {
  static constexpr int bm = 128, threads = 256, ld = bm + 8;  // the block tile is bm x bm
  KernelEmitter& e;
  llvm::IRBuilder<>& b;
  const ir::Op& op;
  const std::vector<Value*>& args;
  int bk, stages, stage_floats;
  bool tf32;
  Value *c_off, *ldc, *A, *a_off, *lda, *B, *b_off, *ldb, *rows, *cols, *K;
  llvm::Type *f32, *i32, *i64;
  llvm::FixedVectorType* v4;
  llvm::GlobalVariable* smem;
  Value *tid, *a_col, *b_col, *warp, *g, *t, *warp_row, *warp_col, *mma_a, *mma_b, *n_k;
  Value *b_vector, *lane_k, *a_row_in[2], *a_src[2], *a_dst[2], *b_krow, *b_n, *b_src, *b_dst, *b_step;
  Value *a_size[2], *b_size;

  FmaGemm(KernelEmitter& em, const ir::Op& o, const std::vector<Value*>& a);
  llvm::ConstantInt* c32(int64_t v) { return b.getInt32(uint32_t(v)); }
  llvm::ConstantInt* c64(int64_t v) { return b.getInt64(uint64_t(v)); }
  Value* at(Value* p, Value* i32_index, int64_t constant) {
    return b.CreateInBoundsGEP(f32, b.CreateInBoundsGEP(f32, p, b.CreateZExt(i32_index, i64)), c64(constant));
  }
  Value* stage_base(Value* stage) { return at(smem, b.CreateMul(stage, c32(stage_floats)), 0); }
  void copy_slice(Value* kt, Value* stage);
  std::vector<Value*> mainloop();
  void cuda_core_step(Value* read_base, int k, std::vector<Value*>& acc);
  void tf32_step(Value* read_base, int k8, std::vector<Value*>& acc);
  void epilogue(const std::vector<Value*>& acc_out);
};

KernelEmitter::FmaGemm::FmaGemm(KernelEmitter& em, const ir::Op& o, const std::vector<Value*>& a)
    : e(em), b(em.b_), op(o), args(a) {
  bk = int(op.int_attr("bk")), stages = int(op.int_attr("stages", 2));
  tf32 = op.int_attr("tf32", 0) != 0;
  stage_floats = 2 * bk * ld;
  if (e.lanes_ != threads)
    fail(ErrorCode::Compile,
         "kernel " + e.fn_.name + ": tile.fma_gemm needs 256 lanes (threads), the kernel has " +
             std::to_string(e.lanes_),
         op.loc.str());
  const int64_t need = ir::fma_gemm_shared_bytes(bk, stages);
  auto shared_attr = e.fn_.attrs.find("shared");
  if (shared_attr == e.fn_.attrs.end() || std::get<int64_t>(shared_attr->second) < need)
    fail(ErrorCode::Compile,
         "kernel " + e.fn_.name + ": tile.fma_gemm needs the kernel attribute shared >= " + std::to_string(need) +
             " (dynamic shared memory bytes)",
         op.loc.str());
  c_off = args[1], ldc = args[2], A = args[3], a_off = args[4], lda = args[5], B = args[6];
  b_off = args[7], ldb = args[8], rows = args[9], cols = args[10], K = args[11];
  f32 = b.getFloatTy(), i32 = b.getInt32Ty(), i64 = b.getInt64Ty();
  v4 = llvm::FixedVectorType::get(f32, 4);

  // Per stage As[bk][ld] then Bs[bk][ld], in floats (the kernel's dynamic shared memory).
  // Addresses are a base pointer (per stage, per thread) plus constants, so that copies and
  // reads take immediate offsets.
  auto* smem_ty = llvm::ArrayType::get(f32, 0);
  smem = new llvm::GlobalVariable(e.m_, smem_ty, false, llvm::GlobalValue::ExternalLinkage, nullptr,
                                  e.fn_.name + "_fma_smem", nullptr, llvm::GlobalValue::NotThreadLocal,
                                  e.hooks_.shared_address_space());
  smem->setAlignment(llvm::Align(16));
  tid = b.CreateTrunc(e.tid_, i32);
  // CUDA cores: the thread's first row, and first column
  a_col = b.CreateMul(b.CreateLShr(tid, c32(4)), c32(4));
  b_col = b.CreateMul(b.CreateAnd(tid, c32(15)), c32(4));
  // TF32: lane (g, t) of warp w; its first fragment element in As (k t, row g of the warp's
  // rows) and in Bs (k t, column g of the warp's columns), as offsets in a stage.
  warp = b.CreateLShr(tid, c32(5));
  g = b.CreateAnd(b.CreateLShr(tid, c32(2)), c32(7));
  t = b.CreateAnd(tid, c32(3));
  warp_row = b.CreateMul(b.CreateLShr(warp, c32(2)), c32(64));
  warp_col = b.CreateMul(b.CreateAnd(warp, c32(3)), c32(32));
  mma_a = b.CreateAdd(b.CreateMul(t, c32(ld)), b.CreateAdd(warp_row, g));
  mma_b = b.CreateAdd(b.CreateMul(t, c32(ld)), b.CreateAdd(warp_col, g));
  n_k = b.CreateTrunc(b.CreateSDiv(b.CreateAdd(K, c64(bk - 1)), c64(bk)), i32);

  auto mult4 = [&](Value* v) { return b.CreateICmpEQ(b.CreateAnd(v, c64(3)), c64(0)); };
  auto aligned16 = [&](Value* p) { return b.CreateICmpEQ(b.CreateAnd(b.CreatePtrToInt(p, i64), c64(15)), c64(0)); };
  b_vector = b.CreateAnd({mult4(ldb), mult4(b_off), mult4(cols), aligned16(B)});

  // Slice kt (i32) of A and B into stage `stage`, as one cp.async group. A: element e = i*256 +
  // tid is row (e % 8) + 8 * ((e / 32) % 16), k ((e / 8) % 4) + 4 * (e / 512), so a warp copies
  // 8 rows x 4 k (16-byte runs of global memory) to 32 banks; a thread's elements are two rows
  // (r = i % 2) at k = lane_k + 4 * (i / 2), lane_k = (tid / 8) % 4. B: chunk tid + i*256
  // covers k tid / 32 + 8i, columns (tid % 32) * 4 .. +3.
  lane_k = b.CreateAnd(b.CreateLShr(tid, c32(3)), c32(3));
  for (int r = 0; r < 2; ++r) {
    Value* m =
        b.CreateAdd(b.CreateAnd(tid, c32(7)), b.CreateMul(b.CreateAdd(b.CreateLShr(tid, c32(5)), c32(r * 8)), c32(8)));
    Value* row = b.CreateZExt(m, i64);
    a_row_in[r] = b.CreateICmpSLT(row, rows);
    a_src[r] = e.hooks_.element_pointer(
        b, A, f32, b.CreateAdd(a_off, b.CreateAdd(b.CreateMul(row, lda), b.CreateZExt(lane_k, i64))));
    a_dst[r] = b.CreateAdd(b.CreateMul(lane_k, c32(ld)), m);
  }
  b_krow = b.CreateLShr(tid, c32(5));
  b_n = b.CreateZExt(b.CreateMul(b.CreateAnd(tid, c32(31)), c32(4)), i64);
  b_src = e.hooks_.element_pointer(b, B, f32,
                                   b.CreateAdd(b_off, b.CreateAdd(b.CreateMul(b.CreateZExt(b_krow, i64), ldb), b_n)));
  b_dst = b.CreateAdd(b.CreateMul(b_krow, c32(ld)), b.CreateTrunc(b_n, i32));
  b_step = b.CreateMul(ldb, c64(8));  // between a thread's chunks
  // Slices wholly inside K with an aligned B (the common case) check rows and columns only,
  // whose copy sizes hold for the whole loop; others check every element.
  a_size[0] = b.CreateSelect(a_row_in[0], c32(4), c32(0));
  a_size[1] = b.CreateSelect(a_row_in[1], c32(4), c32(0));
  b_size = b.CreateSelect(b.CreateICmpSLT(b_n, cols), c32(16), c32(0));
}

// Slice kt (i32) of A and B into stage `stage`, as one cp.async group (the layouts: the
// constructor). Slices wholly inside K with an aligned B take the fast path.
void KernelEmitter::FmaGemm::copy_slice(Value* kt, Value* stage) {
  Value* base = stage_base(stage);
  Value* k0 = b.CreateMul(b.CreateZExt(kt, i64), c64(bk));
  Value* b_slice = b.CreateGEP(f32, b_src, b.CreateMul(k0, ldb));
  auto a_src_at = [&](int i) { return b.CreateGEP(f32, b.CreateGEP(f32, a_src[i % 2], k0), c64(4 * (i / 2))); };
  auto a_dst_at = [&](int i) { return at(base, a_dst[i % 2], 4 * (i / 2) * ld); };
  auto b_dst_at = [&](int i, int e) { return at(base, b_dst, bk * ld + 8 * i * ld + e); };
  llvm::BasicBlock* fast_bb = llvm::BasicBlock::Create(e.ctx_, "fma.copy.fast", e.f_);
  llvm::BasicBlock* vec_bb = llvm::BasicBlock::Create(e.ctx_, "fma.copy.vec", e.f_);
  llvm::BasicBlock* elem_bb = llvm::BasicBlock::Create(e.ctx_, "fma.copy.elem", e.f_);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(e.ctx_, "fma.copy.done", e.f_);
  llvm::BasicBlock* checked_bb = llvm::BasicBlock::Create(e.ctx_, "fma.copy.checked", e.f_);
  b.CreateCondBr(b.CreateAnd(b_vector, b.CreateICmpSLE(b.CreateAdd(k0, c64(bk)), K)), fast_bb, checked_bb);

  b.SetInsertPoint(fast_bb);
  Value* src = b_slice;
  for (int i = 0; i < bk / 2; ++i) {
    Value* dst = a_dst_at(i);  // in this order: the emitted code stays the same
    cp_async::copy_sized(b, 4, dst, a_src_at(i), a_size[i % 2]);
  }
  for (int i = 0; i < bk / 8; ++i) {
    if (i > 0) src = b.CreateGEP(f32, src, b_step);  // a chain: no multiples of ldb held across the loop
    cp_async::copy_sized(b, 16, b_dst_at(i, 0), src, b_size);
  }
  b.CreateBr(done);

  b.SetInsertPoint(checked_bb);
  // A: k in bounds while 4 (i / 2) < k_left
  Value* k_left = b.CreateSub(b.CreateSub(K, k0), b.CreateZExt(lane_k, i64));
  for (int i = 0; i < bk / 2; ++i)
    cp_async::copy(b, 4, a_dst_at(i), a_src_at(i),
                   b.CreateAnd(a_row_in[i % 2], b.CreateICmpSGT(k_left, c64(4 * (i / 2)))));
  Value* b_k_left = b.CreateSub(b.CreateSub(K, k0), b.CreateZExt(b_krow, i64));
  b.CreateCondBr(b_vector, vec_bb, elem_bb);
  for (bool vector : {true, false}) {
    b.SetInsertPoint(vector ? vec_bb : elem_bb);
    src = b_slice;
    for (int i = 0; i < bk / 8; ++i) {
      Value* k_in = b.CreateICmpSGT(b_k_left, c64(8 * i));
      if (i > 0) src = b.CreateGEP(f32, src, b_step);
      if (vector) {
        cp_async::copy(b, 16, b_dst_at(i, 0), src, b.CreateAnd(k_in, b.CreateICmpSLT(b_n, cols)));
      } else {
        for (int x = 0; x < 4; ++x)
          cp_async::copy(b, 4, b_dst_at(i, x), b.CreateGEP(f32, src, c64(x)),
                         b.CreateAnd(k_in, b.CreateICmpSLT(b.CreateAdd(b_n, c64(x)), cols)));
      }
    }
    b.CreateBr(done);
  }
  b.SetInsertPoint(done);
  cp_async::commit(b);
}

// Slices past the last are copied as zeros into stages nobody reads; then the K loop, its
// stage counter `read` carried as kt % stages.
std::vector<Value*> KernelEmitter::FmaGemm::mainloop() {
  for (int s = 0; s + 1 < stages; ++s) copy_slice(c32(s), c32(s));
  return k_loop(b, n_k, "fma", {c32(0)}, 64, [&](Value* kt, std::vector<Value*>& carried, std::vector<Value*>& acc) {
    Value* read = carried[0];  // slice kt's stage, kt % stages
    // Slice kt has landed for every thread, and every thread is done with slice kt - 1, whose
    // stage now takes slice kt + stages - 1.
    cp_async::wait(b, stages - 2);
    e.hooks_.barrier(b);
    Value* next_read = b.CreateSelect(b.CreateICmpEQ(read, c32(stages - 1)), c32(0), b.CreateAdd(read, c32(1)));
    Value* write = b.CreateSelect(b.CreateICmpEQ(read, c32(0)), c32(stages - 1), b.CreateSub(read, c32(1)));
    copy_slice(b.CreateAdd(kt, c32(stages - 1)), write);
    Value* read_base = stage_base(read);
    for (int k = 0; k < bk && !tf32; ++k) cuda_core_step(read_base, k, acc);
    for (int k8 = 0; k8 < bk && tf32; k8 += 8) tf32_step(read_base, k8, acc);
    carried[0] = next_read;
  });
}

// One k of the CUDA-core product: four 16-byte shared reads, 64 fma.
void KernelEmitter::FmaGemm::cuda_core_step(Value* read_base, int k, std::vector<Value*>& acc) {
  Value* a[8];
  Value* bv[8];
  for (int h = 0; h < 2; ++h) {
    Value* av = b.CreateAlignedLoad(v4, at(read_base, a_col, k * ld + h * 64), llvm::Align(16));
    Value* bw = b.CreateAlignedLoad(v4, at(read_base, b_col, bk * ld + k * ld + h * 64), llvm::Align(16));
    for (int x = 0; x < 4; ++x) {
      a[h * 4 + x] = b.CreateExtractElement(av, uint64_t(x));
      bv[h * 4 + x] = b.CreateExtractElement(bw, uint64_t(x));
    }
  }
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j)
      acc[size_t(i * 8 + j)] = b.CreateIntrinsic(llvm::Intrinsic::fma, {f32}, {a[i], bv[j], acc[size_t(i * 8 + j)]});
}

// One 8-deep k step on tensor cores with TF32 inputs.
void KernelEmitter::FmaGemm::tf32_step(Value* read_base, int k8, std::vector<Value*>& acc) {
  // Fragment element at k row k8 + t (+4) of As (column m) or Bs (column n), as TF32.
  auto frag = [&](Value* first, int k, int col) {
    Value* x = b.CreateAlignedLoad(f32, at(read_base, first, k * ld + col), llvm::Align(4));
    return b.CreateIntrinsic(llvm::Intrinsic::nvvm_f2tf32_rna, {}, {x});
  };
  Value *a[4][4], *bv[4][2];
  for (int mt = 0; mt < 4; ++mt)
    for (int q = 0; q < 4; ++q) a[mt][q] = frag(mma_a, k8 + (q / 2) * 4, mt * 16 + (q % 2) * 8);
  for (int nt = 0; nt < 4; ++nt)
    for (int q = 0; q < 2; ++q) bv[nt][q] = frag(mma_b, bk + k8 + q * 4, nt * 8);
  for (int mt = 0; mt < 4; ++mt)
    for (int nt = 0; nt < 4; ++nt) {
      Value** d = &acc[size_t((mt * 4 + nt) * 4)];
      Value* r =
          b.CreateIntrinsic(llvm::Intrinsic::nvvm_mma_m16n8k8_row_col_tf32, {},
                            {a[mt][0], a[mt][1], a[mt][2], a[mt][3], bv[nt][0], bv[nt][1], d[0], d[1], d[2], d[3]});
      for (unsigned i = 0; i < 4; ++i) d[i] = b.CreateExtractValue(r, i);
    }
}

// Epilogue: each thread's rows, in runs of columns (CUDA cores: two runs of four; TF32: per
// m16n8 tile two rows of a pair); for each output (c, or those of the epilogue region) a run
// is one vector store when that output's layout keeps it aligned and it lies wholly inside
// the block's columns.
void KernelEmitter::FmaGemm::epilogue(const std::vector<Value*>& acc_out) {
  struct Run {
    Value* col;
    std::vector<size_t> acc;  // accumulator per column
  };
  std::vector<std::pair<Value*, std::vector<Run>>> row_runs;  // (row, its runs)
  if (!tf32) {
    for (int i = 0; i < 8; ++i) {
      row_runs.push_back({b.CreateAdd(a_col, c32((i / 4) * 64 + i % 4)), {}});
      for (int h = 0; h < 2; ++h)
        row_runs.back().second.push_back(
            {b.CreateAdd(b_col, c32(h * 64)),
             {size_t(i * 8 + h * 4), size_t(i * 8 + h * 4 + 1), size_t(i * 8 + h * 4 + 2), size_t(i * 8 + h * 4 + 3)}});
    }
  } else {
    for (int mt = 0; mt < 4; ++mt)
      for (int h = 0; h < 2; ++h) {
        row_runs.push_back({b.CreateAdd(warp_row, b.CreateAdd(g, c32(mt * 16 + h * 8))), {}});
        for (int nt = 0; nt < 4; ++nt) {
          size_t first = size_t((mt * 4 + nt) * 4 + 2 * h);
          row_runs.back().second.push_back(
              {b.CreateAdd(warp_col, b.CreateAdd(b.CreateMul(t, c32(2)), c32(nt * 8))), {first, first + 1}});
        }
      }
  }
  const std::vector<GemmOutput> outputs = e.gemm_outputs(op, args);
  const int run = tf32 ? 2 : 4;
  std::vector<Value*> run_ok;  // ldc, c_off and the pointer keep runs aligned
  for (const GemmOutput& o : outputs) run_ok.push_back(e.run_aligned(o, ldc, c_off, run));
  for (auto& [row32, runs] : row_runs) {
    Value* row = b.CreateZExt(row32, i64);
    e.emit_if(b.CreateICmpSLT(row, rows), [&] {
      for (const Run& r : runs) {
        Value* col = b.CreateZExt(r.col, i64);
        std::vector<std::vector<Value*>> vals(outputs.size());  // [output][element]
        for (size_t x = 0; x < r.acc.size(); ++x) {
          std::vector<Value*> v =
              e.gemm_epilogue(op, args, acc_out[r.acc[x]], row, b.CreateAdd(col, c64(int64_t(x))), rows, cols);
          for (size_t o = 0; o < outputs.size(); ++o) vals[o].push_back(v[o]);
        }
        Value* off = b.CreateAdd(c_off, b.CreateAdd(b.CreateMul(row, ldc), col));
        for (size_t o = 0; o < outputs.size(); ++o) e.store_run(outputs[o], off, vals[o], col, cols, run_ok[o]);
      }
    });
  }
}

void KernelEmitter::emit_fma_gemm(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  FmaGemm k(*this, op, args);
  const std::vector<Value*> acc_out = k.mainloop();
  cp_async::wait(b_, 0);  // the zero-filled copies past the last slice
  k.epilogue(acc_out);
}

}  // namespace tessera::backends
