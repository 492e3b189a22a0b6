// tile.wgmma_gemm: a block-tile GEMM on Hopper tensor cores (sm_90a), GPU lane strategy.
//
// Each consumer warpgroup owns 64 rows of the bm x bn block tile and issues
// wgmma.mma_async.m64n<bn>k16 with both operands read from shared memory through 64-bit
// matrix descriptors; the f32 accumulators (bn/2 a thread) stay in registers.
//
// Shared memory (dynamic, aligned here to 1024 bytes) holds `stages` copies of
//   A: bm rows of bk = 64 elements, one 128-byte row each (K-major);
//   B: bn/64 panels, each bk rows of 64 columns (N-major, read with imm-trans-b = 1);
// both in the 128-byte swizzle the descriptors name: the 16-byte chunk c of row r sits at
// chunk c ^ (r % 8), so the 8 rows of a 1024-byte atom spread over all banks. That is also the
// layout TMA writes with CU_TENSOR_MAP_SWIZZLE_128B and a 64-element inner box.
//
// tma = 1 (warp-specialized): warpgroup 0 is the producer. It gives up registers (setmaxnreg)
// and one thread issues, per K slice, a bulk tensor copy of A's bm x 64 tile and of B's
// 64 x 64 panels (zero-filled past the edges), completing on the stage's `full` mbarrier.
// The consumer warpgroups (1 ..) wait on `full`, run their wgmma group, keep one group in
// flight, and release the stage before it on its `empty` mbarrier (one arrival per
// warpgroup), which the producer waits on before reusing the buffer. The two TMA descriptors
// (A, then B) are the kernel's last parameters (kernel attribute tensor_maps). persistent = 1:
// each program instance loops over block tiles i, i + grid, ...; stage and phase run on
// across tiles, so the producer fetches the next tile while the consumers store this one.
//
// Epilogue: 16-bit C in 16-byte stores after a quad transpose of the packed pairs; f32 C in
// pairs. With an epilogue region (element-wise ops fused after the matmul) each output gets the
// region's value at each element, computed in registers.
//
// tma = 0: every thread copies with cp.async, stages-2 slices in flight, one wgmma group kept
// running while the next slice is waited for:
//   prologue: copy slices 0 .. stages-3 (one cp.async group each)
//   for kt:   wait until slice kt has landed; proxy fence (wgmma reads through the async
//             proxy); barrier (also: every warpgroup has retired its wgmma of slice kt-2)
//             copy slice kt+stages-2 into the buffer slice kt-2 used; commit
//             wgmma.fence; bk/16 wgmma.mma_async; commit; wait until at most 1 group runs
// Chunks past the matrix edges are zero-filled (cp.async src-size 0); when a stride or base
// is not a multiple of 8 elements every element is loaded and checked on its own instead.
#include <llvm/IR/IntrinsicsNVPTX.h>

#include "backends/llvm/codegen.hpp"
#include "backends/llvm/hopper.hpp"
#include "backends/llvm/kernels/cp_async.hpp"
#include "ir/ops.hpp"

namespace tessera::backends {

using hopper::descriptor;
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

void KernelEmitter::emit_wgmma(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  const int bm = int(op.int_attr("bm")), bn = int(op.int_attr("bn")), bk = int(op.int_attr("bk"));
  const int stages = int(op.int_attr("stages"));
  const bool tma = op.has_attr("tma") && op.int_attr("tma") != 0;
  const bool persistent = op.has_attr("persistent") && op.int_attr("persistent") != 0;
  if (persistent && !tma) fail(ErrorCode::Compile, "tile.wgmma_gemm: persistent needs tma", op.loc.str());
  const int consumers = bm / 64, threads = 128 * (consumers + int(tma));
  if (lanes_ != threads)
    fail(ErrorCode::Compile,
         "kernel " + fn_.name + ": tile.wgmma_gemm needs " + std::to_string(threads) +
             " lanes (threads), the kernel has " + std::to_string(lanes_),
         op.loc.str());
  if (tma && (!fn_.attrs.count("tensor_maps") || std::get<ir::IntList>(fn_.attrs.at("tensor_maps")).size() != 22))
    fail(ErrorCode::Compile,
         "kernel " + fn_.name +
             ": tile.wgmma_gemm with tma needs the kernel attribute tensor_maps "
             "(the TMA descriptors of A and B)",
         op.loc.str());
  // Staged epilogue: the consumers store each tile's product (16-bit) to a C buffer after the
  // stages, rows padded by 16 bytes; warps 1-3 of the producer warpgroup run the epilogue region
  // from it while the consumers go on with the next tile.
  const bool staged = op.int_attr("staged_epilogue", 0) != 0;
  if (staged && (!tma || !op.region))
    fail(ErrorCode::Compile, "tile.wgmma_gemm: staged_epilogue needs tma and an epilogue region", op.loc.str());
  const ir::WgmmaGemmSmem layout = ir::wgmma_gemm_smem(bm, bn, bk, stages, staged);
  const int a_bytes = int(layout.a_stage), b_bytes = int(layout.b_stage), panel_bytes = bk * 128;
  const int c_row_bytes = int(layout.c_row);
  const int64_t need = layout.total;
  auto shared_attr = fn_.attrs.find("shared");
  if (shared_attr == fn_.attrs.end() || std::get<int64_t>(shared_attr->second) < need)
    fail(ErrorCode::Compile,
         "kernel " + fn_.name + ": tile.wgmma_gemm needs the kernel attribute shared >= " + std::to_string(need) +
             " (dynamic shared memory bytes)",
         op.loc.str());
  const DType in_dt = op.operands[3]->type.dtype;
  Value *C = args[0], *c_off = args[1], *ldc = args[2], *A = args[3], *a_off = args[4], *lda = args[5], *B = args[6],
        *b_off = args[7], *ldb = args[8], *rows = args[9], *cols = args[10], *K = args[11];
  llvm::Type *i8 = b_.getInt8Ty(), *i16 = b_.getInt16Ty(), *i32 = b_.getInt32Ty(), *i64 = b_.getInt64Ty();
  llvm::Type* f32 = b_.getFloatTy();
  auto c32 = [&](int64_t v) { return b_.getInt32(uint32_t(v)); };
  auto c64 = [&](int64_t v) { return b_.getInt64(uint64_t(v)); };

  // Dynamic shared memory, its start rounded up to the 1024-byte swizzle atom.
  const hopper::SharedMemory smem =
      hopper::dynamic_shared(m_, b_, fn_.name + "_wgmma_smem", hooks_.shared_address_space());
  Value* base32 = smem.base;  // shared-window address of buffer byte 0
  auto a_stage_addr = [&](Value* stage) { return b_.CreateAdd(base32, b_.CreateMul(stage, c32(a_bytes))); };
  auto b_stage_addr = [&](Value* stage) {
    return b_.CreateAdd(base32, b_.CreateAdd(c32(layout.b_start), b_.CreateMul(stage, c32(b_bytes))));
  };

  Value* tid = b_.CreateTrunc(tid_, i32);
  Value* n_k = b_.CreateTrunc(b_.CreateSDiv(b_.CreateAdd(K, c64(bk - 1)), c64(bk)), i32);

  const int n_acc = bn / 2;  // f32 accumulators a thread
  // One K slice: bk/16 wgmma on the warpgroup's 64 rows of A (a_addr) and all of B (b_addr).
  auto mma_slice = [&](std::vector<Value*>& acc, Value* a_addr, Value* b_addr) {
    hopper::fence(b_);
    for (int kk = 0; kk < bk / 16; ++kk) {
      // A: K-major, 8-row groups 1024 bytes apart; the k step moves 32 bytes along the row.
      // B: N-major, k-row groups 1024 bytes apart (SBO), 64-column panels panel_bytes apart (LBO).
      Value* a_desc = descriptor(b_, b_.CreateAdd(a_addr, c32(kk * 32)), 16, 1024);
      Value* b_desc = descriptor(b_, b_.CreateAdd(b_addr, c32(kk * 16 * 128)), uint64_t(panel_bytes), 1024);
      hopper::mma(b_, bn, in_dt, {a_desc}, b_desc, true, acc);
    }
    hopper::commit(b_);
  };
  // The K loop skeleton: kt from 0 to n_k with the accumulators (zero first) as phis; `body`
  // fills one iteration. Leaves the builder after the loop; returns the final accumulators.
  auto k_loop = [&](auto body_fn) {
    llvm::BasicBlock* pre = b_.GetInsertBlock();
    llvm::BasicBlock* header = llvm::BasicBlock::Create(ctx_, "wgmma.k", f_);
    llvm::BasicBlock* body = llvm::BasicBlock::Create(ctx_, "wgmma.body", f_);
    llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx_, "wgmma.exit", f_);
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode* kt = b_.CreatePHI(i32, 2, "kt");
    kt->addIncoming(c32(0), pre);
    std::vector<llvm::PHINode*> acc_phi(static_cast<size_t>(n_acc), nullptr);
    for (auto& p : acc_phi) {
      p = b_.CreatePHI(f32, 2, "acc");
      p->addIncoming(llvm::ConstantFP::get(f32, 0.0), pre);
    }
    b_.CreateCondBr(b_.CreateICmpSLT(kt, n_k), body, exit);
    b_.SetInsertPoint(body);
    std::vector<Value*> acc(acc_phi.begin(), acc_phi.end());
    body_fn(kt, acc);
    kt->addIncoming(b_.CreateAdd(kt, c32(1)), b_.GetInsertBlock());
    for (size_t i = 0; i < acc.size(); ++i) acc_phi[i]->addIncoming(acc[i], b_.GetInsertBlock());
    b_.CreateBr(header);
    b_.SetInsertPoint(exit);
    return std::vector<Value*>(acc_phi.begin(), acc_phi.end());
  };

  // Epilogue: like mma.sync's m16n8 fragments, warp w of the consumers holds rows 16w + g and
  // 16w + g + 8 (g = lane / 4) of the block tile, and for each 8-column block j columns 8j + 2t
  // and 8j + 2t + 1 (t = lane % 4): accumulators 4j .. 4j+3. It goes in chunks of 4 blocks of
  // one row half h: the outputs' values there (gemm_epilogue: the product, or what the epilogue
  // region makes of it), then each output's stores. (m0, n0): the tile's origin (persistent).
  const std::vector<GemmOutput> outputs = gemm_outputs(op, args);
  auto epilogue = [&](const std::vector<Value*>& acc, Value* consumer_tid, Value* c_off, Value* rows, Value* cols,
                      Value* m0, Value* n0) {
    Value* lane = b_.CreateAnd(consumer_tid, c32(31));
    Value* warp = b_.CreateLShr(consumer_tid, c32(5));
    Value* t = b_.CreateAnd(lane, c32(3));
    Value* row0 = b_.CreateZExt(b_.CreateAdd(b_.CreateMul(warp, c32(16)), b_.CreateLShr(lane, c32(2))), i64);
    Value* col0 = b_.CreateZExt(b_.CreateMul(t, c32(2)), i64);
    auto aligned_to = [&](Value* ptr, int64_t elems, int64_t esize) {  // ldc, c_off and C all multiples of elems
      auto mult = [&](Value* v) { return b_.CreateICmpEQ(b_.CreateAnd(v, c64(elems - 1)), c64(0)); };
      return b_.CreateAnd({mult(ldc), mult(c_off),
                           b_.CreateICmpEQ(b_.CreateAnd(b_.CreatePtrToInt(ptr, i64), c64(elems * esize - 1)), c64(0))});
    };
    for (int h = 0; h < 2; ++h)
      for (int q = 0; q < bn / 32; ++q) {
        Value* row = b_.CreateAdd(row0, c64(h * 8));
        Value* row_in = b_.CreateICmpSLT(row, rows);
        // vals[o][2j + e]: output o at column 8(4q + j) + 2t + e.
        std::vector<std::vector<Value*>> vals(outputs.size());
        if (op.region)
          for (int j = 0; j < 4; ++j)
            for (int e = 0; e < 2; ++e) {
              Value* col = b_.CreateAdd(col0, c64(8 * (4 * q + j) + e));
              std::vector<Value*> v =
                  gemm_epilogue(op, args, acc[size_t((4 * q + j) * 4 + h * 2 + e)], row, col, rows, cols, m0, n0);
              for (size_t o = 0; o < outputs.size(); ++o) vals[o].push_back(v[o]);
            }
        for (size_t o = 0; o < outputs.size(); ++o) {
          llvm::Type* et = memory_type(ctx_, outputs[o].dt);
          const int64_t esize = int64_t(et->getPrimitiveSizeInBits() / 8);
          Value* C = outputs[o].ptr;
          auto pair_of = [&](int j, int e) {
            return op.region ? vals[o][size_t(2 * j + e)]
                             : convert(acc[size_t((4 * q + j) * 4 + h * 2 + e)], DType::F32, outputs[o].dt);
          };
          if (esize != 2) {  // pairs, one store each when C's layout keeps them aligned
            Value* pairs_ok = aligned_to(C, 2, esize);
            for (int j = 0; j < 4; ++j) {
              Value* col = b_.CreateAdd(col0, c64(8 * (4 * q + j)));
              store_c_pair(C, b_.CreateAdd(c_off, b_.CreateAdd(b_.CreateMul(row, ldc), col)), col, cols, row, rows,
                           pair_of(j, 0), pair_of(j, 1), pairs_ok);
            }
            continue;
          }
          // 16-bit C: the four lanes of a quad hold 2 columns each of every 8-column block; a 4 x 4
          // transpose of the packed pairs (two butterfly stages of warp shuffles) gives lane t all
          // 8 columns of block 4q + t, stored as one 16-byte vector (element by element at edges
          // or when C's layout is not 16-byte aligned).
          auto* pair_ty = llvm::FixedVectorType::get(et, 2);
          Value* v[4];
          for (int j = 0; j < 4; ++j) {  // slot j: this lane's pair of block 4q + j
            if (op.region) {
              Value* p = b_.CreateInsertElement(llvm::PoisonValue::get(pair_ty), vals[o][size_t(2 * j)], uint64_t(0));
              v[j] = b_.CreateBitCast(b_.CreateInsertElement(p, vals[o][size_t(2 * j + 1)], uint64_t(1)), i32);
              continue;
            }
            v[j] = pack_pair(acc[size_t((4 * q + j) * 4 + h * 2)], acc[size_t((4 * q + j) * 4 + h * 2 + 1)],
                             outputs[o].dt);
          }
          store_quad_16(C, outputs[o].dt, c_off, ldc, row, row_in, t, q, v, cols, [&] { return aligned_to(C, 8, 2); });
        }
      }
  };

  // Block tiles: one per program instance, or (persistent) every tile of the rows x cols
  // matrix in the grouped order of tilegen/matmul_mma.cpp, program instance i taking tiles i,
  // i + grid, ... Each gets its operand offsets, `base`, the pipeline iterations done before,
  // `done`, the tiles this instance did before (i32), and `last`: it is the instance's last.
  struct Tile {
    Value *a_off, *b_off, *c_off, *rows, *cols, *m0, *n0;  // m0, n0: the origin inside c (persistent)
  };
  auto for_each_tile = [&](auto body_fn) {
    if (!persistent) {
      body_fn(Tile{a_off, b_off, c_off, rows, cols, nullptr, nullptr}, c32(0), c32(0), b_.getTrue());
      return;
    }
    constexpr int64_t kGroupM = 8;
    Value* tiles_m = b_.CreateSDiv(b_.CreateAdd(rows, c64(bm - 1)), c64(bm));
    Value* tiles_n = b_.CreateSDiv(b_.CreateAdd(cols, c64(bn - 1)), c64(bn));
    Value* first = hooks_.program_id(b_, 0);
    Value* grid = read_index(b_, llvm::Intrinsic::nvvm_read_ptx_sreg_nctaid_x);
    ForLoop loop = begin_loop(first, grid, "wgmma.tile");
    Value* n_tiles = b_.CreateMul(tiles_m, tiles_n);
    enter_loop_body(loop, n_tiles);
    Value* t = loop.iv;
    Value* per_group = b_.CreateMul(tiles_n, c64(kGroupM));
    Value* first_m = b_.CreateMul(b_.CreateSDiv(t, per_group), c64(kGroupM));
    Value* group_rows = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b_.CreateSub(tiles_m, first_m), c64(kGroupM));
    Value* local = b_.CreateSRem(t, per_group);
    Value* m0 = b_.CreateMul(b_.CreateAdd(first_m, b_.CreateSRem(local, group_rows)), c64(bm));
    Value* n0 = b_.CreateMul(b_.CreateSDiv(local, group_rows), c64(bn));
    Value* done = b_.CreateTrunc(b_.CreateSDiv(b_.CreateSub(t, first), grid), i32);  // tiles this instance finished
    body_fn(Tile{b_.CreateAdd(a_off, b_.CreateMul(m0, lda)), b_.CreateAdd(b_off, n0),
                 b_.CreateAdd(c_off, b_.CreateAdd(b_.CreateMul(m0, ldc), n0)), b_.CreateSub(rows, m0),
                 b_.CreateSub(cols, n0), m0, n0},
            b_.CreateMul(done, n_k), done, b_.CreateICmpSGE(b_.CreateAdd(t, grid), n_tiles));
    end_loop(loop);
  };

  if (tma) {
    // mbarriers after the stage buffers (and the C buffer): full[s] (the producer's copies
    // landed), empty[s] (every consumer warpgroup is done reading the stage); staged: c_full
    // (every consumer thread stored its part of the tile), c_empty (the epilogue warps read it).
    Value* c_buf = b_.CreateAdd(base32, c32(layout.c_start));
    Value* bars = b_.CreateAdd(base32, c32(layout.barriers));
    auto full = [&](Value* s) { return b_.CreateAdd(bars, b_.CreateMul(s, c32(8))); };
    auto empty = [&](Value* s) { return b_.CreateAdd(bars, b_.CreateAdd(c32(8 * stages), b_.CreateMul(s, c32(8)))); };
    Value* c_full = b_.CreateAdd(bars, c32(16 * stages));
    Value* c_empty = b_.CreateAdd(bars, c32(16 * stages + 8));
    constexpr int kEpilogueThreads = 96, kRun = 2;  // warps 1-3 of the producer warpgroup; columns a chunk
    auto wait = [&](Value* bar, Value* parity) { hopper::mbarrier_wait(b_, bar, parity); };
    emit_if(b_.CreateICmpEQ(tid, c32(0)), [&] {
      for (int s = 0; s < stages; ++s) {
        hopper::mbarrier_init(b_, full(c32(s)), 1);
        hopper::mbarrier_init(b_, empty(c32(s)), consumers);
      }
      if (staged) {
        hopper::mbarrier_init(b_, c_full, 128 * consumers);
        hopper::mbarrier_init(b_, c_empty, kEpilogueThreads);
      }
      hopper::mbarrier_init_fence(b_);
    });
    hooks_.barrier(b_);
    // Producer: 40 registers are plenty for one thread's address arithmetic; staged, its other
    // warps run the epilogue in 56 (the block's 168 x 384: 40 + 2 x 232, or 56 + 2 x 224).
    // Consumers: the accumulators need the registers the producer gave up. (One consumer
    // warpgroup has the registers of two: 240, the most setmaxnreg gives.)
    const int producer_regs = staged ? 56 : 40, consumer_regs = consumers == 1 ? 240 : staged ? 224 : 232;
    auto producer = [&] {
      emit_if(b_.CreateICmpEQ(tid, c32(0)), [&] {
        const unsigned n_params = unsigned(fn_.body.args.size());
        Value* map_a = b_.CreatePtrToInt(f_->getArg(n_params), i64);
        Value* map_b = b_.CreatePtrToInt(f_->getArg(n_params + 1), i64);
        for_each_tile([&](const Tile& t, Value* base, Value*, Value*) {
          // A is [batch * M, K]: its row is a_off / K. B is [batch, K, N]: column b_off % N of batch b_off / (K N).
          Value* a_row = b_.CreateTrunc(b_.CreateSDiv(t.a_off, K), i32);
          Value* b_col = b_.CreateTrunc(b_.CreateSRem(t.b_off, ldb), i32);
          Value* b_batch = b_.CreateTrunc(b_.CreateSDiv(t.b_off, b_.CreateMul(K, ldb)), i32);
          k_loop([&](Value* kt, std::vector<Value*>&) {
            Value* it = b_.CreateAdd(base, kt);  // pipeline iteration: stage and phase run on across tiles
            Value* s = b_.CreateURem(it, c32(stages));
            Value* round = b_.CreateAnd(b_.CreateUDiv(it, c32(stages)), c32(1));
            wait(empty(s), b_.CreateXor(round, c32(1)));  // round 0: the buffers start free
            hopper::mbarrier_expect_tx(b_, full(s), a_bytes + b_bytes);
            Value* k0 = b_.CreateMul(kt, c32(bk));
            Value* a_dst = a_stage_addr(s);
            hopper::tma_load_3d(b_, a_dst, map_a, k0, a_row, c32(0), full(s));
            for (int p = 0; p < bn / 64; ++p) {
              Value* dst = b_.CreateAdd(b_stage_addr(s), c32(p * panel_bytes));
              Value* col = b_.CreateAdd(b_col, c32(64 * p));
              hopper::tma_load_3d(b_, dst, map_b, col, k0, b_batch, full(s));
            }
          });
        });
      });
      if (staged) {
        // Epilogue warps: chunks of kRun columns of the tile, thread e taking chunks e, e + 96, ...
        // (a warp reads one contiguous row run: no bank conflicts), each through the epilogue
        // region and out to every output in vector stores. 2 columns a chunk keep the region's
        // work within the producer warpgroup's 56 registers (bias + gelu + a residual output
        // spilled with 4, and gelu alone with 8).
        const std::vector<GemmOutput> outputs = gemm_outputs(op, args);
        std::vector<Value*> run_ok;
        for (const GemmOutput& o : outputs) run_ok.push_back(run_aligned(o, ldc, c_off, kRun));
        emit_if(b_.CreateICmpUGE(tid, c32(32)), [&] {
          Value* etid = b_.CreateZExt(b_.CreateSub(tid, c32(32)), i64);
          for_each_tile([&](const Tile& t, Value*, Value* done, Value* last) {
            llvm::BasicBlock* skip = llvm::BasicBlock::Create(ctx_, "wgmma.epilogue.skip", f_);
            llvm::BasicBlock* work = llvm::BasicBlock::Create(ctx_, "wgmma.epilogue.tile", f_);
            b_.CreateCondBr(last, skip, work);  // the consumers store the last tile themselves
            b_.SetInsertPoint(work);
            wait(c_full, b_.CreateAnd(done, c32(1)));
            ForLoop chunks = begin_loop(etid, c64(kEpilogueThreads), "wgmma.epilogue");
            enter_loop_body(chunks, c64(bm * bn / kRun));
            Value* row = b_.CreateUDiv(chunks.iv, c64(bn / kRun));
            Value* col = b_.CreateMul(b_.CreateURem(chunks.iv, c64(bn / kRun)), c64(kRun));
            emit_if(b_.CreateAnd(b_.CreateICmpSLT(row, t.rows), b_.CreateICmpSLT(col, t.cols)), [&] {
              Value* byte = b_.CreateAdd(
                  c_buf,
                  b_.CreateTrunc(b_.CreateAdd(b_.CreateMul(row, c64(c_row_bytes)), b_.CreateMul(col, c64(2))), i32));
              llvm::Type* et = register_type(ctx_, in_dt);
              auto* vec_ty = llvm::FixedVectorType::get(et, kRun);
              Value* ptr = b_.CreateIntToPtr(byte, llvm::PointerType::get(ctx_, hooks_.shared_address_space()));
              Value* vec = b_.CreateAlignedLoad(vec_ty, ptr, llvm::Align(2 * kRun));
              std::vector<std::vector<Value*>> vals(outputs.size());
              for (int e = 0; e < kRun; ++e) {
                std::vector<Value*> v = gemm_epilogue(op, args, b_.CreateExtractElement(vec, uint64_t(e)), row,
                                                      b_.CreateAdd(col, c64(e)), t.rows, t.cols, t.m0, t.n0, in_dt);
                for (size_t o = 0; o < outputs.size(); ++o) vals[o].push_back(v[o]);
              }
              Value* off = b_.CreateAdd(t.c_off, b_.CreateAdd(b_.CreateMul(row, ldc), col));
              for (size_t o = 0; o < outputs.size(); ++o) store_run(outputs[o], off, vals[o], col, t.cols, run_ok[o]);
            });
            end_loop(chunks);
            hopper::mbarrier_arrive(b_, c_empty);
            b_.CreateBr(skip);
            b_.SetInsertPoint(skip);
          });
        });
      }
    };
    auto consumer = [&] {
      Value* ctid = b_.CreateSub(tid, c32(128));
      Value* leader = b_.CreateICmpEQ(b_.CreateAnd(ctid, c32(127)), c32(0));
      Value* a_rows = b_.CreateMul(b_.CreateLShr(ctid, c32(7)), c32(64 * 128));  // this warpgroup's 64 rows of A
      for_each_tile([&](const Tile& t, Value* base, Value* done, Value* last) {
        std::vector<Value*> acc = k_loop([&](Value* kt, std::vector<Value*>& acc) {
          Value* it = b_.CreateAdd(base, kt);
          Value* s = b_.CreateURem(it, c32(stages));
          wait(full(s), b_.CreateAnd(b_.CreateUDiv(it, c32(stages)), c32(1)));
          mma_slice(acc, b_.CreateAdd(a_stage_addr(s), a_rows), b_stage_addr(s));
          hopper::wait(b_, 1);  // slice kt-1's group is done: its stage may be refilled
          Value* prev = b_.CreateURem(b_.CreateAdd(it, c32(stages - 1)), c32(stages));
          emit_if(b_.CreateAnd(leader, b_.CreateICmpSGT(kt, c32(0))),
                  [&] { hopper::mbarrier_arrive(b_, empty(prev)); });
        });
        hopper::wait(b_, 0);
        emit_if(b_.CreateAnd(leader, b_.CreateICmpSGT(n_k, c32(0))), [&] {  // the tile's last stage
          Value* last = b_.CreateURem(b_.CreateAdd(base, b_.CreateSub(n_k, c32(1))), c32(stages));
          hopper::mbarrier_arrive(b_, empty(last));
        });
        if (!staged) {
          epilogue(acc, ctid, t.c_off, t.rows, t.cols, t.m0, t.n0);
          return;
        }
        // Staged: the instance's last tile (the only one without a grid) has no next tile to
        // overlap, so the consumers run its epilogue themselves, in registers, 2.5x as many
        // threads as the epilogue warps. Others: wait until the epilogue warps are done with
        // the previous tile's buffer (the first wait passes at once), store this thread's pairs
        // of the product, rounded to 16 bits (the m16n8 fragment layout of the epilogue above),
        // and arrive on c_full.
        llvm::BasicBlock* in_registers = llvm::BasicBlock::Create(ctx_, "wgmma.last", f_);
        llvm::BasicBlock* to_shared = llvm::BasicBlock::Create(ctx_, "wgmma.stage", f_);
        llvm::BasicBlock* tile_done = llvm::BasicBlock::Create(ctx_, "wgmma.tile.done", f_);
        b_.CreateCondBr(last, in_registers, to_shared);
        b_.SetInsertPoint(in_registers);
        epilogue(acc, ctid, t.c_off, t.rows, t.cols, t.m0, t.n0);
        b_.CreateBr(tile_done);
        b_.SetInsertPoint(to_shared);
        wait(c_empty, b_.CreateXor(b_.CreateAnd(done, c32(1)), c32(1)));
        Value* lane = b_.CreateAnd(ctid, c32(31));
        Value* row0 = b_.CreateAdd(b_.CreateMul(b_.CreateLShr(ctid, c32(5)), c32(16)), b_.CreateLShr(lane, c32(2)));
        Value* col0 = b_.CreateMul(b_.CreateAnd(lane, c32(3)), c32(2));
        auto* pair_ty = llvm::FixedVectorType::get(register_type(ctx_, in_dt), 2);
        for (int j = 0; j < bn / 8; ++j)
          for (int h = 0; h < 2; ++h) {
            Value* p = llvm::PoisonValue::get(llvm::FixedVectorType::get(f32, 2));
            p = b_.CreateInsertElement(p, acc[size_t(j * 4 + h * 2)], uint64_t(0));
            p = b_.CreateInsertElement(p, acc[size_t(j * 4 + h * 2 + 1)], uint64_t(1));
            Value* row = b_.CreateAdd(row0, c32(h * 8));
            Value* byte = b_.CreateAdd(c_buf, b_.CreateAdd(b_.CreateMul(row, c32(c_row_bytes)),
                                                           b_.CreateMul(b_.CreateAdd(col0, c32(8 * j)), c32(2))));
            b_.CreateAlignedStore(b_.CreateBitCast(b_.CreateFPTrunc(p, pair_ty), i32),
                                  b_.CreateIntToPtr(byte, llvm::PointerType::get(ctx_, hooks_.shared_address_space())),
                                  llvm::Align(4));
          }
        hopper::mbarrier_arrive(b_, c_full);
        b_.CreateBr(tile_done);
        b_.SetInsertPoint(tile_done);
      });
    };
    hopper::warp_specialize(b_, tid, producer_regs, consumer_regs, producer, consumer);
    return;
  }

  // cp.async: 16-byte copies need every chunk to be all in or all out of bounds and 16-byte aligned.
  Value* vector_copies = chunk_copies_ok(A, a_off, lda, B, b_off, ldb, K, cols);
  // One 16-byte chunk: elements off .. off+7 of `buf`, element e valid when ok && p + e < limit.
  auto copy_chunk = [&](bool vector, Value* dst_byte, Value* buf, Value* off, Value* ok, Value* p, Value* limit) {
    copy_chunk16(vector, smem.at(b_, dst_byte), buf, off, ok, p, limit);
  };
  auto swizzled = [&](Value* row, Value* chunk) {  // byte of 16-byte chunk `chunk` in 128-byte row `row`
    return b_.CreateAdd(b_.CreateMul(row, c32(128)),
                        b_.CreateShl(b_.CreateXor(chunk, b_.CreateAnd(row, c32(7))), c32(4)));
  };
  // Copies K slice `kt` (i32) of A and B into pipeline buffer `stage` (i32).
  auto load_stage = [&](Value* stage, Value* kt) {
    Value* k0 = b_.CreateMul(b_.CreateZExt(kt, i64), c64(bk));
    Value* a_base = b_.CreateMul(stage, c32(a_bytes));
    Value* b_base = b_.CreateAdd(c32(layout.b_start), b_.CreateMul(stage, c32(b_bytes)));
    llvm::BasicBlock* vec_bb = llvm::BasicBlock::Create(ctx_, "wgmma.copy.vec", f_);
    llvm::BasicBlock* elem_bb = llvm::BasicBlock::Create(ctx_, "wgmma.copy.elem", f_);
    llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "wgmma.copy.done", f_);
    b_.CreateCondBr(vector_copies, vec_bb, elem_bb);
    for (bool vector : {true, false}) {
      b_.SetInsertPoint(vector ? vec_bb : elem_bb);
      for (int i = 0; i < bm * 8 / threads; ++i) {  // A: 8 chunks a row
        Value* ci = b_.CreateAdd(tid, c32(i * threads));
        Value* row = b_.CreateLShr(ci, c32(3));
        Value* c = b_.CreateAnd(ci, c32(7));
        Value* grow = b_.CreateZExt(row, i64);
        Value* gk = b_.CreateAdd(k0, b_.CreateZExt(b_.CreateShl(c, c32(3)), i64));
        Value* off = b_.CreateAdd(a_off, b_.CreateAdd(b_.CreateMul(grow, lda), gk));
        copy_chunk(vector, b_.CreateAdd(a_base, swizzled(row, c)), A, off, b_.CreateICmpSLT(grow, rows), gk, K);
      }
      const int cpr_b = bn / 8;
      for (int i = 0; i < bk * cpr_b / threads; ++i) {  // B: bn/8 chunks a row, in 64-column panels
        Value* ci = b_.CreateAdd(tid, c32(i * threads));
        Value* krow = b_.CreateUDiv(ci, c32(cpr_b));
        Value* nc = b_.CreateURem(ci, c32(cpr_b));
        Value* panel = b_.CreateLShr(nc, c32(3));
        Value* dst = b_.CreateAdd(
            b_base, b_.CreateAdd(b_.CreateMul(panel, c32(panel_bytes)), swizzled(krow, b_.CreateAnd(nc, c32(7)))));
        Value* gk = b_.CreateAdd(k0, b_.CreateZExt(krow, i64));
        Value* gn = b_.CreateZExt(b_.CreateShl(nc, c32(3)), i64);
        Value* off = b_.CreateAdd(b_off, b_.CreateAdd(b_.CreateMul(gk, ldb), gn));
        copy_chunk(vector, dst, B, off, b_.CreateICmpSLT(gk, K), gn, cols);
      }
      b_.CreateBr(done);
    }
    b_.SetInsertPoint(done);
  };
  auto commit = [&] { cp_async::commit(b_); };
  auto wait_groups = [&](int pending) { cp_async::wait(b_, pending); };

  // Prologue: slices 0 .. stages-3, one group each (empty groups keep the count uniform).
  for (int s = 0; s + 2 < stages; ++s) {
    emit_if(b_.CreateICmpSLT(c32(s), n_k), [&] { load_stage(c32(s), c32(s)); });
    commit();
  }
  Value* a_rows = b_.CreateMul(b_.CreateLShr(tid, c32(7)), c32(64 * 128));  // this warpgroup's 64 rows of A
  std::vector<Value*> acc = k_loop([&](Value* kt, std::vector<Value*>& acc) {
    wait_groups(stages - 3);
    hopper::inline_asm(b_, "fence.proxy.async.shared::cta;");
    hooks_.barrier(b_);
    Value* next = b_.CreateAdd(kt, c32(stages - 2));
    emit_if(b_.CreateICmpSLT(next, n_k), [&] { load_stage(b_.CreateURem(next, c32(stages)), next); });
    commit();
    Value* s = b_.CreateURem(kt, c32(stages));
    mma_slice(acc, b_.CreateAdd(a_stage_addr(s), a_rows), b_stage_addr(s));
    hopper::wait(b_, 1);
  });
  hopper::wait(b_, 0);
  wait_groups(0);
  epilogue(acc, tid, c_off, rows, cols, nullptr, nullptr);
}

}  // namespace tessera::backends
