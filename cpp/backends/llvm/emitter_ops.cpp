// Tile IR op -> LLVM instructions, for one lane or one scalar. Shared by every target.
#include <cmath>
#include <limits>
#include <map>

#include <llvm/IR/Intrinsics.h>

#include "backends/llvm/math_util.hpp"
#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {

llvm::Type* register_type(llvm::LLVMContext& ctx, DType t) {
  switch (t) {
    case DType::F64: return llvm::Type::getDoubleTy(ctx);
    case DType::F32: return llvm::Type::getFloatTy(ctx);
    case DType::F16: return llvm::Type::getHalfTy(ctx);
    case DType::BF16: return llvm::Type::getBFloatTy(ctx);
    case DType::I64: return llvm::Type::getInt64Ty(ctx);
    case DType::I32: return llvm::Type::getInt32Ty(ctx);
    case DType::I8:
    case DType::U8: return llvm::Type::getInt8Ty(ctx);
    case DType::Bool: return llvm::Type::getInt1Ty(ctx);
  }
  return nullptr;
}

llvm::Type* memory_type(llvm::LLVMContext& ctx, DType t) {
  return t == DType::Bool ? llvm::Type::getInt8Ty(ctx) : register_type(ctx, t);
}

KernelEmitter::KernelEmitter(const ir::Function& fn, llvm::Module& m, TargetHooks& hooks)
    : fn_(fn), m_(m), hooks_(hooks), ctx_(m.getContext()), b_(m.getContext()) {
  auto it = fn.attrs.find("lanes");
  if (it != fn.attrs.end()) lanes_ = std::get<int64_t>(it->second);
  if (auto v = fn.attrs.find("vector"); v != fn.attrs.end()) vec_ = std::get<int64_t>(v->second);
  ir::walk(const_cast<ir::Block&>(fn.body), [&](ir::Op& op) {
    for (ir::Value* v : op.operands) users_[v].push_back(&op);
  });
}

llvm::Value* KernelEmitter::scalar(const ir::Value* v) const {
  auto it = values_.find(v);
  if (it == values_.end()) fail(ErrorCode::Internal, "kernel " + fn_.name + ": value used before it was lowered");
  return it->second;
}

void KernelEmitter::emit() {
  std::vector<llvm::Value*> buffers;
  f_ = hooks_.begin_kernel(m_, fn_, b_, buffers);
  for (size_t i = 0; i < buffers.size(); ++i) values_[fn_.body.args[i].get()] = buffers[i];
  if (hooks_.lanes_are_threads()) {
    tid_ = hooks_.thread_id(b_);
    threads_ = std::get<ir::IntList>(fn_.attrs.at("block"))[0];
    if (threads_ <= 0 || lanes_ % (threads_ * vec_) != 0)
      fail(ErrorCode::Compile, "kernel " + fn_.name + ": " + std::to_string(lanes_) + " lanes do not split into " +
                                   std::to_string(threads_) + " threads of vectors of " + std::to_string(vec_));
    per_thread_ = lanes_ / threads_;
    if (per_thread_ > 1 && !hooks_.has_shuffle())
      fail(ErrorCode::Compile, "kernel " + fn_.name + ": several lanes per thread need warp shuffles on this target");
    threads_block(fn_.body);
  } else {
    loops_block(fn_.body);
  }
  b_.CreateRetVoid();
  hooks_.end_kernel(m_, fn_, f_);
}

llvm::Value* KernelEmitter::element_op(const ir::Op& op, const std::vector<llvm::Value*>& args, llvm::Value* lane) {
  const std::string& n = op.name;
  if (n.rfind("arith.", 0) == 0) return arith(op, args);
  if (n == "tile.program_id") return hooks_.program_id(b_, int(op.int_attr("axis")));
  if (n == "tile.arange") return lane;
  if (n == "tile.splat") return args[0];
  if (n == "tile.load") return element_load(op, args);
  if (n == "tile.scratch") return emit_scratch(op);
  fail(ErrorCode::Compile, "kernel " + fn_.name + ": no LLVM lowering for '" + n + "'", op.loc.str());
}

llvm::Value* KernelEmitter::element_load(const ir::Op& op, const std::vector<llvm::Value*>& args, bool isolated) {
  DType dt = op.result()->type.dtype;
  llvm::Type* mt = memory_type(ctx_, dt);
  auto load = [&]() -> llvm::Value* {
    llvm::Value* ptr = hooks_.element_pointer(b_, args[0], mt, args[1]);
    llvm::Value* v = b_.CreateLoad(mt, ptr, isolated);
    return dt == DType::Bool ? b_.CreateICmpNE(v, llvm::ConstantInt::get(mt, 0)) : v;
  };
  if (args.size() < 3) return load();
  double other = 0.0;
  if (op.has_attr("other")) {
    const ir::Attr& a = op.attrs.at("other");
    other = std::holds_alternative<int64_t>(a) ? double(std::get<int64_t>(a)) : std::get<double>(a);
  }
  llvm::Type* rt = register_type(ctx_, dt);
  llvm::Value* fallback =
      is_float(dt) ? llvm::ConstantFP::get(rt, other) : llvm::ConstantInt::get(rt, uint64_t(int64_t(other)), true);
  llvm::BasicBlock* before = b_.GetInsertBlock();
  llvm::Value* loaded = nullptr;
  llvm::BasicBlock* loaded_bb = nullptr;
  emit_if(args[2], [&] {
    loaded = load();
    loaded_bb = b_.GetInsertBlock();
  });
  llvm::PHINode* phi = b_.CreatePHI(rt, 2);
  phi->addIncoming(fallback, before);
  phi->addIncoming(loaded, loaded_bb);
  return phi;
}

void KernelEmitter::element_store(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  DType dt = op.operands[2]->type.dtype;
  llvm::Type* mt = memory_type(ctx_, dt);
  auto store = [&] {
    llvm::Value* v = dt == DType::Bool ? b_.CreateZExt(args[2], mt) : args[2];
    b_.CreateStore(v, hooks_.element_pointer(b_, args[0], mt, args[1]));
  };
  if (args.size() < 4)
    store();
  else
    emit_if(args[3], store);
}

llvm::Value* KernelEmitter::convert(llvm::Value* v, DType from, DType to) {
  llvm::Type* t = register_type(ctx_, to);
  if (from == to) return v;
  if (to == DType::Bool)
    return is_float(from) ? b_.CreateFCmpUNE(v, llvm::ConstantFP::get(v->getType(), 0.0))
                          : b_.CreateICmpNE(v, llvm::ConstantInt::get(v->getType(), 0));
  if (from == DType::Bool) return is_float(to) ? b_.CreateUIToFP(v, t) : b_.CreateZExt(v, t);
  if (to == DType::BF16 && !is_float(from)) return convert(convert(v, from, DType::F32), DType::F32, to);
  if (to == DType::BF16 && hooks_.native_bf16()) return b_.CreateFPTrunc(b_.CreateFPCast(v, b_.getFloatTy()), t);
  if (to == DType::BF16) {
    // Round to nearest even on the bits: fptrunc to bfloat becomes a libcall (__truncsfbf2)
    // on CPUs, which the JIT cannot resolve. (From f64 this rounds twice, via f32.)
    llvm::Value* u = b_.CreateBitCast(b_.CreateFPCast(v, b_.getFloatTy()), b_.getInt32Ty());
    llvm::Value* lsb = b_.CreateAnd(b_.CreateLShr(u, 16), b_.getInt32(1));
    llvm::Value* r = b_.CreateLShr(b_.CreateAdd(u, b_.CreateAdd(lsb, b_.getInt32(0x7FFF))), 16);
    llvm::Value* f = b_.CreateFPCast(v, b_.getFloatTy());
    r = b_.CreateSelect(b_.CreateFCmpUNE(f, f), b_.CreateOr(b_.CreateLShr(u, 16), b_.getInt32(0x40)), r);
    return b_.CreateBitCast(b_.CreateTrunc(r, b_.getInt16Ty()), t);
  }
  if (is_float(from) && is_float(to)) return b_.CreateFPCast(v, t);
  if (is_float(from)) return is_signed_int(to) ? b_.CreateFPToSI(v, t) : b_.CreateFPToUI(v, t);
  if (is_float(to)) return is_signed_int(from) ? b_.CreateSIToFP(v, t) : b_.CreateUIToFP(v, t);
  return b_.CreateIntCast(v, t, is_signed_int(from));
}

// argmax/argmin carry {value, i64 index} structs through the same combine/identity as the
// other kinds, so both lane strategies reduce them like any scalar.
llvm::Value* KernelEmitter::identity(const std::string& kind, DType t) {
  llvm::Type* ty = register_type(ctx_, t);
  if (kind == "argmax" || kind == "argmin") {
    auto* v = llvm::cast<llvm::Constant>(identity(kind.substr(3), t));
    auto* st = llvm::StructType::get(ctx_, {ty, b_.getInt64Ty()});
    return llvm::ConstantStruct::get(st, {v, b_.getInt64(uint64_t(std::numeric_limits<int64_t>::max()))});
  }
  if (kind == "sum") return is_float(t) ? llvm::ConstantFP::get(ty, 0.0) : llvm::ConstantInt::get(ty, 0);
  if (kind == "prod") return is_float(t) ? llvm::ConstantFP::get(ty, 1.0) : llvm::ConstantInt::get(ty, 1);
  bool max = kind == "max";
  if (is_float(t)) return llvm::ConstantFP::getInfinity(ty, max);
  unsigned bits = ty->getIntegerBitWidth();
  if (is_signed_int(t))
    return llvm::ConstantInt::get(ctx_,
                                  max ? llvm::APInt::getSignedMinValue(bits) : llvm::APInt::getSignedMaxValue(bits));
  return llvm::ConstantInt::get(ctx_, max ? llvm::APInt::getMinValue(bits) : llvm::APInt::getMaxValue(bits));
}

llvm::Value* KernelEmitter::combine(const std::string& kind, DType t, llvm::Value* a, llvm::Value* c) {
  bool fp = is_float(t);
  if (kind == "argmax" || kind == "argmin") {
    // Take c when it is better: a NaN beats any number, then the larger (smaller) value, then
    // the smaller index. A total order, so any combining order gives the same pair.
    llvm::Value *av = b_.CreateExtractValue(a, 0), *ai = b_.CreateExtractValue(a, 1);
    llvm::Value *cv = b_.CreateExtractValue(c, 0), *ci = b_.CreateExtractValue(c, 1);
    bool max = kind == "argmax";
    using P = llvm::CmpInst::Predicate;
    llvm::Value* lower_index = b_.CreateICmpSLT(ci, ai);
    llvm::Value* take;
    if (fp) {
      llvm::Value* better = b_.CreateFCmp(max ? P::FCMP_OGT : P::FCMP_OLT, cv, av);
      llvm::Value* tie = b_.CreateAnd(b_.CreateFCmpOEQ(cv, av), lower_index);
      llvm::Value* a_nan = b_.CreateFCmpUNE(av, av);  // not UNO: Vulkan lacks OpUnordered
      llvm::Value* c_nan = b_.CreateFCmpUNE(cv, cv);
      llvm::Value* if_a_number = b_.CreateOr(c_nan, b_.CreateOr(better, tie));
      take = b_.CreateSelect(a_nan, b_.CreateAnd(c_nan, lower_index), if_a_number);
    } else {
      bool sgn = is_signed_int(t);
      llvm::Value* better =
          b_.CreateICmp(max ? (sgn ? P::ICMP_SGT : P::ICMP_UGT) : (sgn ? P::ICMP_SLT : P::ICMP_ULT), cv, av);
      take = b_.CreateOr(better, b_.CreateAnd(b_.CreateICmpEQ(cv, av), lower_index));
    }
    // Field by field: some GPU backends do not select whole structs.
    llvm::Value* r = b_.CreateInsertValue(llvm::PoisonValue::get(a->getType()), b_.CreateSelect(take, cv, av), 0);
    return b_.CreateInsertValue(r, b_.CreateSelect(take, ci, ai), 1);
  }
  if (kind == "sum") return fp ? b_.CreateFAdd(a, c) : b_.CreateAdd(a, c);
  if (kind == "prod") return fp ? b_.CreateFMul(a, c) : b_.CreateMul(a, c);
  bool max = kind == "max";
  if (fp) return b_.CreateBinaryIntrinsic(max ? llvm::Intrinsic::maximum : llvm::Intrinsic::minimum, a, c);
  if (is_signed_int(t)) return b_.CreateBinaryIntrinsic(max ? llvm::Intrinsic::smax : llvm::Intrinsic::smin, a, c);
  return b_.CreateBinaryIntrinsic(max ? llvm::Intrinsic::umax : llvm::Intrinsic::umin, a, c);
}

namespace {
// Integer x**e by square-and-multiply over every bit of e (wrapping like NumPy). Negative e
// (signed types): the truncated real result, 1 / x**|e|: 1 for x = 1, +-1 for x = -1, else 0.
llvm::Value* int_pow(llvm::IRBuilder<>& b, llvm::Value* x, llvm::Value* e, bool sgn) {
  llvm::Type* t = x->getType();
  auto ci = [&](int64_t v) { return llvm::ConstantInt::get(t, uint64_t(v), true); };
  llvm::Value *r = ci(1), *base = x, *rest = e;
  for (unsigned i = 0; i < t->getIntegerBitWidth(); ++i) {
    llvm::Value* bit = b.CreateICmpNE(b.CreateAnd(rest, ci(1)), ci(0));
    r = b.CreateSelect(bit, b.CreateMul(r, base), r);
    base = b.CreateMul(base, base);
    rest = b.CreateLShr(rest, 1);
  }
  if (!sgn) return r;
  llvm::Value* odd = b.CreateICmpNE(b.CreateAnd(e, ci(1)), ci(0));
  llvm::Value* neg_one = b.CreateSelect(odd, ci(-1), ci(1));
  llvm::Value* recip =
      b.CreateSelect(b.CreateICmpEQ(x, ci(1)), ci(1), b.CreateSelect(b.CreateICmpEQ(x, ci(-1)), neg_one, ci(0)));
  return b.CreateSelect(b.CreateICmpSLT(e, ci(0)), recip, r);
}
}  // namespace

llvm::Value* KernelEmitter::arith(const ir::Op& op, const std::vector<llvm::Value*>& a) {
  const std::string k = op.name.substr(6);
  if (k == "const") {
    const ir::Type& t = std::get<ir::Type>(op.attrs.at("type"));
    const ir::Attr& v = op.attrs.at("value");
    llvm::Type* ty = register_type(ctx_, t.dtype);
    double d = std::holds_alternative<int64_t>(v) ? double(std::get<int64_t>(v)) : std::get<double>(v);
    if (is_float(t.dtype)) return llvm::ConstantFP::get(ty, d);
    int64_t i = std::holds_alternative<int64_t>(v) ? std::get<int64_t>(v) : int64_t(d);
    return llvm::ConstantInt::get(ty, uint64_t(i), true);
  }
  DType dt = op.operands[0]->type.dtype;
  if (k == "cast") return convert(a[0], dt, std::get<ir::Type>(op.attrs.at("to")).dtype);
  if (k == "select") return b_.CreateSelect(a[0], a[1], a[2]);
  bool fp = is_float(dt), sgn = is_signed_int(dt);
  if (k == "add") return fp ? b_.CreateFAdd(a[0], a[1]) : b_.CreateAdd(a[0], a[1]);
  if (k == "sub") return fp ? b_.CreateFSub(a[0], a[1]) : b_.CreateSub(a[0], a[1]);
  if (k == "mul") return fp ? b_.CreateFMul(a[0], a[1]) : b_.CreateMul(a[0], a[1]);
  if (k == "div") return fp ? b_.CreateFDiv(a[0], a[1]) : sgn ? b_.CreateSDiv(a[0], a[1]) : b_.CreateUDiv(a[0], a[1]);
  if (k == "rem") return fp ? b_.CreateFRem(a[0], a[1]) : sgn ? b_.CreateSRem(a[0], a[1]) : b_.CreateURem(a[0], a[1]);
  if (k == "max" || k == "min") {
    if (dt == DType::Bool) return k == "max" ? b_.CreateOr(a[0], a[1]) : b_.CreateAnd(a[0], a[1]);
    return combine(k, dt, a[0], a[1]);
  }
  if (k == "and") return b_.CreateAnd(a[0], a[1]);
  if (k == "or") return b_.CreateOr(a[0], a[1]);
  if (k == "xor") return b_.CreateXor(a[0], a[1]);
  if (k == "shl") return b_.CreateShl(a[0], a[1]);
  if (k == "lshr") return b_.CreateLShr(a[0], a[1]);
  if (k == "ashr") return b_.CreateAShr(a[0], a[1]);
  if (k == "not") return b_.CreateNot(a[0]);
  if (k == "neg") return fp ? b_.CreateFNeg(a[0]) : b_.CreateNeg(a[0]);
  if (k == "abs") {
    if (fp) return b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, a[0]);
    return sgn ? b_.CreateBinaryIntrinsic(llvm::Intrinsic::abs, a[0], b_.getFalse()) : a[0];
  }
  if (k == "copysign") return MathBuilder(b_, a[0]->getType()).copysign(a[0], a[1]);
  if (k == "pow") return fp ? emit_pow(b_, a[0], a[1]) : int_pow(b_, a[0], a[1], sgn);
  if (k == "sqrt") return b_.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, a[0]);
  if (k == "floor") return b_.CreateUnaryIntrinsic(llvm::Intrinsic::floor, a[0]);
  if (k == "ceil") return b_.CreateUnaryIntrinsic(llvm::Intrinsic::ceil, a[0]);
  if (k == "round") return b_.CreateUnaryIntrinsic(llvm::Intrinsic::roundeven, a[0]);
  if (k == "trunc") return b_.CreateUnaryIntrinsic(llvm::Intrinsic::trunc, a[0]);
  if (k == "atan2") return emit_atan2(b_, a[0], a[1]);
  using MathFn = llvm::Value* (*)(llvm::IRBuilder<>&, llvm::Value*);
  static const std::map<std::string, MathFn> math = {
      {"exp", emit_exp},     {"expm1", emit_expm1},     {"log", emit_log},   {"log1p", emit_log1p},
      {"sin", emit_sin},     {"cos", emit_cos},         {"tanh", emit_tanh}, {"erf", emit_erf},
      {"erfc", emit_erfc},   {"sigmoid", emit_sigmoid}, {"atan", emit_atan}, {"log2", emit_log2},
      {"log10", emit_log10}, {"exp2", emit_exp2}};
  if (auto it = math.find(k); it != math.end()) return it->second(b_, a[0]);
  if (k == "cmp") {
    const std::string& p = op.str_attr("pred");
    using P = llvm::CmpInst::Predicate;
    P pred = fp    ? (p == "lt"   ? P::FCMP_OLT
                      : p == "le" ? P::FCMP_OLE
                      : p == "gt" ? P::FCMP_OGT
                      : p == "ge" ? P::FCMP_OGE
                      : p == "eq" ? P::FCMP_OEQ
                                  : P::FCMP_UNE)
             : sgn ? (p == "lt"   ? P::ICMP_SLT
                      : p == "le" ? P::ICMP_SLE
                      : p == "gt" ? P::ICMP_SGT
                      : p == "ge" ? P::ICMP_SGE
                      : p == "eq" ? P::ICMP_EQ
                                  : P::ICMP_NE)
                   : (p == "lt"   ? P::ICMP_ULT
                      : p == "le" ? P::ICMP_ULE
                      : p == "gt" ? P::ICMP_UGT
                      : p == "ge" ? P::ICMP_UGE
                      : p == "eq" ? P::ICMP_EQ
                                  : P::ICMP_NE);
    return fp ? b_.CreateFCmp(pred, a[0], a[1]) : b_.CreateICmp(pred, a[0], a[1]);
  }
  fail(ErrorCode::Compile, "kernel " + fn_.name + ": no LLVM lowering for '" + op.name + "'", op.loc.str());
}

KernelEmitter::ForLoop KernelEmitter::begin_loop(llvm::Value* lb, llvm::Value* step, const char* name) {
  ForLoop loop;
  loop.pre = b_.GetInsertBlock();
  loop.header = llvm::BasicBlock::Create(ctx_, std::string(name) + ".header", f_);
  loop.body = llvm::BasicBlock::Create(ctx_, std::string(name) + ".body", f_);
  loop.exit = llvm::BasicBlock::Create(ctx_, std::string(name) + ".exit", f_);
  loop.step = step;
  b_.CreateBr(loop.header);
  b_.SetInsertPoint(loop.header);
  loop.iv = b_.CreatePHI(b_.getInt64Ty(), 2, "iv");
  loop.iv->addIncoming(lb, loop.pre);
  return loop;
}

void KernelEmitter::enter_loop_body(ForLoop& loop, llvm::Value* ub) {
  b_.CreateCondBr(b_.CreateICmpSLT(loop.iv, ub), loop.body, loop.exit);
  b_.SetInsertPoint(loop.body);
}

llvm::BranchInst* KernelEmitter::end_loop(ForLoop& loop) {
  loop.iv->addIncoming(b_.CreateAdd(loop.iv, loop.step), b_.GetInsertBlock());
  llvm::BranchInst* latch = b_.CreateBr(loop.header);
  b_.SetInsertPoint(loop.exit);
  return latch;
}

llvm::BranchInst* KernelEmitter::loop_with_state(
    llvm::Value* lb, llvm::Value* ub, const char* name, std::vector<llvm::Value*>& state,
    const std::function<void(llvm::Value*, std::vector<llvm::Value*>&)>& body) {
  ForLoop loop = begin_loop(lb, b_.getInt64(1), name);
  std::vector<llvm::PHINode*> phis;
  for (llvm::Value* init : state) {
    llvm::PHINode* p = b_.CreatePHI(init->getType(), 2);
    p->addIncoming(init, loop.pre);
    phis.push_back(p);
  }
  enter_loop_body(loop, ub);
  std::vector<llvm::Value*> next(phis.begin(), phis.end());
  body(loop.iv, next);
  for (size_t i = 0; i < phis.size(); ++i) phis[i]->addIncoming(next[i], b_.GetInsertBlock());
  llvm::BranchInst* latch = end_loop(loop);
  state.assign(phis.begin(), phis.end());
  return latch;
}

KernelEmitter::ForLoop KernelEmitter::begin_for(const ir::Op& op) {
  ForLoop loop = begin_loop(scalar(op.operands[0]), scalar(op.operands[2]), "for");
  values_[op.region->args[0].get()] = loop.iv;
  return loop;
}

void lower_kernels(const ir::Module& tile_module, llvm::Module& m, TargetHooks& hooks) {
  for (const auto& fn : tile_module.funcs) {
    if (!fn->attrs.count("kernel")) continue;
    KernelEmitter(*fn, m, hooks).emit();
  }
}

void lower_kernels(const std::vector<const ir::Function*>& kernels, llvm::Module& m, TargetHooks& hooks) {
  for (const ir::Function* fn : kernels) KernelEmitter(*fn, m, hooks).emit();
}

}  // namespace tessera::backends
