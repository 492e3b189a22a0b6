// tile.flash_attention: one block of query rows of flash attention on NVIDIA tensor cores
// (sm_80+, bf16/f16), the FlashAttention-2 forward scheme.
//
//   Q block (block_m x D) -> shared memory -> registers: each warp keeps the A fragments of its
//   16 query rows for the whole kernel.
//   For each block_n-row tile j of K and V (only tiles at or left of the diagonal when causal):
//     wait until tile j is in shared memory; barrier; start copying the next tile(s) (cp.async)
//     S = Q K_j^T: mma.sync m16n8k16 with f32 accumulators, K fragments by ldmatrix (K rows
//       are the columns of K^T, so no transpose is needed)
//     online softmax in registers: row max over the thread's values, then the quad (4 lanes
//       share a row) by shuffles; p = 2^(s*scale*log2e - m); O and the row sum rescaled by
//       2^(m_old - m_new)
//     O += P V_j: the f32 C fragments of S are, pairwise rounded to 16 bits, exactly the A
//       fragments of a 16 x 16 slice of P, so P never leaves registers
//   O / row sum, rounded to o's dtype, stored under the row mask; with an lse operand also the
//   row's log-normaliser log(sum_j e^(scale * s_j)) in f32, which the backward kernels use.
// K/V copies: with stages = 1 (one K and one V buffer) V_j streams in during Q K_j^T and
// K_{j+1} during P V_j, two barriers per tile; with stages >= 2 a ring of K/V buffer pairs
// keeps tiles j+1 .. j+stages-1 in flight during tile j, one barrier per tile.
// Tiles that need no mask (fully below the diagonal, fully inside s_kv) run a loop without the
// per-element compare; the rest (the diagonal, the ragged last tile) run a masked copy of it.
// Shared memory: the K/V buffers (the Q block is staged in the same bytes first); static up to
// 48 KiB, dynamic above (the kernel's `shared` attribute). Fragments, copies and the swizzle:
// flash_kit.hpp.
#include "backends/llvm/flash_kit.hpp"

namespace tessera::backends {

using llvm::Value;

void KernelEmitter::emit_flash_attention(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  const int D = int(op.int_attr("head_dim")), BM = int(op.int_attr("block_m")), BN = int(op.int_attr("block_n"));
  const int warps = int(op.int_attr("warps")), threads = 32 * warps;
  const int stages = int(op.int_attr("stages", 1));
  const bool causal = std::get<bool>(op.attrs.at("causal"));
  const double scale = float_attr(op, "scale", 1.0);
  if (lanes_ != threads)
    fail(ErrorCode::Compile,
         "kernel " + fn_.name + ": tile.flash_attention needs " + std::to_string(threads) +
             " lanes (threads), the kernel has " + std::to_string(lanes_),
         op.loc.str());
  const DType dt = op.operands[0]->type.dtype;
  Value *O = args[0], *o_off = args[1], *Q = args[2], *q_off = args[3], *K = args[4], *V = args[5], *kv_off = args[6],
        *rows = args[7], *m0 = args[8], *s_kv = args[9];
  Value *lse = args.size() > 10 ? args[10] : nullptr, *lse_off = args.size() > 10 ? args[11] : nullptr;
  const int tile_bytes = BN * D * 2;
  FlashKit kit(*this, D, dt, std::max(BM * D * 2, 2 * stages * tile_bytes), "attn");
  auto c32 = [&](int64_t v) { return kit.c32(v); };
  auto c64 = [&](int64_t v) { return kit.c64(v); };
  auto cf = [&](double v) { return kit.cf(v); };
  llvm::Type *i32 = kit.i32, *i64 = kit.i64, *f32 = kit.f32;
  Value *warp = kit.warp, *t2 = kit.t2;
  // 16-byte copies need 16-byte aligned rows: true for fresh buffers; views may be offset.
  kit.vector_copies = b_.CreateAnd({kit.aligned16(Q), kit.aligned16(K), kit.aligned16(V)});

  // Q block -> shared -> this warp's A fragments (D/16 k-steps of 4 registers).
  kit.copy_rows(c32(0), Q, q_off, BM, rows);
  kit.commit();
  kit.wait(0);
  hooks_.barrier(b_);
  std::vector<Value*> qa = kit.a_fragments(c32(0), b_.CreateMul(warp, c32(16)));
  hooks_.barrier(b_);  // the K and V tiles reuse these bytes

  // Key tiles: n_tiles in all; the first n_full need no mask.
  Value* valid_rows = b_.CreateSelect(b_.CreateICmpSLT(rows, c64(BM)), rows, c64(BM));
  Value *n_tiles, *n_full;
  kit.key_tiles(m0, valid_rows, s_kv, BN, causal, n_tiles, n_full);
  // Stage s of the K/V buffers: K at byte 2*s*tile_bytes, V right after it. With one stage,
  // K_{j+1} streams in during P V_j and V_j during S = Q K_j^T (two barriers per tile); with
  // more, tiles j+1 .. j+stages-1 stream in during tile j (one barrier per tile).
  auto k_base_of = [&](Value* j) {
    if (stages == 1) return static_cast<Value*>(c32(0));
    return b_.CreateMul(b_.CreateTrunc(b_.CreateURem(j, c64(stages)), i32), c32(2 * tile_bytes));
  };
  auto load_tile = [&](Value* base, Value* buf, Value* j) {
    Value* first = b_.CreateMul(j, c64(BN));
    kit.copy_rows(base, buf, b_.CreateAdd(kv_off, b_.CreateMul(first, c64(D))), BN, b_.CreateSub(s_kv, first));
  };
  // Prologue: K_0 (one stage), or K and V of tiles 0 .. stages-2, one cp.async group each.
  for (int t = 0; t < std::max(stages - 1, 1); ++t) {
    emit_if(b_.CreateICmpSGT(n_tiles, c64(t)), [&] {
      load_tile(c32(2 * t * tile_bytes), K, c64(t));
      if (stages > 1) load_tile(c32((2 * t + 1) * tile_bytes), V, c64(t));
    });
    kit.commit();
  }

  const double sl2 = scale * 1.4426950408889634;  // scores in the log2 domain: 2^(s*sl2 - m) = e^(scale*(s - max))
  const int nf_s = BN / 8, nf_o = D / 8;
  // Loop state: O accumulators, then per row half (g, g+8) the running max m and sum l.
  std::vector<Value*> state(size_t(nf_o * 4), cf(0.0));
  for (int h = 0; h < 2; ++h) state.push_back(cf(-INFINITY));
  for (int h = 0; h < 2; ++h) state.push_back(cf(0.0));
  const size_t m_at = size_t(nf_o * 4), l_at = m_at + 2;

  Value* row_base = b_.CreateAdd(m0, b_.CreateZExt(b_.CreateAdd(b_.CreateMul(warp, c32(16)), kit.g), i64));
  auto tiles = [&](Value* lo, Value* hi, bool masked) {
    ForLoop loop = begin_loop(lo, c64(1), masked ? "attn.masked" : "attn.tile");
    std::vector<llvm::PHINode*> phis;
    for (Value* init : state) {
      llvm::PHINode* p = b_.CreatePHI(f32, 2);
      p->addIncoming(init, loop.pre);
      phis.push_back(p);
    }
    enter_loop_body(loop, hi);
    Value* j = loop.iv;
    Value* j1 = b_.CreateAdd(j, c64(1));
    Value* k_base = k_base_of(j);
    Value* v_base = b_.CreateAdd(k_base, c32(tile_bytes));
    kit.wait(std::max(stages - 2, 0));
    hooks_.barrier(b_);  // K_j (and V_j) are in; everyone is done with the buffers tile j-1 read
    if (stages == 1) {
      load_tile(v_base, V, j);
    } else {
      Value* ahead = b_.CreateAdd(j, c64(stages - 1));
      emit_if(b_.CreateICmpSLT(ahead, n_tiles), [&] {
        Value* next = k_base_of(ahead);
        load_tile(next, K, ahead);
        load_tile(b_.CreateAdd(next, c32(tile_bytes)), V, ahead);
      });
    }
    kit.commit();

    // S = Q K_j^T for this warp's 16 rows: nf_s fragments of 16 x 8.
    std::vector<Value*> s(size_t(nf_s * 4), cf(0.0));
    for (int kk = 0; kk < D / 16; ++kk) {
      std::vector<Value*> kb = kit.rows_as_b(k_base, kk, BN);
      for (int ni = 0; ni < nf_s; ++ni)
        kit.mma(&qa[size_t(kk * 4)], kb[size_t(ni * 2)], kb[size_t(ni * 2 + 1)], &s[size_t(ni * 4)]);
    }
    if (masked)  // columns past s_kv, and (causal) right of the diagonal, are -inf
      kit.mask_scores(s, b_.CreateAdd(b_.CreateMul(j, c64(BN)), b_.CreateZExt(t2, i64)), row_base, s_kv, causal);
    // Online softmax; O rescaled.
    std::vector<Value*> next(phis.begin(), phis.end());
    Value *m[2] = {phis[m_at], phis[m_at + 1]}, *l[2] = {phis[l_at], phis[l_at + 1]}, *alpha[2];
    kit.online_softmax(s, sl2, m, l, alpha, &next);
    for (int h = 0; h < 2; ++h) {
      next[m_at + size_t(h)] = m[h];
      next[l_at + size_t(h)] = l[h];
    }
    std::vector<Value*> pa = kit.c_as_a(s);  // P as A fragments
    if (stages == 1) {
      kit.wait(0);
      hooks_.barrier(b_);  // V_j is in; everyone is done with K_j
      emit_if(b_.CreateICmpSLT(j1, n_tiles), [&] { load_tile(k_base, K, j1); });
      kit.commit();
    }
    // O += P V_j.
    for (int kk = 0; kk < BN / 16; ++kk) {
      std::vector<Value*> vb = kit.cols_as_b(v_base, kk);
      for (int nf = 0; nf < nf_o; ++nf)
        kit.mma(&pa[size_t(kk * 4)], vb[size_t(nf * 2)], vb[size_t(nf * 2 + 1)], &next[size_t(nf * 4)]);
    }
    for (size_t i = 0; i < phis.size(); ++i) phis[i]->addIncoming(next[i], b_.GetInsertBlock());
    end_loop(loop);
    state.assign(phis.begin(), phis.end());
  };
  tiles(c64(0), n_full, false);
  tiles(n_full, n_tiles, true);
  kit.wait(0);

  // O / l (0 for a row without keys), rounded to o's dtype; lse = (m + log2 l) ln 2.
  Value* inv[2];
  for (int h = 0; h < 2; ++h) {
    Value* r = b_.CreateZExt(b_.CreateAdd(b_.CreateMul(warp, c32(16)), b_.CreateAdd(kit.g, c32(h * 8))), i64);
    inv[h] = kit.finish_row(state[m_at + size_t(h)], state[l_at + size_t(h)], r, valid_rows, lse, lse_off);
  }
  kit.store_rows(O, o_off, b_.CreateMul(warp, c32(16)), valid_rows, state, inv[0], inv[1]);
}

}  // namespace tessera::backends
