// erf, erfc and pow from basic arithmetic (see math.cpp for why).
#include "backends/llvm/math_util.hpp"
#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {
namespace {

// f64: Chebyshev coefficients of R(t) = erfc(1/t) * exp(1/t^2) on t in [t_lo, 1] (x = 1/t in
// [1, x_max], x_max where erfc underflows), computed with mpmath at 40 digits by interpolation
// at Chebyshev nodes; the first dropped coefficient is below 2^-60 of R.
const std::vector<double> kErfcF64 = {
    0.24324587749280285,     0.20336469016931463,     -0.01951936178367996,   0.00011092374256974613,
    0.0004934354165065172,   -0.00012708770502812132, 1.4180232720744776e-05, 2.0670431218130033e-06,
    -1.4975843637490389e-06, 4.027853111469661e-07,   -4.975080647727423e-08, -9.52320929759182e-09,
    7.670752055014942e-09,   -2.4724095895437824e-09, 4.3333415724398285e-10, 2.1612290089507366e-11,
    -4.910634893051476e-11,  2.1067074004336745e-11,  -5.389311986879581e-12, 5.536804034292141e-13,
    2.716557453758756e-13,   -1.956566971063081e-13,  7.20368776874576e-14,   -1.6449769638345556e-14,
    7.435946463724491e-16,   1.460994160200661e-15,   -8.82821837602876e-16,  3.1635309391507145e-16,
    -7.160504824190167e-17,  2.190769797475965e-18,   7.536795020207791e-18,  -4.6256181429864285e-18,
    1.7620382918466576e-18,  -4.677369454528387e-19};

// f32: erfc(a) = exp(-a^2) P(t) / (1 + 2a) for all a in [0, 10.1] (erfc underflows beyond),
// P a degree-10 polynomial in t = (a - 2) / (a + 2), in [-1, 0.67] there: interpolation at
// Chebyshev nodes (mpmath, 40 digits), error 2^-26.5, and Horner's rounding in f32 stays under
// 1 ulp. One polynomial covers the whole range with no cancellation, so erfc needs no erf
// series for |x| < 1.
const std::vector<double> kErfcxF32 = {1.276978391144088,      -0.0927639169344334,   -0.16603129749266193,
                                       0.1640536474439599,     -0.054205721699438644, -0.00804796595931893,
                                       0.008639491471215021,   0.0012824424978298314, -0.0012513748068165183,
                                       -0.0003730590675364628, 2.1667789318207296e-05};

// erf(x)/x on |x| < 1 as a degree-7 polynomial in x^2 for f32: interpolation at Chebyshev
// nodes of [0, 1] (mpmath, 40 digits), error 2^-34 against the Taylor series' twelve terms.
const std::vector<double> kErfSmallF32 = {1.1283791670615435,     -0.3761263846802871,   0.11283782495236845,
                                          -0.026865430727670243,  0.005221031807858023,  -0.0008484080405535107,
                                          0.00011265959025606609, -9.667044571486996e-06};

// erf(x) for |x| < 1: f32 by kErfSmallF32; f64 by its Taylor series 2/sqrt(pi) * sum (-1)^n
// x^(2n+1) / (n! (2n+1)) through n = 19 (the first dropped term is below 2^-62 at |x| = 1).
llvm::Value* erf_small(MathBuilder& m, llvm::Value* x) {
  if (!m.f64) return m.b.CreateFMul(x, m.poly(m.b.CreateFMul(x, x), kErfSmallF32));
  std::vector<double> c;
  double fact = 1.0;
  for (int n = 0; n <= 19; ++n) {
    if (n > 0) fact *= n;
    c.push_back((n % 2 ? -1.0 : 1.0) * 1.1283791670955126 / (fact * (2 * n + 1)));
  }
  return m.b.CreateFMul(x, m.poly(m.b.CreateFMul(x, x), c));
}

// exp(-a^2) with a^2 = hi + lo exactly (fma): exp(-hi) * (1 - lo) loses nothing to the
// rounding of a^2.
llvm::Value* exp_minus_square(MathBuilder& m, llvm::Value* a) {
  llvm::IRBuilder<>& b = m.b;
  llvm::Value* hi = b.CreateFMul(a, a);
  llvm::Value* lo = m.fma(a, a, b.CreateFNeg(hi));
  // NVIDIA f32: erfc below 2^-126 (a > 9.3) is flushed to 0, three instructions less; -hi is
  // at most 0, and erfc_large keeps it finite.
  llvm::Value* e = m.nvptx_f32 ? exp_nvptx_f32(m, b.CreateFNeg(hi), false, true) : emit_exp(b, b.CreateFNeg(hi));
  return m.fma(b.CreateFNeg(lo), e, e);
}

// erfc(a) for a >= 1 (f64; 0 beyond x_max) or a >= 0 (f32; see kErfcxF32).
// f32: t = 1 - 4 / (a + 2). On NVIDIA the reciprocal is rcp.approx alone: its 1 ulp moves
// P(t) by under 0.3 ulp (|t P'(t) / P(t)| < 0.3), and a is clamped to 10.1 (a NaN-keeping
// min), where exp(-a^2) flushes to 0, instead of selecting 0 beyond (a = inf would make NaN).
llvm::Value* erfc_large(MathBuilder& m, llvm::Value* a) {
  llvm::IRBuilder<>& b = m.b;
  if (!m.f64) {
    if (m.nvptx_f32) a = m.bin(llvm::Intrinsic::minimum, a, m.c(10.1));
    llvm::Value* r = m.nvptx_f32
                         ? b.CreateIntrinsic(llvm::Intrinsic::nvvm_rcp_approx_ftz_f, {}, {b.CreateFAdd(a, m.c(2.0))})
                         : m.recip(b.CreateFAdd(a, m.c(2.0)));
    llvm::Value* t = m.fma(m.c(-4.0), r, m.c(1.0));
    llvm::Value* p = b.CreateFMul(m.poly(t, kErfcxF32), m.recip(m.fma(m.c(2.0), a, m.c(1.0))));
    llvm::Value* y = b.CreateFMul(exp_minus_square(m, a), p);
    return m.nvptx_f32 ? y : m.sel(b.CreateFCmpOGT(a, m.c(10.1)), m.c(0.0), y);
  }
  const double t_lo = 1.0 / 27;
  llvm::Value* t = m.bin(llvm::Intrinsic::minnum, m.recip(a), m.c(1.0));
  llvm::Value* u = b.CreateFMul(b.CreateFSub(b.CreateFAdd(t, t), m.c(1.0 + t_lo)), m.c(1.0 / (1.0 - t_lo)));
  llvm::Value* y = b.CreateFMul(exp_minus_square(m, a), m.chebyshev(u, kErfcF64));
  return m.sel(b.CreateFCmpOGT(a, m.c(1.0 / t_lo)), m.c(0.0), y);
}

}  // namespace

// erf: Taylor series for |x| < 1, 1 - erfc(|x|) with the sign of x beyond. Within 2 ulp.
llvm::Value* emit_erf(llvm::IRBuilder<>& b, llvm::Value* x) {
  return via_f32(b, x, [&](llvm::Value* x) {
    MathBuilder m(b, x->getType());
    llvm::Value* a = m.abs(x);
    llvm::Value* big = m.copysign(b.CreateFSub(m.c(1.0), erfc_large(m, a)), x);
    llvm::Value* y = m.sel(b.CreateFCmpOLT(a, m.c(1.0)), erf_small(m, x), big);
    return m.sel(m.is_nan(x), x, y);
  });
}

// erfc: f64: 1 - erf(x) for |x| < 1 (result in (0.15, 1.85): at most 5x erf's error
// relative), exp(-x^2) R(1/x) for x >= 1 (no cancellation: accurate into the underflow range);
// f32: erfc_large for every |x|. 2 - erfc(-x) for negative x. Within 4 ulp.
llvm::Value* emit_erfc(llvm::IRBuilder<>& b, llvm::Value* x) {
  return via_f32(b, x, [&](llvm::Value* x) {
    MathBuilder m(b, x->getType());
    llvm::Value* a = m.abs(x);
    llvm::Value* tail = erfc_large(m, a);
    llvm::Value* y = m.sel(b.CreateFCmpOLT(x, m.c(0.0)), b.CreateFSub(m.c(2.0), tail), tail);
    if (!m.f64) return y;  // NaN propagates through every step of the f32 path
    y = m.sel(b.CreateFCmpOLT(a, m.c(1.0)), b.CreateFSub(m.c(1.0), erf_small(m, x)), y);
    return m.sel(m.is_nan(x), x, y);
  });
}

// x**y for floats with C99 / NumPy special cases. |x|**y = exp(y log|x|). f64 keeps log|x|
// and the product with y as hi + lo pairs (exact product by fma), and exp takes the pair, so
// the only large errors left are exp's own: within 1 ulp over the whole range (measured 0.81 ulp
// for results up to 1e308 and down to 1e-300, tests/python/test_math_accuracy.py; before this,
// (1 + |y ln x|) ulp, up to 90 ulp). f32 (and f16/bf16) evaluate exp(y log|x|) in f64 and
// round once: within 1 ulp (measured 0.5).
llvm::Value* emit_pow(llvm::IRBuilder<>& b, llvm::Value* x, llvm::Value* y) {
  llvm::Type* ty = x->getType();
  MathBuilder m(b, ty->isDoubleTy() ? ty : b.getFloatTy());
  llvm::Value* mag;
  if (m.f64) {
    llvm::Value *L, *L_lo, *zlo0;
    llvm::Value* ax = m.abs(x);
    log_double_word(m, ax, L, L_lo);
    // log's special values: 0 -> -inf, inf -> inf, NaN -> NaN, with no tail.
    llvm::Value* regular = b.CreateAnd(b.CreateFCmpOGT(ax, m.c(0.0)), b.CreateFCmpOLT(ax, m.inf()));
    llvm::Value* special = m.sel(b.CreateFCmpOEQ(ax, m.c(0.0)), b.CreateFNeg(m.inf()), ax);
    L = m.sel(regular, L, special);
    L_lo = m.sel(regular, L_lo, m.c(0.0));
    llvm::Value* z;
    m.two_prod(y, L, z, zlo0);
    llvm::Value* zlo = m.fma(y, L_lo, zlo0);
    zlo = m.sel(b.CreateFCmpOLT(m.abs(z), m.inf()), zlo, m.c(0.0));
    mag = exp_with_tail(m, z, zlo);
  } else {
    llvm::Type* d = b.getDoubleTy();
    llvm::Value* xd = b.CreateFPExt(x, d);
    llvm::Value* zd = b.CreateFMul(b.CreateFPExt(y, d), emit_log(b, b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, xd)));
    mag = b.CreateFPTrunc(emit_exp(b, zd), m.ty);
    x = b.CreateFPExt(x, m.ty);
    y = b.CreateFPExt(y, m.ty);
  }
  llvm::Value* y_int = b.CreateFCmpOEQ(m.un(llvm::Intrinsic::floor, y), y);
  llvm::Value* half = b.CreateFMul(y, m.c(0.5));
  llvm::Value* odd = b.CreateAnd(y_int, b.CreateFCmpONE(m.un(llvm::Intrinsic::floor, half), half));
  llvm::Value* neg_x = b.CreateICmpSLT(m.bits(x), m.ci(0));
  llvm::Value* r = m.sel(b.CreateAnd(neg_x, odd), b.CreateFNeg(mag), mag);
  llvm::Value* finite_neg = b.CreateAnd(b.CreateFCmpOLT(x, m.c(0.0)), b.CreateFCmpOGT(x, b.CreateFNeg(m.inf())));
  r = m.sel(b.CreateAnd(finite_neg, b.CreateNot(y_int)), m.nan(), r);
  llvm::Value* unit = b.CreateAnd(b.CreateFCmpOEQ(m.abs(x), m.c(1.0)), b.CreateFCmpOEQ(m.abs(y), m.inf()));
  r = m.sel(unit, m.c(1.0), r);
  r = m.sel(b.CreateOr(b.CreateFCmpOEQ(y, m.c(0.0)), b.CreateFCmpOEQ(x, m.c(1.0))), m.c(1.0), r);
  return ty == m.ty ? r : b.CreateFPTrunc(r, ty);
}

}  // namespace tessera::backends
