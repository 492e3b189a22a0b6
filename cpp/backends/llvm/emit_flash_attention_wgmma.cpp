// tile.flash_attention_wgmma: one block of 128 query rows of flash attention on Hopper
// (sm_90a), FlashAttention-3's forward scheme: warp-specialized, TMA copies on mbarriers, wgmma
// with the scores and probabilities in registers.
//
// 384 threads, three warpgroups:
//   warpgroup 0, the producer, gives its registers to the others (setmaxnreg) and one thread
//     copies, with TMA (3-D tensor maps [heads, S, D], 128-byte swizzle, 64-column boxes, rows
//     past S zero-filled), the Q block once and then K_j and V_j of every key tile j into a ring
//     of `stages` buffers. K and V have their own `full` mbarriers (the copy landed: S = Q K_j^T
//     starts before V_j is in) and `empty` mbarriers (both consumers are done with the buffer).
//   warpgroups 1 and 2, the consumers, own 64 query rows each and run independently, so the
//     tensor cores work for one while the other computes its softmax. Per key tile j:
//       S = Q K_j^T: wgmma m64n<BN>k16, Q and K_j from shared memory, both K-major (rows of D
//         elements; D = 128 spans two 128-byte swizzle panels, k steps 0-3 in the first)
//       online softmax on the f32 accumulators (flash_kit.hpp: the layout is mma.sync's C
//         fragments, rows g and g+8 of each warp's 16; masks only on the diagonal and ragged
//         tiles), P rounded pairwise to 16 bits: the A fragments of the next product
//       O += P V_j: wgmma m64n<D>k16 with A from registers and V_j from shared memory, N-major
//         (imm-trans-b = 1, 64-column panels BN*128 bytes apart)
//     overlap = 1 (FlashAttention-3's intra-warpgroup pipelining): iteration j issues S_j, then
//     O += P_{j-1} V_{j-1}, waits for S_j only and computes its softmax while the second product
//     runs; O is rescaled by tile j-1's factor before that product.
//   A buffer is released (mbarrier arrive, one per consumer warpgroup) once the wgmma group
//   reading it has retired (wgmma.wait_group). Values the tensor cores own between issue and
//   retirement are pinned (hopper.hpp) so that LLVM cannot move their uses across the waits.
// End: O / l rounded to o's dtype, 16-byte stores of the rows below S_q (the GEMM's epilogue:
// pack_pair, store_quad_16); with an lse operand also the rows' log-normalisers (m + log2 l) ln 2.
// Shared memory (flash_attention_wgmma_shared_bytes, from a 1024-byte boundary): the Q block
// (D/64 panels of 128 rows x 128 bytes), K stages, V stages, mbarriers.
//
// Parts (docs/kernels.md): the TMA producer, the consumer's wgmma issues (issue_s, issue_pv),
// the online softmax (FlashKit), the one-tile and pipelined loops, the output stores.
#include "backends/llvm/flash_kit.hpp"
#include "backends/llvm/hopper.hpp"
#include "ir/ops.hpp"

namespace tessera::backends {

using llvm::Value;

struct KernelEmitter::FlashAttentionWgmma {
  enum Bar { kFull, vFull, kEmpty, vEmpty };
  KernelEmitter& e;
  llvm::IRBuilder<>& b;
  const ir::Op& op;
  const std::vector<Value*>& args;
  FlashKit kit;  // masks, softmax and fragments; the buffers are below
  int D, BM, BN, stages, consumers, threads;
  bool causal, overlap, pingpong;
  double scale;
  DType dt;
  Value *O, *o_off, *head, *m0, *rows, *s_kv, *lse, *lse_off;
  llvm::Type *i32, *i64;
  int q_bytes, tile_bytes, q_panel, kv_panel;
  hopper::SharedMemory smem;
  Value *base, *bars, *q_full, *tid, *valid_rows, *n_tiles, *n_full;
  // Consumer state (set by consumer())
  Value *wtid, *wg, *leader, *row_in_block, *row0, *q_rows, *own_turn, *other_turn;
  double sl2;
  int n_o, n_p;
  size_t m_at, l_at, alpha_at, p_at;
  std::vector<Value*> state;

  FlashAttentionWgmma(KernelEmitter& em, const ir::Op& o, const std::vector<Value*>& a);
  Value* c32(int64_t v) { return kit.c32(v); }
  Value* c64(int64_t v) { return kit.c64(v); }
  Value* cf(double v) { return kit.cf(v); }
  // Shared memory: Q, K stages, V stages, mbarriers (q_full, then per stage k_full, v_full,
  // k_empty, v_empty). A panel is 64 columns of a tile: rows x 128 bytes.
  Value* k_buf(Value* s) { return b.CreateAdd(base, b.CreateAdd(c32(q_bytes), b.CreateMul(s, c32(tile_bytes)))); }
  Value* v_buf(Value* s) {
    return b.CreateAdd(base, b.CreateAdd(c32(q_bytes + stages * tile_bytes), b.CreateMul(s, c32(tile_bytes))));
  }
  Value* bar(Bar kind, Value* s) {
    return b.CreateAdd(bars, b.CreateMul(b.CreateAdd(s, c32(1 + kind * stages)), c32(8)));
  }
  // Key tile j (i64) uses buffer j % stages; its round's parity (j / stages) % 2 is the phase
  // its full barrier completes (and one past the phase its empty barrier completed).
  Value* stage_of(Value* j) { return b.CreateURem(b.CreateTrunc(j, i32), c32(stages)); }
  Value* parity_of(Value* j) { return b.CreateAnd(b.CreateUDiv(b.CreateTrunc(j, i32), c32(stages)), c32(1)); }

  void run();
  void producer();
  void consumer();
  // pingpong turns (see consumer())
  void take_turn() {
    if (pingpong) hopper::named_barrier_sync(b, own_turn, 256);
  }
  void pass_turn() {
    if (pingpong) hopper::named_barrier_arrive(b, other_turn, 256);
  }
  std::vector<Value*> issue_s(Value* j);
  void issue_pv(Value* j, std::vector<Value*>& P, std::vector<Value*>& acc);
  void release(Bar kind, Value* j) {
    Value* empty = bar(kind, stage_of(j));
    e.emit_if(leader, [&] { hopper::mbarrier_arrive(b, empty); });
  }
  // Masks (when `masked`) and the online softmax of tile j's scores s, in place (s becomes P in
  // f32); m, l move on; alpha gets the rescale factors of the rows' old sums.
  void softmax(std::vector<Value*>& s, Value* j, bool masked, Value* m[2], Value* l[2], Value* alpha[2],
               std::vector<Value*>* acc) {
    if (masked) kit.mask_scores(s, b.CreateAdd(b.CreateMul(j, c64(BN)), b.CreateZExt(kit.t2, i64)), row0, s_kv, causal);
    kit.online_softmax(s, sl2, m, l, alpha, acc);
  }
  std::vector<Value*> pack(const std::vector<Value*>& p) {  // P's A fragments as i32 pairs
    std::vector<Value*> a = kit.c_as_a(p);
    for (Value*& x : a) x = b.CreateBitCast(x, i32);
    return a;
  }
  void rescale(std::vector<Value*>& acc, Value* alpha[2]) {
    for (size_t i = 0; i < acc.size(); ++i) acc[i] = b.CreateFMul(acc[i], alpha[(i / 2) % 2]);
  }
  // Loop state, carried as phis: O, m[2], l[2], then (overlap) alpha[2] and tile j-1's P.
  std::vector<Value*> initial_state() {  // O = 0, m = -inf, l = 0
    std::vector<Value*> st(size_t(n_o), cf(0.0));
    for (double init : {double(-INFINITY), double(-INFINITY), 0.0, 0.0}) st.push_back(cf(init));
    return st;
  }
  // Runs body(j, state) for key tiles lo <= j < hi.
  template <class Body>
  void tiles(Value* lo, Value* hi, const char* name, Body body) {
    hopper::keep_rolled(e.loop_with_state(lo, hi, name, state, body));
  }
  void split(std::vector<Value*>& st, std::vector<Value*>& acc, Value* m[2], Value* l[2]) {
    acc.assign(st.begin(), st.begin() + n_o);
    for (int h = 0; h < 2; ++h) m[h] = st[m_at + size_t(h)], l[h] = st[l_at + size_t(h)];
  }
  void merge(std::vector<Value*>& st, const std::vector<Value*>& acc, Value* m[2], Value* l[2]) {
    std::copy(acc.begin(), acc.end(), st.begin());
    for (int h = 0; h < 2; ++h) st[m_at + size_t(h)] = m[h], st[l_at + size_t(h)] = l[h];
  }
  void one_tile_at_a_time();
  void pipelined();
  void store_output();
};

KernelEmitter::FlashAttentionWgmma::FlashAttentionWgmma(KernelEmitter& em, const ir::Op& o,
                                                        const std::vector<Value*>& a)
    : e(em), b(em.b_), op(o), args(a), kit(em, int(o.int_attr("head_dim")), o.operands[0]->type.dtype, 0, "attn") {
  D = int(op.int_attr("head_dim")), BM = int(op.int_attr("block_m")), BN = int(op.int_attr("block_n"));
  stages = int(op.int_attr("stages"));
  causal = std::get<bool>(op.attrs.at("causal"));
  overlap = !op.has_attr("overlap") || op.int_attr("overlap") != 0;
  pingpong = !op.has_attr("pingpong") || op.int_attr("pingpong") != 0;
  scale = float_attr(op, "scale", 1.0);
  consumers = BM / 64, threads = 128 * (consumers + 1);
  if (e.lanes_ != threads)
    fail(ErrorCode::Compile,
         "kernel " + e.fn_.name + ": tile.flash_attention_wgmma needs " + std::to_string(threads) +
             " lanes (threads), the kernel has " + std::to_string(e.lanes_),
         op.loc.str());
  if (!e.fn_.attrs.count("tensor_maps") || std::get<ir::IntList>(e.fn_.attrs.at("tensor_maps")).size() != 33)
    fail(ErrorCode::Compile,
         "kernel " + e.fn_.name +
             ": tile.flash_attention_wgmma needs the kernel attribute tensor_maps "
             "(the TMA descriptors of q, k and v)",
         op.loc.str());
  const int64_t need = ir::flash_attention_wgmma_shared_bytes(D, BM, BN, stages);
  auto shared_attr = e.fn_.attrs.find("shared");
  if (shared_attr == e.fn_.attrs.end() || std::get<int64_t>(shared_attr->second) < need)
    fail(ErrorCode::Compile,
         "kernel " + e.fn_.name + ": tile.flash_attention_wgmma needs the kernel attribute shared >= " +
             std::to_string(need) + " (dynamic shared memory bytes)",
         op.loc.str());
  dt = op.operands[0]->type.dtype;
  O = args[0], o_off = args[1], head = args[5], m0 = args[6], rows = args[7], s_kv = args[8];
  lse = args.size() > 9 ? args[9] : nullptr, lse_off = args.size() > 9 ? args[10] : nullptr;
  i32 = kit.i32, i64 = kit.i64;
  q_bytes = BM * D * 2, tile_bytes = BN * D * 2, q_panel = BM * 128, kv_panel = BN * 128;
  smem = hopper::dynamic_shared(e.m_, b, e.fn_.name + "_attn_smem", e.hooks_.shared_address_space());
  base = smem.base;
  bars = b.CreateAdd(base, c32(q_bytes + 2 * stages * tile_bytes));
  q_full = bars;
  tid = kit.tid;
  valid_rows = b.CreateSelect(b.CreateICmpSLT(rows, c64(BM)), rows, c64(BM));
  kit.key_tiles(m0, valid_rows, s_kv, BN, causal, n_tiles, n_full);
}

void KernelEmitter::FlashAttentionWgmma::run() {
  e.emit_if(b.CreateICmpEQ(tid, c32(0)), [&] {
    hopper::mbarrier_init(b, q_full, 1);
    for (int s = 0; s < stages; ++s) {
      hopper::mbarrier_init(b, bar(kFull, c32(s)), 1);
      hopper::mbarrier_init(b, bar(vFull, c32(s)), 1);
      hopper::mbarrier_init(b, bar(kEmpty, c32(s)), consumers);
      hopper::mbarrier_init(b, bar(vEmpty, c32(s)), consumers);
    }
    hopper::mbarrier_init_fence(b);
  });
  e.hooks_.barrier(b);

  // Producer: one thread's address arithmetic, in 40 registers; the consumers get 232.
  hopper::warp_specialize(b, tid, 40, 232, [&] { producer(); }, [&] { consumer(); });
}

// The producer: Q once, then K_j and V_j of every key tile into the ring of stages.
void KernelEmitter::FlashAttentionWgmma::producer() {
  e.emit_if(b.CreateICmpEQ(tid, c32(0)), [&] {
    const unsigned n_params = unsigned(e.fn_.body.args.size());
    Value* map_q = b.CreatePtrToInt(e.f_->getArg(n_params), i64);
    Value* map_k = b.CreatePtrToInt(e.f_->getArg(n_params + 1), i64);
    Value* map_v = b.CreatePtrToInt(e.f_->getArg(n_params + 2), i64);
    Value* h32 = b.CreateTrunc(head, i32);
    Value* row32 = b.CreateTrunc(m0, i32);
    hopper::mbarrier_expect_tx(b, q_full, q_bytes);
    for (int p = 0; p < D / 64; ++p) {
      Value* dst = b.CreateAdd(base, c32(p * q_panel));
      hopper::tma_load_3d(b, dst, map_q, c32(64 * p), row32, h32, q_full);
    }
    ForLoop loop = e.begin_loop(c64(0), c64(1), "attn.load");
    e.enter_loop_body(loop, n_tiles);
    Value* s = stage_of(loop.iv);
    Value* free_parity = b.CreateXor(parity_of(loop.iv), c32(1));  // round 0: the buffers start free
    Value* key0 = b.CreateMul(b.CreateTrunc(loop.iv, i32), c32(BN));
    for (Bar kind : {kFull, vFull}) {
      Value* full = bar(kind, s);
      Value* buf = kind == kFull ? k_buf(s) : v_buf(s);
      hopper::mbarrier_wait(b, bar(kind == kFull ? kEmpty : vEmpty, s), free_parity);
      hopper::mbarrier_expect_tx(b, full, tile_bytes);
      for (int p = 0; p < D / 64; ++p) {
        Value* dst = b.CreateAdd(buf, c32(p * kv_panel));
        hopper::tma_load_3d(b, dst, kind == kFull ? map_k : map_v, c32(64 * p), key0, h32, full);
      }
    }
    hopper::keep_rolled(e.end_loop(loop));
  });
}

// Consumers. Thread layout of an m64 accumulator tile: warp w of the warpgroup holds rows
// 16w + g and 16w + g + 8, columns 8i + t2 and 8i + t2 + 1 (FlashKit's g and t2).
void KernelEmitter::FlashAttentionWgmma::consumer() {
  wtid = b.CreateAnd(tid, c32(127));                    // thread in its warpgroup
  wg = b.CreateSub(b.CreateLShr(tid, c32(7)), c32(1));  // consumer warpgroup: rows 64 wg ..
  leader = b.CreateICmpEQ(wtid, c32(0));
  row_in_block =
      b.CreateAdd(b.CreateMul(wg, c32(64)), b.CreateAdd(b.CreateMul(b.CreateLShr(wtid, c32(5)), c32(16)), kit.g));
  row0 = b.CreateAdd(m0, b.CreateZExt(row_in_block, i64));     // the thread's first row (the other is 8 below)
  q_rows = b.CreateAdd(base, b.CreateMul(wg, c32(64 * 128)));  // this warpgroup's rows of the Q panels
  sl2 = scale * 1.4426950408889634;  // scores in the log2 domain: 2^(s*sl2 - m) = e^(scale*(s - max))
  n_o = D / 2, n_p = BN / 4;
  // pingpong: the two consumer warpgroups take turns to issue their wgmma (FlashAttention-3's
  // warp scheduler barriers), so that one's softmax runs while the other's products do. A turn
  // is named barrier 1 + wg: a warpgroup syncs on its own (with the other's 128 arrivals)
  // before issuing S = Q K^T, and arrives on the other's after issuing its products of the
  // step. Warpgroup 0 starts with its own barrier's arrival; both do the same steps (the
  // block's key tiles), so every sync finds its arrivals (the last arrival is left over).
  own_turn = b.CreateAdd(wg, c32(1));
  other_turn = b.CreateSub(c32(2), wg);
  if (pingpong) e.emit_if(b.CreateICmpEQ(wg, c32(0)), [&] { hopper::named_barrier_arrive(b, own_turn, 256); });
  m_at = size_t(n_o), l_at = m_at + 2, alpha_at = l_at + 2, p_at = alpha_at + 2;
  state = initial_state();
  // The key-tile counts are pinned: LLVM would otherwise turn a loop it can count to one
  // iteration (the ragged last tile) into straight-line code that ptxas cannot fit in 232
  // registers (it spills and serializes the wgmma).
  std::vector<Value*> bounds = {n_tiles, n_full};
  hopper::pin(b, bounds);
  n_tiles = bounds[0], n_full = bounds[1];
  hopper::mbarrier_wait(b, q_full, c32(0));
  if (!overlap)
    one_tile_at_a_time();
  else
    pipelined();
  store_output();
}

// Issues S = Q K_j^T (one wgmma group); returns its accumulators, which belong to the tensor
// cores until the group retires.
std::vector<Value*> KernelEmitter::FlashAttentionWgmma::issue_s(Value* j) {
  Value* s = stage_of(j);
  Value* parity = parity_of(j);
  hopper::mbarrier_wait(b, bar(kFull, s), parity);
  // The buffers' addresses are pinned here, so that their descriptors are computed next to
  // the wgmma that read them, not hoisted out of the loops to sit in registers meanwhile.
  std::vector<Value*> at = {q_rows, k_buf(s)};
  hopper::pin(b, at);
  Value *q = at[0], *k = at[1];
  take_turn();
  hopper::fence(b);
  std::vector<Value*> acc;
  for (int kk = 0; kk < D / 16; ++kk) {  // k step kk: 32 (kk % 4) bytes into the rows of panel kk / 4
    const int in_row = (kk % 4) * 32;
    Value* a_desc = hopper::descriptor(b, b.CreateAdd(q, c32((kk / 4) * q_panel + in_row)), 16, 1024);
    Value* b_desc = hopper::descriptor(b, b.CreateAdd(k, c32((kk / 4) * kv_panel + in_row)), 16, 1024);
    hopper::mma(b, BN, dt, {a_desc}, b_desc, false, acc);
  }
  hopper::commit(b);
  return acc;
}

// Issues O += P V_j (one wgmma group) on pinned P and O; O belongs to the tensor cores until
// the group retires, and so do P's registers.
void KernelEmitter::FlashAttentionWgmma::issue_pv(Value* j, std::vector<Value*>& P, std::vector<Value*>& acc) {
  Value* s = stage_of(j);
  Value* parity = parity_of(j);
  hopper::mbarrier_wait(b, bar(vFull, s), parity);
  std::vector<Value*> pinned(P);
  pinned.insert(pinned.end(), acc.begin(), acc.end());
  pinned.push_back(v_buf(s));
  hopper::pin(b, pinned);  // every write of P and O happens before the fence (and V's address, as in issue_s)
  P.assign(pinned.begin(), pinned.begin() + n_p);
  acc.assign(pinned.begin() + n_p, pinned.end() - 1);
  Value* v = pinned.back();
  hopper::fence(b);
  for (int kk = 0; kk < BN / 16; ++kk) {  // k step kk: keys 16kk .. 16kk+15, two 8-row groups
    Value* b_desc = hopper::descriptor(b, b.CreateAdd(v, c32(kk * 16 * 128)), uint64_t(kv_panel), 1024);
    hopper::mma(b, D, dt, {P[size_t(4 * kk)], P[size_t(4 * kk + 1)], P[size_t(4 * kk + 2)], P[size_t(4 * kk + 3)]},
                b_desc, true, acc);
  }
  hopper::commit(b);
}

void KernelEmitter::FlashAttentionWgmma::one_tile_at_a_time() {
  // One tile at a time: S_j, its softmax (O rescaled), O += P_j V_j.
  auto step = [&](bool masked) {
    return [&, masked](Value* j, std::vector<Value*>& st) {
      std::vector<Value*> acc, s = issue_s(j);
      pass_turn();
      Value *m[2], *l[2], *alpha[2];
      split(st, acc, m, l);
      hopper::wait(b, 0);
      hopper::pin(b, s);
      release(kEmpty, j);
      softmax(s, j, masked, m, l, alpha, &acc);
      std::vector<Value*> P = pack(s);
      issue_pv(j, P, acc);
      hopper::wait(b, 0);
      hopper::pin(b, acc);
      release(vEmpty, j);
      merge(st, acc, m, l);
    };
  };
  tiles(c64(0), n_full, "attn.tile", step(false));
  tiles(n_full, n_tiles, "attn.masked", step(true));
}

void KernelEmitter::FlashAttentionWgmma::pipelined() {
  // Pipelined: tile 0's scores and softmax first (masked: the compares cost once per block),
  // then per tile j >= 1 S_j and O += P_{j-1} V_{j-1} in flight together, the softmax of S_j
  // during the second; last, O += P V of the last tile. Skipped without any key tile.
  llvm::BasicBlock* pre = b.GetInsertBlock();
  llvm::BasicBlock* run = llvm::BasicBlock::Create(e.ctx_, "attn.pipeline", e.f_);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(e.ctx_, "attn.pipeline.done", e.f_);
  b.CreateCondBr(b.CreateICmpSGT(n_tiles, c64(0)), run, done);
  b.SetInsertPoint(run);
  {
    std::vector<Value*> acc, s = issue_s(c64(0));
    pass_turn();
    Value *m[2], *l[2], *alpha[2];
    split(state, acc, m, l);
    hopper::wait(b, 0);
    hopper::pin(b, s);
    release(kEmpty, c64(0));
    softmax(s, c64(0), true, m, l, alpha, nullptr);
    merge(state, acc, m, l);
    state.push_back(alpha[0]);
    state.push_back(alpha[1]);
    std::vector<Value*> P = pack(s);
    state.insert(state.end(), P.begin(), P.end());
  }
  auto step = [&](bool masked) {
    return [&, masked](Value* j, std::vector<Value*>& st) {
      Value* prev = b.CreateSub(j, c64(1));
      std::vector<Value*> acc, s = issue_s(j);
      Value *m[2], *l[2], *alpha[2] = {st[alpha_at], st[alpha_at + 1]};
      split(st, acc, m, l);
      std::vector<Value*> P(st.begin() + long(p_at), st.end());
      hopper::pin(b, acc);  // rescaled after S_j is issued, while it runs
      rescale(acc, alpha);  // by tile j-1's factors
      issue_pv(prev, P, acc);
      pass_turn();
      hopper::wait(b, 1);  // S_j is in; O += P_{j-1} V_{j-1} may still run
      hopper::pin(b, s);
      release(kEmpty, j);
      softmax(s, j, masked, m, l, alpha, nullptr);
      hopper::wait(b, 0);
      std::vector<Value*> pinned(s);
      pinned.insert(pinned.end(), acc.begin(), acc.end());
      hopper::pin(b, pinned);  // O, and P_j's registers may be written (P_{j-1} is free)
      s.assign(pinned.begin(), pinned.begin() + long(s.size()));
      acc.assign(pinned.begin() + long(s.size()), pinned.end());
      release(vEmpty, prev);
      merge(st, acc, m, l);
      st[alpha_at] = alpha[0], st[alpha_at + 1] = alpha[1];
      std::vector<Value*> next_p = pack(s);
      hopper::pin(b, next_p);  // P_j packed here: its f32 values die before the next wgmma
      std::copy(next_p.begin(), next_p.end(), st.begin() + long(p_at));
    };
  };
  Value* first_masked = b.CreateSelect(b.CreateICmpSGT(n_full, c64(1)), n_full, c64(1));
  tiles(c64(1), first_masked, "attn.tile", step(false));
  tiles(first_masked, n_tiles, "attn.masked", step(true));
  {
    std::vector<Value*> acc, P(state.begin() + long(p_at), state.end());
    Value *m[2], *l[2], *alpha[2] = {state[alpha_at], state[alpha_at + 1]};
    split(state, acc, m, l);
    Value* last = b.CreateSub(n_tiles, c64(1));
    rescale(acc, alpha);
    issue_pv(last, P, acc);
    hopper::wait(b, 0);
    hopper::pin(b, acc);
    release(vEmpty, last);
    state.resize(alpha_at);
    merge(state, acc, m, l);
  }
  llvm::BasicBlock* end = b.GetInsertBlock();
  b.CreateBr(done);
  b.SetInsertPoint(done);
  std::vector<Value*> init = initial_state();
  for (size_t i = 0; i < state.size(); ++i) {
    llvm::PHINode* p = b.CreatePHI(state[i]->getType(), 2);
    p->addIncoming(init[i], pre);
    p->addIncoming(state[i], end);
    state[i] = p;
  }
}

void KernelEmitter::FlashAttentionWgmma::store_output() {
  // O / l (0 for a row without keys) and the lse; 16-byte stores of this warpgroup's rows.
  std::vector<Value*> acc(state.begin(), state.begin() + n_o);
  Value* inv[2];
  for (int h = 0; h < 2; ++h) {
    Value* r = b.CreateZExt(b.CreateAdd(row_in_block, c32(8 * h)), i64);
    inv[h] = kit.finish_row(state[m_at + size_t(h)], state[l_at + size_t(h)], r, valid_rows, lse, lse_off);
  }
  rescale(acc, inv);
  // Rows of D elements (a multiple of 8): 16-byte stores when o's view starts 16-byte aligned.
  Value* aligned = b.CreateAnd(b.CreateICmpEQ(b.CreateAnd(o_off, c64(7)), c64(0)),
                               b.CreateICmpEQ(b.CreateAnd(b.CreatePtrToInt(O, i64), c64(15)), c64(0)));
  Value* t = b.CreateAnd(wtid, c32(3));
  for (int h = 0; h < 2; ++h) {
    Value* row = b.CreateZExt(b.CreateAdd(row_in_block, c32(8 * h)), i64);
    Value* row_in = b.CreateICmpSLT(row, valid_rows);
    for (int q = 0; q < D / 32; ++q) {
      Value* v[4];
      for (int j = 0; j < 4; ++j)
        v[j] = e.pack_pair(acc[size_t((4 * q + j) * 4 + 2 * h)], acc[size_t((4 * q + j) * 4 + 2 * h + 1)], dt);
      e.store_quad_16(O, dt, o_off, c64(D), row, row_in, t, q, v, c64(D), [&] { return aligned; });
    }
  }
}

void KernelEmitter::emit_flash_attention_wgmma(const ir::Op& op, const std::vector<Value*>& args) {
  FlashAttentionWgmma(*this, op, args).run();
}

}  // namespace tessera::backends
