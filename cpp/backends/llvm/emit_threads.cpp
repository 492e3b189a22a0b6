// Lane strategy for GPUs: one thread per lane, or (kernel attribute `vector`, NVIDIA) several
// lanes per thread held as an LLVM vector, loaded and stored 16 bytes at a time where the
// offsets are contiguous and aligned. Scalars are computed by every thread (they are
// uniform), a scalar store is done by thread 0, and tile.reduce combines lanes in a fixed
// tree order (deterministic): through shared memory, or with warp shuffles where the target
// has them.
#include <algorithm>

#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {

void KernelEmitter::threads_block(const ir::Block& block) {
  for (const auto& op_ptr : block.ops) {
    const ir::Op& op = *op_ptr;
    if (op.name == "return" || op.name == "tile.yield") continue;  // yields are read by threads_for
    if (op.name == "tile.for") {
      threads_for(op);
      continue;
    }
    if (op.name == "tile.barrier") {
      hooks_.barrier(b_);
      continue;
    }
    std::vector<llvm::Value*> args;
    for (ir::Value* v : op.operands) args.push_back(scalar(v));
    if (op.name == "tile.mma_sync") {
      emit_mma_sync(op, args);
    } else if (op.name == "tile.fma_gemm") {
      emit_fma_gemm(op, args);
    } else if (op.name == "tile.wgmma_gemm") {
      emit_wgmma(op, args);
    } else if (op.name == "tile.flash_attention") {
      emit_flash_attention(op, args);
    } else if (op.name == "tile.flash_attention_wgmma") {
      emit_flash_attention_wgmma(op, args);
    } else if (op.name == "tile.flash_attention_bwd") {
      emit_flash_attention_bwd(op, args);
    } else if (op.name == "tile.flash_attention_bwd_wgmma") {
      emit_flash_attention_bwd_wgmma(op, args);
    } else if (op.name == "tile.reduce") {
      values_[op.result()] = hooks_.has_shuffle() ? shuffle_reduce(op, args) : threads_reduce(op, args[0]);
    } else if (op.name == "tile.store") {
      bool uniform = true;
      for (ir::Value* v : op.operands) uniform = uniform && !v->type.is_tile();
      if (uniform)
        emit_if(b_.CreateICmpEQ(tid_, b_.getInt64(0)), [&] { element_store(op, args); });
      else if (per_thread_ > 1)
        vector_store(op, args);
      else
        element_store(op, args);
    } else if (per_thread_ > 1 && op.results.size() == 1 && op.result()->type.is_tile()) {
      values_[op.result()] = lanewise(op, args);
    } else {
      values_[op.result()] = element_op(op, args, tid_);
    }
  }
}

void KernelEmitter::threads_for(const ir::Op& op) {
  const ir::Block& body = *op.region;
  ForLoop loop = begin_for(op);
  ++loop_depth_;
  std::vector<llvm::PHINode*> carried;  // tiles and scalars alike are registers here
  for (size_t i = 3; i < op.operands.size(); ++i) {
    llvm::Value* init = scalar(op.operands[i]);
    llvm::PHINode* phi = b_.CreatePHI(init->getType(), 2);
    phi->addIncoming(init, loop.pre);
    carried.push_back(phi);
    values_[body.args[i - 2].get()] = phi;
  }
  enter_for_body(loop, op);
  threads_block(body);
  const ir::Op& yield = *body.ops.back();
  for (size_t i = 0; i < carried.size(); ++i) carried[i]->addIncoming(scalar(yield.operands[i]), b_.GetInsertBlock());
  end_for(loop);
  --loop_depth_;
  for (size_t i = 0; i < carried.size(); ++i) values_[op.result(int(i))] = carried[i];
}

llvm::Value* KernelEmitter::threads_reduce(const ir::Op& op, llvm::Value* v) {
  if (lanes_ <= 0 || (lanes_ & (lanes_ - 1)) != 0)
    fail(ErrorCode::Compile,
         "kernel " + fn_.name + ": tile.reduce needs a power-of-two lane count on GPUs, got " + std::to_string(lanes_),
         op.loc.str());
  const std::string& kind = op.str_attr("kind");
  DType dt = op.result()->type.dtype;
  // argmax/argmin combine {value, index} structs (see combine); shared memory holds one array
  // per field (SPIR-V lowers arrays of scalars only), and the index is result 1.
  std::vector<DType> fields = {dt};
  if (op.operands.size() == 2) fields.push_back(DType::I64);
  std::vector<llvm::Type*> ets;
  std::vector<llvm::GlobalVariable*> smem;
  for (DType f : fields) {
    ets.push_back(memory_type(ctx_, f));
    auto* array_ty = llvm::ArrayType::get(ets.back(), uint64_t(lanes_));
    smem.push_back(new llvm::GlobalVariable(m_, array_ty, false, llvm::GlobalValue::InternalLinkage,
                                            llvm::UndefValue::get(array_ty), fn_.name + ".reduce", nullptr,
                                            llvm::GlobalValue::NotThreadLocal, hooks_.shared_address_space()));
    smem.back()->setAlignment(llvm::Align(16));
  }
  auto slot = [&](size_t f, llvm::Value* i) {
    return b_.CreateInBoundsGEP(smem[f]->getValueType(), smem[f], {b_.getInt64(0), i});
  };
  auto store = [&](llvm::Value* i, llvm::Value* x) {
    if (fields.size() == 1) {
      b_.CreateStore(dt == DType::Bool ? b_.CreateZExt(x, ets[0]) : x, slot(0, i));
      return;
    }
    for (unsigned f = 0; f < 2; ++f) b_.CreateStore(b_.CreateExtractValue(x, f), slot(f, i));
  };
  auto load = [&](llvm::Value* i) -> llvm::Value* {
    if (fields.size() == 1) {
      llvm::Value* x = b_.CreateLoad(ets[0], slot(0, i));
      return dt == DType::Bool ? b_.CreateICmpNE(x, llvm::ConstantInt::get(ets[0], 0)) : x;
    }
    llvm::Type* st = llvm::StructType::get(ctx_, {ets[0], ets[1]});
    llvm::Value* r = b_.CreateInsertValue(llvm::PoisonValue::get(st), b_.CreateLoad(ets[0], slot(0, i)), 0);
    return b_.CreateInsertValue(r, b_.CreateLoad(ets[1], slot(1, i)), 1);
  };

  if (fields.size() == 2) {
    llvm::Type* st = llvm::StructType::get(ctx_, {ets[0], ets[1]});
    v = b_.CreateInsertValue(b_.CreateInsertValue(llvm::PoisonValue::get(st), v, 0), scalar(op.operands[1]), 1);
  }
  store(tid_, v);
  hooks_.barrier(b_);
  for (int64_t s = lanes_ / 2; s >= 1; s /= 2) {
    emit_if(b_.CreateICmpULT(tid_, b_.getInt64(uint64_t(s))), [&] {
      llvm::Value* a = load(tid_);
      llvm::Value* c = load(b_.CreateAdd(tid_, b_.getInt64(uint64_t(s))));
      store(tid_, combine(kind, dt, a, c));
    });
    hooks_.barrier(b_);
  }
  llvm::Value* result = load(b_.getInt64(0));
  hooks_.barrier(b_);  // everyone has read slot 0 before a later reduce reuses the array
  if (fields.size() == 1) return result;
  values_[op.result(1)] = b_.CreateExtractValue(result, 1);
  return b_.CreateExtractValue(result, 0);
}

llvm::Value* KernelEmitter::lane_vector() {
  std::vector<llvm::Constant*> base;
  for (int64_t k = 0; k < per_thread_; ++k)
    base.push_back(b_.getInt64(uint64_t(k / vec_ * threads_ * vec_ + k % vec_)));
  llvm::Value* first = b_.CreateVectorSplat(unsigned(per_thread_), b_.CreateMul(tid_, b_.getInt64(uint64_t(vec_))));
  return b_.CreateAdd(first, llvm::ConstantVector::get(base));
}

llvm::Value* KernelEmitter::component(const ir::Op& op, const std::vector<llvm::Value*>& args, size_t i, int64_t k) {
  if (per_thread_ == 1 || !op.operands[i]->type.is_tile()) return args[i];
  return b_.CreateExtractElement(args[i], uint64_t(k));
}

llvm::Value* KernelEmitter::lanewise(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  if (op.name == "tile.arange") return lane_vector();
  if (op.name == "tile.splat") return b_.CreateVectorSplat(unsigned(per_thread_), args[0]);
  if (op.name == "tile.load") return vector_load(op, args);
  llvm::Value* out = nullptr;
  for (int64_t k = 0; k < per_thread_; ++k) {
    std::vector<llvm::Value*> ak;
    for (size_t i = 0; i < args.size(); ++i) ak.push_back(component(op, args, i, k));
    llvm::Value* r = element_op(op, ak, nullptr);
    if (!out) out = llvm::PoisonValue::get(llvm::FixedVectorType::get(r->getType(), unsigned(per_thread_)));
    out = b_.CreateInsertElement(out, r, uint64_t(k));
  }
  return out;
}

int64_t KernelEmitter::access_width(DType t) const {
  return std::max<int64_t>(1, std::min<int64_t>(vec_, int64_t(16 / dtype_size(t))));
}

namespace {

// Offsets of the form arange + uniform scalars: a thread's runs of vec_ components are
// consecutive elements by construction, so only the alignment needs a run-time check.
bool contiguous_offsets(const ir::Value* off) {
  const ir::Op* d = off->def;
  if (!d) return false;
  if (d->name == "tile.arange") return true;
  if (d->name != "arith.add") return false;
  const ir::Value *a = d->operands[0], *b = d->operands[1];
  return (!a->type.is_tile() && contiguous_offsets(b)) || (!b->type.is_tile() && contiguous_offsets(a));
}

}  // namespace

// The operands of element k + j of a vector access, for its element-wise fallback. Contiguous
// offsets are recomputed from the run's first one, so only that one stays live (holding all
// per_thread_ 64-bit offsets from the loads until the stores cost 2 registers each).
std::vector<llvm::Value*> KernelEmitter::element_args(const ir::Op& op, const std::vector<llvm::Value*>& args,
                                                      int64_t k, int64_t j) {
  std::vector<llvm::Value*> aj;
  for (size_t i = 0; i < args.size(); ++i) aj.push_back(component(op, args, i, k + j));
  if (contiguous_offsets(op.operands[1])) aj[1] = b_.CreateAdd(component(op, args, 1, k), b_.getInt64(uint64_t(j)));
  return aj;
}

llvm::Value* KernelEmitter::vector_ok(const ir::Op& op, const std::vector<llvm::Value*>& args, int64_t k, int64_t n,
                                      llvm::Type* mt) {
  // Plain integer arithmetic (no inbounds GEP): masked-off lanes may hold any offset.
  uint64_t bytes = m_.getDataLayout().getTypeAllocSize(mt);
  llvm::Value* off0 = component(op, args, 1, k);
  llvm::Value* addr = b_.CreateAdd(b_.CreatePtrToInt(args[0], b_.getInt64Ty()), b_.CreateMul(off0, b_.getInt64(bytes)));
  llvm::Value* ok = b_.CreateICmpEQ(b_.CreateAnd(addr, b_.getInt64(bytes * uint64_t(n) - 1)), b_.getInt64(0));
  if (!contiguous_offsets(op.operands[1]))
    for (int64_t j = 1; j < n; ++j)
      ok = b_.CreateAnd(ok,
                        b_.CreateICmpEQ(component(op, args, 1, k + j), b_.CreateAdd(off0, b_.getInt64(uint64_t(j)))));
  size_t mask = op.name == "tile.load" ? 2 : 3;
  if (args.size() > mask)
    for (int64_t j = 0; j < n; ++j) ok = b_.CreateAnd(ok, component(op, args, mask, k + j));
  return ok;
}

llvm::Value* KernelEmitter::vector_load(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  DType dt = op.result()->type.dtype;
  llvm::Type* mt = memory_type(ctx_, dt);
  llvm::Type* rt = register_type(ctx_, dt);
  int64_t n = access_width(dt);
  auto* part_ty = llvm::FixedVectorType::get(rt, unsigned(n));
  llvm::Value* out = llvm::PoisonValue::get(llvm::FixedVectorType::get(rt, unsigned(per_thread_)));
  for (int64_t k = 0; k < per_thread_; k += n) {
    llvm::BasicBlock* fast = llvm::BasicBlock::Create(ctx_, "vload", f_);
    llvm::BasicBlock* slow = llvm::BasicBlock::Create(ctx_, "sload", f_);
    llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "loaded", f_);
    b_.CreateCondBr(vector_ok(op, args, k, n, mt), fast, slow);
    b_.SetInsertPoint(fast);
    auto* mem_ty = llvm::FixedVectorType::get(mt, unsigned(n));
    llvm::Value* ptr = hooks_.element_pointer(b_, args[0], mt, component(op, args, 1, k));
    llvm::Value* v = b_.CreateAlignedLoad(mem_ty, ptr, llvm::Align(m_.getDataLayout().getTypeAllocSize(mem_ty)));
    if (dt == DType::Bool) v = b_.CreateICmpNE(v, llvm::Constant::getNullValue(mem_ty));
    llvm::BasicBlock* fast_end = b_.GetInsertBlock();
    b_.CreateBr(done);
    b_.SetInsertPoint(slow);
    // Isolated (volatile) element loads: unmasked, they read what the vector load reads, and
    // LLVM would vectorise them and merge both paths into one load of the element alignment,
    // which the backend splits into scalar loads (seen with bf16: 8 ld.b16 for one ld.v4).
    llvm::Value* s = llvm::PoisonValue::get(part_ty);
    for (int64_t j = 0; j < n; ++j)
      s = b_.CreateInsertElement(s, element_load(op, element_args(op, args, k, j), true), uint64_t(j));
    llvm::BasicBlock* slow_end = b_.GetInsertBlock();
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    llvm::PHINode* part = b_.CreatePHI(part_ty, 2);
    part->addIncoming(v, fast_end);
    part->addIncoming(s, slow_end);
    for (int64_t j = 0; j < n; ++j)
      out = b_.CreateInsertElement(out, b_.CreateExtractElement(part, uint64_t(j)), uint64_t(k + j));
  }
  return out;
}

void KernelEmitter::vector_store(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  DType dt = op.operands[2]->type.dtype;
  llvm::Type* mt = memory_type(ctx_, dt);
  int64_t n = access_width(dt);
  auto* mem_ty = llvm::FixedVectorType::get(mt, unsigned(n));
  for (int64_t k = 0; k < per_thread_; k += n) {
    llvm::BasicBlock* fast = llvm::BasicBlock::Create(ctx_, "vstore", f_);
    llvm::BasicBlock* slow = llvm::BasicBlock::Create(ctx_, "sstore", f_);
    llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "stored", f_);
    b_.CreateCondBr(vector_ok(op, args, k, n, mt), fast, slow);
    b_.SetInsertPoint(fast);
    llvm::Value* v = llvm::PoisonValue::get(mem_ty);
    for (int64_t j = 0; j < n; ++j) {
      llvm::Value* x = component(op, args, 2, k + j);
      v = b_.CreateInsertElement(v, dt == DType::Bool ? b_.CreateZExt(x, mt) : x, uint64_t(j));
    }
    llvm::Value* ptr = hooks_.element_pointer(b_, args[0], mt, component(op, args, 1, k));
    b_.CreateAlignedStore(v, ptr, llvm::Align(m_.getDataLayout().getTypeAllocSize(mem_ty)));
    b_.CreateBr(done);
    b_.SetInsertPoint(slow);
    for (int64_t j = 0; j < n; ++j) element_store(op, element_args(op, args, k, j));
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
  }
}

// Moves any register value (float, integer, bool, or an argmax {value, index} pair) between
// threads `distance` apart, 32 bits at a time.
llvm::Value* KernelEmitter::shuffle(llvm::Value* v, int64_t distance) {
  llvm::Type* t = v->getType();
  int64_t width = std::min<int64_t>(threads_, 32);
  if (auto* st = llvm::dyn_cast<llvm::StructType>(t)) {
    llvm::Value* r = llvm::PoisonValue::get(st);
    for (unsigned f = 0; f < st->getNumElements(); ++f)
      r = b_.CreateInsertValue(r, shuffle(b_.CreateExtractValue(v, f), distance), f);
    return r;
  }
  unsigned bits = unsigned(t->getPrimitiveSizeInBits());
  if (bits == 64) {
    auto* pair = llvm::FixedVectorType::get(b_.getInt32Ty(), 2);
    llvm::Value* x = b_.CreateBitCast(v, pair);
    for (unsigned i = 0; i < 2; ++i)
      x = b_.CreateInsertElement(x, hooks_.shuffle_xor(b_, b_.CreateExtractElement(x, i), distance, width), i);
    return b_.CreateBitCast(x, t);
  }
  llvm::Type* it = b_.getIntNTy(bits);
  llvm::Value* x = b_.CreateZExt(b_.CreateBitCast(v, it), b_.getInt32Ty());
  x = hooks_.shuffle_xor(b_, x, distance, width);
  return b_.CreateBitCast(b_.CreateTrunc(x, it), t);
}

// GPU tree order for threads with warp shuffles, fixed by the kernel's thread count and
// vector width, so a compiled kernel gives the same bits on every run: each thread first
// combines its own lanes pairwise (components k and k + n/2, halving), then a warp combines its
// threads with a butterfly (xor 16, 8, .. 1; both threads of a pair compute the same combine,
// which is commutative, so every thread ends with the warp's value), then lane 0 of each warp
// writes its value to shared memory and, after one barrier, every thread combines the warps'
// values pairwise in the same order. One barrier per reduction (two inside a loop, where the
// next trip rewrites the array); a block-wide tree over shared memory took log2(threads / 32)
// + 3 barriers.
llvm::Value* KernelEmitter::shuffle_reduce(const ir::Op& op, const std::vector<llvm::Value*>& args) {
  const std::string& kind = op.str_attr("kind");
  DType dt = op.result()->type.dtype;
  bool arg = op.operands.size() == 2;
  std::vector<llvm::Value*> c(static_cast<size_t>(per_thread_));
  for (int64_t k = 0; k < per_thread_; ++k) {
    c[size_t(k)] = component(op, args, 0, k);
    if (arg) {
      llvm::Value* idx = component(op, args, 1, k);
      auto* st = llvm::StructType::get(ctx_, {c[size_t(k)]->getType(), idx->getType()});
      c[size_t(k)] = b_.CreateInsertValue(b_.CreateInsertValue(llvm::PoisonValue::get(st), c[size_t(k)], 0), idx, 1);
    }
  }
  auto tree = [&](std::vector<llvm::Value*> v) {
    if ((v.size() & (v.size() - 1)) != 0)
      fail(ErrorCode::Compile,
           "kernel " + fn_.name + ": tile.reduce needs a power-of-two lane count per thread on GPUs, got " +
               std::to_string(v.size()),
           op.loc.str());
    for (size_t s = v.size() / 2; s >= 1; s /= 2)
      for (size_t j = 0; j < s; ++j) v[j] = combine(kind, dt, v[j], v[j + s]);
    return v[0];
  };
  if ((threads_ & (threads_ - 1)) != 0)
    fail(ErrorCode::Compile,
         "kernel " + fn_.name + ": tile.reduce needs a power-of-two thread count on GPUs, got " +
             std::to_string(threads_),
         op.loc.str());
  llvm::Value* result = tree(c);
  int64_t width = std::min<int64_t>(threads_, 32);
  for (int64_t d = width / 2; d >= 1; d /= 2) result = combine(kind, dt, result, shuffle(result, d));
  int64_t warps = threads_ / width;
  if (warps == 1) {
    if (!arg) return result;
    values_[op.result(1)] = b_.CreateExtractValue(result, 1);
    return b_.CreateExtractValue(result, 0);
  }
  // One slot per warp and field (SPIR-V lowers arrays of scalars only).
  std::vector<llvm::Type*> fields = {memory_type(ctx_, dt)};
  if (arg) fields.push_back(b_.getInt64Ty());
  std::vector<llvm::GlobalVariable*> smem;
  for (llvm::Type* et : fields) {
    auto* array_ty = llvm::ArrayType::get(et, uint64_t(warps));
    smem.push_back(new llvm::GlobalVariable(m_, array_ty, false, llvm::GlobalValue::InternalLinkage,
                                            llvm::UndefValue::get(array_ty), fn_.name + ".reduce", nullptr,
                                            llvm::GlobalValue::NotThreadLocal, hooks_.shared_address_space()));
    smem.back()->setAlignment(llvm::Align(16));
  }
  auto slot = [&](size_t f, llvm::Value* i) {
    return b_.CreateInBoundsGEP(smem[f]->getValueType(), smem[f], {b_.getInt64(0), i});
  };
  llvm::Value* warp = b_.CreateUDiv(tid_, b_.getInt64(uint64_t(width)));
  emit_if(b_.CreateICmpEQ(b_.CreateURem(tid_, b_.getInt64(uint64_t(width))), b_.getInt64(0)), [&] {
    if (!arg) {
      b_.CreateStore(dt == DType::Bool ? b_.CreateZExt(result, fields[0]) : result, slot(0, warp));
      return;
    }
    for (unsigned f = 0; f < 2; ++f) b_.CreateStore(b_.CreateExtractValue(result, f), slot(f, warp));
  });
  hooks_.barrier(b_);
  std::vector<llvm::Value*> per_warp;
  for (int64_t w = 0; w < warps; ++w) {
    llvm::Value* x = b_.CreateLoad(fields[0], slot(0, b_.getInt64(uint64_t(w))));
    if (dt == DType::Bool) x = b_.CreateICmpNE(x, llvm::ConstantInt::get(fields[0], 0));
    if (arg) {
      auto* st = llvm::StructType::get(ctx_, {fields[0], fields[1]});
      x = b_.CreateInsertValue(b_.CreateInsertValue(llvm::PoisonValue::get(st), x, 0),
                               b_.CreateLoad(fields[1], slot(1, b_.getInt64(uint64_t(w)))), 1);
    }
    per_warp.push_back(x);
  }
  result = tree(per_warp);
  if (loop_depth_ > 0) hooks_.barrier(b_);  // everyone has read the array before the next trip writes it
  if (!arg) return result;
  values_[op.result(1)] = b_.CreateExtractValue(result, 1);
  return b_.CreateExtractValue(result, 0);
}
}  // namespace tessera::backends
