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
#include "backends/llvm/flash_kit.hpp"

namespace tessera::backends {

using llvm::Value;

void KernelEmitter::emit_flash_attention_bwd(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  const int D = int(op.int_attr("head_dim")), BO = int(op.int_attr("block_own")), BS = int(op.int_attr("block_stream"));
  const int stages = int(op.int_attr("stages")), threads = 32 * (BO / 16);
  const bool causal = std::get<bool>(op.attrs.at("causal"));
  const std::string wrt = op.str_attr("wrt");
  const bool by_query = wrt == "q";  // own rows are queries (dq); else keys (dk, dv)
  const double sl2 = float_attr(op, "scale", 1.0) * 1.4426950408889634, log2e = 1.4426950408889634;
  if (lanes_ != threads)
    fail(ErrorCode::Compile,
         "kernel " + fn_.name + ": tile.flash_attention_bwd needs " + std::to_string(threads) +
             " lanes (threads), the kernel has " + std::to_string(lanes_),
         op.loc.str());
  const size_t n_out = wrt == "kv" ? 2 : 1;
  Value *out_x = args[0], *out_y = args[n_out - 1];  // dq or dk; dv (kv, v)
  Value* const* a = &args[n_out];
  Value *Q = a[0], *K = a[1], *V = a[2], *dO = a[3], *LSE = a[4], *DELTA = a[5], *q_off = a[6], *kv_off = a[7],
        *r_off = a[8], *own_rows = a[9], *own0 = a[10], *stream_len = a[11];
  const DType dt = op.operands[n_out]->type.dtype;
  const int row_bytes = D * 2, own_bytes = BO * row_bytes, tile_bytes = BS * row_bytes;
  FlashKit kit(*this, D, dt, 2 * own_bytes + 2 * stages * tile_bytes, "attn_bwd");
  auto c32 = [&](int64_t v) { return kit.c32(v); };
  auto c64 = [&](int64_t v) { return kit.c64(v); };
  auto cf = [&](double v) { return kit.cf(v); };
  llvm::Type *i32 = kit.i32, *i64 = kit.i64, *f32 = kit.f32;
  kit.vector_copies = b_.CreateAnd({kit.aligned16(Q), kit.aligned16(K), kit.aligned16(V), kit.aligned16(dO)});

  Value *A1 = by_query ? Q : K, *A2 = by_query ? dO : V, *X = by_query ? K : Q, *Y = by_query ? V : dO;
  Value* own_off = by_query ? q_off : kv_off;
  Value* stream_off = by_query ? kv_off : q_off;
  Value* valid_own = b_.CreateSelect(b_.CreateICmpSLT(own_rows, c64(BO)), own_rows, c64(BO));
  Value* warp_row = b_.CreateMul(kit.warp, c32(16));  // the warp's first own row in the block
  kit.copy_rows(c32(0), A1, own_off, BO, valid_own);
  kit.copy_rows(c32(own_bytes), A2, own_off, BO, valid_own);
  kit.commit();

  // Streamed tiles: [lo, n_tiles) in all; masks only outside [mid, n_full).
  Value *lo, *mid, *n_tiles, *n_full;
  // (wrt kv over all BO rows, as this kernel was tested and measured; the rows past the keys,
  // never stored, only widen the masked diagonal)
  kit.stream_tiles(by_query, own0, by_query ? valid_own : c64(BO), stream_len, BS, causal, lo, mid, n_tiles, n_full);
  const int ring = 2 * own_bytes;
  auto x_base_of = [&](Value* j) {
    return b_.CreateAdd(c32(ring),
                        b_.CreateMul(b_.CreateTrunc(b_.CreateURem(j, c64(stages)), i32), c32(2 * tile_bytes)));
  };
  auto load_tiles = [&](Value* j) {  // X_j and Y_j into their ring slot, rows past the sequence zero
    Value* first = b_.CreateMul(j, c64(BS));
    Value* off = b_.CreateAdd(stream_off, b_.CreateMul(first, c64(D)));
    Value* base = x_base_of(j);
    kit.copy_rows(base, X, off, BS, b_.CreateSub(stream_len, first));
    kit.copy_rows(b_.CreateAdd(base, c32(tile_bytes)), Y, off, BS, b_.CreateSub(stream_len, first));
  };
  for (int t = 0; t < stages - 1; ++t) {
    Value* j = b_.CreateAdd(lo, c64(t));
    emit_if(b_.CreateICmpSLT(j, n_tiles), [&] { load_tiles(j); });
    kit.commit();
  }

  auto row_values = [&](Value* idx, Value* ok, Value*& neg_l2, Value*& delta) {  // FlashKit::query_values
    kit.query_values(LSE, DELTA, r_off, idx, ok, neg_l2, delta);
  };
  Value *own_l2[2] = {nullptr, nullptr}, *own_delta[2] = {nullptr, nullptr};
  if (by_query)
    for (int h = 0; h < 2; ++h) {
      Value* r = b_.CreateZExt(b_.CreateAdd(warp_row, b_.CreateAdd(kit.g, c32(h * 8))), i64);
      row_values(r, b_.CreateICmpSLT(r, valid_own), own_l2[h], own_delta[h]);
    }

  const int nf_s = BS / 8, nf_o = D / 8;
  const size_t acc_n = size_t(nf_o * 4);
  std::vector<Value*> state(by_query ? acc_n : 2 * acc_n, cf(0.0));  // dq, or dk then dv
  Value* own_row0 = b_.CreateAdd(own0, b_.CreateZExt(b_.CreateAdd(warp_row, kit.g), i64));
  auto tiles = [&](Value* from, Value* to, bool masked) {
    ForLoop loop = begin_loop(from, c64(1), masked ? "attn_bwd.masked" : "attn_bwd.tile");
    std::vector<llvm::PHINode*> phis;
    for (Value* init : state) {
      llvm::PHINode* p = b_.CreatePHI(f32, 2);
      p->addIncoming(init, loop.pre);
      phis.push_back(p);
    }
    enter_loop_body(loop, to);
    Value* j = loop.iv;
    Value* x_base = x_base_of(j);
    Value* y_base = b_.CreateAdd(x_base, c32(tile_bytes));
    kit.wait(stages - 2);
    hooks_.barrier(b_);  // tile j is in; everyone is done with the slot tile j-1 used
    Value* ahead = b_.CreateAdd(j, c64(stages - 1));
    emit_if(b_.CreateICmpSLT(ahead, n_tiles), [&] { load_tiles(ahead); });
    kit.commit();

    // Column values (wrt kv: the tile's queries), loaded before the products to hide latency.
    Value* col0 = b_.CreateAdd(b_.CreateMul(j, c64(BS)), b_.CreateZExt(kit.t2, i64));
    std::vector<Value*> col_l2, col_delta;
    if (!by_query)
      for (int ni = 0; ni < nf_s; ++ni)
        for (int e = 0; e < 2; ++e) {
          Value* c = b_.CreateAdd(col0, c64(ni * 8 + e));
          Value *l2, *dl;
          row_values(c, b_.CreateICmpSLT(c, stream_len), l2, dl);
          col_l2.push_back(l2);
          col_delta.push_back(dl);
        }
    // S = A1 X^T and dP = A2 Y^T for the warp's 16 rows.
    std::vector<Value*> s(size_t(nf_s * 4), cf(0.0)), dp(size_t(nf_s * 4), cf(0.0));
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
    // P = 2^(S*sl2 - lse*log2e) (0 where masked), dS = P (dP - delta).
    for (int ni = 0; ni < nf_s; ++ni)
      for (int e = 0; e < 4; ++e) {
        size_t i = size_t(ni * 4 + e);
        int h = e >> 1;
        Value* neg_l2 = by_query ? own_l2[h] : col_l2[size_t(ni * 2 + (e & 1))];
        Value* delta = by_query ? own_delta[h] : col_delta[size_t(ni * 2 + (e & 1))];
        if (masked) {
          Value* col = b_.CreateAdd(col0, c64(ni * 8 + (e & 1)));
          Value* row = b_.CreateAdd(own_row0, c64(h * 8));
          Value* bad = b_.CreateICmpSGE(col, stream_len);
          // causal: query >= key; rows are queries (wrt q) or keys (wrt kv)
          if (causal) bad = b_.CreateOr(bad, by_query ? b_.CreateICmpSGT(col, row) : b_.CreateICmpSGT(row, col));
          s[i] = b_.CreateSelect(bad, cf(-INFINITY), s[i]);
        }
        s[i] = kit.ex2(kit.fma(s[i], cf(sl2), neg_l2));
        dp[i] = b_.CreateFMul(s[i], b_.CreateFSub(dp[i], delta));
      }
    std::vector<Value*> next(phis.begin(), phis.end());
    // dq (or dk) += dS X; dv += P Y.
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
    for (size_t i = 0; i < phis.size(); ++i) phis[i]->addIncoming(next[i], b_.GetInsertBlock());
    end_loop(loop);
    state.assign(phis.begin(), phis.end());
  };
  auto min64 = [&](Value* x, Value* y) { return b_.CreateSelect(b_.CreateICmpSLT(x, y), x, y); };
  auto max64 = [&](Value* x, Value* y) { return b_.CreateSelect(b_.CreateICmpSGT(x, y), x, y); };
  if (causal && !by_query) tiles(lo, min64(mid, n_tiles), true);  // the diagonal tiles
  tiles(mid, n_full, false);
  tiles(max64(mid, n_full), n_tiles, true);
  kit.wait(0);

  // dq or dk (times the scale) and dv, rounded to the dtype, rows of the block inside the sequence.
  Value* sc = cf(sl2 / log2e);
  std::vector<Value*> acc_x(state.begin(), state.begin() + long(acc_n));
  if (wrt != "v") kit.store_rows(out_x, own_off, warp_row, valid_own, acc_x, sc, sc);
  if (wrt == "kv" || wrt == "v") {
    std::vector<Value*> acc_y(state.begin() + long(acc_n), state.end());
    kit.store_rows(out_y, own_off, warp_row, valid_own, acc_y, cf(1.0), cf(1.0));
  }
}

}  // namespace tessera::backends
