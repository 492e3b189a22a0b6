// sin, cos and tanh from basic arithmetic (see math.cpp for why); the sin/cos argument
// reduction is in math_payne_hanek.cpp.
#include "backends/llvm/math_util.hpp"
#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {
namespace {

// Taylor coefficients of sin(r)/r - 1 and (cos(r) - 1 + r^2/2)/r^4 as polynomials in z = r^2,
// for |r| <= pi/4; dropped terms are below 2^-60 (f64) / 2^-32 (f32) relative.
std::vector<double> sin_coeffs(bool f64) {
  std::vector<double> c;
  double f = 6.0, sign = -1.0;  // 3!
  for (int j = 1; j <= (f64 ? 8 : 5); ++j, sign = -sign) {
    c.push_back(sign / f);
    f *= (2 * j + 2) * (2 * j + 3);
  }
  return c;
}
std::vector<double> cos_coeffs(bool f64) {
  std::vector<double> c;
  double f = 24.0, sign = 1.0;  // 4!
  for (int j = 2; j <= (f64 ? 10 : 6); ++j, sign = -sign) {
    c.push_back(sign / f);
    f *= (2 * j + 1) * (2 * j + 2);
  }
  return c;
}

// Cody-Waite: k = round(x * 2/pi), r = x - k pi/2 with a three-part pi/2 (exact products for
// |k| < 2^12 (f32) / 2^20 (f64), so a few ulp for |x| < 6e3 (f32) / 1.6e6 (f64); beyond, the
// absolute error grows like |x| * 2^-48 (f32) / 2^-119 (f64)). Only for SPIR-V, which cannot
// hold reduce_pio2's table.
void reduce_cody_waite(MathBuilder& m, llvm::Value* x, llvm::Value*& r, llvm::Value*& q) {
  llvm::IRBuilder<>& b = m.b;
  const double p1 = m.f64 ? 1.57079632673412561417e+00 : 1.57080078125;
  const double p2 = m.f64 ? 6.07710050630396597660e-11 : -4.453584551811218e-06;
  const double p3 = m.f64 ? 2.02226624879595063154e-21 : -8.705515752716053e-10;
  llvm::Value* k = m.un(llvm::Intrinsic::roundeven, b.CreateFMul(x, m.c(0.6366197723675814)));
  llvm::Value* nk = b.CreateFNeg(k);
  r = m.fma(nk, m.c(p3), m.fma(nk, m.c(p2), m.fma(nk, m.c(p1), x)));
  // Quadrant k mod 4 (exact in floating point); clamped so NaN/inf convert defined.
  llvm::Value* qf = b.CreateFSub(k, b.CreateFMul(m.c(4.0), m.un(llvm::Intrinsic::floor, b.CreateFMul(k, m.c(0.25)))));
  qf = m.bin(llvm::Intrinsic::minnum, m.bin(llvm::Intrinsic::maxnum, qf, m.c(0.0)), m.c(3.0));
  q = b.CreateFPToSI(qf, b.getInt32Ty());
}

// sin(x) (quadrant_shift 0) or cos(x) (1): x = q pi/2 + r + r_lo by Payne-Hanek reduction
// (math_payne_hanek.cpp; |x| <= pi/4 is its own r), then sin or cos of r + r_lo by quadrant:
// sin(r + r_lo) = sin r + r_lo (1 - r^2/2), cos(r + r_lo) = cos r - r r_lo. Measured against
// mpmath over all exponents and the hardest cases (tests/python/test_math_accuracy.py): sin and
// cos within 0.7 ulp (f64) / 0.8 ulp (f32) over every finite input (before: NaN beyond about
// 1e9 and thousands of ulp near multiples of pi/2 above 1e4 in f32). The reduction is
// branch-free, so every input pays for it (18 integer multiplies and 7 table loads for f64, 7
// and 4 for f32): vectorised CPU loops of sin take about 2.4x (f64) / 4.7x (f32) the time of
// the Cody-Waite-only version.
llvm::Value* sincos(llvm::IRBuilder<>& b, llvm::Value* x, int quadrant_shift) {
  return via_f32(b, x, [&](llvm::Value* x) {
    MathBuilder m(b, x->getType());
    llvm::Value *r, *r_lo = m.c(0.0), *q;
    if (has_pio2_table(*b.GetInsertBlock()->getModule())) {
      reduce_pio2(m, x, r, r_lo, q);
      llvm::Value* small = b.CreateFCmpOLE(m.abs(x), m.c(0.7853981633974483));
      r = m.sel(small, x, r);
      r_lo = m.sel(small, m.c(0.0), r_lo);
      q = m.sel(small, b.getInt32(0), q);
    } else {
      reduce_cody_waite(m, x, r, q);
    }
    llvm::Value* z = b.CreateFMul(r, r);
    llvm::Value* hz = b.CreateFMul(m.c(0.5), z);
    llvm::Value* w = b.CreateFSub(m.c(1.0), hz);
    llvm::Value* s_tail = m.fma(b.CreateFMul(r, z), m.poly(z, sin_coeffs(m.f64)), b.CreateFMul(r_lo, w));
    llvm::Value* s = b.CreateFAdd(r, s_tail);
    llvm::Value* c_corr = b.CreateFSub(b.CreateFSub(b.CreateFSub(m.c(1.0), w), hz), b.CreateFMul(r, r_lo));
    llvm::Value* c = b.CreateFAdd(w, m.fma(b.CreateFMul(z, z), m.poly(z, cos_coeffs(m.f64)), c_corr));
    llvm::Value* qi = b.CreateAdd(q, b.getInt32(quadrant_shift));
    llvm::Value* odd = b.CreateICmpNE(b.CreateAnd(qi, b.getInt32(1)), b.getInt32(0));
    llvm::Value* neg = b.CreateICmpNE(b.CreateAnd(qi, b.getInt32(2)), b.getInt32(0));
    llvm::Value* v = m.sel(odd, c, s);
    llvm::Value* y = m.sel(neg, b.CreateFNeg(v), v);
    if (quadrant_shift == 0) y = m.sel(b.CreateFCmpOEQ(x, m.c(0.0)), x, y);  // sin(-0) = -0
    y = m.sel(b.CreateFCmpOEQ(m.abs(x), m.inf()), m.nan(), y);
    return m.sel(m.is_nan(x), x, y);
  });
}

}  // namespace

llvm::Value* emit_sin(llvm::IRBuilder<>& b, llvm::Value* x) { return sincos(b, x, 0); }
llvm::Value* emit_cos(llvm::IRBuilder<>& b, llvm::Value* x) { return sincos(b, x, 1); }

// tanh(x) = sign(x) * -t / (t + 2), t = expm1(-2|x|) in [-1, 0]: no overflow, no cancellation
// for small |x| (expm1 is accurate there). Within 3 ulp.
llvm::Value* emit_tanh(llvm::IRBuilder<>& b, llvm::Value* x) {
  return via_f32(b, x, [&](llvm::Value* x) {
    MathBuilder m(b, x->getType());
    llvm::Value* t = emit_expm1(b, b.CreateFMul(m.c(-2.0), m.abs(x)));
    llvm::Value* y = b.CreateFDiv(b.CreateFNeg(t), b.CreateFAdd(t, m.c(2.0)));
    return m.sel(m.is_nan(x), x, m.copysign(y, x));
  });
}

}  // namespace tessera::backends
