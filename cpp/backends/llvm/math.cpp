// Portable math functions built from basic arithmetic, so every target computes the same
// thing and CPU loops containing them vectorise (a libm call would stop that). This file: the
// exp/log family. Trigonometric and special functions are in math_trig.cpp / math_special.cpp.
// Accuracy (measured against float64/mpmath references in tests/python/test_ops_elementwise.py)
// is stated per function; "ulp" is of the result's dtype.
#include <cmath>

#include "backends/llvm/math_util.hpp"
#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {
namespace {

// n = round(x / ln 2) and r = x - n ln 2 (|r| <= ln2/2), by Cody-Waite reduction with a
// two-part ln 2 (n * ln2_hi is exact), so r carries no extra rounding.
void reduce_ln2(MathBuilder& m, llvm::Value* x, llvm::Value*& n, llvm::Value*& r) {
  const double ln2_hi = m.f64 ? 6.93147180369123816490e-01 : 0.693145751953125;
  const double ln2_lo = m.f64 ? 1.90821492927058770002e-10 : 1.428606765330187045e-06;
  n = m.un(llvm::Intrinsic::roundeven, m.b.CreateFMul(x, m.c(1.4426950408889634)));
  llvm::Value* neg_n = m.b.CreateFNeg(n);
  r = m.fma(neg_n, m.c(ln2_hi), x);
  r = m.fma(neg_n, m.c(ln2_lo), r);
}

// Taylor coefficients 1/k! for k = first..degree (truncation below half an ulp for |r| <= ln2/2).
std::vector<double> inv_factorials(int first, int degree) {
  std::vector<double> out;
  double f = 1.0;
  for (int k = 1; k < first; ++k) f *= k;
  for (int k = first; k <= degree; ++k) {
    if (k > 0) f *= k;
    out.push_back(1.0 / f);
  }
  return out;
}

// n clamped to [lo, hi] as an integer (clamping first keeps fptosi defined for any input).
llvm::Value* clamp_to_int(MathBuilder& m, llvm::Value* n, double lo, double hi) {
  llvm::Value* nc = m.bin(llvm::Intrinsic::maxnum, n, m.c(lo));
  return m.b.CreateFPToSI(m.bin(llvm::Intrinsic::minnum, nc, m.c(hi)), m.ity);
}

// x = 2^k * (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)), f exact; subnormal x are scaled by
// 2^(mant+2) first. k is returned as a float.
void split_log(MathBuilder& m, llvm::Value* x, llvm::Value*& k, llvm::Value*& f) {
  llvm::IRBuilder<>& b = m.b;
  const double min_normal = m.f64 ? 2.2250738585072014e-308 : 1.1754943508222875e-38;
  llvm::Value* tiny = b.CreateFCmpOLT(x, m.c(min_normal));
  x = m.sel(tiny, b.CreateFMul(x, m.c(std::ldexp(1.0, m.mant + 2))), x);
  llvm::Value* k_adj = m.sel(tiny, m.ci(-(m.mant + 2)), m.ci(0));
  const int64_t one = m.f64 ? 0x3FF0000000000000LL : 0x3F800000LL;
  const int64_t sqrth = m.f64 ? 0x3FE6A09E667F3BCDLL : 0x3F3504F3LL;  // bits of sqrt(1/2)
  llvm::Value* ix = b.CreateAdd(m.bits(x), m.ci(one - sqrth));
  llvm::Value* ki = b.CreateAdd(b.CreateSub(b.CreateAShr(ix, m.mant), m.ci(m.bias)), k_adj);
  llvm::Value* mbits = b.CreateAdd(b.CreateAnd(ix, m.ci((int64_t(1) << m.mant) - 1)), m.ci(sqrth));
  f = b.CreateFSub(m.from_bits(mbits), m.c(1.0));  // exact
  k = b.CreateSIToFP(ki, m.ty);
}

// log(x) for x > 0 finite (others fixed by the caller), fdlibm's scheme: log(1+f) = f - hfsq +
// s*(hfsq + R(s^2)), s = f/(2+f), R the atanh Taylor series (terms below 2^-60 (f64) / 2^-30
// (f32) of the result dropped).
llvm::Value* log_core(MathBuilder& m, llvm::Value* x) {
  llvm::IRBuilder<>& b = m.b;
  llvm::Value *dk, *f;
  split_log(m, x, dk, f);
  llvm::Value* s = b.CreateFDiv(f, b.CreateFAdd(m.c(2.0), f));
  llvm::Value* z = b.CreateFMul(s, s);
  std::vector<double> rc;  // 2/(2j+1) for j = 1..terms
  for (int j = 1; j <= (m.f64 ? 10 : 5); ++j) rc.push_back(2.0 / (2 * j + 1));
  llvm::Value* R = b.CreateFMul(z, m.poly(z, rc));
  llvm::Value* hfsq = b.CreateFMul(m.c(0.5), b.CreateFMul(f, f));
  const double ln2_hi = m.f64 ? 6.93147180369123816490e-01 : 0.693145751953125;
  const double ln2_lo = m.f64 ? 1.90821492927058770002e-10 : 1.428606765330187045e-06;
  llvm::Value* tail = m.fma(s, b.CreateFAdd(hfsq, R), b.CreateFMul(dk, m.c(ln2_lo)));
  llvm::Value* y = b.CreateFSub(b.CreateFSub(hfsq, tail), f);
  return b.CreateFSub(b.CreateFMul(dk, m.c(ln2_hi)), y);
}

}  // namespace

// NVIDIA f32: exp(x) = 2^(x log2 e) by the special function unit's ex2.approx (2 ulp, full
// range: subnormal results, inf above 128, 0 below -150, NaN kept). The product is split into
// hi + lo exactly enough (lo = fma(x, L, -hi) + x * (log2 e - L)) that ex2 takes the rounded hi
// and the tail is applied as 2^lo ~ 1 + lo ln 2 (|lo| < 2^-16): within 3 ulp in all, where
// ex2 of the rounded product alone would lose |x log2 e| ulps. Six instructions instead of
// the portable series' twenty. Without `subnormals`, results below 2^-126 are 0 (ex2.ftz:
// three instructions less). `bounded`: the caller keeps x finite and at most 0 (or fixes up
// other results), which drops the four-instruction guard for infinite arguments and results.
llvm::Value* exp_nvptx_f32(MathBuilder& m, llvm::Value* x, bool subnormals, bool bounded) {
  llvm::IRBuilder<>& b = m.b;
  const double log2e = 1.4426950408889634, log2e_f32 = double(float(log2e));
  llvm::Value* hi = b.CreateFMul(x, m.c(log2e_f32));
  llvm::Value* lo = m.fma(x, m.c(log2e - log2e_f32), m.fma(x, m.c(log2e_f32), b.CreateFNeg(hi)));
  auto ex2 = subnormals ? llvm::Intrinsic::nvvm_ex2_approx : llvm::Intrinsic::nvvm_ex2_approx_ftz;
  llvm::Value* y = b.CreateIntrinsic(ex2, {m.ty}, {hi});
  llvm::Value* r = m.fma(b.CreateFMul(y, lo), m.c(0.6931471805599453), y);
  if (bounded) return r;
  // x = +-inf makes lo NaN; y is already exact there, and for results that are 0 or inf.
  llvm::Value* exact = b.CreateOr(b.CreateFCmpOEQ(m.abs(y), m.inf()), b.CreateFCmpOEQ(y, m.c(0.0)));
  return m.sel(exact, y, r);
}

// exp(x) = 2^n * exp(r); exp(r) by its Taylor series (degree 7 for f32, 13 for f64: truncation
// error below half an ulp). 2^n is applied in two halves so results that are subnormal or close
// to overflow are still exact up to one rounding. Within 1 ulp. NVIDIA f32: exp_nvptx_f32.
llvm::Value* emit_exp(llvm::IRBuilder<>& b, llvm::Value* x) {
  return via_f32(b, x, [&](llvm::Value* x) {
    MathBuilder m(b, x->getType());
    return m.nvptx_f32 ? exp_nvptx_f32(m, x, true, false) : exp_with_tail(m, x, nullptr);
  });
}

// The tail lo (pow's double-word exponent) joins the reduced argument: r = (hi - n ln2_hi) +
// (lo - n ln2_lo), the first part exact.
llvm::Value* exp_with_tail(MathBuilder& m, llvm::Value* x, llvm::Value* lo) {
  llvm::IRBuilder<>& b = m.b;
  const double hi = m.f64 ? 709.782712893384 : 88.72283905206835;          // above: +inf
  const double lo_lim = m.f64 ? -745.1332191019412 : -103.97208300017095;  // below: 0
  llvm::Value *n, *r;
  if (lo) {
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    n = m.un(llvm::Intrinsic::roundeven, b.CreateFMul(x, m.c(1.4426950408889634)));
    llvm::Value* neg_n = b.CreateFNeg(n);
    r = b.CreateFAdd(m.fma(neg_n, m.c(ln2_hi), x), m.fma(neg_n, m.c(ln2_lo), lo));
  } else {
    reduce_ln2(m, x, n, r);
  }
  llvm::Value* p = m.poly(r, inv_factorials(0, m.f64 ? 13 : 7));
  llvm::Value* ni = clamp_to_int(m, n, -2.0 * m.bias, 2.0 * m.bias);
  llvm::Value* n1 = b.CreateAShr(ni, 1);
  llvm::Value* n2 = b.CreateSub(ni, n1);
  llvm::Value* y = b.CreateFMul(b.CreateFMul(p, m.pow2(n1)), m.pow2(n2));
  y = m.sel(b.CreateFCmpOGT(x, m.c(hi)), m.inf(), y);
  y = m.sel(b.CreateFCmpOLT(x, m.c(lo_lim)), m.c(0.0), y);
  return m.sel(m.is_nan(x), x, y);
}

// sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) below, e = exp(-|x|) <= 1: no overflow.
// The reciprocal is a division, or on NVIDIA f32 rcp.approx and a Newton step (within 1 ulp,
// against seven instructions and a slow path for the IEEE division). Within 2 ulp elsewhere;
// on NVIDIA within 5 ulp: for x < 0 exp's 3, the reciprocal's 1 and the product's rounding add
// up (4.6 ulp measured near x = -4 on an H200). NVIDIA f32 takes exp(-min(|x|, 104)) (a
// NaN-keeping min), whose argument is finite and results 0 from there on, so exp needs no guard
// for infinities.
llvm::Value* emit_sigmoid(llvm::IRBuilder<>& b, llvm::Value* x) {
  return via_f32(b, x, [&](llvm::Value* x) {
    MathBuilder m(b, x->getType());
    llvm::Value* e =
        m.nvptx_f32 ? exp_nvptx_f32(m, b.CreateFNeg(m.bin(llvm::Intrinsic::minimum, m.abs(x), m.c(104.0))), true, true)
                    : emit_exp(b, b.CreateFNeg(m.abs(x)));
    llvm::Value* r = m.recip(b.CreateFAdd(m.c(1.0), e));
    return m.sel(b.CreateFCmpOGE(x, m.c(0.0)), r, b.CreateFMul(e, r));
  });
}

// expm1(x) = 2^n * expm1(r) + (2^n - 1), expm1(r) = r + r^2 * (1/2! + r/3! + ...) by Taylor
// (degrees as exp), one fma to combine. |x| small: n = 0 and the series alone, so no
// cancellation. Beyond (mant+2) ln 2 the -1 is below half an ulp: exp(x). Within 2 ulp.
llvm::Value* emit_expm1(llvm::IRBuilder<>& b, llvm::Value* x) {
  return via_f32(b, x, [&](llvm::Value* x) {
    MathBuilder m(b, x->getType());
    const double hi = (m.mant + 2) * 0.6931471805599453, lo = -(m.mant + 3) * 0.6931471805599453;
    llvm::Value *n, *r;
    reduce_ln2(m, x, n, r);
    llvm::Value* h = m.poly(r, inv_factorials(2, m.f64 ? 14 : 8));
    llvm::Value* p = m.fma(b.CreateFMul(r, r), h, r);
    llvm::Value* t = m.pow2(clamp_to_int(m, n, -(m.mant + 4.0), m.mant + 3.0));
    llvm::Value* y = m.fma(t, p, b.CreateFSub(t, m.c(1.0)));
    y = m.sel(b.CreateFCmpOGT(x, m.c(hi)), emit_exp(b, x), y);
    y = m.sel(b.CreateFCmpOLT(x, m.c(lo)), m.c(-1.0), y);
    y = m.sel(b.CreateFCmpOEQ(x, m.c(0.0)), x, y);  // keeps the sign of -0
    return m.sel(m.is_nan(x), x, y);
  });
}

// log(x): within 1 ulp. log(0) = -inf, log(x < 0) = NaN, log(inf) = inf.
llvm::Value* emit_log(llvm::IRBuilder<>& b, llvm::Value* x) {
  return via_f32(b, x, [&](llvm::Value* x) {
    MathBuilder m(b, x->getType());
    llvm::Value* y = log_core(m, x);
    y = m.sel(b.CreateFCmpOEQ(x, m.inf()), x, y);
    y = m.sel(b.CreateFCmpOEQ(x, m.c(0.0)), b.CreateFNeg(m.inf()), y);
    y = m.sel(b.CreateFCmpOLT(x, m.c(0.0)), m.nan(), y);
    return m.sel(m.is_nan(x), x, y);
  });
}

// log1p(x) = log(u) + (x - (u - 1)) / u with u = 1 + x: the second term restores what rounding
// u lost, so tiny x give x exactly. Within 2 ulp.
llvm::Value* emit_log1p(llvm::IRBuilder<>& b, llvm::Value* x) {
  return via_f32(b, x, [&](llvm::Value* x) {
    MathBuilder m(b, x->getType());
    llvm::Value* u = b.CreateFAdd(m.c(1.0), x);
    llvm::Value* corr = b.CreateFDiv(b.CreateFSub(x, b.CreateFSub(u, m.c(1.0))), u);
    llvm::Value* y = b.CreateFAdd(log_core(m, u), corr);
    y = m.sel(b.CreateFCmpOEQ(x, m.inf()), x, y);
    y = m.sel(b.CreateFCmpOEQ(x, m.c(-1.0)), b.CreateFNeg(m.inf()), y);
    y = m.sel(b.CreateFCmpOLT(x, m.c(-1.0)), m.nan(), y);
    y = m.sel(b.CreateFCmpOEQ(x, m.c(0.0)), x, y);
    return m.sel(m.is_nan(x), x, y);
  });
}

// log(x) as hi + lo (pow's extended-precision log): log(1+f) = 2s + s^3 T(s^2), s = f/(2+f),
// T = 2/3 + 2s^2/5 + ... With |s| <= 0.172 the s^3 T term is below 1% of the sum, so s (from
// the exact remainder of the division), 2s, s^3 and the product are kept as hi + lo pairs and
// only T's tail beyond 2/3 is plain f64; k ln2 adds in two parts (k * ln2_hi exact). Relative
// error about 2^-66.
void log_double_word(MathBuilder& m, llvm::Value* x, llvm::Value*& hi, llvm::Value*& lo) {
  llvm::IRBuilder<>& b = m.b;
  llvm::Value *k, *f;
  split_log(m, x, k, f);
  llvm::Value *u_hi, *u_lo, *s2_hi, *s2_lo, *s3_hi, *s3_lo, *t_hi, *t_lo, *p_hi, *p_lo, *e;
  m.fast_two_sum(m.c(2.0), f, u_hi, u_lo);
  llvm::Value* s_hi = b.CreateFDiv(f, u_hi);
  llvm::Value* rem = b.CreateFSub(m.fma(b.CreateFNeg(s_hi), u_hi, f), b.CreateFMul(s_hi, u_lo));
  llvm::Value* s_lo = b.CreateFDiv(rem, u_hi);
  m.two_prod(s_hi, s_hi, s2_hi, s2_lo);
  s2_lo = m.fma(b.CreateFAdd(s_hi, s_hi), s_lo, s2_lo);
  m.two_prod(s2_hi, s_hi, s3_hi, s3_lo);
  s3_lo = b.CreateFAdd(s3_lo, m.fma(s2_hi, s_lo, b.CreateFMul(s2_lo, s_hi)));
  std::vector<double> tc;  // 2/(2j+1) for j = 2..13 as a polynomial in s^2
  for (int j = 2; j <= 13; ++j) tc.push_back(2.0 / (2 * j + 1));
  const double two3_hi = 2.0 / 3.0, two3_lo = 3.700743415417188e-17;  // 2/3 - two3_hi
  llvm::Value* tail = m.fma(s2_hi, m.poly(s2_hi, tc), m.c(two3_lo));
  m.fast_two_sum(m.c(two3_hi), tail, t_hi, t_lo);
  m.two_prod(s3_hi, t_hi, p_hi, p_lo);
  p_lo = b.CreateFAdd(p_lo, m.fma(s3_hi, t_lo, b.CreateFMul(s3_lo, t_hi)));
  // log(1+f) = 2 s_hi + p_hi + (2 s_lo + p_lo); then + k ln2.
  llvm::Value *l_hi, *l_lo;
  m.fast_two_sum(b.CreateFAdd(s_hi, s_hi), p_hi, l_hi, e);
  l_lo = b.CreateFAdd(e, b.CreateFAdd(b.CreateFAdd(s_lo, s_lo), p_lo));
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  m.fast_two_sum(b.CreateFMul(k, m.c(ln2_hi)), l_hi, hi, e);
  lo = b.CreateFAdd(e, m.fma(k, m.c(ln2_lo), l_lo));
  m.fast_two_sum(hi, lo, hi, lo);
}

}  // namespace tessera::backends
