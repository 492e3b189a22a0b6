// Inverse trigonometric functions and the base-2/base-10 exponent and logarithms, built from
// arithmetic like the rest of the math library (math.cpp). Accuracy is measured against mpmath
// in tests/python/test_math_functions.py.
#include "backends/llvm/math_util.hpp"
#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {
namespace {

// A constant as hi + lo in the float type of `m` (lo is what hi's rounding lost).
struct Split {
  double hi64, lo64, hi32, lo32;
  llvm::Value* hi(MathBuilder& m) const { return m.c(m.f64 ? hi64 : hi32); }
  llvm::Value* lo(MathBuilder& m) const { return m.c(m.f64 ? lo64 : lo32); }
};
constexpr Split kPi{3.141592653589793, 1.2246467991473532e-16, 3.1415927410125732, -8.742277657347586e-08};
constexpr Split kPi2{1.5707963267948966, 6.123233995736766e-17, 1.5707963705062866, -4.371138828673793e-08};
constexpr Split kPi6{0.5235987755982989, -5.360408832255455e-17, 0.5235987901687622, -1.457046305830545e-08};

// (hi + lo) - y, for y much smaller than hi or of the same size without cancellation.
llvm::Value* minus(MathBuilder& m, const Split& c, llvm::Value* y) {
  return m.b.CreateFAdd(m.b.CreateFSub(c.hi(m), y), c.lo(m));
}

// atan(a) for a >= 0 (NaN propagates, inf gives pi/2). a > 1 uses pi/2 - atan(1/a); then
// r > tan(pi/12) uses pi/6 + atan(t), t = (r sqrt3 - 1) / (r + sqrt3), so |t| <= tan(pi/12)
// and atan(t) = t + t s P(s), s = t^2, with P interpolated at Chebyshev nodes in s (relative
// error 1e-18 for f64 with degree 8, 1e-9 for f32 with degree 3). Within 1.5 ulp.
llvm::Value* atan_nonneg(MathBuilder& m, llvm::Value* a) {
  llvm::IRBuilder<>& b = m.b;
  static const std::vector<double> p64 = {-0.3333333333333333,  0.1999999999999688,   -0.14285714284553813,
                                          0.11111110944516939,  -0.09090897081592211, 0.07691819638198708,
                                          -0.06654945053677658, 0.05716329894442852,  -0.03957893591546196};
  static const std::vector<double> p32 = {-0.3333333165718989, 0.1999925152445654, -0.14233056633125596,
                                          0.09907260476905647};
  const double sqrt3 = 1.7320508075688772, tan_pi12 = 0.2679491924311227;
  llvm::Value* big = b.CreateFCmpOGT(a, m.c(1.0));
  llvm::Value* r = m.sel(big, b.CreateFDiv(m.c(1.0), a), a);
  llvm::Value* mid = b.CreateFCmpOGT(r, m.c(tan_pi12));
  llvm::Value* t = m.sel(mid, b.CreateFDiv(m.fma(r, m.c(sqrt3), m.c(-1.0)), b.CreateFAdd(r, m.c(sqrt3))), r);
  llvm::Value* s = b.CreateFMul(t, t);
  llvm::Value* p = m.fma(b.CreateFMul(t, s), m.poly(s, m.f64 ? p64 : p32), t);
  llvm::Value* y = m.sel(mid, b.CreateFAdd(b.CreateFAdd(p, kPi6.lo(m)), kPi6.hi(m)), p);
  return m.sel(big, minus(m, kPi2, y), y);
}

// log_b(x) = log(x) / ln(b) from the double-word log, so exact powers of b (2^k; 10^k where
// the rounding allows) come out exact. f32 computes in f64 and rounds once. Within 1 ulp.
llvm::Value* log_base(llvm::IRBuilder<>& b, llvm::Value* x, double inv_ln_hi, double inv_ln_lo) {
  llvm::Type* ty = x->getType();
  llvm::Value* xd = b.CreateFPCast(x, b.getDoubleTy());
  MathBuilder m(b, b.getDoubleTy());
  llvm::Value *hi, *lo;
  log_double_word(m, xd, hi, lo);
  llvm::Value* y = m.fma(hi, m.c(inv_ln_hi), m.fma(hi, m.c(inv_ln_lo), b.CreateFMul(lo, m.c(inv_ln_hi))));
  y = m.sel(b.CreateFCmpOEQ(xd, m.inf()), xd, y);
  y = m.sel(b.CreateFCmpOEQ(xd, m.c(0.0)), b.CreateFNeg(m.inf()), y);
  y = m.sel(b.CreateFCmpOLT(xd, m.c(0.0)), m.nan(), y);
  y = m.sel(m.is_nan(xd), xd, y);
  return b.CreateFPCast(y, ty);
}

}  // namespace

llvm::Value* emit_atan(llvm::IRBuilder<>& b, llvm::Value* x) {
  MathBuilder m(b, x->getType());
  return m.copysign(atan_nonneg(m, m.abs(x)), x);
}

// atan2(y, x) from atan(min/max) in [0, pi/4], then the octant: pi/2 - r when |y| > |x|, pi - r
// when x is negative (its sign bit: atan2(+0, -0) = pi), and y's sign. C99's special values:
// both zero gives +-0 or +-pi, both infinite +-pi/4 or +-3pi/4. Within 2 ulp.
llvm::Value* emit_atan2(llvm::IRBuilder<>& b, llvm::Value* y, llvm::Value* x) {
  MathBuilder m(b, x->getType());
  llvm::Value *ax = m.abs(x), *ay = m.abs(y);
  llvm::Value* hi = m.bin(llvm::Intrinsic::maxnum, ax, ay);
  llvm::Value* lo = m.bin(llvm::Intrinsic::minnum, ax, ay);
  llvm::Value* q = b.CreateFDiv(lo, hi);
  q = m.sel(b.CreateFCmpOEQ(hi, m.c(0.0)), m.c(0.0), q);
  q = m.sel(b.CreateFCmpOEQ(lo, m.inf()), m.c(1.0), q);
  llvm::Value* r = atan_nonneg(m, q);
  r = m.sel(b.CreateFCmpOGT(ay, ax), minus(m, kPi2, r), r);
  llvm::Value* x_neg = b.CreateFCmpOLT(m.copysign(m.c(1.0), x), m.c(0.0));
  r = m.sel(x_neg, minus(m, kPi, r), r);
  r = m.copysign(r, y);
  return m.sel(b.CreateOr(m.is_nan(x), m.is_nan(y)), b.CreateFAdd(x, y), r);
}

llvm::Value* emit_log2(llvm::IRBuilder<>& b, llvm::Value* x) {
  return log_base(b, x, 1.4426950408889634, 2.0355273740931033e-17);
}

llvm::Value* emit_log10(llvm::IRBuilder<>& b, llvm::Value* x) {
  return log_base(b, x, 0.4342944819032518, 1.098319650216765e-17);
}

// 2^x = exp(x ln2) with x ln2 as an exact hi + lo pair, so integer x give exact powers of two
// (and subnormal results round once). f32 computes in f64 and rounds once. Within 1 ulp.
llvm::Value* emit_exp2(llvm::IRBuilder<>& b, llvm::Value* x) {
  llvm::Type* ty = x->getType();
  llvm::Value* xd = b.CreateFPCast(x, b.getDoubleTy());
  MathBuilder m(b, b.getDoubleTy());
  const double ln2 = 0.6931471805599453, ln2_lo = 2.3190468138462996e-17;
  llvm::Value* hi = b.CreateFMul(xd, m.c(ln2));
  llvm::Value* lo = m.fma(xd, m.c(ln2_lo), m.fma(xd, m.c(ln2), b.CreateFNeg(hi)));
  return b.CreateFPCast(exp_with_tail(m, hi, lo), ty);
}

}  // namespace tessera::backends
