// Lane strategy for CPUs: a program instance runs on one core and loops over its lanes.
//
// Consecutive lane-wise ops are grouped into one lane loop (LLVM vectorises it); scalar ops
// are emitted before the pending loop, since they never depend on it (only tile.reduce turns
// lanes into a scalar, and it ends its group). A tile value used outside the loop that
// defines it is kept in a per-instance array of `lanes` elements; everything else stays in
// registers. Lanes are independent, so a loop reads lane l of its inputs before writing lane
// l of its outputs, which lets a tile.for carry a tile in place.
//
// tile.reduce combines lanes in the GPU strategy's tree order (level s = lanes/2 .. 1
// combines lane t with lane t + s), three levels per loop that LLVM vectorises: float sums
// are pairwise, and CPU and GPU results are the same bits. A lane count that is not a power of
// two p first folds lanes [p, n) onto [0, n - p). argmax/argmin (value, index) pairs combine
// in lane order.
#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {

namespace {

bool is_lane_op(const ir::Op& op) {
  for (const auto& r : op.results)
    if (r->type.is_tile()) return true;
  for (const ir::Value* v : op.operands)
    if (v->type.is_tile()) return true;
  return false;
}

bool tree_reducible(const ir::Op& op) {
  return op.name == "tile.reduce" && op.operands.size() == 1 && op.operands[0]->type.shape[0].size > 0;
}

bool has_nested_control(const ir::Block& block) {
  for (const auto& op : block.ops)
    if (op->name == "tile.for" || op->name == "tile.reduce") return true;
  return false;
}

}  // namespace

bool KernelEmitter::escapes(const ir::Value* v, const std::set<const ir::Op*>& group) const {
  auto it = users_.find(v);
  if (it == users_.end()) return false;
  for (const ir::Op* user : it->second)
    if (!group.count(user)) return true;
  return false;
}

// Index tiles (i64 lane arithmetic on tile.arange and scalars, e.g. row * R + lane) are
// recomputed in each loop that reads them rather than kept in lane arrays: an offset loaded
// from an array hides the contiguity LLVM needs to vectorise loads and stores.
bool KernelEmitter::rematerializable(const ir::Value* v) const {
  if (!v->type.is_tile()) return true;
  if (!v->def || v->type.dtype != DType::I64) return false;
  const std::string& n = v->def->name;
  if (n == "tile.arange" || n == "tile.splat") return true;
  if (n != "arith.add" && n != "arith.sub" && n != "arith.mul" && n != "arith.div" && n != "arith.rem" &&
      n != "arith.max" && n != "arith.min")
    return false;
  for (const ir::Value* x : v->def->operands)
    if (!rematerializable(x)) return false;
  return true;
}

llvm::Value* KernelEmitter::rematerialize(const ir::Value* v, llvm::Value* lane,
                                          std::map<const ir::Value*, llvm::Value*>& local) {
  if (!v->type.is_tile()) return scalar(v);
  if (auto it = local.find(v); it != local.end()) return it->second;
  std::vector<llvm::Value*> args;
  for (const ir::Value* x : v->def->operands) args.push_back(rematerialize(x, lane, local));
  return local[v] = element_op(*v->def, args, lane);
}

llvm::Value* KernelEmitter::lane_array(const ir::Value* v) {
  auto it = arrays_.find(v);
  if (it != arrays_.end()) return it->second;
  // Allocas go in the entry block so LLVM can promote and reuse them.
  llvm::IRBuilder<> entry(&f_->getEntryBlock(), f_->getEntryBlock().begin());
  llvm::Type* et = memory_type(ctx_, v->type.dtype);
  auto* array = entry.CreateAlloca(llvm::ArrayType::get(et, uint64_t(lanes_)));
  array->setAlignment(llvm::Align(64));
  arrays_[v] = array;
  return array;
}

llvm::Value* KernelEmitter::load_lane(const ir::Value* v, llvm::Value* lane) {
  DType dt = v->type.dtype;
  llvm::Type* et = memory_type(ctx_, dt);
  llvm::Value* x = b_.CreateLoad(et, b_.CreateInBoundsGEP(et, arrays_.at(v), lane));
  return dt == DType::Bool ? b_.CreateICmpNE(x, llvm::ConstantInt::get(et, 0)) : x;
}

void KernelEmitter::store_lane(llvm::Value* array, const ir::Value* v, llvm::Value* lane, llvm::Value* x) {
  llvm::Type* et = memory_type(ctx_, v->type.dtype);
  if (v->type.dtype == DType::Bool) x = b_.CreateZExt(x, et);
  b_.CreateStore(x, b_.CreateInBoundsGEP(et, array, lane));
}

void KernelEmitter::copy_lanes(llvm::Value* dst, llvm::Value* src, const ir::Value* v) {
  uint64_t bytes = uint64_t(lanes_) * memory_type(ctx_, v->type.dtype)->getPrimitiveSizeInBits() / 8;
  b_.CreateMemCpy(dst, llvm::Align(64), src, llvm::Align(64), bytes);
}

void KernelEmitter::loops_block(const ir::Block& block) {
  std::vector<const ir::Op*> group;
  for (const auto& op_ptr : block.ops) {
    const ir::Op& op = *op_ptr;
    if (op.name == "return" || op.name == "tile.yield") break;  // yields are read by loops_for
    if (op.name == "tile.for") {
      loops_flush(group);
      loops_for(op);
    } else if (op.name == "tile.barrier") {
      loops_flush(group);  // the lanes' stores so far happen before the loads that follow
    } else if (tree_reducible(op)) {
      loops_flush(group);  // the operand escapes the group, so it is in a lane array now
      loops_tree_reduce(op);
    } else if (is_lane_op(op)) {
      group.push_back(&op);
      if (op.name == "tile.reduce") loops_flush(group);
    } else {
      std::vector<llvm::Value*> args;
      for (ir::Value* v : op.operands) args.push_back(scalar(v));
      if (op.name == "tile.store")
        element_store(op, args);
      else if (op.name == "tile.microkernel")
        emit_microkernel(op, args);
      else if (op.name == "tile.pack")
        emit_pack(op, args);
      else
        values_[op.result()] = element_op(op, args, nullptr);
    }
  }
  loops_flush(group);
}

void KernelEmitter::loops_flush(std::vector<const ir::Op*>& group) {
  if (group.empty()) return;
  std::set<const ir::Op*> members(group.begin(), group.end());
  llvm::BasicBlock* pre = b_.GetInsertBlock();
  llvm::BasicBlock* header = llvm::BasicBlock::Create(ctx_, "lanes", f_);
  llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx_, "lanes.exit", f_);
  b_.CreateBr(header);
  b_.SetInsertPoint(header);
  llvm::PHINode* lane = b_.CreatePHI(b_.getInt64Ty(), 2, "lane");
  lane->addIncoming(b_.getInt64(0), pre);

  std::map<const ir::Op*, llvm::PHINode*> acc;
  for (const ir::Op* op : group)
    if (op->name == "tile.reduce") {
      DType dt = op->result()->type.dtype;
      // argmax/argmin accumulate {value, index} structs (see combine).
      llvm::Type* at = op->operands.size() == 2
                           ? llvm::StructType::get(ctx_, {register_type(ctx_, dt), b_.getInt64Ty()})
                           : register_type(ctx_, dt);
      llvm::PHINode* phi = b_.CreatePHI(at, 2, "acc");
      phi->addIncoming(identity(op->str_attr("kind"), dt), pre);
      acc[op] = phi;
    }
  // Read every tile that comes from outside the loop first (see the file comment); index
  // tiles are recomputed instead.
  std::map<const ir::Value*, llvm::Value*> local;
  for (const ir::Op* op : group)
    for (const ir::Value* v : op->operands)
      if (v->type.is_tile() && !(v->def && members.count(v->def)) && !local.count(v))
        local[v] = rematerializable(v) ? rematerialize(v, lane, local) : load_lane(v, lane);

  std::map<const ir::Op*, llvm::Value*> acc_next;
  for (const ir::Op* op : group) {
    std::vector<llvm::Value*> args;
    for (const ir::Value* v : op->operands) args.push_back(v->type.is_tile() ? local.at(v) : scalar(v));
    if (op->name == "tile.reduce") {
      llvm::Value* x = args[0];
      if (args.size() == 2)
        x = b_.CreateInsertValue(b_.CreateInsertValue(llvm::PoisonValue::get(acc[op]->getType()), x, 0), args[1], 1);
      acc_next[op] = combine(op->str_attr("kind"), op->result()->type.dtype, acc[op], x);
      continue;
    }
    if (op->name == "tile.store") {
      element_store(*op, args);
      continue;
    }
    llvm::Value* x = element_op(*op, args, lane);
    local[op->result()] = x;
    if (escapes(op->result(), members)) store_lane(lane_array(op->result()), op->result(), lane, x);
  }
  llvm::BasicBlock* latch = b_.GetInsertBlock();
  llvm::Value* next = b_.CreateAdd(lane, b_.getInt64(1));
  lane->addIncoming(next, latch);
  for (auto& [op, phi] : acc) phi->addIncoming(acc_next[op], latch);
  b_.CreateCondBr(b_.CreateICmpSLT(next, b_.getInt64(uint64_t(lanes_))), header, exit);
  b_.SetInsertPoint(exit);
  for (auto& [op, v] : acc_next) {
    if (op->results.size() == 1) {
      values_[op->result()] = v;
      continue;
    }
    values_[op->result(0)] = b_.CreateExtractValue(v, 0);
    values_[op->result(1)] = b_.CreateExtractValue(v, 1);
  }
  group.clear();
}

void KernelEmitter::loops_tree_reduce(const ir::Op& op) {
  const ir::Value* x = op.operands[0];
  DType dt = x->type.dtype;
  int64_t n = x->type.shape[0].size;
  llvm::Type* et = memory_type(ctx_, dt);
  llvm::Value* src = lane_array(x);
  if (n == 1) {
    values_[op.result()] = load_lane(x, b_.getInt64(0));
    return;
  }
  int64_t p = 1;  // the largest power of two below n (or n itself)
  while (p * 2 <= n) p *= 2;
  // One scratch array per element type and size serves every tree of the kernel (they run
  // one after the other), so the lanes' arrays and the scratch stay in L1 together.
  int64_t size = p < n ? p : n / 2;
  llvm::Value*& scratch = tree_scratch_[{et, size}];
  if (!scratch) {
    llvm::IRBuilder<> entry(&f_->getEntryBlock(), f_->getEntryBlock().begin());
    auto* a = entry.CreateAlloca(llvm::ArrayType::get(et, uint64_t(size)));
    a->setAlignment(llvm::Align(64));
    scratch = a;
  }
  auto element = [&](llvm::Value* array, llvm::Value* i) -> llvm::Value* {
    llvm::Value* v = b_.CreateLoad(et, b_.CreateInBoundsGEP(et, array, i));
    return dt == DType::Bool ? b_.CreateICmpNE(v, llvm::ConstantInt::get(et, 0)) : v;
  };
  const std::string& kind = op.str_attr("kind");
  // One counted loop over t in [lo, hi) around `body(t)`.
  auto loop = [&](int64_t lo, int64_t hi, auto body) {
    llvm::BasicBlock* pre = b_.GetInsertBlock();
    llvm::BasicBlock* header = llvm::BasicBlock::Create(ctx_, "tree", f_);
    llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx_, "tree.exit", f_);
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode* t = b_.CreatePHI(b_.getInt64Ty(), 2, "t");
    t->addIncoming(b_.getInt64(uint64_t(lo)), pre);
    body(t);
    llvm::Value* next = b_.CreateAdd(t, b_.getInt64(1));
    t->addIncoming(next, b_.GetInsertBlock());
    b_.CreateCondBr(b_.CreateICmpSLT(next, b_.getInt64(uint64_t(hi))), header, exit);
    b_.SetInsertPoint(exit);
  };
  auto put = [&](llvm::Value* t, llvm::Value* c) {
    if (dt == DType::Bool) c = b_.CreateZExt(c, et);
    b_.CreateStore(c, b_.CreateInBoundsGEP(et, scratch, t));
  };
  if (p < n) {  // fold the lanes past the power of two onto the first ones
    loop(0, n - p, [&](llvm::Value* t) {
      put(t, combine(kind, dt, element(src, t), element(src, b_.CreateAdd(t, b_.getInt64(uint64_t(p))))));
    });
    loop(n - p, p, [&](llvm::Value* t) { put(t, element(src, t)); });
    src = scratch;
  }
  // Up to three levels of the tree per loop (8 loads, 7 combines, 1 store per output, in the
  // same order as one level at a time): the scratch traffic is an eighth of level by level.
  for (int64_t s = p; s > 1;) {
    int k = 1;
    while (k < 3 && (s >> (k + 1)) >= 1) ++k;
    int64_t out = s >> k, width = int64_t(1) << k;
    loop(0, out, [&](llvm::Value* t) {
      std::vector<llvm::Value*> v;
      for (int64_t j = 0; j < width; ++j) v.push_back(element(src, b_.CreateAdd(t, b_.getInt64(uint64_t(j * out)))));
      for (int64_t h = width / 2; h >= 1; h /= 2)  // level stride h * out, as level by level
        for (int64_t j = 0; j < h; ++j) v[size_t(j)] = combine(kind, dt, v[size_t(j)], v[size_t(j + h)]);
      put(t, v[0]);
    });
    src = scratch;
    s = out;
  }
  values_[op.result()] = element(scratch, b_.getInt64(0));
}

void KernelEmitter::loops_for(const ir::Op& op) {
  const ir::Block& body = *op.region;
  const ir::Op& yield = *body.ops.back();
  size_t n = op.operands.size() - 3;
  // Carried tiles live in arrays; carried scalars in phis.
  std::vector<llvm::Value*> carried_arrays(n, nullptr);
  for (size_t i = 0; i < n; ++i) {
    const ir::Value* init = op.operands[i + 3];
    if (!init->type.is_tile()) continue;
    carried_arrays[i] = lane_array(body.args[i + 1].get());
    copy_lanes(carried_arrays[i], arrays_.at(init), init);
  }
  // A body without inner loops or reductions is one lane loop: its yielded tiles may be
  // written straight into the carried arrays.
  if (!has_nested_control(body))
    for (size_t i = 0; i < n; ++i) {
      const ir::Value* y = yield.operands[i];
      if (carried_arrays[i] && y->def && y->def->parent == &body && !arrays_.count(y)) arrays_[y] = carried_arrays[i];
    }

  ForLoop loop = begin_for(op);
  std::vector<llvm::PHINode*> phis(n, nullptr);
  for (size_t i = 0; i < n; ++i) {
    if (carried_arrays[i]) continue;
    llvm::Value* init = scalar(op.operands[i + 3]);
    phis[i] = b_.CreatePHI(init->getType(), 2);
    phis[i]->addIncoming(init, loop.pre);
    values_[body.args[i + 1].get()] = phis[i];
  }
  enter_for_body(loop, op);
  loops_block(body);
  for (size_t i = 0; i < n; ++i) {
    const ir::Value* y = yield.operands[i];
    if (carried_arrays[i] && arrays_.at(y) != carried_arrays[i]) copy_lanes(carried_arrays[i], arrays_.at(y), y);
  }
  for (size_t i = 0; i < n; ++i)
    if (phis[i]) phis[i]->addIncoming(scalar(yield.operands[i]), b_.GetInsertBlock());
  end_for(loop);
  for (size_t i = 0; i < n; ++i) {
    if (carried_arrays[i])
      arrays_[op.result(int(i))] = carried_arrays[i];
    else
      values_[op.result(int(i))] = phis[i];
  }
}

}  // namespace tessera::backends
