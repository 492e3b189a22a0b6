// Portable math functions built from basic arithmetic, so every target computes the same
// thing and CPU loops containing them vectorise (a libm call would stop that).
#include <cmath>

#include <llvm/IR/Intrinsics.h>

#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {

// exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 (|r| <= ln2/2) by Cody-Waite
// reduction with a two-part ln 2; exp(r) by its Taylor series (degree 7 for f32, 13 for f64:
// truncation error below half an ulp). 2^n is applied in two halves so results that are
// subnormal or close to overflow are still exact up to one rounding.
llvm::Value* emit_exp(llvm::IRBuilder<>& b, llvm::Value* x) {
  llvm::Type* ty = x->getType();
  if (ty->isHalfTy() || ty->isBFloatTy())
    return b.CreateFPTrunc(emit_exp(b, b.CreateFPExt(x, b.getFloatTy())), ty);
  bool f64 = ty->isDoubleTy();
  auto c = [&](double v) { return llvm::ConstantFP::get(ty, v); };
  const double ln2_hi = f64 ? 6.93147180369123816490e-01 : 0.693145751953125;
  const double ln2_lo = f64 ? 1.90821492927058770002e-10 : 1.428606765330187045e-06;
  const double hi = f64 ? 709.782712893384 : 88.72283905206835;      // above: +inf
  const double lo = f64 ? -745.1332191019412 : -103.97208300017095;  // below: 0
  const int degree = f64 ? 13 : 7;
  const int mant = f64 ? 52 : 23, bias = f64 ? 1023 : 127;
  llvm::Type* ity = f64 ? b.getInt64Ty() : b.getInt32Ty();

  llvm::Value* n = b.CreateUnaryIntrinsic(llvm::Intrinsic::roundeven, b.CreateFMul(x, c(1.4426950408889634)));
  llvm::Value* neg_n = b.CreateFNeg(n);
  llvm::Value* r = b.CreateIntrinsic(llvm::Intrinsic::fma, {ty}, {neg_n, c(ln2_hi), x});
  r = b.CreateIntrinsic(llvm::Intrinsic::fma, {ty}, {neg_n, c(ln2_lo), r});
  // Horner: sum_{k=0..degree} r^k / k!
  double inv_fact = 1.0;
  for (int k = 1; k <= degree; ++k) inv_fact /= k;
  llvm::Value* p = c(inv_fact);
  for (int k = degree - 1; k >= 0; --k) {
    inv_fact *= (k + 1);
    p = b.CreateIntrinsic(llvm::Intrinsic::fma, {ty}, {p, r, c(inv_fact)});
  }
  // Clamp n so the integer conversion is defined for any input; out-of-range x is fixed below.
  llvm::Value* nc = b.CreateBinaryIntrinsic(llvm::Intrinsic::maxnum, n, c(-2.0 * bias));
  nc = b.CreateBinaryIntrinsic(llvm::Intrinsic::minnum, nc, c(2.0 * bias));
  llvm::Value* ni = b.CreateFPToSI(nc, ity);
  llvm::Value* n1 = b.CreateAShr(ni, 1);
  llvm::Value* n2 = b.CreateSub(ni, n1);
  auto pow2 = [&](llvm::Value* e) {
    llvm::Value* bits = b.CreateShl(b.CreateAdd(e, llvm::ConstantInt::get(ity, bias)), mant);
    return b.CreateBitCast(bits, ty);
  };
  llvm::Value* y = b.CreateFMul(b.CreateFMul(p, pow2(n1)), pow2(n2));
  y = b.CreateSelect(b.CreateFCmpOGT(x, c(hi)), llvm::ConstantFP::getInfinity(ty), y);
  y = b.CreateSelect(b.CreateFCmpOLT(x, c(lo)), c(0.0), y);
  return b.CreateSelect(b.CreateFCmpUNE(x, x), x, y);  // NaN (UNE, not UNO: Vulkan lacks OpUnordered)
}

}  // namespace tessera::backends
