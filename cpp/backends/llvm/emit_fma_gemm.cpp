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
// CUDA cores sum over k in order with fma, the same order for every element.
#include <llvm/IR/IntrinsicsNVPTX.h>

#include "backends/llvm/kernels/cp_async.hpp"
#include "backends/llvm/kernels/k_loop.hpp"
#include "backends/llvm/tile_to_llvm.hpp"
#include "ir/ops.hpp"

namespace tessera::backends {

using llvm::Value;

void KernelEmitter::emit_fma_gemm(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  constexpr int bm = 128, threads = 256, ld = bm + 8;  // the block tile is bm x bm
  const int bk = int(op.int_attr("bk")), stages = int(op.int_attr("stages", 2));
  const bool tf32 = op.int_attr("tf32", 0) != 0;
  if (lanes_ != threads)
    fail(ErrorCode::Compile,
         "kernel " + fn_.name + ": tile.fma_gemm needs 256 lanes (threads), the kernel has " + std::to_string(lanes_),
         op.loc.str());
  const int64_t need = ir::fma_gemm_shared_bytes(bk, stages);
  auto shared_attr = fn_.attrs.find("shared");
  if (shared_attr == fn_.attrs.end() || std::get<int64_t>(shared_attr->second) < need)
    fail(ErrorCode::Compile,
         "kernel " + fn_.name + ": tile.fma_gemm needs the kernel attribute shared >= " + std::to_string(need) +
             " (dynamic shared memory bytes)",
         op.loc.str());
  Value *c_off = args[1], *ldc = args[2], *A = args[3], *a_off = args[4], *lda = args[5], *B = args[6],
        *b_off = args[7], *ldb = args[8], *rows = args[9], *cols = args[10], *K = args[11];
  llvm::Type *f32 = b_.getFloatTy(), *i32 = b_.getInt32Ty(), *i64 = b_.getInt64Ty();
  auto* v4 = llvm::FixedVectorType::get(f32, 4);
  auto c32 = [&](int64_t v) { return b_.getInt32(uint32_t(v)); };
  auto c64 = [&](int64_t v) { return b_.getInt64(uint64_t(v)); };

  // Per stage As[bk][ld] then Bs[bk][ld], in floats (the kernel's dynamic shared memory).
  // Addresses are a base pointer (per stage, per thread) plus constants, so that copies and
  // reads take immediate offsets.
  const int stage_floats = 2 * bk * ld;
  auto* smem_ty = llvm::ArrayType::get(f32, 0);
  auto* smem =
      new llvm::GlobalVariable(m_, smem_ty, false, llvm::GlobalValue::ExternalLinkage, nullptr, fn_.name + "_fma_smem",
                               nullptr, llvm::GlobalValue::NotThreadLocal, hooks_.shared_address_space());
  smem->setAlignment(llvm::Align(16));
  auto at = [&](Value* p, Value* i32_index, int64_t constant) {
    return b_.CreateInBoundsGEP(f32, b_.CreateInBoundsGEP(f32, p, b_.CreateZExt(i32_index, i64)), c64(constant));
  };
  auto stage_base = [&](Value* stage) { return at(smem, b_.CreateMul(stage, c32(stage_floats)), 0); };

  Value* tid = b_.CreateTrunc(tid_, i32);
  // CUDA cores: the thread's first row, and first column
  Value* a_col = b_.CreateMul(b_.CreateLShr(tid, c32(4)), c32(4));
  Value* b_col = b_.CreateMul(b_.CreateAnd(tid, c32(15)), c32(4));
  // TF32: lane (g, t) of warp w; its first fragment element in As (k t, row g of the warp's
  // rows) and in Bs (k t, column g of the warp's columns), as offsets in a stage.
  Value* warp = b_.CreateLShr(tid, c32(5));
  Value* g = b_.CreateAnd(b_.CreateLShr(tid, c32(2)), c32(7));
  Value* t = b_.CreateAnd(tid, c32(3));
  Value* warp_row = b_.CreateMul(b_.CreateLShr(warp, c32(2)), c32(64));
  Value* warp_col = b_.CreateMul(b_.CreateAnd(warp, c32(3)), c32(32));
  Value* mma_a = b_.CreateAdd(b_.CreateMul(t, c32(ld)), b_.CreateAdd(warp_row, g));
  Value* mma_b = b_.CreateAdd(b_.CreateMul(t, c32(ld)), b_.CreateAdd(warp_col, g));
  Value* n_k = b_.CreateTrunc(b_.CreateSDiv(b_.CreateAdd(K, c64(bk - 1)), c64(bk)), i32);

  auto mult4 = [&](Value* v) { return b_.CreateICmpEQ(b_.CreateAnd(v, c64(3)), c64(0)); };
  auto aligned16 = [&](Value* p) { return b_.CreateICmpEQ(b_.CreateAnd(b_.CreatePtrToInt(p, i64), c64(15)), c64(0)); };
  Value* b_vector = b_.CreateAnd({mult4(ldb), mult4(b_off), mult4(cols), aligned16(B)});

  // cp.async of `bytes` from global `src` to shared `dst`, zeros when !in (nothing is read
  // then, so src may lie past the buffer).
  auto copy = [&](int bytes, Value* dst, Value* src, Value* in) { cp_async::copy(b_, bytes, dst, src, in); };
  // Slice kt (i32) of A and B into stage `stage`, as one cp.async group. A: element e = i*256 +
  // tid is row (e % 8) + 8 * ((e / 32) % 16), k ((e / 8) % 4) + 4 * (e / 512), so a warp copies
  // 8 rows x 4 k (16-byte runs of global memory) to 32 banks; a thread's elements are two rows
  // (r = i % 2) at k = lane_k + 4 * (i / 2), lane_k = (tid / 8) % 4. B: chunk tid + i*256
  // covers k tid / 32 + 8i, columns (tid % 32) * 4 .. +3.
  Value* lane_k = b_.CreateAnd(b_.CreateLShr(tid, c32(3)), c32(3));
  Value *a_row_in[2], *a_src[2], *a_dst[2];  // per row r: row < rows; &A[row, lane_k]; As[lane_k][row]
  for (int r = 0; r < 2; ++r) {
    Value* m = b_.CreateAdd(b_.CreateAnd(tid, c32(7)),
                            b_.CreateMul(b_.CreateAdd(b_.CreateLShr(tid, c32(5)), c32(r * 8)), c32(8)));
    Value* row = b_.CreateZExt(m, i64);
    a_row_in[r] = b_.CreateICmpSLT(row, rows);
    a_src[r] = hooks_.element_pointer(
        b_, A, f32, b_.CreateAdd(a_off, b_.CreateAdd(b_.CreateMul(row, lda), b_.CreateZExt(lane_k, i64))));
    a_dst[r] = b_.CreateAdd(b_.CreateMul(lane_k, c32(ld)), m);
  }
  Value* b_krow = b_.CreateLShr(tid, c32(5));
  Value* b_n = b_.CreateZExt(b_.CreateMul(b_.CreateAnd(tid, c32(31)), c32(4)), i64);
  Value* b_src = hooks_.element_pointer(
      b_, B, f32, b_.CreateAdd(b_off, b_.CreateAdd(b_.CreateMul(b_.CreateZExt(b_krow, i64), ldb), b_n)));
  Value* b_dst = b_.CreateAdd(b_.CreateMul(b_krow, c32(ld)), b_.CreateTrunc(b_n, i32));
  Value* b_step = b_.CreateMul(ldb, c64(8));  // between a thread's chunks
  // Slices wholly inside K with an aligned B (the common case) check rows and columns only,
  // whose copy sizes hold for the whole loop; others check every element.
  Value* a_size[2] = {b_.CreateSelect(a_row_in[0], c32(4), c32(0)), b_.CreateSelect(a_row_in[1], c32(4), c32(0))};
  Value* b_size = b_.CreateSelect(b_.CreateICmpSLT(b_n, cols), c32(16), c32(0));
  auto copy_slice = [&](Value* kt, Value* stage) {
    Value* base = stage_base(stage);
    Value* k0 = b_.CreateMul(b_.CreateZExt(kt, i64), c64(bk));
    Value* b_slice = b_.CreateGEP(f32, b_src, b_.CreateMul(k0, ldb));
    auto a_src_at = [&](int i) { return b_.CreateGEP(f32, b_.CreateGEP(f32, a_src[i % 2], k0), c64(4 * (i / 2))); };
    auto a_dst_at = [&](int i) { return at(base, a_dst[i % 2], 4 * (i / 2) * ld); };
    auto b_dst_at = [&](int i, int e) { return at(base, b_dst, bk * ld + 8 * i * ld + e); };
    llvm::BasicBlock* fast_bb = llvm::BasicBlock::Create(ctx_, "fma.copy.fast", f_);
    llvm::BasicBlock* vec_bb = llvm::BasicBlock::Create(ctx_, "fma.copy.vec", f_);
    llvm::BasicBlock* elem_bb = llvm::BasicBlock::Create(ctx_, "fma.copy.elem", f_);
    llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "fma.copy.done", f_);
    llvm::BasicBlock* checked_bb = llvm::BasicBlock::Create(ctx_, "fma.copy.checked", f_);
    b_.CreateCondBr(b_.CreateAnd(b_vector, b_.CreateICmpSLE(b_.CreateAdd(k0, c64(bk)), K)), fast_bb, checked_bb);

    b_.SetInsertPoint(fast_bb);
    Value* src = b_slice;
    for (int i = 0; i < bk / 2; ++i) {
      Value* dst = a_dst_at(i);  // in this order: the emitted code stays the same
      cp_async::copy_sized(b_, 4, dst, a_src_at(i), a_size[i % 2]);
    }
    for (int i = 0; i < bk / 8; ++i) {
      if (i > 0) src = b_.CreateGEP(f32, src, b_step);  // a chain: no multiples of ldb held across the loop
      cp_async::copy_sized(b_, 16, b_dst_at(i, 0), src, b_size);
    }
    b_.CreateBr(done);

    b_.SetInsertPoint(checked_bb);
    // A: k in bounds while 4 (i / 2) < k_left
    Value* k_left = b_.CreateSub(b_.CreateSub(K, k0), b_.CreateZExt(lane_k, i64));
    for (int i = 0; i < bk / 2; ++i)
      copy(4, a_dst_at(i), a_src_at(i), b_.CreateAnd(a_row_in[i % 2], b_.CreateICmpSGT(k_left, c64(4 * (i / 2)))));
    Value* b_k_left = b_.CreateSub(b_.CreateSub(K, k0), b_.CreateZExt(b_krow, i64));
    b_.CreateCondBr(b_vector, vec_bb, elem_bb);
    for (bool vector : {true, false}) {
      b_.SetInsertPoint(vector ? vec_bb : elem_bb);
      src = b_slice;
      for (int i = 0; i < bk / 8; ++i) {
        Value* k_in = b_.CreateICmpSGT(b_k_left, c64(8 * i));
        if (i > 0) src = b_.CreateGEP(f32, src, b_step);
        if (vector) {
          copy(16, b_dst_at(i, 0), src, b_.CreateAnd(k_in, b_.CreateICmpSLT(b_n, cols)));
        } else {
          for (int e = 0; e < 4; ++e)
            copy(4, b_dst_at(i, e), b_.CreateGEP(f32, src, c64(e)),
                 b_.CreateAnd(k_in, b_.CreateICmpSLT(b_.CreateAdd(b_n, c64(e)), cols)));
        }
      }
      b_.CreateBr(done);
    }
    b_.SetInsertPoint(done);
    cp_async::commit(b_);
  };
  auto wait_groups = [&](int pending) { cp_async::wait(b_, pending); };

  // Slices past the last are copied as zeros into stages nobody reads.
  for (int s = 0; s + 1 < stages; ++s) copy_slice(c32(s), c32(s));

  const std::vector<Value*> acc_out =
      k_loop(b_, n_k, "fma", {c32(0)}, 64, [&](Value* kt, std::vector<Value*>& carried, std::vector<Value*>& acc) {
        Value* read = carried[0];  // slice kt's stage, kt % stages
        // Slice kt has landed for every thread, and every thread is done with slice kt - 1, whose
        // stage now takes slice kt + stages - 1.
        wait_groups(stages - 2);
        hooks_.barrier(b_);
        Value* next_read = b_.CreateSelect(b_.CreateICmpEQ(read, c32(stages - 1)), c32(0), b_.CreateAdd(read, c32(1)));
        Value* write = b_.CreateSelect(b_.CreateICmpEQ(read, c32(0)), c32(stages - 1), b_.CreateSub(read, c32(1)));
        copy_slice(b_.CreateAdd(kt, c32(stages - 1)), write);
        Value* read_base = stage_base(read);
        for (int k = 0; k < bk && !tf32; ++k) {
          Value* a[8];
          Value* bv[8];
          for (int h = 0; h < 2; ++h) {
            Value* av = b_.CreateAlignedLoad(v4, at(read_base, a_col, k * ld + h * 64), llvm::Align(16));
            Value* bw = b_.CreateAlignedLoad(v4, at(read_base, b_col, bk * ld + k * ld + h * 64), llvm::Align(16));
            for (int e = 0; e < 4; ++e) {
              a[h * 4 + e] = b_.CreateExtractElement(av, uint64_t(e));
              bv[h * 4 + e] = b_.CreateExtractElement(bw, uint64_t(e));
            }
          }
          for (int i = 0; i < 8; ++i)
            for (int j = 0; j < 8; ++j)
              acc[size_t(i * 8 + j)] =
                  b_.CreateIntrinsic(llvm::Intrinsic::fma, {f32}, {a[i], bv[j], acc[size_t(i * 8 + j)]});
        }
        for (int k8 = 0; k8 < bk && tf32; k8 += 8) {
          // Fragment element at k row k8 + t (+4) of As (column m) or Bs (column n), as TF32.
          auto frag = [&](Value* first, int k, int col) {
            Value* x = b_.CreateAlignedLoad(f32, at(read_base, first, k * ld + col), llvm::Align(4));
            return b_.CreateIntrinsic(llvm::Intrinsic::nvvm_f2tf32_rna, {}, {x});
          };
          Value *a[4][4], *bv[4][2];
          for (int mt = 0; mt < 4; ++mt)
            for (int q = 0; q < 4; ++q) a[mt][q] = frag(mma_a, k8 + (q / 2) * 4, mt * 16 + (q % 2) * 8);
          for (int nt = 0; nt < 4; ++nt)
            for (int q = 0; q < 2; ++q) bv[nt][q] = frag(mma_b, bk + k8 + q * 4, nt * 8);
          for (int mt = 0; mt < 4; ++mt)
            for (int nt = 0; nt < 4; ++nt) {
              Value** d = &acc[size_t((mt * 4 + nt) * 4)];
              Value* r = b_.CreateIntrinsic(
                  llvm::Intrinsic::nvvm_mma_m16n8k8_row_col_tf32, {},
                  {a[mt][0], a[mt][1], a[mt][2], a[mt][3], bv[nt][0], bv[nt][1], d[0], d[1], d[2], d[3]});
              for (unsigned i = 0; i < 4; ++i) d[i] = b_.CreateExtractValue(r, i);
            }
        }
        carried[0] = next_read;
      });

  wait_groups(0);  // the zero-filled copies past the last slice
  // Epilogue: each thread's rows, in runs of columns (CUDA cores: two runs of four; TF32: per
  // m16n8 tile two rows of a pair); for each output (c, or those of the epilogue region) a run
  // is one vector store when that output's layout keeps it aligned and it lies wholly inside
  // the block's columns.
  struct Run {
    Value* col;
    std::vector<size_t> acc;  // accumulator per column
  };
  std::vector<std::pair<Value*, std::vector<Run>>> row_runs;  // (row, its runs)
  if (!tf32) {
    for (int i = 0; i < 8; ++i) {
      row_runs.push_back({b_.CreateAdd(a_col, c32((i / 4) * 64 + i % 4)), {}});
      for (int h = 0; h < 2; ++h)
        row_runs.back().second.push_back(
            {b_.CreateAdd(b_col, c32(h * 64)),
             {size_t(i * 8 + h * 4), size_t(i * 8 + h * 4 + 1), size_t(i * 8 + h * 4 + 2), size_t(i * 8 + h * 4 + 3)}});
    }
  } else {
    for (int mt = 0; mt < 4; ++mt)
      for (int h = 0; h < 2; ++h) {
        row_runs.push_back({b_.CreateAdd(warp_row, b_.CreateAdd(g, c32(mt * 16 + h * 8))), {}});
        for (int nt = 0; nt < 4; ++nt) {
          size_t first = size_t((mt * 4 + nt) * 4 + 2 * h);
          row_runs.back().second.push_back(
              {b_.CreateAdd(warp_col, b_.CreateAdd(b_.CreateMul(t, c32(2)), c32(nt * 8))), {first, first + 1}});
        }
      }
  }
  const std::vector<GemmOutput> outputs = gemm_outputs(op, args);
  const int run = tf32 ? 2 : 4;
  std::vector<Value*> run_ok;  // ldc, c_off and the pointer keep runs aligned
  for (const GemmOutput& o : outputs) run_ok.push_back(run_aligned(o, ldc, c_off, run));
  for (auto& [row32, runs] : row_runs) {
    Value* row = b_.CreateZExt(row32, i64);
    emit_if(b_.CreateICmpSLT(row, rows), [&] {
      for (const Run& r : runs) {
        Value* col = b_.CreateZExt(r.col, i64);
        std::vector<std::vector<Value*>> vals(outputs.size());  // [output][element]
        for (size_t e = 0; e < r.acc.size(); ++e) {
          std::vector<Value*> v =
              gemm_epilogue(op, args, acc_out[r.acc[e]], row, b_.CreateAdd(col, c64(int64_t(e))), rows, cols);
          for (size_t o = 0; o < outputs.size(); ++o) vals[o].push_back(v[o]);
        }
        Value* off = b_.CreateAdd(c_off, b_.CreateAdd(b_.CreateMul(row, ldc), col));
        for (size_t o = 0; o < outputs.size(); ++o) store_run(outputs[o], off, vals[o], col, cols, run_ok[o]);
      }
    });
  }
}

}  // namespace tessera::backends
