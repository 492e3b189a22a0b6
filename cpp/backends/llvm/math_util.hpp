// Small helpers for the math-function emitters (math*.cpp): constants, fma, Horner and
// Clenshaw evaluation, and the integer view of a float, all on one LLVM float type.
#pragma once
#include <initializer_list>
#include <vector>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/IntrinsicsNVPTX.h>
#include <llvm/IR/Module.h>

namespace tessera::backends {

struct MathBuilder {
  llvm::IRBuilder<>& b;
  llvm::Type* ty;  // float or double
  bool f64;
  int mant, bias;   // 52/1023 or 23/127
  llvm::Type* ity;  // i64 or i32

  bool nvptx_f32;  // f32 on NVIDIA: the special function unit's ex2 and rcp are available

  MathBuilder(llvm::IRBuilder<>& b, llvm::Type* ty)
      : b(b),
        ty(ty),
        f64(ty->isDoubleTy()),
        mant(f64 ? 52 : 23),
        bias(f64 ? 1023 : 127),
        ity(f64 ? b.getInt64Ty() : b.getInt32Ty()),
        nvptx_f32(ty->isFloatTy() && b.GetInsertBlock()->getModule()->getTargetTriple().isNVPTX()) {}

  llvm::Value* c(double v) const { return llvm::ConstantFP::get(ty, v); }
  llvm::Value* ci(int64_t v) const { return llvm::ConstantInt::get(ity, uint64_t(v), true); }
  llvm::Value* inf() const { return llvm::ConstantFP::getInfinity(ty); }
  llvm::Value* nan() const { return llvm::ConstantFP::getNaN(ty); }
  llvm::Value* fma(llvm::Value* x, llvm::Value* y, llvm::Value* z) {
    return b.CreateIntrinsic(llvm::Intrinsic::fma, {ty}, {x, y, z});
  }
  llvm::Value* un(llvm::Intrinsic::ID id, llvm::Value* x) { return b.CreateUnaryIntrinsic(id, x); }
  llvm::Value* bin(llvm::Intrinsic::ID id, llvm::Value* x, llvm::Value* y) { return b.CreateBinaryIntrinsic(id, x, y); }
  llvm::Value* abs(llvm::Value* x) { return un(llvm::Intrinsic::fabs, x); }
  llvm::Value* sel(llvm::Value* cond, llvm::Value* x, llvm::Value* y) { return b.CreateSelect(cond, x, y); }
  llvm::Value* is_nan(llvm::Value* x) { return b.CreateFCmpUNE(x, x); }  // UNE: Vulkan lacks OpUnordered
  // copysign from bit operations: the SPIR-V backend cannot select llvm.copysign.
  llvm::Value* copysign(llvm::Value* mag, llvm::Value* sgn) {
    llvm::Value* sign_bit = ci(int64_t(1) << (f64 ? 63 : 31));
    llvm::Value* m = b.CreateAnd(bits(mag), b.CreateNot(sign_bit));
    return from_bits(b.CreateOr(m, b.CreateAnd(bits(sgn), sign_bit)));
  }
  // 1/x: on NVIDIA f32 the hardware reciprocal (rcp.approx, 1 ulp) and one Newton step,
  // within 1 ulp for normal x (callers keep x away from subnormals); elsewhere a division.
  llvm::Value* recip(llvm::Value* x) {
    if (!nvptx_f32) return b.CreateFDiv(c(1.0), x);
    llvm::Value* r = b.CreateIntrinsic(llvm::Intrinsic::nvvm_rcp_approx_ftz_f, {}, {x});
    return fma(fma(b.CreateFNeg(x), r, c(1.0)), r, r);
  }
  llvm::Value* bits(llvm::Value* x) { return b.CreateBitCast(x, ity); }
  llvm::Value* from_bits(llvm::Value* i) { return b.CreateBitCast(i, ty); }
  // 2^e for an integer e in the normal exponent range.
  llvm::Value* pow2(llvm::Value* e) { return from_bits(b.CreateShl(b.CreateAdd(e, ci(bias)), mant)); }
  // Horner: coeffs[0] + x*(coeffs[1] + x*(...)).
  llvm::Value* poly(llvm::Value* x, const std::vector<double>& coeffs) {
    llvm::Value* p = c(coeffs.back());
    for (size_t i = coeffs.size() - 1; i-- > 0;) p = fma(p, x, c(coeffs[i]));
    return p;
  }
  // Chebyshev series sum_k coeffs[k] T_k(u), |u| <= 1, by Clenshaw's recurrence.
  llvm::Value* chebyshev(llvm::Value* u, const std::vector<double>& coeffs) {
    llvm::Value *b1 = c(0.0), *b2 = c(0.0), *u2 = b.CreateFAdd(u, u);
    for (size_t k = coeffs.size(); k-- > 1;) {
      llvm::Value* bk = b.CreateFSub(fma(u2, b1, c(coeffs[k])), b2);
      b2 = b1;
      b1 = bk;
    }
    return b.CreateFSub(fma(u, b1, c(coeffs[0])), b2);
  }
  // Error-free transformations for double-word ("hi + lo") arithmetic: hi is the rounded
  // result and lo its exact rounding error. fast_two_sum needs |x| >= |y| (or x == 0).
  void two_sum(llvm::Value* x, llvm::Value* y, llvm::Value*& hi, llvm::Value*& lo) {
    hi = b.CreateFAdd(x, y);
    llvm::Value* yv = b.CreateFSub(hi, x);
    lo = b.CreateFAdd(b.CreateFSub(x, b.CreateFSub(hi, yv)), b.CreateFSub(y, yv));
  }
  void fast_two_sum(llvm::Value* x, llvm::Value* y, llvm::Value*& hi, llvm::Value*& lo) {
    hi = b.CreateFAdd(x, y);
    lo = b.CreateFSub(y, b.CreateFSub(hi, x));
  }
  void two_prod(llvm::Value* x, llvm::Value* y, llvm::Value*& hi, llvm::Value*& lo) {
    hi = b.CreateFMul(x, y);
    lo = fma(x, y, b.CreateFNeg(hi));
  }
};

// Shared pieces of the math emitters (math.cpp, math_payne_hanek.cpp).
// exp(hi + lo) for |lo| <= ulp(hi), finite or not (the exp special cases hold for hi).
llvm::Value* exp_with_tail(MathBuilder& m, llvm::Value* hi, llvm::Value* lo);
// exp on NVIDIA f32 through ex2.approx (math.cpp); `subnormals` false flushes them to 0.
llvm::Value* exp_nvptx_f32(MathBuilder& m, llvm::Value* x, bool subnormals, bool bounded);
// log(x) = hi + lo to about 2^-64 relative (f64) for finite x > 0; other x give garbage.
void log_double_word(MathBuilder& m, llvm::Value* x, llvm::Value*& hi, llvm::Value*& lo);
// x = q * pi/2 + (r + r_lo) with |r| <= pi/4 and q in 0..3 (i32), for every finite x
// (Payne-Hanek; NaN/inf give garbage). `r_lo` is the rounding error of r.
void reduce_pio2(MathBuilder& m, llvm::Value* x, llvm::Value*& r, llvm::Value*& r_lo, llvm::Value*& q);
// Whether the target can hold reduce_pio2's table (a constant global array): not SPIR-V.
bool has_pio2_table(const llvm::Module& mod);

// Runs `f` on x widened to f32 when x is f16/bf16, and rounds the result back once.
template <class F>
llvm::Value* via_f32(llvm::IRBuilder<>& b, llvm::Value* x, F f) {
  llvm::Type* ty = x->getType();
  if (!ty->isHalfTy() && !ty->isBFloatTy()) return f(x);
  return b.CreateFPTrunc(f(b.CreateFPExt(x, b.getFloatTy())), ty);
}

}  // namespace tessera::backends
