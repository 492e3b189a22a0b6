// Lane strategy for GPUs: one thread per lane. Scalars are computed by every thread (they are
// uniform), tile values are one register per thread, a scalar store is done by thread 0, and
// tile.reduce combines lanes through shared memory in a fixed tree order (deterministic).
#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {

void KernelEmitter::threads_block(const ir::Block& block) {
  for (const auto& op_ptr : block.ops) {
    const ir::Op& op = *op_ptr;
    if (op.name == "return" || op.name == "tile.yield") continue;  // yields are read by threads_for
    if (op.name == "tile.for") { threads_for(op); continue; }
    std::vector<llvm::Value*> args;
    for (ir::Value* v : op.operands) args.push_back(scalar(v));
    if (op.name == "tile.mma_sync") {
      emit_mma_sync(op, args);
    } else if (op.name == "tile.reduce") {
      values_[op.result()] = threads_reduce(op, args[0]);
    } else if (op.name == "tile.store") {
      bool uniform = true;
      for (ir::Value* v : op.operands) uniform = uniform && !v->type.is_tile();
      if (uniform) emit_if(b_.CreateICmpEQ(tid_, b_.getInt64(0)), [&] { element_store(op, args); });
      else element_store(op, args);
    } else {
      values_[op.result()] = element_op(op, args, tid_);
    }
  }
}

void KernelEmitter::threads_for(const ir::Op& op) {
  const ir::Block& body = *op.region;
  ForLoop loop = begin_for(op);
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
  for (size_t i = 0; i < carried.size(); ++i) values_[op.result(int(i))] = carried[i];
}

llvm::Value* KernelEmitter::threads_reduce(const ir::Op& op, llvm::Value* v) {
  if (lanes_ <= 0 || (lanes_ & (lanes_ - 1)) != 0)
    fail(ErrorCode::Compile, "kernel " + fn_.name + ": tile.reduce needs a power-of-two lane count on GPUs, got " +
                                 std::to_string(lanes_), op.loc.str());
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

}  // namespace tessera::backends
