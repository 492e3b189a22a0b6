// Small helpers for the math-function emitters (math*.cpp): constants, fma, Horner and
// Clenshaw evaluation, and the integer view of a float, all on one LLVM float type.
#pragma once
#include <initializer_list>
#include <vector>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>

namespace tessera::backends {

struct MathBuilder {
  llvm::IRBuilder<>& b;
  llvm::Type* ty;  // float or double
  bool f64;
  int mant, bias;   // 52/1023 or 23/127
  llvm::Type* ity;  // i64 or i32

  MathBuilder(llvm::IRBuilder<>& b, llvm::Type* ty)
      : b(b), ty(ty), f64(ty->isDoubleTy()), mant(f64 ? 52 : 23), bias(f64 ? 1023 : 127),
        ity(f64 ? b.getInt64Ty() : b.getInt32Ty()) {}

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
};

// Runs `f` on x widened to f32 when x is f16/bf16, and rounds the result back once.
template <class F>
llvm::Value* via_f32(llvm::IRBuilder<>& b, llvm::Value* x, F f) {
  llvm::Type* ty = x->getType();
  if (!ty->isHalfTy() && !ty->isBFloatTy()) return f(x);
  return b.CreateFPTrunc(f(b.CreateFPExt(x, b.getFloatTy())), ty);
}

}  // namespace tessera::backends
