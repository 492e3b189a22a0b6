// tile.flash_attention_bwd: the FlashAttention-2 backward on NVIDIA tensor cores (sm_80+,
// bf16/f16), as two kernels that need no atomics and give the same bits every run:
//
//   wrt q  (one block of query rows):  for each key tile j (X = K_j, Y = V_j)
//            S = Q X^T, dP = dO Y^T, P = e^(scale*S - lse_row), dS = P (dP - delta_row),
//            dq += dS X;                       dq *= scale at the end
//   wrt kv (one block of key rows):    for each query tile i (X = Q_i, Y = dO_i)
//            S^T = K X^T, dP^T = V Y^T, P^T = e^(scale*S^T - lse_col), dS^T = P^T (dP^T - delta_col),
//            dv += P^T Y, dk += dS^T X;        dk *= scale at the end
//
// Both are one loop: the block's own rows (A1, A2) = (Q, dO) or (K, V) stay in shared memory
// and each warp reads the A fragments of its 16 rows per k step; the streamed tiles (X, Y) go
// through a `stages`-deep cp.async ring, one barrier per tile. P and dS reach the next product
// as A fragments straight from their C fragments (flash_kit.hpp), so nothing of size S x S is
// stored anywhere. lse and delta come per query row: once per block (wrt q) or per tile from
// global memory (wrt kv: they index the columns). Masked elements (past the sequences,
// causal's upper triangle) get P = 0; whole tiles no query/key of the block can see are skipped.
//
// Parts: the cp.async ring of streamed tiles (load_tiles), the scores S and dP (scores), P and
// dS (p_and_ds), the products (products), the tile loop (tiles) and the output stores.
#include "backends/llvm/flash_kit.hpp"

namespace tessera::backends {

using llvm::Value;

namespace {
int own_and_ring_bytes(const ir::Op& op) {  // the shared memory: the own rows' two tiles and the ring
  int row_bytes = int(op.int_attr("head_dim")) * 2;
  return 2 * int(op.int_attr("block_own")) * row_bytes +
         2 * int(op.int_attr("stages")) * int(op.int_attr("block_stream")) * row_bytes;
}
}  // namespace

struct KernelEmitter::FlashAttentionBwd {
  KernelEmitter& e;
  llvm::IRBuilder<>& b;
  const ir::Op& op;
  const std::vector<Value*>& args;
  FlashKit kit;
  int D, BO, BS, stages, threads, row_bytes, own_bytes, tile_bytes, ring, nf_s, nf_o;
  bool causal, by_query;
  std::string wrt;
  double sl2, log2e;
  size_t n_out, acc_n;
  Value *out_x, *out_y, *Q, *K, *V, *dO, *LSE, *DELTA, *q_off, *kv_off, *r_off, *own_rows, *own0, *stream_len;
  DType dt;
  llvm::Type *i32, *i64, *f32;
  Value *A1, *A2, *X, *Y, *own_off, *stream_off, *valid_own, *warp_row, *lo, *mid, *n_tiles, *n_full, *own_row0;
  Value *own_l2[2] = {nullptr, nullptr}, *own_delta[2] = {nullptr, nullptr};
  std::vector<Value*> state;  // dq, or dk then dv

  FlashAttentionBwd(KernelEmitter& em, const ir::Op& o, const std::vector<Value*>& a);
  Value* c32(int64_t v) { return kit.c32(v); }
  Value* c64(int64_t v) { return kit.c64(v); }
  Value* cf(double v) { return kit.cf(v); }
  Value* x_base_of(Value* j) {
    return b.CreateAdd(c32(ring), b.CreateMul(b.CreateTrunc(b.CreateURem(j, c64(stages)), i32), c32(2 * tile_bytes)));
  }
  void load_tiles(Value* j);
  void row_values(Value* idx, Value* ok, Value*& neg_l2, Value*& delta) {  // FlashKit::query_values
    kit.query_values(LSE, DELTA, r_off, idx, ok, neg_l2, delta);
  }
  void run();
  void tiles(Value* from, Value* to, bool masked);
  void scores(Value* x_base, Value* y_base, std::vector<Value*>& s, std::vector<Value*>& dp);
  void p_and_ds(bool masked, Value* col0, const std::vector<Value*>& col_l2, const std::vector<Value*>& col_delta,
                std::vector<Value*>& s, std::vector<Value*>& dp);
  void products(Value* x_base, Value* y_base, const std::vector<Value*>& s, const std::vector<Value*>& dp,
                std::vector<Value*>& next);
  void store_outputs();
};

KernelEmitter::FlashAttentionBwd::FlashAttentionBwd(KernelEmitter& em, const ir::Op& o, const std::vector<Value*>& a)
    : e(em),
      b(em.b_),
      op(o),
      args(a),
      kit(em, int(o.int_attr("head_dim")), o.operands[o.str_attr("wrt") == "kv" ? 2 : 1]->type.dtype,
          own_and_ring_bytes(o), "attn_bwd") {
  D = int(op.int_attr("head_dim")), BO = int(op.int_attr("block_own")), BS = int(op.int_attr("block_stream"));
  stages = int(op.int_attr("stages")), threads = 32 * (BO / 16);
  causal = std::get<bool>(op.attrs.at("causal"));
  wrt = op.str_attr("wrt");
  by_query = wrt == "q";  // own rows are queries (dq); else keys (dk, dv)
  sl2 = float_attr(op, "scale", 1.0) * 1.4426950408889634, log2e = 1.4426950408889634;
  if (e.lanes_ != threads)
    fail(ErrorCode::Compile,
         "kernel " + e.fn_.name + ": tile.flash_attention_bwd needs " + std::to_string(threads) +
             " lanes (threads), the kernel has " + std::to_string(e.lanes_),
         op.loc.str());
  n_out = wrt == "kv" ? 2 : 1;
  out_x = args[0], out_y = args[n_out - 1];  // dq or dk; dv (kv, v)
  Value* const* in = &args[n_out];
  Q = in[0], K = in[1], V = in[2], dO = in[3], LSE = in[4], DELTA = in[5], q_off = in[6], kv_off = in[7];
  r_off = in[8], own_rows = in[9], own0 = in[10], stream_len = in[11];
  dt = op.operands[n_out]->type.dtype;
  row_bytes = D * 2, own_bytes = BO * row_bytes, tile_bytes = BS * row_bytes;
  i32 = kit.i32, i64 = kit.i64, f32 = kit.f32;
  kit.vector_copies = b.CreateAnd({kit.aligned16(Q), kit.aligned16(K), kit.aligned16(V), kit.aligned16(dO)});
  A1 = by_query ? Q : K, A2 = by_query ? dO : V, X = by_query ? K : Q, Y = by_query ? V : dO;
  own_off = by_query ? q_off : kv_off;
  stream_off = by_query ? kv_off : q_off;
  valid_own = b.CreateSelect(b.CreateICmpSLT(own_rows, c64(BO)), own_rows, c64(BO));
  warp_row = b.CreateMul(kit.warp, c32(16));  // the warp's first own row in the block
  ring = 2 * own_bytes;
  nf_s = BS / 8, nf_o = D / 8;
  acc_n = size_t(nf_o * 4);
}

// X_j and Y_j into their ring slot, rows past the sequence zero.
void KernelEmitter::FlashAttentionBwd::load_tiles(Value* j) {
  Value* first = b.CreateMul(j, c64(BS));
  Value* off = b.CreateAdd(stream_off, b.CreateMul(first, c64(D)));
  Value* base = x_base_of(j);
  kit.copy_rows(base, X, off, BS, b.CreateSub(stream_len, first));
  kit.copy_rows(b.CreateAdd(base, c32(tile_bytes)), Y, off, BS, b.CreateSub(stream_len, first));
}

void KernelEmitter::FlashAttentionBwd::run() {
  kit.copy_rows(c32(0), A1, own_off, BO, valid_own);
  kit.copy_rows(c32(own_bytes), A2, own_off, BO, valid_own);
  kit.commit();

  // Streamed tiles: [lo, n_tiles) in all; masks only outside [mid, n_full).
  // (wrt kv over all BO rows, as this kernel was tested and measured; the rows past the keys,
  // never stored, only widen the masked diagonal)
  kit.stream_tiles(by_query, own0, by_query ? valid_own : c64(BO), stream_len, BS, causal, lo, mid, n_tiles, n_full);
  for (int t = 0; t < stages - 1; ++t) {
    Value* j = b.CreateAdd(lo, c64(t));
    e.emit_if(b.CreateICmpSLT(j, n_tiles), [&] { load_tiles(j); });
    kit.commit();
  }

  if (by_query)
    for (int h = 0; h < 2; ++h) {
      Value* r = b.CreateZExt(b.CreateAdd(warp_row, b.CreateAdd(kit.g, c32(h * 8))), i64);
      row_values(r, b.CreateICmpSLT(r, valid_own), own_l2[h], own_delta[h]);
    }
  state.assign(by_query ? acc_n : 2 * acc_n, cf(0.0));
  own_row0 = b.CreateAdd(own0, b.CreateZExt(b.CreateAdd(warp_row, kit.g), i64));
  auto min64 = [&](Value* x, Value* y) { return b.CreateSelect(b.CreateICmpSLT(x, y), x, y); };
  auto max64 = [&](Value* x, Value* y) { return b.CreateSelect(b.CreateICmpSGT(x, y), x, y); };
  if (causal && !by_query) tiles(lo, min64(mid, n_tiles), true);  // the diagonal tiles
  tiles(mid, n_full, false);
  tiles(max64(mid, n_full), n_tiles, true);
  kit.wait(0);
  store_outputs();
}

// The loop over streamed tiles [from, to) carrying the accumulators as phis: wait for tile j,
// refill the ring, the scores, P and dS, the products.
void KernelEmitter::FlashAttentionBwd::tiles(Value* from, Value* to, bool masked) {
  ForLoop loop = e.begin_loop(from, c64(1), masked ? "attn_bwd.masked" : "attn_bwd.tile");
  std::vector<llvm::PHINode*> phis;
  for (Value* init : state) {
    llvm::PHINode* p = b.CreatePHI(f32, 2);
    p->addIncoming(init, loop.pre);
    phis.push_back(p);
  }
  e.enter_loop_body(loop, to);
  Value* j = loop.iv;
  Value* x_base = x_base_of(j);
  Value* y_base = b.CreateAdd(x_base, c32(tile_bytes));
  kit.wait(stages - 2);
  e.hooks_.barrier(b);  // tile j is in; everyone is done with the slot tile j-1 used
  Value* ahead = b.CreateAdd(j, c64(stages - 1));
  e.emit_if(b.CreateICmpSLT(ahead, n_tiles), [&] { load_tiles(ahead); });
  kit.commit();

  // Column values (wrt kv: the tile's queries), loaded before the products to hide latency.
  Value* col0 = b.CreateAdd(b.CreateMul(j, c64(BS)), b.CreateZExt(kit.t2, i64));
  std::vector<Value*> col_l2, col_delta;
  if (!by_query)
    for (int ni = 0; ni < nf_s; ++ni)
      for (int e = 0; e < 2; ++e) {
        Value* c = b.CreateAdd(col0, c64(ni * 8 + e));
        Value *l2, *dl;
        row_values(c, b.CreateICmpSLT(c, stream_len), l2, dl);
        col_l2.push_back(l2);
        col_delta.push_back(dl);
      }
  std::vector<Value*> s(size_t(nf_s * 4), cf(0.0)), dp(size_t(nf_s * 4), cf(0.0));
  scores(x_base, y_base, s, dp);
  p_and_ds(masked, col0, col_l2, col_delta, s, dp);
  std::vector<Value*> next(phis.begin(), phis.end());
  products(x_base, y_base, s, dp, next);
  for (size_t i = 0; i < phis.size(); ++i) phis[i]->addIncoming(next[i], b.GetInsertBlock());
  e.end_loop(loop);
  state.assign(phis.begin(), phis.end());
}

// S = A1 X^T and dP = A2 Y^T for the warp's 16 rows.
void KernelEmitter::FlashAttentionBwd::scores(Value* x_base, Value* y_base, std::vector<Value*>& s,
                                              std::vector<Value*>& dp) {
  for (int kk = 0; kk < D / 16; ++kk) {
    std::vector<Value*> a1, a2;
    kit.a_fragment(c32(0), warp_row, kk, a1);
    std::vector<Value*> xb = kit.rows_as_b(x_base, kk, BS);
    for (int ni = 0; ni < nf_s; ++ni)
      kit.mma(a1.data(), xb[size_t(ni * 2)], xb[size_t(ni * 2 + 1)], &s[size_t(ni * 4)]);
    kit.a_fragment(c32(own_bytes), warp_row, kk, a2);
    std::vector<Value*> yb = kit.rows_as_b(y_base, kk, BS);
    for (int ni = 0; ni < nf_s; ++ni)
      kit.mma(a2.data(), yb[size_t(ni * 2)], yb[size_t(ni * 2 + 1)], &dp[size_t(ni * 4)]);
  }
}

// P = 2^(S*sl2 - lse*log2e) (0 where masked), dS = P (dP - delta).
void KernelEmitter::FlashAttentionBwd::p_and_ds(bool masked, Value* col0, const std::vector<Value*>& col_l2,
                                                const std::vector<Value*>& col_delta, std::vector<Value*>& s,
                                                std::vector<Value*>& dp) {
  for (int ni = 0; ni < nf_s; ++ni)
    for (int x = 0; x < 4; ++x) {
      size_t i = size_t(ni * 4 + x);
      int h = x >> 1;
      Value* neg_l2 = by_query ? own_l2[h] : col_l2[size_t(ni * 2 + (x & 1))];
      Value* delta = by_query ? own_delta[h] : col_delta[size_t(ni * 2 + (x & 1))];
      if (masked) {
        Value* col = b.CreateAdd(col0, c64(ni * 8 + (x & 1)));
        Value* row = b.CreateAdd(own_row0, c64(h * 8));
        Value* bad = b.CreateICmpSGE(col, stream_len);
        // causal: query >= key; rows are queries (wrt q) or keys (wrt kv)
        if (causal) bad = b.CreateOr(bad, by_query ? b.CreateICmpSGT(col, row) : b.CreateICmpSGT(row, col));
        s[i] = b.CreateSelect(bad, cf(-INFINITY), s[i]);
      }
      s[i] = kit.ex2(kit.fma(s[i], cf(sl2), neg_l2));
      dp[i] = b.CreateFMul(s[i], b.CreateFSub(dp[i], delta));
    }
}

// dq (or dk) += dS X; dv += P Y.
void KernelEmitter::FlashAttentionBwd::products(Value* x_base, Value* y_base, const std::vector<Value*>& s,
                                                const std::vector<Value*>& dp, std::vector<Value*>& next) {
  std::vector<Value*> ds_a = kit.c_as_a(dp);
  std::vector<Value*> p_a = by_query ? std::vector<Value*>{} : kit.c_as_a(s);
  for (int kk = 0; kk < BS / 16; ++kk) {
    std::vector<Value*> xb = kit.cols_as_b(x_base, kk);
    for (int nf = 0; nf < nf_o; ++nf)
      kit.mma(&ds_a[size_t(kk * 4)], xb[size_t(nf * 2)], xb[size_t(nf * 2 + 1)], &next[size_t(nf * 4)]);
    if (by_query) continue;
    std::vector<Value*> yb = kit.cols_as_b(y_base, kk);
    for (int nf = 0; nf < nf_o; ++nf)
      kit.mma(&p_a[size_t(kk * 4)], yb[size_t(nf * 2)], yb[size_t(nf * 2 + 1)], &next[acc_n + size_t(nf * 4)]);
  }
}

// dq or dk (times the scale) and dv, rounded to the dtype, rows of the block inside the sequence.
void KernelEmitter::FlashAttentionBwd::store_outputs() {
  Value* sc = cf(sl2 / log2e);
  std::vector<Value*> acc_x(state.begin(), state.begin() + long(acc_n));
  if (wrt != "v") kit.store_rows(out_x, own_off, warp_row, valid_own, acc_x, sc, sc);
  if (wrt == "kv" || wrt == "v") {
    std::vector<Value*> acc_y(state.begin() + long(acc_n), state.end());
    kit.store_rows(out_y, own_off, warp_row, valid_own, acc_y, cf(1.0), cf(1.0));
  }
}

void KernelEmitter::emit_flash_attention_bwd(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  FlashAttentionBwd(*this, op, args).run();
}

}  // namespace tessera::backends
