// The flash-attention kernels' building blocks (flash_kit.hpp).
#include "backends/llvm/flash_kit.hpp"
#include "backends/llvm/kernels/cp_async.hpp"

namespace tessera::backends {

using llvm::Value;
using Kit = KernelEmitter::FlashKit;

void Kit::copy_rows(Value* base, Value* buf, Value* off, int n_rows, Value* valid) {
  llvm::Function* f = e.f_;
  llvm::BasicBlock* vec_bb = llvm::BasicBlock::Create(e.ctx_, "attn.copy.vec", f);
  llvm::BasicBlock* elem_bb = llvm::BasicBlock::Create(e.ctx_, "attn.copy.elem", f);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(e.ctx_, "attn.copy.done", f);
  b.CreateCondBr(vector_copies, vec_bb, elem_bb);
  for (bool vector : {true, false}) {
    b.SetInsertPoint(vector ? vec_bb : elem_bb);
    for (int i = 0; i < n_rows * cpr / threads; ++i) {
      Value* ci = b.CreateAdd(tid, c32(i * threads));
      Value* row = b.CreateUDiv(ci, c32(cpr));
      Value* c = b.CreateURem(ci, c32(cpr));
      Value* dst = shared_at(swizzled(base, row, c));
      Value* in = b.CreateICmpSLT(b.CreateZExt(row, i64), valid);
      Value* src_off =
          b.CreateAdd(off, b.CreateZExt(b.CreateAdd(b.CreateMul(row, c32(D)), b.CreateMul(c, c32(8))), i64));
      if (vector) {
        Value* src = e.hooks_.element_pointer(b, buf, i16, b.CreateSelect(in, src_off, off));
        cp_async::copy(b, 16, dst, src, in);
        continue;
      }
      Value* v = llvm::PoisonValue::get(llvm::FixedVectorType::get(i16, 8));
      for (int k = 0; k < 8; ++k) {
        Value* src = e.hooks_.element_pointer(b, buf, i16, b.CreateSelect(in, b.CreateAdd(src_off, c64(k)), off));
        v = b.CreateInsertElement(v, b.CreateSelect(in, b.CreateLoad(i16, src), b.getInt16(0)), uint64_t(k));
      }
      b.CreateAlignedStore(v, dst, llvm::Align(16));
    }
    b.CreateBr(done);
  }
  b.SetInsertPoint(done);
}

void Kit::ldmatrix(bool trans, Value* byte, std::vector<Value*>& out) {
  auto id = trans ? llvm::Intrinsic::nvvm_ldmatrix_sync_aligned_m8n8_x4_trans_b16
                  : llvm::Intrinsic::nvvm_ldmatrix_sync_aligned_m8n8_x4_b16;
  Value* ptr = shared_at(byte);
  Value* r = b.CreateIntrinsic(id, {ptr->getType()}, {ptr});
  for (unsigned i = 0; i < 4; ++i) {
    Value* x = b.CreateExtractValue(r, i);
    out.push_back(dt == DType::BF16 ? x : b.CreateBitCast(x, pair));
  }
}

std::vector<Value*> Kit::a_fragments(Value* base, Value* row0) {
  std::vector<Value*> out;
  for (int kk = 0; kk < D / 16; ++kk) a_fragment(base, row0, kk, out);
  return out;
}

void Kit::key_tiles(Value* m0, Value* valid_rows, Value* s_kv, int BN, bool causal, Value*& n_tiles, Value*& n_full) {
  n_tiles = b.CreateSDiv(b.CreateAdd(s_kv, c64(BN - 1)), c64(BN));
  n_full = b.CreateSDiv(s_kv, c64(BN));
  if (!causal) return;
  Value* last_row = b.CreateSub(b.CreateAdd(m0, valid_rows), c64(1));
  Value* seen = b.CreateAdd(b.CreateSDiv(last_row, c64(BN)), c64(1));
  n_tiles = b.CreateSelect(b.CreateICmpSLT(seen, n_tiles), seen, n_tiles);
  Value* below = b.CreateSDiv(b.CreateAdd(m0, c64(1)), c64(BN));
  n_full = b.CreateSelect(b.CreateICmpSLT(below, n_full), below, n_full);
}

void Kit::stream_tiles(bool by_query, Value* own0, Value* valid_own, Value* stream_len, int BS, bool causal, Value*& lo,
                       Value*& mid, Value*& n_tiles, Value*& n_full) {
  lo = mid = c64(0);
  if (by_query) return key_tiles(own0, valid_own, stream_len, BS, causal, n_tiles, n_full);
  n_tiles = b.CreateSDiv(b.CreateAdd(stream_len, c64(BS - 1)), c64(BS));
  n_full = b.CreateSDiv(stream_len, c64(BS));
  if (!causal) return;
  lo = b.CreateSDiv(own0, c64(BS));
  mid = b.CreateSDiv(b.CreateAdd(own0, b.CreateAdd(valid_own, c64(BS - 2))), c64(BS));
}

std::vector<Value*> Kit::rows_as_b(Value* base, int kk, int n_rows) {
  std::vector<Value*> out;
  for (int nj = 0; nj < n_rows / 16; ++nj) {
    Value* n = b.CreateAdd(c32(nj * 16), b.CreateAdd(b.CreateMul(lane_hi, c32(8)), b.CreateAnd(lane, c32(7))));
    Value* chunk = b.CreateAdd(c32(kk * 2), b.CreateAnd(b.CreateLShr(lane, c32(3)), c32(1)));
    ldmatrix(false, swizzled(base, n, chunk), out);
  }
  return out;
}

std::vector<Value*> Kit::cols_as_b(Value* base, int kk) {
  std::vector<Value*> out;
  for (int nd = 0; nd < D / 16; ++nd)
    ldmatrix(true, swizzled(base, b.CreateAdd(c32(kk * 16), lane_row), b.CreateAdd(c32(nd * 2), lane_hi)), out);
  return out;
}

void Kit::mma(Value* const* a, Value* b0, Value* b1, Value** d) {
  auto id = dt == DType::BF16 ? llvm::Intrinsic::nvvm_mma_m16n8k16_row_col_bf16
                              : llvm::Intrinsic::nvvm_mma_m16n8k16_row_col_f32_f32;
  Value* r = b.CreateIntrinsic(id, {}, {a[0], a[1], a[2], a[3], b0, b1, d[0], d[1], d[2], d[3]});
  for (unsigned i = 0; i < 4; ++i) d[i] = b.CreateExtractValue(r, i);
}

std::vector<Value*> Kit::c_as_a(const std::vector<Value*>& c) {
  llvm::Type* h = dt == DType::BF16 ? b.getBFloatTy() : b.getHalfTy();
  auto* v2 = llvm::FixedVectorType::get(h, 2);
  auto pack = [&](Value* lo, Value* hi) {  // the first value in the low half
    Value* v =
        b.CreateInsertElement(b.CreateInsertElement(llvm::PoisonValue::get(v2), b.CreateFPTrunc(lo, h), uint64_t(0)),
                              b.CreateFPTrunc(hi, h), uint64_t(1));
    return dt == DType::BF16 ? b.CreateBitCast(v, i32) : v;
  };
  // k step kk covers C fragments 2kk (a0, a1) and 2kk+1 (a2, a3).
  std::vector<Value*> a;
  for (size_t kk = 0; kk < c.size() / 8; ++kk) {
    Value* const* lo = &c[kk * 8];
    Value* const* hi = &c[kk * 8 + 4];
    a.push_back(pack(lo[0], lo[1]));
    a.push_back(pack(lo[2], lo[3]));
    a.push_back(pack(hi[0], hi[1]));
    a.push_back(pack(hi[2], hi[3]));
  }
  return a;
}

Value* Kit::ex2(Value* x) {
  auto id = llvm::Intrinsic::nvvm_ex2_approx_ftz;
  return llvm::Intrinsic::isOverloaded(id) ? b.CreateIntrinsic(id, {f32}, {x}) : b.CreateIntrinsic(id, {}, {x});
}

Value* Kit::quad(Value* v, bool is_max) {
  for (int dist : {1, 2}) {
    Value* o = b.CreateBitCast(e.hooks_.shuffle_xor(b, b.CreateBitCast(v, i32), dist, 32), f32);
    v = is_max ? fmax(v, o) : b.CreateFAdd(v, o);
  }
  return v;
}

void Kit::query_values(Value* lse, Value* delta_buf, Value* off, Value* q, Value* ok, Value*& neg_l2, Value*& delta) {
  Value* at = b.CreateAdd(off, b.CreateSelect(ok, q, c64(0)));
  Value* l = b.CreateLoad(f32, e.hooks_.element_pointer(b, lse, f32, at));
  Value* d = b.CreateLoad(f32, e.hooks_.element_pointer(b, delta_buf, f32, at));
  neg_l2 = b.CreateSelect(ok, b.CreateFMul(l, cf(-1.4426950408889634)), cf(-INFINITY));
  delta = b.CreateSelect(ok, d, cf(0.0));
}

void Kit::mask_scores(std::vector<Value*>& s, Value* col0, Value* row0, Value* s_kv, bool causal, bool rows_are_keys) {
  for (size_t ni = 0; ni < s.size() / 4; ++ni)
    for (int e = 0; e < 4; ++e) {
      Value* col = b.CreateAdd(col0, c64(int64_t(ni) * 8 + (e & 1)));
      Value* bad = b.CreateICmpSGE(col, s_kv);
      if (causal) {
        Value* row = b.CreateAdd(row0, c64((e >> 1) * 8));
        bad = b.CreateOr(bad, rows_are_keys ? b.CreateICmpSGT(row, col) : b.CreateICmpSGT(col, row));
      }
      Value*& x = s[ni * 4 + size_t(e)];
      x = b.CreateSelect(bad, cf(-INFINITY), x);
    }
}

void Kit::online_softmax(std::vector<Value*>& s, double sl2, Value* m[2], Value* l[2], Value* alpha[2],
                         std::vector<Value*>* acc) {
  const size_t n_frag = s.size() / 4;
  for (int h = 0; h < 2; ++h) {
    Value* mx = s[size_t(2 * h)];
    for (size_t ni = 0; ni < n_frag; ++ni)
      for (int e = 0; e < 2; ++e)
        if (ni || e) mx = fmax(mx, s[ni * 4 + size_t(2 * h + e)]);
    Value* m_old = m[h];
    Value* m_new = fmax(m_old, b.CreateFMul(quad(mx, true), cf(sl2)));
    // A row with no key yet keeps m = -inf: shift by 0 instead (its p are all 0).
    Value* m_use = b.CreateSelect(b.CreateFCmpOEQ(m_new, cf(-INFINITY)), cf(0.0), m_new);
    alpha[h] = ex2(b.CreateFSub(m_old, m_use));
    Value* neg_m = b.CreateFNeg(m_use);
    Value* sum = nullptr;
    for (size_t ni = 0; ni < n_frag; ++ni)
      for (int e = 0; e < 2; ++e) {
        Value*& x = s[ni * 4 + size_t(2 * h + e)];
        x = ex2(fma(x, cf(sl2), neg_m));
        sum = sum ? b.CreateFAdd(sum, x) : x;
      }
    m[h] = m_new;
    l[h] = b.CreateFAdd(b.CreateFMul(l[h], alpha[h]), sum);
    if (!acc) continue;
    for (int nf = 0; nf < D / 8; ++nf)
      for (int e = 0; e < 2; ++e) {
        Value*& x = (*acc)[size_t(nf * 4 + 2 * h + e)];
        x = b.CreateFMul(x, alpha[h]);
      }
  }
}

Value* Kit::finish_row(Value* m, Value* l, Value* r, Value* valid_rows, Value* lse, Value* lse_off) {
  l = quad(l, false);
  Value* inv = b.CreateSelect(b.CreateFCmpOGT(l, cf(0.0)), b.CreateFDiv(cf(1.0), l), cf(0.0));
  if (lse)
    e.emit_if(b.CreateAnd(b.CreateICmpSLT(r, valid_rows), b.CreateICmpEQ(t2, c32(0))), [&] {
      Value* v = b.CreateFAdd(b.CreateFMul(m, cf(0.6931471805599453)), emit_log(b, l));
      b.CreateStore(v, e.hooks_.element_pointer(b, lse, f32, b.CreateAdd(lse_off, r)));
    });
  return inv;
}

void Kit::store_rows(Value* out, Value* off, Value* row0, Value* valid, const std::vector<Value*>& acc, Value* mul0,
                     Value* mul1) {
  llvm::Type* et = memory_type(e.ctx_, dt);
  auto* et2 = llvm::FixedVectorType::get(et, 2);
  for (int h = 0; h < 2; ++h) {
    Value* mul = h ? mul1 : mul0;
    Value* r = b.CreateZExt(b.CreateAdd(row0, b.CreateAdd(g, c32(h * 8))), i64);
    e.emit_if(b.CreateICmpSLT(r, valid), [&] {
      Value* base = b.CreateAdd(off, b.CreateAdd(b.CreateMul(r, c64(D)), b.CreateZExt(t2, i64)));
      for (int nf = 0; nf < D / 8; ++nf) {  // two columns per 32-bit store (fresh, aligned buffers)
        Value* v0 = e.convert(b.CreateFMul(acc[size_t(nf * 4 + 2 * h)], mul), DType::F32, dt);
        Value* v1 = e.convert(b.CreateFMul(acc[size_t(nf * 4 + 2 * h + 1)], mul), DType::F32, dt);
        Value* v =
            b.CreateInsertElement(b.CreateInsertElement(llvm::PoisonValue::get(et2), v0, uint64_t(0)), v1, uint64_t(1));
        b.CreateAlignedStore(v, e.hooks_.element_pointer(b, out, et, b.CreateAdd(base, c64(nf * 8))), llvm::Align(4));
      }
    });
  }
}

}  // namespace tessera::backends
