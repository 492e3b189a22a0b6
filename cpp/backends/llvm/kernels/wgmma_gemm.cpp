// tile.wgmma_gemm: a block-tile GEMM on Hopper tensor cores (sm_90a), GPU lane strategy, put
// together from named parts (docs/kernels.md):
//
//   mainloop   mma_slice: one K slice of wgmma.mma_async on shared-memory descriptors, and
//              k_loop: the K loop carrying the f32 accumulators;
//   producers  TMA bulk tensor loads (tma = 1) or cp.async chunk copies (tma = 0, load_stage);
//   pipeline   mbarrier full/empty per stage with warp specialization (tma_pipeline), or
//              cp.async groups (cp_async_pipeline);
//   scheduler  for_each_tile: one block tile per program instance, or (persistent) a loop over
//              tiles in grouped order;
//   epilogue   epilogue: the product (or the fused element-wise region) stored from registers;
//              staged: through a shared C buffer to the producer warpgroup's spare warps.
//
// Each consumer warpgroup owns 64 rows of the bm x bn block tile and issues
// wgmma.mma_async.m64n<bn>k16 with both operands read from shared memory through 64-bit
// matrix descriptors; the f32 accumulators (bn/2 a thread) stay in registers.
//
// Shared memory (ir::wgmma_gemm_smem, from a 1024-byte boundary) holds `stages` copies of
//   A: bm rows of bk = 64 elements, one 128-byte row each (K-major);
//   B: bn/64 panels, each bk rows of 64 columns (N-major, read with imm-trans-b = 1);
// an operand stored transposed (trans_a: A is [K, M]; trans_b: B is [N, K]) takes the other
// operand's layout: A in bm/64 M-major panels (imm-trans-a = 1), B in bn K-major rows. The bytes
// of a stage are the same either way.
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
#include "backends/llvm/kernels/k_loop.hpp"
#include "ir/ops.hpp"

namespace tessera::backends {

using hopper::descriptor;
using llvm::Value;

struct KernelEmitter::WgmmaGemm {
  KernelEmitter& e;
  llvm::IRBuilder<>& b;
  const ir::Op& op;
  const std::vector<Value*>& args;
  int bm, bn, bk, stages, consumers, threads, epilogue_chunks;
  bool tma, persistent, staged, trans_a, trans_b;
  ir::WgmmaGemmSmem layout;
  int a_bytes, b_bytes, panel_bytes, c_row_bytes;
  DType in_dt;
  Value *C, *c_off, *ldc, *A, *a_off, *lda, *B, *b_off, *ldb, *rows, *cols, *K;
  llvm::Type *i8, *i16, *i32, *i64, *f32;
  hopper::SharedMemory smem;
  Value *base32, *tid, *n_k;
  int n_acc;
  std::vector<GemmOutput> outputs;

  WgmmaGemm(KernelEmitter& em, const ir::Op& o, const std::vector<Value*>& a);
  void run() { tma ? tma_pipeline() : cp_async_pipeline(); }

  llvm::ConstantInt* c32(int64_t v) { return b.getInt32(uint32_t(v)); }
  llvm::ConstantInt* c64(int64_t v) { return b.getInt64(uint64_t(v)); }
  Value* a_stage_addr(Value* stage) { return b.CreateAdd(base32, b.CreateMul(stage, c32(a_bytes))); }
  Value* b_stage_addr(Value* stage) {
    return b.CreateAdd(base32, b.CreateAdd(c32(layout.b_start), b.CreateMul(stage, c32(b_bytes))));
  }

  // mainloop
  void mma_slice(std::vector<Value*>& acc, Value* a_addr, Value* b_addr);
  template <class Body>
  std::vector<Value*> k_loop(Body body_fn);
  // epilogue
  void epilogue(const std::vector<Value*>& acc, Value* consumer_tid, Value* t_c_off, Value* t_rows, Value* t_cols,
                Value* m0, Value* n0);
  // scheduler
  struct Tile {
    Value *a_off, *b_off, *c_off, *rows, *cols, *m0, *n0;  // m0, n0: the origin inside c (persistent)
  };
  template <class Body>
  void for_each_tile(Body body_fn);
  // TMA pipeline
  struct Barriers {
    Value *c_buf, *bars, *c_full, *c_empty;
  };
  static constexpr int kEpilogueThreads = 96, kRun = 2;  // warps 1-3 of the producer warpgroup; columns a chunk
  Value* full(const Barriers& m, Value* s) { return b.CreateAdd(m.bars, b.CreateMul(s, c32(8))); }
  Value* empty(const Barriers& m, Value* s) {
    return b.CreateAdd(m.bars, b.CreateAdd(c32(8 * stages), b.CreateMul(s, c32(8))));
  }
  void wait(Value* bar, Value* parity) { hopper::mbarrier_wait(b, bar, parity); }
  void tma_pipeline();
  void tma_producer(const Barriers& m);
  void staged_epilogue_warps(const Barriers& m);
  std::vector<std::vector<Value*>> staged_values(const Tile& t, Value* row, Value* col, Value* c_buf);
  void staged_chunks(const Tile& t, Value* etid, const std::vector<Value*>& run_ok, Value* c_buf);
  void tma_consumer(const Barriers& m);
  void stage_product(const Barriers& m, const std::vector<Value*>& acc, Value* ctid, Value* done);
  // cp.async pipeline
  void copy_rows(bool vector, Value* base, Value* buf, Value* off, Value* ld, int n, Value* limit, Value* k0);
  void copy_panels(bool vector, Value* base, Value* buf, Value* off, Value* ld, int n, Value* limit, Value* k0);
  void load_stage(Value* vector_copies, Value* stage, Value* kt);
  void cp_async_pipeline();
};

KernelEmitter::WgmmaGemm::WgmmaGemm(KernelEmitter& em, const ir::Op& o, const std::vector<Value*>& a)
    : e(em), b(em.b_), op(o), args(a) {
  bm = int(op.int_attr("bm")), bn = int(op.int_attr("bn")), bk = int(op.int_attr("bk"));
  stages = int(op.int_attr("stages"));
  tma = op.has_attr("tma") && op.int_attr("tma") != 0;
  persistent = op.has_attr("persistent") && op.int_attr("persistent") != 0;
  if (persistent && !tma) fail(ErrorCode::Compile, "tile.wgmma_gemm: persistent needs tma", op.loc.str());
  consumers = bm / 64, threads = 128 * (consumers + int(tma));
  if (e.lanes_ != threads)
    fail(ErrorCode::Compile,
         "kernel " + e.fn_.name + ": tile.wgmma_gemm needs " + std::to_string(threads) +
             " lanes (threads), the kernel has " + std::to_string(e.lanes_),
         op.loc.str());
  if (tma && (!e.fn_.attrs.count("tensor_maps") || std::get<ir::IntList>(e.fn_.attrs.at("tensor_maps")).size() != 22))
    fail(ErrorCode::Compile,
         "kernel " + e.fn_.name +
             ": tile.wgmma_gemm with tma needs the kernel attribute tensor_maps "
             "(the TMA descriptors of A and B)",
         op.loc.str());
  // Staged epilogue: the consumers store each tile's product (16-bit) to a C buffer after the
  // stages, rows padded by 16 bytes; warps 1-3 of the producer warpgroup run the epilogue region
  // from it while the consumers go on with the next tile.
  staged = op.int_attr("staged_epilogue", 0) != 0;
  trans_a = op.int_attr("trans_a", 0) != 0, trans_b = op.int_attr("trans_b", 0) != 0;
  epilogue_chunks = int(op.int_attr("epilogue_chunks", 1));
  if (staged && (!tma || !op.region))
    fail(ErrorCode::Compile, "tile.wgmma_gemm: staged_epilogue needs tma and an epilogue region", op.loc.str());
  layout = ir::wgmma_gemm_smem(bm, bn, bk, stages, staged);
  a_bytes = int(layout.a_stage), b_bytes = int(layout.b_stage), panel_bytes = bk * 128;
  c_row_bytes = int(layout.c_row);
  auto shared_attr = e.fn_.attrs.find("shared");
  if (shared_attr == e.fn_.attrs.end() || std::get<int64_t>(shared_attr->second) < layout.total)
    fail(ErrorCode::Compile,
         "kernel " + e.fn_.name + ": tile.wgmma_gemm needs the kernel attribute shared >= " +
             std::to_string(layout.total) + " (dynamic shared memory bytes)",
         op.loc.str());
  in_dt = op.operands[3]->type.dtype;
  C = args[0], c_off = args[1], ldc = args[2], A = args[3], a_off = args[4], lda = args[5], B = args[6];
  b_off = args[7], ldb = args[8], rows = args[9], cols = args[10], K = args[11];
  i8 = b.getInt8Ty(), i16 = b.getInt16Ty(), i32 = b.getInt32Ty(), i64 = b.getInt64Ty();
  f32 = b.getFloatTy();
  // Dynamic shared memory, its start rounded up to the 1024-byte swizzle atom.
  smem = hopper::dynamic_shared(e.m_, b, e.fn_.name + "_wgmma_smem", e.hooks_.shared_address_space());
  base32 = smem.base;  // shared-window address of buffer byte 0
  tid = b.CreateTrunc(e.tid_, i32);
  n_k = b.CreateTrunc(b.CreateSDiv(b.CreateAdd(K, c64(bk - 1)), c64(bk)), i32);
  n_acc = bn / 2;  // f32 accumulators a thread
  outputs = e.gemm_outputs(op, args);
}

// ---- mainloop ----

// One K slice: bk/16 wgmma on the warpgroup's 64 rows of A (a_addr) and all of B (b_addr).
void KernelEmitter::WgmmaGemm::mma_slice(std::vector<Value*>& acc, Value* a_addr, Value* b_addr) {
  hopper::fence(b);
  // K-major: 8-row groups 1024 bytes apart; the k step moves 32 bytes along the row.
  // M/N-major: k-row groups 1024 bytes apart (SBO), 64-column panels panel_bytes apart (LBO);
  // the k step moves 16 rows.
  auto k_major = [&](Value* addr, int kk) { return descriptor(b, b.CreateAdd(addr, c32(kk * 32)), 16, 1024); };
  auto mn_major = [&](Value* addr, int kk) {
    return descriptor(b, b.CreateAdd(addr, c32(kk * 16 * 128)), uint64_t(panel_bytes), 1024);
  };
  for (int kk = 0; kk < bk / 16; ++kk) {
    Value* a_desc = trans_a ? mn_major(a_addr, kk) : k_major(a_addr, kk);
    Value* b_desc = trans_b ? k_major(b_addr, kk) : mn_major(b_addr, kk);
    hopper::mma(b, bn, in_dt, {a_desc}, b_desc, !trans_b, acc, trans_a);
  }
  hopper::commit(b);
}

// The K loop (kernels/k_loop.hpp) with the accumulators; `body` fills one iteration.
template <class Body>
std::vector<Value*> KernelEmitter::WgmmaGemm::k_loop(Body body_fn) {
  return backends::k_loop(b, n_k, "wgmma", {}, n_acc,
                          [&](Value* kt, std::vector<Value*>&, std::vector<Value*>& acc) { body_fn(kt, acc); });
}

// ---- epilogue ----

// Like mma.sync's m16n8 fragments, warp w of the consumers holds rows 16w + g and 16w + g + 8
// (g = lane / 4) of the block tile, and for each 8-column block j columns 8j + 2t and
// 8j + 2t + 1 (t = lane % 4): accumulators 4j .. 4j+3. It goes in chunks of 4 blocks of one row
// half h: the outputs' values there (gemm_epilogue: the product, or what the epilogue region
// makes of it), then each output's stores. (m0, n0): the tile's origin (persistent).
void KernelEmitter::WgmmaGemm::epilogue(const std::vector<Value*>& acc, Value* consumer_tid, Value* t_c_off,
                                        Value* t_rows, Value* t_cols, Value* m0, Value* n0) {
  Value* lane = b.CreateAnd(consumer_tid, c32(31));
  Value* warp = b.CreateLShr(consumer_tid, c32(5));
  Value* t = b.CreateAnd(lane, c32(3));
  Value* row0 = b.CreateZExt(b.CreateAdd(b.CreateMul(warp, c32(16)), b.CreateLShr(lane, c32(2))), i64);
  Value* col0 = b.CreateZExt(b.CreateMul(t, c32(2)), i64);
  auto aligned_to = [&](Value* ptr, int64_t elems, int64_t esize) {  // ldc, c_off and C all multiples of elems
    auto mult = [&](Value* v) { return b.CreateICmpEQ(b.CreateAnd(v, c64(elems - 1)), c64(0)); };
    return b.CreateAnd({mult(ldc), mult(t_c_off),
                        b.CreateICmpEQ(b.CreateAnd(b.CreatePtrToInt(ptr, i64), c64(elems * esize - 1)), c64(0))});
  };
  for (int h = 0; h < 2; ++h)
    for (int q = 0; q < bn / 32; ++q) {
      Value* row = b.CreateAdd(row0, c64(h * 8));
      Value* row_in = b.CreateICmpSLT(row, t_rows);
      // vals[o][2j + e]: output o at column 8(4q + j) + 2t + e.
      std::vector<std::vector<Value*>> vals(outputs.size());
      if (op.region)
        for (int j = 0; j < 4; ++j)
          for (int e2 = 0; e2 < 2; ++e2) {
            Value* col = b.CreateAdd(col0, c64(8 * (4 * q + j) + e2));
            std::vector<Value*> v =
                e.gemm_epilogue(op, args, acc[size_t((4 * q + j) * 4 + h * 2 + e2)], row, col, t_rows, t_cols, m0, n0);
            for (size_t o = 0; o < outputs.size(); ++o) vals[o].push_back(v[o]);
          }
      for (size_t o = 0; o < outputs.size(); ++o) {
        llvm::Type* et = memory_type(e.ctx_, outputs[o].dt);
        const int64_t esize = int64_t(et->getPrimitiveSizeInBits() / 8);
        Value* Co = outputs[o].ptr;
        auto pair_of = [&](int j, int e2) {
          return op.region ? vals[o][size_t(2 * j + e2)]
                           : e.convert(acc[size_t((4 * q + j) * 4 + h * 2 + e2)], DType::F32, outputs[o].dt);
        };
        if (esize != 2) {  // pairs, one store each when C's layout keeps them aligned
          Value* pairs_ok = aligned_to(Co, 2, esize);
          for (int j = 0; j < 4; ++j) {
            Value* col = b.CreateAdd(col0, c64(8 * (4 * q + j)));
            e.store_c_pair(Co, b.CreateAdd(t_c_off, b.CreateAdd(b.CreateMul(row, ldc), col)), col, t_cols, row, t_rows,
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
            Value* p = b.CreateInsertElement(llvm::PoisonValue::get(pair_ty), vals[o][size_t(2 * j)], uint64_t(0));
            v[j] = b.CreateBitCast(b.CreateInsertElement(p, vals[o][size_t(2 * j + 1)], uint64_t(1)), i32);
            continue;
          }
          v[j] = e.pack_pair(acc[size_t((4 * q + j) * 4 + h * 2)], acc[size_t((4 * q + j) * 4 + h * 2 + 1)],
                             outputs[o].dt);
        }
        e.store_quad_16(Co, outputs[o].dt, t_c_off, ldc, row, row_in, t, q, v, t_cols,
                        [&] { return aligned_to(Co, 8, 2); });
      }
    }
}

// ---- tile scheduler ----

// Block tiles: one per program instance, or (persistent) every tile of the rows x cols matrix
// in the grouped order of tilegen/matmul_mma.cpp, program instance i taking tiles i, i + grid,
// ... Each gets its operand offsets, `base`, the pipeline iterations done before, `done`, the
// tiles this instance did before (i32), and `last`: it is the instance's last.
template <class Body>
void KernelEmitter::WgmmaGemm::for_each_tile(Body body_fn) {
  if (!persistent) {
    body_fn(Tile{a_off, b_off, c_off, rows, cols, nullptr, nullptr}, c32(0), c32(0), b.getTrue());
    return;
  }
  constexpr int64_t kGroupM = 8;
  Value* tiles_m = b.CreateSDiv(b.CreateAdd(rows, c64(bm - 1)), c64(bm));
  Value* tiles_n = b.CreateSDiv(b.CreateAdd(cols, c64(bn - 1)), c64(bn));
  Value* first = e.hooks_.program_id(b, 0);
  Value* grid = read_index(b, llvm::Intrinsic::nvvm_read_ptx_sreg_nctaid_x);
  ForLoop loop = e.begin_loop(first, grid, "wgmma.tile");
  Value* n_tiles = b.CreateMul(tiles_m, tiles_n);
  e.enter_loop_body(loop, n_tiles);
  Value* t = loop.iv;
  Value* per_group = b.CreateMul(tiles_n, c64(kGroupM));
  Value* first_m = b.CreateMul(b.CreateSDiv(t, per_group), c64(kGroupM));
  Value* group_rows = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateSub(tiles_m, first_m), c64(kGroupM));
  Value* local = b.CreateSRem(t, per_group);
  Value* m0 = b.CreateMul(b.CreateAdd(first_m, b.CreateSRem(local, group_rows)), c64(bm));
  Value* n0 = b.CreateMul(b.CreateSDiv(local, group_rows), c64(bn));
  Value* done = b.CreateTrunc(b.CreateSDiv(b.CreateSub(t, first), grid), i32);  // tiles this instance finished
  // (In the order GCC evaluated the arguments of the call this replaces: PTX stays the same.)
  Value* last = b.CreateICmpSGE(b.CreateAdd(t, grid), n_tiles);
  Value* base = b.CreateMul(done, n_k);
  Value* t_a_off = trans_a ? b.CreateAdd(a_off, m0) : b.CreateAdd(a_off, b.CreateMul(m0, lda));
  Value* t_b_off = trans_b ? b.CreateAdd(b_off, b.CreateMul(n0, ldb)) : b.CreateAdd(b_off, n0);
  Value* t_c_off = b.CreateAdd(c_off, b.CreateAdd(b.CreateMul(m0, ldc), n0));
  Value* t_rows = b.CreateSub(rows, m0);
  body_fn(Tile{t_a_off, t_b_off, t_c_off, t_rows, b.CreateSub(cols, n0), m0, n0}, base, done, last);
  e.end_loop(loop);
}

// ---- TMA pipeline: a producer warpgroup and mbarriers ----

// mbarriers after the stage buffers (and the C buffer): full[s] (the producer's copies
// landed), empty[s] (every consumer warpgroup is done reading the stage); staged: c_full
// (every consumer thread stored its part of the tile), c_empty (the epilogue warps read it).
void KernelEmitter::WgmmaGemm::tma_pipeline() {
  Barriers m;
  m.c_buf = b.CreateAdd(base32, c32(layout.c_start));
  m.bars = b.CreateAdd(base32, c32(layout.barriers));
  m.c_full = b.CreateAdd(m.bars, c32(16 * stages));
  m.c_empty = b.CreateAdd(m.bars, c32(16 * stages + 8));
  e.emit_if(b.CreateICmpEQ(tid, c32(0)), [&] {
    for (int s = 0; s < stages; ++s) {
      hopper::mbarrier_init(b, full(m, c32(s)), 1);
      hopper::mbarrier_init(b, empty(m, c32(s)), consumers);
    }
    if (staged) {
      hopper::mbarrier_init(b, m.c_full, 128 * consumers);
      hopper::mbarrier_init(b, m.c_empty, kEpilogueThreads);
    }
    hopper::mbarrier_init_fence(b);
  });
  e.hooks_.barrier(b);
  // Producer: 40 registers are plenty for one thread's address arithmetic; staged, its other
  // warps run the epilogue in 56 (the block's 168 x 384: 40 + 2 x 232, or 56 + 2 x 224).
  // Consumers: the accumulators need the registers the producer gave up. (One consumer
  // warpgroup has the registers of two: 240, the most setmaxnreg gives.)
  const int producer_regs = staged ? 56 : 40, consumer_regs = consumers == 1 ? 240 : staged ? 224 : 232;
  auto producer = [&] {
    tma_producer(m);
    if (staged) staged_epilogue_warps(m);
  };
  hopper::warp_specialize(b, tid, producer_regs, consumer_regs, producer, [&] { tma_consumer(m); });
}

// One thread of the producer warpgroup issues every tile's TMA loads, stage after stage.
void KernelEmitter::WgmmaGemm::tma_producer(const Barriers& m) {
  e.emit_if(b.CreateICmpEQ(tid, c32(0)), [&] {
    const unsigned n_params = unsigned(e.fn_.body.args.size());
    Value* map_a = b.CreatePtrToInt(e.f_->getArg(n_params), i64);
    Value* map_b = b.CreatePtrToInt(e.f_->getArg(n_params + 1), i64);
    for_each_tile([&](const Tile& t, Value* base, Value*, Value*) {
      // A K-major operand (A, or B stored [N, K]) is [batch * rows, K]: its row is off / K. An
      // M/N-major one (B, or A stored [K, M]) is [batch, K, ld]: column off % ld of batch off / (K ld).
      auto row_of = [&](Value* off) { return b.CreateTrunc(b.CreateSDiv(off, K), i32); };
      auto col_of = [&](Value* off, Value* ld) { return b.CreateTrunc(b.CreateSRem(off, ld), i32); };
      auto batch_of = [&](Value* off, Value* ld) { return b.CreateTrunc(b.CreateSDiv(off, b.CreateMul(K, ld)), i32); };
      Value *a_x = nullptr, *a_batch = nullptr, *b_x = nullptr, *b_batch = nullptr;
      if (trans_a)
        a_x = col_of(t.a_off, lda), a_batch = batch_of(t.a_off, lda);
      else
        a_x = row_of(t.a_off);
      if (trans_b)
        b_x = row_of(t.b_off);
      else
        b_x = col_of(t.b_off, ldb), b_batch = batch_of(t.b_off, ldb);
      k_loop([&](Value* kt, std::vector<Value*>&) {
        Value* it = b.CreateAdd(base, kt);  // pipeline iteration: stage and phase run on across tiles
        Value* s = b.CreateURem(it, c32(stages));
        Value* round = b.CreateAnd(b.CreateUDiv(it, c32(stages)), c32(1));
        wait(empty(m, s), b.CreateXor(round, c32(1)));  // round 0: the buffers start free
        hopper::mbarrier_expect_tx(b, full(m, s), a_bytes + b_bytes);
        Value* k0 = b.CreateMul(kt, c32(bk));
        // One box of a K-major operand's rows; or its 64-column panels, panel_bytes apart.
        auto rows_box = [&](Value* dst, Value* map, Value* row) {
          hopper::tma_load_3d(b, dst, map, k0, row, c32(0), full(m, s));
        };
        auto panels = [&](auto stage_addr, Value* map, Value* col0, Value* batch, int width) {
          for (int p = 0; p < width / 64; ++p) {
            Value* dst = b.CreateAdd(stage_addr(), c32(p * panel_bytes));
            Value* col = b.CreateAdd(col0, c32(64 * p));
            hopper::tma_load_3d(b, dst, map, col, k0, batch, full(m, s));
          }
        };
        if (trans_a)
          panels([&] { return a_stage_addr(s); }, map_a, a_x, a_batch, bm);
        else
          rows_box(a_stage_addr(s), map_a, a_x);
        if (trans_b)
          rows_box(b_stage_addr(s), map_b, b_x);
        else
          panels([&] { return b_stage_addr(s); }, map_b, b_x, b_batch, bn);
      });
    });
  });
}

// The outputs' values at the kRun columns from (row, col) of the staged product in the C buffer.
std::vector<std::vector<Value*>> KernelEmitter::WgmmaGemm::staged_values(const Tile& t, Value* row, Value* col,
                                                                         Value* c_buf) {
  Value* byte =
      b.CreateAdd(c_buf, b.CreateTrunc(b.CreateAdd(b.CreateMul(row, c64(c_row_bytes)), b.CreateMul(col, c64(2))), i32));
  llvm::Type* et = register_type(e.ctx_, in_dt);
  auto* vec_ty = llvm::FixedVectorType::get(et, kRun);
  Value* ptr = b.CreateIntToPtr(byte, llvm::PointerType::get(e.ctx_, e.hooks_.shared_address_space()));
  Value* vec = b.CreateAlignedLoad(vec_ty, ptr, llvm::Align(2 * kRun));
  std::vector<std::vector<Value*>> vals(outputs.size());
  for (int k = 0; k < kRun; ++k) {
    std::vector<Value*> v = e.gemm_epilogue(op, args, b.CreateExtractElement(vec, uint64_t(k)), row,
                                            b.CreateAdd(col, c64(k)), t.rows, t.cols, t.m0, t.n0, in_dt);
    for (size_t o = 0; o < outputs.size(); ++o) vals[o].push_back(v[o]);
  }
  return vals;
}

// epilogue_chunks > 1: each thread computes that many chunks (96 apart) before storing any, so
// their loads (a residual, a saved activation) are in flight together instead of one at a
// time. Chunks past the tile compute on clamped coordinates and store nothing.
void KernelEmitter::WgmmaGemm::staged_chunks(const Tile& t, Value* etid, const std::vector<Value*>& run_ok,
                                             Value* c_buf) {
  const int64_t total = int64_t(bm) * bn / kRun;
  ForLoop chunks = e.begin_loop(etid, c64(kEpilogueThreads * epilogue_chunks), "wgmma.epilogue");
  e.enter_loop_body(chunks, c64(total));
  std::vector<Value*> ok, rows_at, cols_at;
  std::vector<std::vector<std::vector<Value*>>> vals;
  for (int u = 0; u < epilogue_chunks; ++u) {
    Value* ci = b.CreateAdd(chunks.iv, c64(u * kEpilogueThreads));
    Value* in = b.CreateICmpSLT(ci, c64(total));
    ci = b.CreateSelect(in, ci, c64(total - 1));
    Value* row = b.CreateUDiv(ci, c64(bn / kRun));
    Value* col = b.CreateMul(b.CreateURem(ci, c64(bn / kRun)), c64(kRun));
    ok.push_back(b.CreateAnd({in, b.CreateICmpSLT(row, t.rows), b.CreateICmpSLT(col, t.cols)}));
    rows_at.push_back(row);
    cols_at.push_back(col);
    vals.push_back(staged_values(t, row, col, c_buf));
  }
  for (int u = 0; u < epilogue_chunks; ++u)
    e.emit_if(ok[size_t(u)], [&] {
      Value* off = b.CreateAdd(t.c_off, b.CreateAdd(b.CreateMul(rows_at[size_t(u)], ldc), cols_at[size_t(u)]));
      for (size_t o = 0; o < outputs.size(); ++o)
        e.store_run(outputs[o], off, vals[size_t(u)][o], cols_at[size_t(u)], t.cols, run_ok[o]);
    });
  e.end_loop(chunks);
}

// Staged epilogue warps (1-3 of the producer warpgroup): chunks of kRun columns of the tile,
// thread e taking chunks e, e + 96, ... (a warp reads one contiguous row run: no bank
// conflicts), each through the epilogue region and out to every output in vector stores. 2
// columns a chunk keep the region's work within the producer warpgroup's 56 registers (bias +
// gelu + a residual output spilled with 4, and gelu alone with 8).
void KernelEmitter::WgmmaGemm::staged_epilogue_warps(const Barriers& m) {
  std::vector<Value*> run_ok;
  for (const GemmOutput& o : outputs) run_ok.push_back(e.run_aligned(o, ldc, c_off, kRun));
  e.emit_if(b.CreateICmpUGE(tid, c32(32)), [&] {
    Value* etid = b.CreateZExt(b.CreateSub(tid, c32(32)), i64);
    for_each_tile([&](const Tile& t, Value*, Value* done, Value* last) {
      llvm::BasicBlock* skip = llvm::BasicBlock::Create(e.ctx_, "wgmma.epilogue.skip", e.f_);
      llvm::BasicBlock* work = llvm::BasicBlock::Create(e.ctx_, "wgmma.epilogue.tile", e.f_);
      b.CreateCondBr(last, skip, work);  // the consumers store the last tile themselves
      b.SetInsertPoint(work);
      wait(m.c_full, b.CreateAnd(done, c32(1)));
      if (epilogue_chunks > 1) {
        staged_chunks(t, etid, run_ok, m.c_buf);
      } else {
        ForLoop chunks = e.begin_loop(etid, c64(kEpilogueThreads), "wgmma.epilogue");
        e.enter_loop_body(chunks, c64(bm * bn / kRun));
        Value* row = b.CreateUDiv(chunks.iv, c64(bn / kRun));
        Value* col = b.CreateMul(b.CreateURem(chunks.iv, c64(bn / kRun)), c64(kRun));
        e.emit_if(b.CreateAnd(b.CreateICmpSLT(row, t.rows), b.CreateICmpSLT(col, t.cols)), [&] {
          std::vector<std::vector<Value*>> vals = staged_values(t, row, col, m.c_buf);
          Value* off = b.CreateAdd(t.c_off, b.CreateAdd(b.CreateMul(row, ldc), col));
          for (size_t o = 0; o < outputs.size(); ++o) e.store_run(outputs[o], off, vals[o], col, t.cols, run_ok[o]);
        });
        e.end_loop(chunks);
      }
      hopper::mbarrier_arrive(b, m.c_empty);
      b.CreateBr(skip);
      b.SetInsertPoint(skip);
    });
  });
}

// The consumer warpgroups: per tile, the K loop on the stages the producer filled, then the
// epilogue (in registers, or staged through shared memory).
void KernelEmitter::WgmmaGemm::tma_consumer(const Barriers& m) {
  Value* ctid = b.CreateSub(tid, c32(128));
  Value* leader = b.CreateICmpEQ(b.CreateAnd(ctid, c32(127)), c32(0));
  Value* a_rows = b.CreateMul(b.CreateLShr(ctid, c32(7)), c32(64 * 128));  // this warpgroup's 64 rows of A
  for_each_tile([&](const Tile& t, Value* base, Value* done, Value* last) {
    std::vector<Value*> acc = k_loop([&](Value* kt, std::vector<Value*>& acc) {
      Value* it = b.CreateAdd(base, kt);
      Value* s = b.CreateURem(it, c32(stages));
      wait(full(m, s), b.CreateAnd(b.CreateUDiv(it, c32(stages)), c32(1)));
      mma_slice(acc, b.CreateAdd(a_stage_addr(s), a_rows), b_stage_addr(s));
      hopper::wait(b, 1);  // slice kt-1's group is done: its stage may be refilled
      Value* prev = b.CreateURem(b.CreateAdd(it, c32(stages - 1)), c32(stages));
      e.emit_if(b.CreateAnd(leader, b.CreateICmpSGT(kt, c32(0))), [&] { hopper::mbarrier_arrive(b, empty(m, prev)); });
    });
    hopper::wait(b, 0);
    e.emit_if(b.CreateAnd(leader, b.CreateICmpSGT(n_k, c32(0))), [&] {  // the tile's last stage
      Value* last_stage = b.CreateURem(b.CreateAdd(base, b.CreateSub(n_k, c32(1))), c32(stages));
      hopper::mbarrier_arrive(b, empty(m, last_stage));
    });
    if (!staged) {
      epilogue(acc, ctid, t.c_off, t.rows, t.cols, t.m0, t.n0);
      return;
    }
    // Staged: the instance's last tile (the only one without a grid) has no next tile to
    // overlap, so the consumers run its epilogue themselves, in registers, 2.5x as many
    // threads as the epilogue warps. Others go through the C buffer (stage_product).
    llvm::BasicBlock* in_registers = llvm::BasicBlock::Create(e.ctx_, "wgmma.last", e.f_);
    llvm::BasicBlock* to_shared = llvm::BasicBlock::Create(e.ctx_, "wgmma.stage", e.f_);
    llvm::BasicBlock* tile_done = llvm::BasicBlock::Create(e.ctx_, "wgmma.tile.done", e.f_);
    b.CreateCondBr(last, in_registers, to_shared);
    b.SetInsertPoint(in_registers);
    epilogue(acc, ctid, t.c_off, t.rows, t.cols, t.m0, t.n0);
    b.CreateBr(tile_done);
    b.SetInsertPoint(to_shared);
    stage_product(m, acc, ctid, done);
    b.CreateBr(tile_done);
    b.SetInsertPoint(tile_done);
  });
}

// Waits until the epilogue warps are done with the previous tile's buffer (the first wait
// passes at once), stores this thread's pairs of the product, rounded to 16 bits (the m16n8
// fragment layout of the epilogue), and arrives on c_full.
void KernelEmitter::WgmmaGemm::stage_product(const Barriers& m, const std::vector<Value*>& acc, Value* ctid,
                                             Value* done) {
  wait(m.c_empty, b.CreateXor(b.CreateAnd(done, c32(1)), c32(1)));
  Value* lane = b.CreateAnd(ctid, c32(31));
  Value* row0 = b.CreateAdd(b.CreateMul(b.CreateLShr(ctid, c32(5)), c32(16)), b.CreateLShr(lane, c32(2)));
  Value* col0 = b.CreateMul(b.CreateAnd(lane, c32(3)), c32(2));
  auto* pair_ty = llvm::FixedVectorType::get(register_type(e.ctx_, in_dt), 2);
  for (int j = 0; j < bn / 8; ++j)
    for (int h = 0; h < 2; ++h) {
      Value* p = llvm::PoisonValue::get(llvm::FixedVectorType::get(f32, 2));
      p = b.CreateInsertElement(p, acc[size_t(j * 4 + h * 2)], uint64_t(0));
      p = b.CreateInsertElement(p, acc[size_t(j * 4 + h * 2 + 1)], uint64_t(1));
      Value* row = b.CreateAdd(row0, c32(h * 8));
      Value* byte = b.CreateAdd(
          m.c_buf, b.CreateAdd(b.CreateMul(row, c32(c_row_bytes)), b.CreateMul(b.CreateAdd(col0, c32(8 * j)), c32(2))));
      b.CreateAlignedStore(b.CreateBitCast(b.CreateFPTrunc(p, pair_ty), i32),
                           b.CreateIntToPtr(byte, llvm::PointerType::get(e.ctx_, e.hooks_.shared_address_space())),
                           llvm::Align(4));
    }
  hopper::mbarrier_arrive(b, m.c_full);
}

// ---- cp.async pipeline: every thread copies ----

// The byte of 16-byte chunk `chunk` of 128-byte row `row` in the 128-byte swizzle.
static Value* swizzled(llvm::IRBuilder<>& b, Value* row, Value* chunk) {
  return b.CreateAdd(b.CreateMul(row, b.getInt32(128)),
                     b.CreateShl(b.CreateXor(chunk, b.CreateAnd(row, b.getInt32(7))), b.getInt32(4)));
}

// A K-major operand's slice: `n` rows (< limit) of bk elements (8 chunks, < K) from `buf` at
// off + row * ld + k, to the stage buffer at byte `base`.
void KernelEmitter::WgmmaGemm::copy_rows(bool vector, Value* base, Value* buf, Value* off, Value* ld, int n,
                                         Value* limit, Value* k0) {
  for (int i = 0; i < n * 8 / threads; ++i) {
    Value* ci = b.CreateAdd(tid, c32(i * threads));
    Value* row = b.CreateLShr(ci, c32(3));
    Value* c = b.CreateAnd(ci, c32(7));
    Value* grow = b.CreateZExt(row, i64);
    Value* gk = b.CreateAdd(k0, b.CreateZExt(b.CreateShl(c, c32(3)), i64));
    Value* src = b.CreateAdd(off, b.CreateAdd(b.CreateMul(grow, ld), gk));
    e.copy_chunk16(vector, smem.at(b, b.CreateAdd(base, swizzled(b, row, c))), buf, src, b.CreateICmpSLT(grow, limit),
                   gk, K);
  }
}

// An M/N-major operand's slice: bk rows (< K) of `n` elements (< limit) from `buf` at
// off + k * ld + col, in 64-column panels, to the stage buffer at byte `base`.
void KernelEmitter::WgmmaGemm::copy_panels(bool vector, Value* base, Value* buf, Value* off, Value* ld, int n,
                                           Value* limit, Value* k0) {
  const int chunks = n / 8;  // a row
  for (int i = 0; i < bk * chunks / threads; ++i) {
    Value* ci = b.CreateAdd(tid, c32(i * threads));
    Value* krow = b.CreateUDiv(ci, c32(chunks));
    Value* nc = b.CreateURem(ci, c32(chunks));
    Value* panel = b.CreateLShr(nc, c32(3));
    Value* dst = b.CreateAdd(
        base, b.CreateAdd(b.CreateMul(panel, c32(panel_bytes)), swizzled(b, krow, b.CreateAnd(nc, c32(7)))));
    Value* gk = b.CreateAdd(k0, b.CreateZExt(krow, i64));
    Value* gn = b.CreateZExt(b.CreateShl(nc, c32(3)), i64);
    Value* src = b.CreateAdd(off, b.CreateAdd(b.CreateMul(gk, ld), gn));
    e.copy_chunk16(vector, smem.at(b, dst), buf, src, b.CreateICmpSLT(gk, K), gn, limit);
  }
}

// Copies K slice `kt` (i32) of A and B into pipeline buffer `stage` (i32); 16-byte chunks when
// `vector_copies` (every chunk all in or all out of bounds, and aligned), else element by element.
void KernelEmitter::WgmmaGemm::load_stage(Value* vector_copies, Value* stage, Value* kt) {
  Value* k0 = b.CreateMul(b.CreateZExt(kt, i64), c64(bk));
  Value* a_base = b.CreateMul(stage, c32(a_bytes));
  Value* b_base = b.CreateAdd(c32(layout.b_start), b.CreateMul(stage, c32(b_bytes)));
  llvm::BasicBlock* vec_bb = llvm::BasicBlock::Create(e.ctx_, "wgmma.copy.vec", e.f_);
  llvm::BasicBlock* elem_bb = llvm::BasicBlock::Create(e.ctx_, "wgmma.copy.elem", e.f_);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(e.ctx_, "wgmma.copy.done", e.f_);
  b.CreateCondBr(vector_copies, vec_bb, elem_bb);
  for (bool vector : {true, false}) {
    b.SetInsertPoint(vector ? vec_bb : elem_bb);
    if (trans_a)
      copy_panels(vector, a_base, A, a_off, lda, bm, rows, k0);
    else
      copy_rows(vector, a_base, A, a_off, lda, bm, rows, k0);
    if (trans_b)
      copy_rows(vector, b_base, B, b_off, ldb, bn, cols, k0);
    else
      copy_panels(vector, b_base, B, b_off, ldb, bn, cols, k0);
    b.CreateBr(done);
  }
  b.SetInsertPoint(done);
}

void KernelEmitter::WgmmaGemm::cp_async_pipeline() {
  // cp.async: 16-byte copies need every chunk to be all in or all out of bounds and 16-byte aligned.
  Value* vector_copies = e.chunk_copies_ok(A, a_off, lda, B, b_off, ldb, K, cols);
  if (trans_a)  // A's rows are M long: whole chunks only when M - m0 is a multiple of 8
    vector_copies = b.CreateAnd(vector_copies, b.CreateICmpEQ(b.CreateAnd(rows, c64(7)), c64(0)));
  // Prologue: slices 0 .. stages-3, one group each (empty groups keep the count uniform).
  for (int s = 0; s + 2 < stages; ++s) {
    e.emit_if(b.CreateICmpSLT(c32(s), n_k), [&] { load_stage(vector_copies, c32(s), c32(s)); });
    cp_async::commit(b);
  }
  Value* a_rows = b.CreateMul(b.CreateLShr(tid, c32(7)), c32(64 * 128));  // this warpgroup's 64 rows of A
  std::vector<Value*> acc = k_loop([&](Value* kt, std::vector<Value*>& acc) {
    cp_async::wait(b, stages - 3);
    hopper::inline_asm(b, "fence.proxy.async.shared::cta;");
    e.hooks_.barrier(b);
    Value* next = b.CreateAdd(kt, c32(stages - 2));
    e.emit_if(b.CreateICmpSLT(next, n_k), [&] { load_stage(vector_copies, b.CreateURem(next, c32(stages)), next); });
    cp_async::commit(b);
    Value* s = b.CreateURem(kt, c32(stages));
    mma_slice(acc, b.CreateAdd(a_stage_addr(s), a_rows), b_stage_addr(s));
    hopper::wait(b, 1);
  });
  hopper::wait(b, 0);
  cp_async::wait(b, 0);
  epilogue(acc, tid, c_off, rows, cols, nullptr, nullptr);
}

void KernelEmitter::emit_wgmma(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  WgmmaGemm(*this, op, args).run();
}

}  // namespace tessera::backends
