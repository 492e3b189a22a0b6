// tile.flash_attention_bwd_wgmma: the flash-attention backward on Hopper (sm_90a), the
// mma.sync kernels' two-kernel scheme (emit_flash_attention_bwd.cpp: no atomics, the same bits
// every run) on the forward's machinery (emit_flash_attention_wgmma.cpp): warp-specialized, TMA
// copies on mbarriers, wgmma with the scores and their gradients in registers.
//
//   wrt q  (own rows: queries; streamed: key tiles X = K_j, Y = V_j)
//     S = Q X^T, dP = dO Y^T, P = 2^(S*sl2 - lse*log2e), dS = P (dP - delta_row);  dq += dS X
//   wrt kv (own rows: keys; streamed: query tiles X = Q_i, Y = dO_i)
//     S^T = K X^T, dP^T = V Y^T, P^T, dS^T = P^T (dP^T - delta_col);  dv += P^T Y, dk += dS^T X
//
// 384 threads, three warpgroups:
//   warpgroup 0, the producer, keeps 24 registers; one thread copies with TMA (four 3-D tensor
//     maps q, k, v, do as [heads, S, D], 128-byte swizzle, 64-column boxes; rows past S read as
//     zeros) the block's own rows (A1, A2) = (Q, dO) or (K, V) once, then X and Y of every
//     streamed tile into a ring of `stages` buffers with full and empty mbarriers. Wrt kv, warp 1
//     stages each streamed tile's per-query values (-lse log2 e and delta) in the same stage.
//   warpgroups 1 and 2 own 64 rows each (240 registers). Per streamed tile: one wgmma group
//     with S = A1 X^T and dP = A2 Y^T (m64n<BS>k16, both operands K-major in shared memory),
//     P and dS on the f32 accumulators (the layout of mma.sync's C fragments, so FlashKit's
//     masks and fragment packing apply), rounded pairwise to 16 bits: the register A operands
//     of a second group, the products with X and Y (m64n<D>k16, X and Y N-major: imm-trans-b).
//     Once that group retired, the buffers are released (one arrival per warpgroup). The two
//     warpgroups run independently, so one's element-wise work overlaps the other's products;
//     overlap = 1 also pipelines within a warpgroup (tile j's first group with tile j-1's second).
// lse and delta: per own row once (wrt q), or per streamed column from the staged values, read
// where used (wrt kv: the accumulators leave few registers; reading them from global memory in
// the consumers cost 30% and spilled). Masked elements (past the sequences, causal's other
// triangle) get P = 0; streamed tiles the whole block cannot see are skipped. End: dq or dk
// times the scale, and dv, rounded to the dtype, for the own rows inside the sequence.
//
// Parts (docs/kernels.md): the TMA producer and the column stager, the consumer's wgmma issues
// (scores, products), P and dS from the scores, the tile ranges, one-tile and pipelined loops,
// the output stores.
#include "backends/llvm/flash_kit.hpp"
#include "backends/llvm/hopper.hpp"
#include "ir/ops.hpp"

namespace tessera::backends {

using llvm::Value;

struct KernelEmitter::FlashAttentionBwdWgmma {
  enum Bar { xFull, yFull, xEmpty, yEmpty, colsFull };
  KernelEmitter& e;
  llvm::IRBuilder<>& b;
  const ir::Op& op;
  const std::vector<Value*>& args;
  FlashKit kit;  // masks and fragments; the buffers are below
  int D, BO, BS, stages, consumers, threads;
  bool overlap, causal, by_query, want_x, want_y;
  std::string wrt;
  double log2e, scale, sl2;
  size_t n_out;
  Value *out_x, *out_y, *LSE, *DELTA, *out_off, *r_off, *head, *own0, *own_rows, *stream_len;
  DType dt;
  llvm::Type *i32, *i64, *f32;
  int own_bytes, tile_bytes, own_panel, tile_panel, cols_at, col_bytes;
  int a1_map, a2_map, x_map, y_map;
  hopper::SharedMemory smem;
  Value *base, *ring, *bars, *own_full, *valid_own, *lo, *mid, *n_tiles, *n_full, *tid;
  // Consumer state (set by consumer())
  Value *wtid, *wg, *leader, *warp_row, *row_in_block, *own_row0, *a1_rows, *a2_rows;
  Value *row_l2[2] = {nullptr, nullptr}, *row_delta[2] = {nullptr, nullptr};  // wrt q: the own rows' values
  int n_s, n_acc;
  size_t n_state, n_frag;
  std::vector<Value*> state;
  Value *lo_p, *mid_p, *n_tiles_p, *n_full_p;

  FlashAttentionBwdWgmma(KernelEmitter& em, const ir::Op& o, const std::vector<Value*>& a);
  Value* c32(int64_t v) { return kit.c32(v); }
  Value* c64(int64_t v) { return kit.c64(v); }
  Value* cf(double v) { return kit.cf(v); }
  Value* bar(Bar kind, Value* s) {
    return b.CreateAdd(bars, b.CreateMul(b.CreateAdd(s, c32(1 + kind * stages)), c32(8)));
  }
  Value* x_buf(Value* s) { return b.CreateAdd(ring, b.CreateMul(s, c32(2 * tile_bytes))); }
  Value* y_buf(Value* s) { return b.CreateAdd(x_buf(s), c32(tile_bytes)); }
  // Tile j (i64) is the ring's round (j - lo) / stages in buffer (j - lo) % stages; its full
  // barrier completes phase round % 2 (and its empty barrier completed the one before).
  Value* step_of(Value* j) { return b.CreateTrunc(b.CreateSub(j, lo), i32); }
  Value* stage_of(Value* j) { return b.CreateURem(step_of(j), c32(stages)); }
  Value* parity_of(Value* j) { return b.CreateAnd(b.CreateUDiv(step_of(j), c32(stages)), c32(1)); }
  // The kernel's tensor maps, in the order q, k, v, do: A1 A2 X Y are (q do k v) or (k v q do).
  Value* map(int i) { return b.CreatePtrToInt(e.f_->getArg(unsigned(e.fn_.body.args.size()) + unsigned(i)), i64); }
  Value* min64(Value* x, Value* y) { return b.CreateSelect(b.CreateICmpSLT(x, y), x, y); }
  Value* max64(Value* x, Value* y) { return b.CreateSelect(b.CreateICmpSGT(x, y), x, y); }

  void run();
  void producer();
  void stage_columns();
  void consumer();
  void issue_scores(Value* j, std::vector<Value*>& s, std::vector<Value*>& dp);
  void issue_product(const std::vector<Value*>& frags, Value* buf, std::vector<Value*>& acc);
  std::vector<Value*> as_i32(std::vector<Value*> v) {
    for (Value*& x : v) x = b.CreateBitCast(x, i32);
    return v;
  }
  void scores_to_p_ds(Value* j, bool masked, std::vector<Value*>& s, std::vector<Value*>& dp);
  std::vector<Value*> fragments(const std::vector<Value*>& s, const std::vector<Value*>& dp);
  std::vector<Value*> tile_fragments(Value* j, bool masked);
  void issue_products(Value* j, std::vector<Value*>& frags, std::vector<Value*>& acc);
  void release(Value* j);
  // Runs body(j, state) for streamed tiles from <= j < to.
  template <class Body>
  void tiles(Value* from, Value* to, const char* name, Body body) {
    hopper::keep_rolled(e.loop_with_state(from, to, name, state, body));
  }
  // The three ranges of tiles from `first` on: masked (causal wrt kv: the diagonal), unmasked, masked.
  template <class Step>
  void ranges(Value* first, Step step) {
    if (causal && !by_query) tiles(first, min64(mid_p, n_tiles_p), "attn_bwd.diagonal", step(true));
    Value* from = max64(mid_p, first);
    tiles(from, n_full_p, "attn_bwd.tile", step(false));
    tiles(max64(from, n_full_p), n_tiles_p, "attn_bwd.masked", step(true));
  }
  void one_tile_at_a_time();
  void pipelined();
  void store_outputs();
};

KernelEmitter::FlashAttentionBwdWgmma::FlashAttentionBwdWgmma(KernelEmitter& em, const ir::Op& o,
                                                              const std::vector<Value*>& a)
    : e(em),
      b(em.b_),
      op(o),
      args(a),
      kit(em, int(o.int_attr("head_dim")), o.operands[o.str_attr("wrt") == "kv" ? 2 : 1]->type.dtype, 0, "attn_bwd") {
  D = int(op.int_attr("head_dim")), BO = int(op.int_attr("block_own")), BS = int(op.int_attr("block_stream"));
  stages = int(op.int_attr("stages"));
  overlap = op.has_attr("overlap") && op.int_attr("overlap") != 0;
  causal = std::get<bool>(op.attrs.at("causal"));
  wrt = op.str_attr("wrt");
  by_query = wrt == "q";
  want_x = wrt != "v";                 // dq or dk: the product of dS with X
  want_y = wrt == "kv" || wrt == "v";  // dv: the product of P with Y
  log2e = 1.4426950408889634, scale = float_attr(op, "scale", 1.0), sl2 = scale * log2e;
  consumers = BO / 64, threads = 128 * (consumers + 1);
  const std::string what = "kernel " + e.fn_.name + ": tile.flash_attention_bwd_wgmma";
  if (e.lanes_ != threads)
    fail(ErrorCode::Compile,
         what + " needs " + std::to_string(threads) + " lanes (threads), the kernel has " + std::to_string(e.lanes_),
         op.loc.str());
  if (!e.fn_.attrs.count("tensor_maps") || std::get<ir::IntList>(e.fn_.attrs.at("tensor_maps")).size() != 44)
    fail(ErrorCode::Compile, what + " needs the kernel attribute tensor_maps (the TMA descriptors of q, k, v and do)",
         op.loc.str());
  const int64_t need = ir::flash_attention_bwd_wgmma_shared_bytes(D, BO, BS, stages);
  auto shared_attr = e.fn_.attrs.find("shared");
  if (shared_attr == e.fn_.attrs.end() || std::get<int64_t>(shared_attr->second) < need)
    fail(ErrorCode::Compile,
         what + " needs the kernel attribute shared >= " + std::to_string(need) + " (dynamic shared memory bytes)",
         op.loc.str());
  n_out = wrt == "kv" ? 2 : 1;
  out_x = args[0], out_y = args[n_out - 1];  // dq or dk; dv (kv, v)
  Value* const* in = &args[n_out];
  LSE = in[4], DELTA = in[5], out_off = in[6], r_off = in[7], head = in[8], own0 = in[9], own_rows = in[10];
  stream_len = in[11];
  dt = op.operands[n_out]->type.dtype;
  i32 = kit.i32, i64 = kit.i64, f32 = kit.f32;
  // Shared memory: A1, A2 (D/64 panels of BO rows x 128 bytes), the ring (per stage X then Y,
  // panels of BS rows), per stage the streamed columns' -lse log2 e and delta (wrt kv),
  // mbarriers (own_full, then per stage x_full, y_full, x_empty, y_empty, cols_full).
  own_bytes = BO * D * 2, tile_bytes = BS * D * 2, own_panel = BO * 128, tile_panel = BS * 128;
  smem = hopper::dynamic_shared(e.m_, b, e.fn_.name + "_attn_bwd_smem", e.hooks_.shared_address_space());
  base = smem.base;
  ring = b.CreateAdd(base, c32(2 * own_bytes));
  cols_at = 2 * own_bytes + 2 * stages * tile_bytes, col_bytes = 2 * BS * 4;  // from base
  bars = b.CreateAdd(base, c32(cols_at + stages * col_bytes));
  own_full = bars;
  // Streamed tiles [lo, n_tiles) in all, masks only outside [mid, n_full).
  valid_own = b.CreateSelect(b.CreateICmpSLT(own_rows, c64(BO)), own_rows, c64(BO));
  kit.stream_tiles(by_query, own0, valid_own, stream_len, BS, causal, lo, mid, n_tiles, n_full);
  tid = kit.tid;
  a1_map = by_query ? 0 : 1, a2_map = by_query ? 3 : 2, x_map = by_query ? 1 : 0, y_map = by_query ? 2 : 3;
}

void KernelEmitter::FlashAttentionBwdWgmma::run() {
  e.emit_if(b.CreateICmpEQ(tid, c32(0)), [&] {
    hopper::mbarrier_init(b, own_full, 1);
    for (int s = 0; s < stages; ++s) {
      hopper::mbarrier_init(b, bar(xFull, c32(s)), 1);
      hopper::mbarrier_init(b, bar(yFull, c32(s)), 1);
      hopper::mbarrier_init(b, bar(xEmpty, c32(s)), consumers);
      hopper::mbarrier_init(b, bar(yEmpty, c32(s)), consumers);
      hopper::mbarrier_init(b, bar(colsFull, c32(s)), 32);
    }
    hopper::mbarrier_init_fence(b);
  });
  e.hooks_.barrier(b);
  hopper::warp_specialize(b, tid, 24, 240, [&] { producer(); }, [&] { consumer(); });
}

// One thread copies the own tiles once and the streamed X, Y tiles into the ring.
void KernelEmitter::FlashAttentionBwdWgmma::producer() {
  e.emit_if(b.CreateICmpEQ(tid, c32(0)), [&] {
    Value* h32 = b.CreateTrunc(head, i32);
    hopper::mbarrier_expect_tx(b, own_full, 2 * own_bytes);
    for (int t = 0; t < 2; ++t)
      for (int p = 0; p < D / 64; ++p)
        hopper::tma_load_3d(b, b.CreateAdd(base, c32(t * own_bytes + p * own_panel)), map(t ? a2_map : a1_map),
                            c32(64 * p), b.CreateTrunc(own0, i32), h32, own_full);
    ForLoop loop = e.begin_loop(lo, c64(1), "attn_bwd.load");
    e.enter_loop_body(loop, n_tiles);
    Value* s = stage_of(loop.iv);
    Value* free_parity = b.CreateXor(parity_of(loop.iv), c32(1));  // round 0: the buffers start free
    Value* row0 = b.CreateTrunc(b.CreateMul(loop.iv, c64(BS)), i32);
    for (Bar kind : {xFull, yFull}) {
      Value* full = bar(kind, s);
      hopper::mbarrier_wait(b, bar(kind == xFull ? xEmpty : yEmpty, s), free_parity);
      hopper::mbarrier_expect_tx(b, full, tile_bytes);
      for (int p = 0; p < D / 64; ++p)
        hopper::tma_load_3d(b, b.CreateAdd(kind == xFull ? x_buf(s) : y_buf(s), c32(p * tile_panel)),
                            map(kind == xFull ? x_map : y_map), c32(64 * p), row0, h32, full);
    }
    hopper::keep_rolled(e.end_loop(loop));
  });
  if (by_query) return;
  stage_columns();
}

// Warp 1 stages the streamed columns' (queries') values per tile: -lse log2 e and delta,
// -inf and 0 past the sequence (P = 0 there), into the tile's stage once it is free.
void KernelEmitter::FlashAttentionBwdWgmma::stage_columns() {
  Value* lane = b.CreateSub(tid, c32(32));
  e.emit_if(b.CreateICmpULT(lane, c32(32)), [&] {
    ForLoop loop = e.begin_loop(lo, c64(1), "attn_bwd.cols");
    e.enter_loop_body(loop, n_tiles);
    Value* s = stage_of(loop.iv);
    hopper::mbarrier_wait(b, bar(xEmpty, s), b.CreateXor(parity_of(loop.iv), c32(1)));
    Value* at = b.CreateAdd(c32(cols_at), b.CreateMul(s, c32(col_bytes)));
    for (int c = 0; c < BS; c += 32) {
      Value* i = b.CreateAdd(lane, c32(c));
      e.emit_if(b.CreateICmpULT(i, c32(BS)), [&] {
        Value* q = b.CreateAdd(b.CreateMul(loop.iv, c64(BS)), b.CreateZExt(i, i64));
        Value *neg_l2, *delta;
        kit.query_values(LSE, DELTA, r_off, q, b.CreateICmpSLT(q, stream_len), neg_l2, delta);
        Value* byte = b.CreateAdd(at, b.CreateMul(i, c32(4)));
        b.CreateStore(neg_l2, smem.at(b, byte));
        b.CreateStore(delta, smem.at(b, b.CreateAdd(byte, c32(BS * 4))));
      });
    }
    hopper::mbarrier_arrive(b, bar(colsFull, s));  // releases this thread's stores
    hopper::keep_rolled(e.end_loop(loop));
  });
}

void KernelEmitter::FlashAttentionBwdWgmma::consumer() {
  wtid = b.CreateAnd(tid, c32(127));
  wg = b.CreateSub(b.CreateLShr(tid, c32(7)), c32(1));  // consumer warpgroup: own rows 64 wg ..
  leader = b.CreateICmpEQ(wtid, c32(0));
  warp_row = b.CreateAdd(b.CreateMul(wg, c32(64)), b.CreateMul(b.CreateLShr(wtid, c32(5)), c32(16)));
  row_in_block = b.CreateAdd(warp_row, kit.g);  // the thread's first row (the other is 8 below)
  own_row0 = b.CreateAdd(own0, b.CreateZExt(row_in_block, i64));
  a1_rows = b.CreateAdd(base, b.CreateMul(wg, c32(64 * 128)));  // this warpgroup's rows of the A1 panels
  a2_rows = b.CreateAdd(a1_rows, c32(own_bytes));
  n_s = BS / 2, n_acc = D / 2;  // f32 a thread: S (and dP); each D-wide accumulator
  if (by_query)
    for (int h = 0; h < 2; ++h) {
      Value* r = b.CreateZExt(b.CreateAdd(row_in_block, c32(8 * h)), i64);
      kit.query_values(LSE, DELTA, r_off, b.CreateAdd(own0, r), b.CreateICmpSLT(r, valid_own), row_l2[h], row_delta[h]);
    }
  n_state = size_t(n_acc) * (by_query ? 1 : size_t(want_x) + size_t(want_y));
  n_frag = size_t(BS / 4) * (size_t(want_x) + size_t(want_y));
  // Loop state (phis): dq, or dk then dv (those wanted); with overlap also the previous
  // tile's fragments.
  state.assign(n_state, cf(0.0));
  // The tile counts are pinned (as in the forward): a loop LLVM can count to one iteration
  // would become straight-line code that needs more registers.
  std::vector<Value*> bounds = {lo, mid, n_tiles, n_full};
  hopper::pin(b, bounds);
  lo_p = bounds[0], mid_p = bounds[1], n_tiles_p = bounds[2], n_full_p = bounds[3];
  hopper::mbarrier_wait(b, own_full, c32(0));
  if (!overlap)
    one_tile_at_a_time();
  else
    pipelined();
  store_outputs();
}

// S = A1 X^T and (want_x) dP = A2 Y^T: one wgmma group; the accumulators belong to the
// tensor cores until it retires.
void KernelEmitter::FlashAttentionBwdWgmma::issue_scores(Value* j, std::vector<Value*>& s, std::vector<Value*>& dp) {
  Value* st = stage_of(j);
  Value* parity = parity_of(j);
  hopper::mbarrier_wait(b, bar(xFull, st), parity);
  hopper::mbarrier_wait(b, bar(yFull, st), parity);
  // Addresses pinned here: the descriptors are computed next to their wgmma, not kept in registers.
  std::vector<Value*> at = {a1_rows, a2_rows, x_buf(st), y_buf(st)};
  hopper::pin(b, at);
  hopper::fence(b);
  for (int t = 0; t < (want_x ? 2 : 1); ++t)
    for (int kk = 0; kk < D / 16; ++kk) {  // k step kk: 32 (kk % 4) bytes into the rows of panel kk / 4
      const int in_row = (kk % 4) * 32;
      Value* a_desc = hopper::descriptor(b, b.CreateAdd(at[size_t(t)], c32((kk / 4) * own_panel + in_row)), 16, 1024);
      Value* b_desc =
          hopper::descriptor(b, b.CreateAdd(at[size_t(2 + t)], c32((kk / 4) * tile_panel + in_row)), 16, 1024);
      hopper::mma(b, BS, dt, {a_desc}, b_desc, false, t ? dp : s);
    }
  hopper::commit(b);
}

// acc += frags (A fragments, i32) times the buffer at `buf` (BS rows of D, N-major): k step
// kk is rows 16kk .. 16kk+15, the 64-column panels tile_panel bytes apart.
void KernelEmitter::FlashAttentionBwdWgmma::issue_product(const std::vector<Value*>& frags, Value* buf,
                                                          std::vector<Value*>& acc) {
  for (int kk = 0; kk < BS / 16; ++kk) {
    Value* b_desc = hopper::descriptor(b, b.CreateAdd(buf, c32(kk * 16 * 128)), uint64_t(tile_panel), 1024);
    hopper::mma(
        b, D, dt,
        {frags[size_t(4 * kk)], frags[size_t(4 * kk + 1)], frags[size_t(4 * kk + 2)], frags[size_t(4 * kk + 3)]},
        b_desc, true, acc);
  }
}

// P = 2^(S*sl2 - lse*log2e) (0 where masked) and dS = P (dP - delta), in place, for tile j
// (after its first group retired). Columns (queries, wrt kv): their values, staged by the
// producer, are read from shared memory where they are used (8-byte loads of a column
// pair), so that few are live at a time (the accumulators take most registers).
void KernelEmitter::FlashAttentionBwdWgmma::scores_to_p_ds(Value* j, bool masked, std::vector<Value*>& s,
                                                           std::vector<Value*>& dp) {
  Value* col0 = b.CreateAdd(b.CreateMul(j, c64(BS)), b.CreateZExt(kit.t2, i64));
  if (masked) kit.mask_scores(s, col0, own_row0, stream_len, causal, !by_query);
  Value* cols = nullptr;
  if (!by_query) {
    hopper::mbarrier_wait(b, bar(colsFull, stage_of(j)), parity_of(j));
    cols =
        b.CreateAdd(c32(cols_at), b.CreateAdd(b.CreateMul(stage_of(j), c32(col_bytes)), b.CreateMul(kit.t2, c32(4))));
  }
  auto* pair = llvm::FixedVectorType::get(f32, 2);
  Value *col_l2 = nullptr, *col_delta = nullptr;
  for (size_t i = 0; i < size_t(n_s); ++i) {
    size_t ni = i / 4, x = i % 4, h = x / 2;
    if (!by_query && x == 0) {
      Value* at = b.CreateAdd(cols, c32(int64_t(ni) * 32));
      col_l2 = b.CreateAlignedLoad(pair, smem.at(b, at), llvm::Align(8));
      col_delta = b.CreateAlignedLoad(pair, smem.at(b, b.CreateAdd(at, c32(BS * 4))), llvm::Align(8));
    }
    Value* neg_l2 = by_query ? row_l2[h] : b.CreateExtractElement(col_l2, uint64_t(x & 1));
    Value* delta = by_query ? row_delta[h] : b.CreateExtractElement(col_delta, uint64_t(x & 1));
    s[i] = kit.ex2(kit.fma(s[i], cf(sl2), neg_l2));
    if (want_x) dp[i] = b.CreateFMul(s[i], b.CreateFSub(dp[i], delta));
  }
}

// The second group's A fragments: dS's (want_x) then P's (want_y), as i32.
std::vector<Value*> KernelEmitter::FlashAttentionBwdWgmma::fragments(const std::vector<Value*>& s,
                                                                     const std::vector<Value*>& dp) {
  std::vector<Value*> f = want_x ? as_i32(kit.c_as_a(dp)) : std::vector<Value*>{};
  if (want_y) {
    std::vector<Value*> p = as_i32(kit.c_as_a(s));
    f.insert(f.end(), p.begin(), p.end());
  }
  return f;
}

// Tile j's first group, waited for, then P and dS; returns the second group's fragments.
std::vector<Value*> KernelEmitter::FlashAttentionBwdWgmma::tile_fragments(Value* j, bool masked) {
  std::vector<Value*> s, dp;
  issue_scores(j, s, dp);
  hopper::wait(b, 0);
  hopper::pin(b, s);
  if (want_x) hopper::pin(b, dp);
  scores_to_p_ds(j, masked, s, dp);
  return fragments(s, dp);
}

// Issues tile j's second group, dq += dS X, or dk += dS X and dv += P Y, on the accumulators
// acc (pinned with the fragments: every write of them happens before the fence; the buffers'
// addresses are computed here).
void KernelEmitter::FlashAttentionBwdWgmma::issue_products(Value* j, std::vector<Value*>& frags,
                                                           std::vector<Value*>& acc) {
  Value* st = stage_of(j);
  std::vector<Value*> pinned(acc);
  pinned.insert(pinned.end(), frags.begin(), frags.end());
  pinned.push_back(x_buf(st));
  pinned.push_back(y_buf(st));
  hopper::pin(b, pinned);
  acc.assign(pinned.begin(), pinned.begin() + long(n_state));
  frags.assign(pinned.begin() + long(n_state), pinned.begin() + long(n_state + n_frag));
  Value *x = pinned[pinned.size() - 2], *y = pinned.back();
  hopper::fence(b);
  std::vector<Value*> acc_x(acc.begin(), acc.begin() + (want_x ? n_acc : 0)),
      acc_y(acc.begin() + (want_x ? n_acc : 0), acc.end());
  if (want_y) issue_product(std::vector<Value*>(frags.end() - BS / 4, frags.end()), y, acc_y);
  if (want_x) issue_product(std::vector<Value*>(frags.begin(), frags.begin() + BS / 4), x, acc_x);
  hopper::commit(b);
  acc = acc_x;
  acc.insert(acc.end(), acc_y.begin(), acc_y.end());
}

// Both buffers of tile j's stage: the groups reading them retired.
void KernelEmitter::FlashAttentionBwdWgmma::release(Value* j) {
  Value* st = stage_of(j);
  e.emit_if(leader, [&] {
    hopper::mbarrier_arrive(b, bar(xEmpty, st));
    hopper::mbarrier_arrive(b, bar(yEmpty, st));
  });
}

// One tile at a time: S and dP, P and dS, the products.
void KernelEmitter::FlashAttentionBwdWgmma::one_tile_at_a_time() {
  ranges(lo_p, [&](bool masked) {
    return [&, masked](Value* j, std::vector<Value*>& st) {
      std::vector<Value*> frags = tile_fragments(j, masked);
      issue_products(j, frags, st);
      hopper::wait(b, 0);
      hopper::pin(b, st);
      release(j);
    };
  });
}

// Pipelined (as the forward's overlap): tile lo's scores first; then per tile j its first
// group and tile j-1's products in flight together, P and dS of tile j computed while the
// products run; last, the products of the last tile. Skipped without any tile.
void KernelEmitter::FlashAttentionBwdWgmma::pipelined() {
  llvm::BasicBlock* pre = b.GetInsertBlock();
  llvm::BasicBlock* run = llvm::BasicBlock::Create(e.ctx_, "attn_bwd.pipeline", e.f_);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(e.ctx_, "attn_bwd.pipeline.done", e.f_);
  b.CreateCondBr(b.CreateICmpSGT(n_tiles_p, lo_p), run, done);
  b.SetInsertPoint(run);
  std::vector<Value*> first = tile_fragments(lo_p, true);
  state.insert(state.end(), first.begin(), first.end());
  ranges(b.CreateAdd(lo_p, c64(1)), [&](bool masked) {
    return [&, masked](Value* j, std::vector<Value*>& st) {
      std::vector<Value*> s, dp, acc(st.begin(), st.begin() + long(n_state)),
          frags(st.begin() + long(n_state), st.end());
      issue_scores(j, s, dp);
      issue_products(b.CreateSub(j, c64(1)), frags, acc);
      hopper::wait(b, 1);  // tile j's scores are in; tile j-1's products may still run
      hopper::pin(b, s);
      if (want_x) hopper::pin(b, dp);
      scores_to_p_ds(j, masked, s, dp);
      hopper::wait(b, 0);
      std::vector<Value*> pinned(s);
      pinned.insert(pinned.end(), dp.begin(), dp.end());
      pinned.insert(pinned.end(), acc.begin(), acc.end());
      hopper::pin(b, pinned);  // the accumulators, and tile j's fragments may be written now
      s.assign(pinned.begin(), pinned.begin() + long(s.size()));
      dp.assign(pinned.begin() + long(s.size()), pinned.begin() + long(s.size() + dp.size()));
      acc.assign(pinned.begin() + long(s.size() + dp.size()), pinned.end());
      release(b.CreateSub(j, c64(1)));
      frags = fragments(s, dp);
      hopper::pin(b, frags);  // packed here: the f32 values die before the next wgmma
      st = acc;
      st.insert(st.end(), frags.begin(), frags.end());
    };
  });
  {
    std::vector<Value*> acc(state.begin(), state.begin() + long(n_state)),
        frags(state.begin() + long(n_state), state.end());
    Value* last = b.CreateSub(n_tiles_p, c64(1));
    issue_products(last, frags, acc);
    hopper::wait(b, 0);
    hopper::pin(b, acc);
    release(last);
    state = acc;
  }
  llvm::BasicBlock* end = b.GetInsertBlock();
  b.CreateBr(done);
  b.SetInsertPoint(done);
  for (size_t i = 0; i < state.size(); ++i) {
    llvm::PHINode* p = b.CreatePHI(f32, 2);
    p->addIncoming(cf(0.0), pre);
    p->addIncoming(state[i], end);
    state[i] = p;
  }
}

// dq or dk (times the scale), dv: the warp's 16 rows below valid_own.
void KernelEmitter::FlashAttentionBwdWgmma::store_outputs() {
  std::vector<Value*> acc_x(state.begin(), state.begin() + (want_x ? n_acc : 0)),
      acc_y(state.begin() + (want_x ? n_acc : 0), state.end());
  if (want_x) kit.store_rows(out_x, out_off, warp_row, valid_own, acc_x, cf(scale), cf(scale));
  if (want_y) kit.store_rows(out_y, out_off, warp_row, valid_own, acc_y, cf(1.0), cf(1.0));
}

void KernelEmitter::emit_flash_attention_bwd_wgmma(const ir::Op& op, const std::vector<Value*>& args) {
  FlashAttentionBwdWgmma(*this, op, args).run();
}

}  // namespace tessera::backends
