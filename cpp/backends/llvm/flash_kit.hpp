// Building blocks of the flash-attention kernels (emit_flash_attention.cpp: the forward,
// emit_flash_attention_bwd.cpp: dq and dk/dv) on NVIDIA tensor cores, mma.sync m16n8k16 with
// 16-bit inputs and f32 accumulators (sm_80+). The Hopper forward
// (emit_flash_attention_wgmma.cpp) shares the softmax, the masks and the P fragments: a
// wgmma accumulator tile holds, per warp, the same values as consecutive m16n8 C fragments.
//
// Fragment layout of m16n8k16 (g = lane / 4, t2 = 2 * (lane % 4)): the A fragment of a 16 x 16
// tile is rows g and g+8 at columns t2, t2+1 and t2+8, t2+9; the C fragment of a 16 x 8 tile
// rows g and g+8 at columns t2, t2+1 (values 2h, 2h+1 are row g + 8h). So two C fragments of
// S, rounded pairwise to 16 bits, are exactly the A fragment of that 16 x 16 slice: softmax
// probabilities and their gradients feed the next product without leaving registers.
//
// Shared memory holds 16-bit tiles of D-element rows, 16-byte chunks XOR-swizzled per row so
// that the eight rows an ldmatrix phase reads hit eight different bank groups.
#pragma once
#include <llvm/IR/IntrinsicsNVPTX.h>

#include <cmath>

#include "backends/llvm/kernels/cp_async.hpp"
#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {

inline double float_attr(const ir::Op& op, const char* key, double dflt) {
  auto it = op.attrs.find(key);
  if (it == op.attrs.end()) return dflt;
  return std::holds_alternative<double>(it->second) ? std::get<double>(it->second)
                                                    : double(std::get<int64_t>(it->second));
}

struct KernelEmitter::FlashKit {
  KernelEmitter& e;
  llvm::IRBuilder<>& b;
  const int D, threads, row_bytes, cpr;  // head dim, threads of the block, bytes and 16-byte chunks per row
  const DType dt;                        // bf16 or f16
  llvm::Type *i16, *i32, *i64, *f32, *pair;
  llvm::GlobalVariable* smem = nullptr;
  llvm::Value *tid, *lane, *warp, *g, *t2, *lane_row, *lane_hi;
  llvm::Value* vector_copies = nullptr;  // 16-byte copies allowed (set by the kernel)

  // `bytes` of shared memory: static up to 48 KiB, else the launch's dynamic allocation (the
  // kernel function's `shared` attribute, set by tilegen/attention.cpp); none when 0.
  FlashKit(KernelEmitter& em, int head_dim, DType dtype, int64_t bytes, const std::string& tag)
      : e(em), b(em.b_), D(head_dim), threads(int(em.lanes_)), row_bytes(head_dim * 2), cpr(head_dim / 8), dt(dtype) {
    i16 = b.getInt16Ty(), i32 = b.getInt32Ty(), i64 = b.getInt64Ty(), f32 = b.getFloatTy();
    pair = dt == DType::BF16 ? static_cast<llvm::Type*>(i32) : llvm::FixedVectorType::get(b.getHalfTy(), 2);
    const bool dynamic = e.fn_.attrs.count("shared") != 0;
    auto* ty = llvm::ArrayType::get(b.getInt8Ty(), dynamic ? 0 : uint64_t(bytes));
    if (bytes > 0) {
      smem = new llvm::GlobalVariable(
          e.m_, ty, false, dynamic ? llvm::GlobalValue::ExternalLinkage : llvm::GlobalValue::InternalLinkage,
          dynamic ? nullptr : llvm::UndefValue::get(ty), e.fn_.name + (dynamic ? "_" + tag + "_dyn" : "." + tag),
          nullptr, llvm::GlobalValue::NotThreadLocal, e.hooks_.shared_address_space());
      smem->setAlignment(llvm::Align(128));
    }
    tid = b.CreateTrunc(e.tid_, i32);
    lane = b.CreateAnd(tid, c32(31));
    warp = b.CreateLShr(tid, c32(5));
    g = b.CreateLShr(lane, c32(2));
    t2 = b.CreateMul(b.CreateAnd(lane, c32(3)), c32(2));
    lane_row = b.CreateAnd(lane, c32(15));
    lane_hi = b.CreateLShr(lane, c32(4));
  }

  llvm::Value* c32(int64_t v) { return b.getInt32(uint32_t(v)); }
  llvm::Value* c64(int64_t v) { return b.getInt64(uint64_t(v)); }
  llvm::Value* cf(double v) { return llvm::ConstantFP::get(f32, v); }
  llvm::Value* shared_at(llvm::Value* byte) { return b.CreateInBoundsGEP(b.getInt8Ty(), smem, byte); }
  // Byte address of (row, logical 16-byte chunk) in the tile at byte `base`.
  llvm::Value* swizzled(llvm::Value* base, llvm::Value* row, llvm::Value* chunk) {
    llvm::Value* phys = b.CreateXor(chunk, b.CreateAnd(row, c32(7)));
    return b.CreateAdd(base, b.CreateAdd(b.CreateMul(row, c32(row_bytes)), b.CreateMul(phys, c32(16))));
  }
  llvm::Value* aligned16(llvm::Value* p) {
    return b.CreateICmpEQ(b.CreateAnd(b.CreatePtrToInt(p, i64), c64(15)), c64(0));
  }
  // Copies n_rows rows of D elements from buf[off + r*D] (rows r >= valid are zeros) to the tile
  // at shared byte `base`: cp.async 16-byte chunks, or element by element for unaligned views.
  void copy_rows(llvm::Value* base, llvm::Value* buf, llvm::Value* off, int n_rows, llvm::Value* valid);
  void commit() { cp_async::commit(b); }
  void wait(int pending) { cp_async::wait(b, pending); }
  void ldmatrix(bool trans, llvm::Value* byte, std::vector<llvm::Value*>& out);
  // A fragments (4 registers per 16-deep k step, D/16 steps) of rows row0 .. row0+15 of a tile;
  // a_fragment appends those of k step kk only.
  std::vector<llvm::Value*> a_fragments(llvm::Value* base, llvm::Value* row0);
  void a_fragment(llvm::Value* base, llvm::Value* row0, int kk, std::vector<llvm::Value*>& out) {
    ldmatrix(false, swizzled(base, b.CreateAdd(row0, lane_row), b.CreateAdd(c32(kk * 2), lane_hi)), out);
  }
  // Tiles of BN keys that query rows m0 .. m0+valid_rows-1 see: n_tiles in all, the first n_full
  // without any masked element (inside s_kv and, when causal, left of every row's diagonal).
  void key_tiles(llvm::Value* m0, llvm::Value* valid_rows, llvm::Value* s_kv, int BN, bool causal,
                 llvm::Value*& n_tiles, llvm::Value*& n_full);
  // The backward's streamed tiles of BS rows for a block of own rows own0 .. own0+valid_own-1:
  // keys (by_query: key_tiles) or queries of a block of keys. [lo, n_tiles) in all, masks only
  // outside [mid, n_full) (causal, keys: queries below own0 see none of the block's keys, from
  // its last valid key on all of them).
  void stream_tiles(bool by_query, llvm::Value* own0, llvm::Value* valid_own, llvm::Value* stream_len, int BS,
                    bool causal, llvm::Value*& lo, llvm::Value*& mid, llvm::Value*& n_tiles, llvm::Value*& n_full);
  // B fragments for X @ T^T with T the tile at `base` (its rows are the n columns): k step kk
  // of n_rows rows, two registers per 8 columns.
  std::vector<llvm::Value*> rows_as_b(llvm::Value* base, int kk, int n_rows);
  // B fragments for X @ T (T's rows are the k dim): rows kk*16 .. kk*16+15, all D columns.
  std::vector<llvm::Value*> cols_as_b(llvm::Value* base, int kk);
  // d += a @ (b0, b1) on one 16 x 8 C fragment.
  void mma(llvm::Value* const* a, llvm::Value* b0, llvm::Value* b1, llvm::Value** d);
  // C fragments (n_frag of 4 values) rounded pairwise into the A fragments of X @ ... .
  std::vector<llvm::Value*> c_as_a(const std::vector<llvm::Value*>& c);
  llvm::Value* ex2(llvm::Value* x);
  llvm::Value* fmax(llvm::Value* a, llvm::Value* c) { return b.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, a, c); }
  // Combines the 4 lanes that share a fragment row (max or sum).
  llvm::Value* quad(llvm::Value* v, bool is_max);
  // Scores s (C fragments of 4 values: value e of fragment ni is row row0 + 8(e / 2), column
  // col0 + 8 ni + e % 2) become -inf at columns >= s_kv and, when causal, right of the row's
  // diagonal (column > row; with rows_are_keys, the transposed scores of the backward: row > column).
  void mask_scores(std::vector<llvm::Value*>& s, llvm::Value* col0, llvm::Value* row0, llvm::Value* s_kv, bool causal,
                   bool rows_are_keys = false);
  // One key tile of the online softmax in the log2 domain, per row half h (values 2h, 2h+1 of
  // each fragment of s): m[h], the running max of s * sl2 over the row, and l[h], this
  // thread's part of the running sum of 2^(s * sl2 - m), move on to this tile; s becomes
  // p = 2^(s * sl2 - m); alpha[h] = 2^(m_old - m_new) is the factor for what was summed before,
  // applied here to the first D/2 values of `acc` (the output accumulators) unless it is null.
  void online_softmax(std::vector<llvm::Value*>& s, double sl2, llvm::Value* m[2], llvm::Value* l[2],
                      llvm::Value* alpha[2], std::vector<llvm::Value*>* acc);
  // The end of a row: l, the row's sum (this thread's part), is combined over the quad; returns
  // 1 / l (0 for a row without keys). With an lse buffer, lane t = 0 also stores the row's
  // log-normaliser (m + log2 l) ln 2 at lse[lse_off + r] when r (the row in the block, i64) <
  // valid_rows.
  llvm::Value* finish_row(llvm::Value* m, llvm::Value* l, llvm::Value* r, llvm::Value* valid_rows, llvm::Value* lse,
                          llvm::Value* lse_off);
  // The backward's values of query q (i64) from the forward's lse and delta (f32, at off + q):
  // -lse log2 e (so that P = 2^(S * scale log2 e - lse log2 e)) and delta; -inf and 0 where
  // !ok (queries past the sequence), which make P = 0 there.
  void query_values(llvm::Value* lse, llvm::Value* delta_buf, llvm::Value* off, llvm::Value* q, llvm::Value* ok,
                    llvm::Value*& neg_l2, llvm::Value*& delta);
  llvm::Value* fma(llvm::Value* x, llvm::Value* y, llvm::Value* z) {
    return b.CreateIntrinsic(llvm::Intrinsic::fma, {f32}, {x, y, z});
  }
  // Stores a 16 x D f32 accumulator (nf_o fragments) times `mul`, rounded to dt, to
  // out[off + r*D + c] for the warp's rows r = row0 + g (+8) below `valid`.
  void store_rows(llvm::Value* out, llvm::Value* off, llvm::Value* row0, llvm::Value* valid,
                  const std::vector<llvm::Value*>& acc, llvm::Value* mul0, llvm::Value* mul1);
};

}  // namespace tessera::backends
