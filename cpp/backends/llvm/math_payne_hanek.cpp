// Payne-Hanek argument reduction for sin/cos (math_trig.cpp): x = q pi/2 + r for every finite
// x, however large, with r correct to about 2^-117 (f64) / 2^-88 (f32) absolute, far below an
// ulp of r even for the double closest to a multiple of pi/2 (|r| ~ 2^-61). The product
// x * 2/pi is formed exactly in integers from the mantissa and the window of 2/pi's bits that
// matters for x's exponent: earlier bits only add multiples of 4 (whole turns), later ones
// are below the precision kept. All integer work is in i64 on 32-bit limbs, so CPU loops stay
// vectorisable (32x32->64 multiplies) and GPUs use mul.wide.
#include <cmath>
#include <cstdint>

#include <llvm/IR/Module.h>

#include "backends/llvm/math_util.hpp"

namespace tessera::backends {
namespace {

// 2/pi = sum_j kTwoOverPi[j] 2^(64 - 32(j+1)): the first two words are zeros, so exponents
// down to 2^-10 (f64) / 2^-39 (f32) index the table; then floor(2/pi * 2^1280), 32-bit words,
// computed with mpmath (enough for the largest f64 exponent: 37 words are read).
const uint32_t kTwoOverPi[] = {
    0x00000000, 0x00000000, 0xa2f9836e, 0x4e441529, 0xfc2757d1, 0xf534ddc0, 0xdb629599, 0x3c439041, 0xfe5163ab,
    0xdebbc561, 0xb7246e3a, 0x424dd2e0, 0x06492eea, 0x09d1921c, 0xfe1deb1c, 0xb129a73e, 0xe88235f5, 0x2ebb4484,
    0xe99c7026, 0xb45f7e41, 0x3991d639, 0x835339f4, 0x9c845f8b, 0xbdf9283b, 0x1ff897ff, 0xde05980f, 0xef2f118b,
    0x5a0a6d1f, 0x6d367ecf, 0x27cb09b7, 0x4f463f66, 0x9e5fea2d, 0x7527bac7, 0xebe5f17b, 0x3d0739f7, 0x8a5292ea,
    0x6bfb5fb1, 0x1f8d5d08, 0x56033046, 0xfc7b6bab, 0xf0cfbc20, 0x9af4361d,
};
constexpr int kWords = sizeof(kTwoOverPi) / sizeof(kTwoOverPi[0]);

// The table as a constant global of the module, in the address space the target reads
// constants from: NVPTX global (lanes read different words, which .const would serialise),
// AMDGPU constant, CPU default.
llvm::GlobalVariable* two_over_pi(llvm::Module& mod) {
  const char* name = "tessera_two_over_pi";
  if (llvm::GlobalVariable* g = mod.getNamedGlobal(name)) return g;
  const llvm::Triple& t = mod.getTargetTriple();
  unsigned as = t.isNVPTX() ? 1 : t.isAMDGPU() ? 4 : 0;
  llvm::Constant* data = llvm::ConstantDataArray::get(mod.getContext(), llvm::ArrayRef<uint32_t>(kTwoOverPi));
  return new llvm::GlobalVariable(mod, data->getType(), true, llvm::GlobalValue::InternalLinkage, data, name, nullptr,
                                  llvm::GlobalValue::NotThreadLocal, as);
}

}  // namespace

bool has_pio2_table(const llvm::Module& mod) { return !mod.getTargetTriple().isSPIRV(); }

// |x| = M 2^E (M the integer mantissa). With t = E + 62 = 32 j + sh, the product
// Q = (M << sh) * (words j .. j+T-1 as one integer) satisfies |x| * 2/pi = Q 2^-(30 + 32(T-1))
// modulo 4: bits 31..30 of Q's limb T-1 are the quadrant, the bits below the fraction. Only
// limbs 0..T-1 of Q are formed. The fraction's top 64 bits as a signed integer A round the
// quadrant to nearest for free: A < 0 means a fraction >= 1/2, i.e. fraction - 1 and q + 1.
void reduce_pio2(MathBuilder& m, llvm::Value* x, llvm::Value*& r, llvm::Value*& r_lo, llvm::Value*& q) {
  llvm::IRBuilder<>& b = m.b;
  llvm::Module& mod = *b.GetInsertBlock()->getModule();
  llvm::Type* i64 = b.getInt64Ty();
  auto k = [&](uint64_t v) { return llvm::ConstantInt::get(i64, v); };
  const uint64_t mask = 0xffffffffu;
  const int T = m.f64 ? 7 : 4;  // window words: the dropped tail is below 2^-138 / 2^-71
  llvm::Value* bits = b.CreateZExt(m.bits(m.abs(x)), i64);
  llvm::Value* mant = b.CreateOr(b.CreateAnd(bits, k((uint64_t(1) << m.mant) - 1)), k(uint64_t(1) << m.mant));
  llvm::Value* t = b.CreateSub(b.CreateLShr(bits, m.mant), k(uint64_t(m.bias + m.mant - 62)));
  t = b.CreateSelect(b.CreateICmpSLT(t, k(0)), k(0), t);  // small |x|: any in-bounds window
  llvm::Value* j = b.CreateLShr(t, 5);
  llvm::Value* sh = b.CreateAnd(t, k(31));
  // M << sh (up to 84 bits) as 32-bit limbs, least significant first.
  llvm::Value* ms = b.CreateShl(mant, sh);
  std::vector<llvm::Value*> ml = {b.CreateAnd(ms, k(mask)), b.CreateLShr(ms, 32)};
  if (m.f64) ml.push_back(b.CreateLShr(b.CreateLShr(mant, 1), b.CreateSub(k(63), sh)));
  llvm::GlobalVariable* table = two_over_pi(mod);
  std::vector<llvm::Value*> w(T);  // w[0] most significant
  for (int i = 0; i < T; ++i) {
    llvm::Value* p = b.CreateInBoundsGEP(b.getInt32Ty(), table, b.CreateAdd(j, k(i)));
    w[i] = b.CreateZExt(b.CreateLoad(b.getInt32Ty(), p), i64);
  }
  // Column sums of the 32x32 partial products (column c = a + T-1-i), then carries.
  std::vector<llvm::Value*> col(T, k(0));
  for (size_t a = 0; a < ml.size(); ++a)
    for (int i = int(a); i < T; ++i) {
      int c = int(a) + T - 1 - i;
      llvm::Value* p = b.CreateMul(ml[a], w[i]);
      col[c] = b.CreateAdd(col[c], b.CreateAnd(p, k(mask)));
      if (c + 1 < T) col[c + 1] = b.CreateAdd(col[c + 1], b.CreateLShr(p, 32));
    }
  std::vector<llvm::Value*> limb(T);
  llvm::Value* carry = k(0);
  for (int c = 0; c < T; ++c) {
    llvm::Value* v = b.CreateAdd(col[c], carry);
    limb[c] = b.CreateAnd(v, k(mask));
    carry = b.CreateLShr(v, 32);
  }
  auto word = [&](int top) {  // 64 bits below bit 30 of limb `top`
    llvm::Value* v = b.CreateOr(b.CreateShl(limb[top], 34), b.CreateShl(limb[top - 1], 2));
    return top >= 2 ? b.CreateOr(v, b.CreateLShr(limb[top - 2], 30)) : v;
  };
  llvm::Value* A = word(T - 1);
  llvm::Value* B = word(T - 3);
  llvm::Value* qi = b.CreateAnd(b.CreateLShr(limb[T - 1], 30), k(3));
  qi = b.CreateAnd(b.CreateAdd(qi, b.CreateZExt(b.CreateICmpSLT(A, k(0)), i64)), k(3));
  // The fraction A 2^-64 + B 2^-128 as hi + lo: pieces of A and B narrow enough to convert
  // exactly, summed largest first (each partial sum is 0 or at least the next piece's unit).
  struct Piece {
    bool in_b;
    int shift, width;
  };
  std::vector<Piece> pieces =
      m.f64 ? std::vector<Piece>{{false, 11, 53}, {false, 0, 11}, {true, 11, 53}}
            : std::vector<Piece>{{false, 40, 24}, {false, 16, 24}, {false, 0, 16}, {true, 40, 24}};
  llvm::Value *hi = nullptr, *lo = m.c(0.0), *e;
  for (const Piece& p : pieces) {
    llvm::Value* src = p.in_b ? B : A;
    llvm::Value* scale = m.c(std::ldexp(1.0, p.shift - (p.in_b ? 128 : 64)));
    if (!hi) {  // the top piece carries A's sign
      hi = b.CreateFMul(b.CreateSIToFP(b.CreateAShr(src, p.shift), m.ty), scale);
      continue;
    }
    llvm::Value* field = b.CreateAnd(b.CreateLShr(src, p.shift), k((uint64_t(1) << p.width) - 1));
    m.fast_two_sum(hi, b.CreateFMul(b.CreateUIToFP(field, m.ty), scale), hi, e);
    lo = b.CreateFAdd(lo, e);
  }
  // r = fraction * pi/2 with pi/2 = P_hi + P_lo.
  const double p_hi = m.f64 ? 1.5707963267948966 : 1.5707963705062866;
  const double p_lo = m.f64 ? 6.123233995736766e-17 : -4.371138828673793e-08;
  llvm::Value *rh, *rl;
  m.two_prod(hi, m.c(p_hi), rh, rl);
  rl = b.CreateFAdd(rl, m.fma(hi, m.c(p_lo), b.CreateFMul(lo, m.c(p_hi))));
  m.fast_two_sum(rh, rl, rh, rl);
  // x < 0: x * 2/pi = -(q + f), so negate both.
  llvm::Value* neg = b.CreateICmpSLT(m.bits(x), m.ci(0));
  r = m.sel(neg, b.CreateFNeg(rh), rh);
  r_lo = m.sel(neg, b.CreateFNeg(rl), rl);
  q = b.CreateTrunc(m.sel(neg, b.CreateAnd(b.CreateSub(k(0), qi), k(3)), qi), b.getInt32Ty());
}

}  // namespace tessera::backends
