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
//   O / row sum, rounded to o's dtype, stored under the row mask.
// K/V copies: with stages = 1 (one K and one V buffer) V_j streams in during Q K_j^T and
// K_{j+1} during P V_j, two barriers per tile; with stages >= 2 a ring of K/V buffer pairs
// keeps tiles j+1 .. j+stages-1 in flight during tile j, one barrier per tile.
// Tiles that need no mask (fully below the diagonal, fully inside s_kv) run a loop without the
// per-element compare; the rest (the diagonal, the ragged last tile) run a masked copy of it.
// Shared memory: the K/V buffers (the Q block is staged in the same bytes first); static up to
// 48 KiB, dynamic above (the kernel's `shared` attribute). Shared rows are XOR-swizzled in
// 16-byte chunks (as in emit_mma_sync.cpp).
#include <llvm/IR/IntrinsicsNVPTX.h>

#include <cmath>

#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {
namespace {

using llvm::Value;

// Physical chunk of logical 16-byte chunk `c` in shared row `row` (rows of >= 8 chunks): the
// eight rows an ldmatrix phase reads hit eight different bank groups.
Value* swizzle(llvm::IRBuilder<>& b, Value* row, Value* c) { return b.CreateXor(c, b.CreateAnd(row, b.getInt32(7))); }

}  // namespace

void KernelEmitter::emit_flash_attention(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  const int D = int(op.int_attr("head_dim")), BM = int(op.int_attr("block_m")), BN = int(op.int_attr("block_n"));
  const int warps = int(op.int_attr("warps")), threads = 32 * warps;
  const int stages = int(op.int_attr("stages", 1));
  const bool causal = std::get<bool>(op.attrs.at("causal"));
  const double scale = op.attrs.count("scale") ? (std::holds_alternative<double>(op.attrs.at("scale"))
                                                      ? std::get<double>(op.attrs.at("scale"))
                                                      : double(std::get<int64_t>(op.attrs.at("scale"))))
                                               : 1.0;
  if (lanes_ != threads)
    fail(ErrorCode::Compile, "kernel " + fn_.name + ": tile.flash_attention needs " + std::to_string(threads) +
                                 " lanes (threads), the kernel has " + std::to_string(lanes_), op.loc.str());
  const DType dt = op.operands[0]->type.dtype;
  Value *O = args[0], *o_off = args[1], *Q = args[2], *q_off = args[3], *K = args[4], *V = args[5], *kv_off = args[6],
        *rows = args[7], *m0 = args[8], *s_kv = args[9];
  llvm::Type *i8 = b_.getInt8Ty(), *i16 = b_.getInt16Ty(), *i32 = b_.getInt32Ty(), *i64 = b_.getInt64Ty();
  llvm::Type* f32 = b_.getFloatTy();
  auto c32 = [&](int64_t v) { return b_.getInt32(uint32_t(v)); };
  auto c64 = [&](int64_t v) { return b_.getInt64(uint64_t(v)); };
  auto cf = [&](double v) { return llvm::ConstantFP::get(f32, v); };
  const int row_bytes = D * 2, cpr = D / 8, tile_bytes = BN * row_bytes;

  // Static shared memory up to 48 KiB; above, the dynamic allocation the launch sizes (the
  // kernel function's `shared` attribute, set by tile_attention.cpp).
  const bool dynamic = fn_.attrs.count("shared") != 0;
  auto* smem_ty = llvm::ArrayType::get(i8, dynamic ? 0 : uint64_t(std::max(BM * row_bytes, 2 * stages * tile_bytes)));
  auto* smem = new llvm::GlobalVariable(m_, smem_ty, false,
                                        dynamic ? llvm::GlobalValue::ExternalLinkage : llvm::GlobalValue::InternalLinkage,
                                        dynamic ? nullptr : llvm::UndefValue::get(smem_ty), fn_.name + (dynamic ? "_attn_dyn" : ".attn"), nullptr,
                                        llvm::GlobalValue::NotThreadLocal, hooks_.shared_address_space());
  smem->setAlignment(llvm::Align(128));
  auto shared_at = [&](Value* byte) { return b_.CreateInBoundsGEP(i8, smem, byte); };
  auto swizzled = [&](Value* base, Value* row, Value* chunk) {  // byte address of (row, chunk)
    return b_.CreateAdd(base, b_.CreateAdd(b_.CreateMul(row, c32(row_bytes)), b_.CreateMul(swizzle(b_, row, chunk), c32(16))));
  };

  Value* tid = b_.CreateTrunc(tid_, i32);
  Value* lane = b_.CreateAnd(tid, c32(31));
  Value* warp = b_.CreateLShr(tid, c32(5));
  auto aligned16 = [&](Value* p) { return b_.CreateICmpEQ(b_.CreateAnd(b_.CreatePtrToInt(p, i64), c64(15)), c64(0)); };
  // 16-byte copies need 16-byte aligned rows: true for fresh buffers; views may be offset.
  Value* vector_copies = b_.CreateAnd({aligned16(Q), aligned16(K), aligned16(V)});

  // Copies `n_rows` rows of D elements from buf[off + r*D] (rows r >= valid are zeros) into
  // shared memory at byte `base`, each thread whole 16-byte chunks.
  auto copy_rows = [&](Value* base, Value* buf, Value* off, int n_rows, Value* valid) {
    llvm::BasicBlock* vec_bb = llvm::BasicBlock::Create(ctx_, "attn.copy.vec", f_);
    llvm::BasicBlock* elem_bb = llvm::BasicBlock::Create(ctx_, "attn.copy.elem", f_);
    llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "attn.copy.done", f_);
    b_.CreateCondBr(vector_copies, vec_bb, elem_bb);
    for (bool vector : {true, false}) {
      b_.SetInsertPoint(vector ? vec_bb : elem_bb);
      for (int i = 0; i < n_rows * cpr / threads; ++i) {
        Value* ci = b_.CreateAdd(tid, c32(i * threads));
        Value* row = b_.CreateUDiv(ci, c32(cpr));
        Value* c = b_.CreateURem(ci, c32(cpr));
        Value* dst = shared_at(swizzled(base, row, c));
        Value* in = b_.CreateICmpSLT(b_.CreateZExt(row, i64), valid);
        Value* src_off = b_.CreateAdd(off, b_.CreateZExt(b_.CreateAdd(b_.CreateMul(row, c32(D)), b_.CreateMul(c, c32(8))), i64));
        if (vector) {
          Value* src = hooks_.element_pointer(b_, buf, i16, b_.CreateSelect(in, src_off, off));
          b_.CreateIntrinsic(llvm::Intrinsic::nvvm_cp_async_cg_shared_global_16_s, {},
                             {dst, src, b_.CreateSelect(in, c32(16), c32(0))});
          continue;
        }
        Value* v = llvm::PoisonValue::get(llvm::FixedVectorType::get(i16, 8));
        for (int e = 0; e < 8; ++e) {
          Value* src = hooks_.element_pointer(b_, buf, i16, b_.CreateSelect(in, b_.CreateAdd(src_off, c64(e)), off));
          v = b_.CreateInsertElement(v, b_.CreateSelect(in, b_.CreateLoad(i16, src), b_.getInt16(0)), uint64_t(e));
        }
        b_.CreateAlignedStore(v, dst, llvm::Align(16));
      }
      b_.CreateBr(done);
    }
    b_.SetInsertPoint(done);
  };
  auto commit = [&] { b_.CreateIntrinsic(llvm::Intrinsic::nvvm_cp_async_commit_group, llvm::ArrayRef<llvm::Type*>(), llvm::ArrayRef<Value*>()); };
  auto wait_all = [&] { b_.CreateIntrinsic(llvm::Intrinsic::nvvm_cp_async_wait_group, {}, {c32(0)}); };
  llvm::Type* pair = dt == DType::BF16 ? static_cast<llvm::Type*>(i32) : llvm::FixedVectorType::get(b_.getHalfTy(), 2);
  auto as_operand = [&](Value* r) { return dt == DType::BF16 ? r : b_.CreateBitCast(r, pair); };
  auto ldmatrix = [&](bool trans, Value* byte, std::vector<Value*>& out) {
    auto id = trans ? llvm::Intrinsic::nvvm_ldmatrix_sync_aligned_m8n8_x4_trans_b16
                    : llvm::Intrinsic::nvvm_ldmatrix_sync_aligned_m8n8_x4_b16;
    Value* ptr = shared_at(byte);
    Value* r = b_.CreateIntrinsic(id, {ptr->getType()}, {ptr});
    for (unsigned i = 0; i < 4; ++i) out.push_back(as_operand(b_.CreateExtractValue(r, i)));
  };
  auto mma_id = dt == DType::BF16 ? llvm::Intrinsic::nvvm_mma_m16n8k16_row_col_bf16
                                  : llvm::Intrinsic::nvvm_mma_m16n8k16_row_col_f32_f32;
  auto mma = [&](Value* const* a, Value* b0, Value* b1, Value** d) {
    Value* r = b_.CreateIntrinsic(mma_id, {}, {a[0], a[1], a[2], a[3], b0, b1, d[0], d[1], d[2], d[3]});
    for (unsigned i = 0; i < 4; ++i) d[i] = b_.CreateExtractValue(r, i);
  };
  auto ex2 = [&](Value* x) {
    auto id = llvm::Intrinsic::nvvm_ex2_approx_ftz;
    return llvm::Intrinsic::isOverloaded(id) ? b_.CreateIntrinsic(id, {f32}, {x}) : b_.CreateIntrinsic(id, {}, {x});
  };
  auto fmax = [&](Value* a, Value* c) { return b_.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, a, c); };
  auto quad = [&](Value* v, bool is_max) {  // combine the 4 lanes that share a row
    for (int dist : {1, 2}) {
      Value* o = b_.CreateBitCast(hooks_.shuffle_xor(b_, b_.CreateBitCast(v, i32), dist, 32), f32);
      v = is_max ? fmax(v, o) : b_.CreateFAdd(v, o);
    }
    return v;
  };
  // Two f32 values as one register of two 16-bit values (the first in the low half).
  auto pack = [&](Value* lo, Value* hi) {
    llvm::Type* h = dt == DType::BF16 ? b_.getBFloatTy() : b_.getHalfTy();
    auto* v2 = llvm::FixedVectorType::get(h, 2);
    Value* v = b_.CreateInsertElement(b_.CreateInsertElement(llvm::PoisonValue::get(v2), b_.CreateFPTrunc(lo, h), uint64_t(0)),
                                      b_.CreateFPTrunc(hi, h), uint64_t(1));
    return dt == DType::BF16 ? b_.CreateBitCast(v, i32) : v;
  };

  Value* g = b_.CreateLShr(lane, c32(2));           // the fragment row of this lane (and g + 8)
  Value* t2 = b_.CreateMul(b_.CreateAnd(lane, c32(3)), c32(2));  // its first fragment column
  Value* lane_row = b_.CreateAnd(lane, c32(15));
  Value* lane_hi = b_.CreateLShr(lane, c32(4));

  // Q block -> shared -> this warp's A fragments (D/16 k-steps of 4 registers).
  copy_rows(c32(0), Q, q_off, BM, rows);
  commit();
  wait_all();
  hooks_.barrier(b_);
  std::vector<Value*> qa;
  for (int kk = 0; kk < D / 16; ++kk)
    ldmatrix(false, swizzled(c32(0), b_.CreateAdd(b_.CreateMul(warp, c32(16)), lane_row), b_.CreateAdd(c32(kk * 2), lane_hi)), qa);
  hooks_.barrier(b_);  // the K and V tiles reuse these bytes

  // Key tiles: n_tiles in all; the first n_full need no mask.
  Value* valid_rows = b_.CreateSelect(b_.CreateICmpSLT(rows, c64(BM)), rows, c64(BM));
  Value* n_tiles = b_.CreateSDiv(b_.CreateAdd(s_kv, c64(BN - 1)), c64(BN));
  Value* n_full = b_.CreateSDiv(s_kv, c64(BN));
  if (causal) {
    Value* last_row = b_.CreateSub(b_.CreateAdd(m0, valid_rows), c64(1));
    Value* seen = b_.CreateAdd(b_.CreateSDiv(last_row, c64(BN)), c64(1));
    n_tiles = b_.CreateSelect(b_.CreateICmpSLT(seen, n_tiles), seen, n_tiles);
    Value* below = b_.CreateSDiv(b_.CreateAdd(m0, c64(1)), c64(BN));
    n_full = b_.CreateSelect(b_.CreateICmpSLT(below, n_full), below, n_full);
  }
  // Stage s of the K/V buffers: K at byte 2*s*tile_bytes, V right after it. With one stage,
  // K_{j+1} streams in during P V_j and V_j during S = Q K_j^T (two barriers per tile); with
  // more, tiles j+1 .. j+stages-1 stream in during tile j (one barrier per tile).
  auto k_base_of = [&](Value* j) {
    if (stages == 1) return static_cast<Value*>(c32(0));
    return b_.CreateMul(b_.CreateTrunc(b_.CreateURem(j, c64(stages)), i32), c32(2 * tile_bytes));
  };
  auto load_tile = [&](Value* base, Value* buf, Value* j) {
    Value* first = b_.CreateMul(j, c64(BN));
    copy_rows(base, buf, b_.CreateAdd(kv_off, b_.CreateMul(first, c64(D))), BN, b_.CreateSub(s_kv, first));
  };
  // Prologue: K_0 (one stage), or K and V of tiles 0 .. stages-2, one cp.async group each.
  for (int t = 0; t < std::max(stages - 1, 1); ++t) {
    emit_if(b_.CreateICmpSGT(n_tiles, c64(t)), [&] {
      load_tile(c32(2 * t * tile_bytes), K, c64(t));
      if (stages > 1) load_tile(c32((2 * t + 1) * tile_bytes), V, c64(t));
    });
    commit();
  }

  const double sl2 = scale * 1.4426950408889634;  // scores in the log2 domain: 2^(s*sl2 - m) = e^(scale*(s - max))
  const int nf_s = BN / 8, nf_o = D / 8;
  // Loop state: O accumulators, then per row half (g, g+8) the running max m and sum l.
  std::vector<Value*> state(size_t(nf_o * 4), cf(0.0));
  for (int h = 0; h < 2; ++h) state.push_back(cf(-INFINITY));
  for (int h = 0; h < 2; ++h) state.push_back(cf(0.0));
  const size_t m_at = size_t(nf_o * 4), l_at = m_at + 2;

  Value* row_base = b_.CreateAdd(m0, b_.CreateZExt(b_.CreateAdd(b_.CreateMul(warp, c32(16)), g), i64));
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
    b_.CreateIntrinsic(llvm::Intrinsic::nvvm_cp_async_wait_group, {}, {c32(std::max(stages - 2, 0))});
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
    commit();

    // S = Q K_j^T for this warp's 16 rows: nf_s fragments of 16 x 8.
    std::vector<Value*> s(size_t(nf_s * 4), cf(0.0));
    for (int kk = 0; kk < D / 16; ++kk) {
      std::vector<Value*> kb;
      for (int nj = 0; nj < BN / 16; ++nj) {
        Value* n = b_.CreateAdd(c32(nj * 16), b_.CreateAdd(b_.CreateMul(lane_hi, c32(8)), b_.CreateAnd(lane, c32(7))));
        Value* chunk = b_.CreateAdd(c32(kk * 2), b_.CreateAnd(b_.CreateLShr(lane, c32(3)), c32(1)));
        ldmatrix(false, swizzled(k_base, n, chunk), kb);
      }
      for (int ni = 0; ni < nf_s; ++ni) mma(&qa[size_t(kk * 4)], kb[size_t(ni * 2)], kb[size_t(ni * 2 + 1)], &s[size_t(ni * 4)]);
    }
    if (masked) {  // columns past s_kv, and (causal) right of the diagonal, are -inf
      Value* col0 = b_.CreateAdd(b_.CreateMul(j, c64(BN)), b_.CreateZExt(t2, i64));
      for (int ni = 0; ni < nf_s; ++ni)
        for (int e = 0; e < 4; ++e) {
          Value* col = b_.CreateAdd(col0, c64(ni * 8 + (e & 1)));
          Value* bad = b_.CreateICmpSGE(col, s_kv);
          if (causal) bad = b_.CreateOr(bad, b_.CreateICmpSGT(col, b_.CreateAdd(row_base, c64((e >> 1) * 8))));
          Value*& x = s[size_t(ni * 4 + e)];
          x = b_.CreateSelect(bad, cf(-INFINITY), x);
        }
    }
    // Online softmax, per row half h (values e = 2h, 2h+1 of each fragment).
    std::vector<Value*> next(phis.begin(), phis.end());
    for (int h = 0; h < 2; ++h) {
      Value* mx = s[size_t(2 * h)];
      for (int ni = 0; ni < nf_s; ++ni)
        for (int e = 0; e < 2; ++e)
          if (ni || e) mx = fmax(mx, s[size_t(ni * 4 + 2 * h + e)]);
      Value* m_old = phis[m_at + size_t(h)];
      Value* m_new = fmax(m_old, b_.CreateFMul(quad(mx, true), cf(sl2)));
      // A row with no key yet keeps m = -inf: shift by 0 instead (its p are all 0).
      Value* m_use = b_.CreateSelect(b_.CreateFCmpOEQ(m_new, cf(-INFINITY)), cf(0.0), m_new);
      Value* alpha = ex2(b_.CreateFSub(m_old, m_use));
      Value* neg_m = b_.CreateFNeg(m_use);
      Value* sum = nullptr;
      for (int ni = 0; ni < nf_s; ++ni)
        for (int e = 0; e < 2; ++e) {
          Value*& x = s[size_t(ni * 4 + 2 * h + e)];
          x = ex2(b_.CreateIntrinsic(llvm::Intrinsic::fma, {f32}, {x, cf(sl2), neg_m}));
          sum = sum ? b_.CreateFAdd(sum, x) : x;
        }
      next[m_at + size_t(h)] = m_new;
      next[l_at + size_t(h)] = b_.CreateFAdd(b_.CreateFMul(phis[l_at + size_t(h)], alpha), sum);
      for (int nf = 0; nf < nf_o; ++nf)
        for (int e = 0; e < 2; ++e) {
          size_t i = size_t(nf * 4 + 2 * h + e);
          next[i] = b_.CreateFMul(phis[i], alpha);
        }
    }
    // P as A fragments: k-step kk covers S fragments 2kk (a0, a1) and 2kk+1 (a2, a3).
    std::vector<Value*> pa;
    for (int kk = 0; kk < BN / 16; ++kk) {
      Value* const* lo_f = &s[size_t(kk * 8)];
      Value* const* hi_f = &s[size_t(kk * 8 + 4)];
      pa.push_back(pack(lo_f[0], lo_f[1]));
      pa.push_back(pack(lo_f[2], lo_f[3]));
      pa.push_back(pack(hi_f[0], hi_f[1]));
      pa.push_back(pack(hi_f[2], hi_f[3]));
    }
    if (stages == 1) {
      wait_all();
      hooks_.barrier(b_);  // V_j is in; everyone is done with K_j
      emit_if(b_.CreateICmpSLT(j1, n_tiles), [&] { load_tile(k_base, K, j1); });
      commit();
    }
    // O += P V_j.
    for (int kk = 0; kk < BN / 16; ++kk) {
      std::vector<Value*> vb;
      for (int nd = 0; nd < D / 16; ++nd)
        ldmatrix(true, swizzled(v_base, b_.CreateAdd(c32(kk * 16), lane_row), b_.CreateAdd(c32(nd * 2), lane_hi)), vb);
      for (int nf = 0; nf < nf_o; ++nf) mma(&pa[size_t(kk * 4)], vb[size_t(nf * 2)], vb[size_t(nf * 2 + 1)], &next[size_t(nf * 4)]);
    }
    for (size_t i = 0; i < phis.size(); ++i) phis[i]->addIncoming(next[i], b_.GetInsertBlock());
    end_loop(loop);
    state.assign(phis.begin(), phis.end());
  };
  tiles(c64(0), n_full, false);
  tiles(n_full, n_tiles, true);
  wait_all();

  // O / l (0 for a row without keys), rounded to o's dtype, two columns per 32-bit store
  // (o is a fresh, aligned buffer).
  llvm::Type* et = memory_type(ctx_, dt);
  auto* et2 = llvm::FixedVectorType::get(et, 2);
  for (int h = 0; h < 2; ++h) {
    Value* l = quad(state[l_at + size_t(h)], false);
    Value* inv = b_.CreateSelect(b_.CreateFCmpOGT(l, cf(0.0)), b_.CreateFDiv(cf(1.0), l), cf(0.0));
    Value* r = b_.CreateAdd(b_.CreateZExt(b_.CreateAdd(b_.CreateMul(warp, c32(16)), g), i64), c64(h * 8));
    emit_if(b_.CreateICmpSLT(r, valid_rows), [&] {
      Value* base = b_.CreateAdd(o_off, b_.CreateAdd(b_.CreateMul(r, c64(D)), b_.CreateZExt(t2, i64)));
      for (int nf = 0; nf < nf_o; ++nf) {
        Value* v0 = convert(b_.CreateFMul(state[size_t(nf * 4 + 2 * h)], inv), DType::F32, dt);
        Value* v1 = convert(b_.CreateFMul(state[size_t(nf * 4 + 2 * h + 1)], inv), DType::F32, dt);
        Value* v = b_.CreateInsertElement(b_.CreateInsertElement(llvm::PoisonValue::get(et2), v0, uint64_t(0)), v1, uint64_t(1));
        Value* ptr = hooks_.element_pointer(b_, O, et, b_.CreateAdd(base, c64(nf * 8)));
        b_.CreateAlignedStore(v, ptr, llvm::Align(4));
      }
    });
  }
}

}  // namespace tessera::backends
