#include "ir/builder.hpp"

namespace tessera::ir {

Op* Builder::create(const std::string& name, std::vector<Value*> operands, AttrMap attrs) {
  const OpInfo* info = lookup_op(name);
  if (!info || !info->infer) fail(ErrorCode::Internal, "Builder::create: no type rule for '" + name + "'");
  std::vector<Type> in;
  for (Value* v : operands) in.push_back(v->type);
  std::vector<Type> results = info->infer(in, attrs);
  return create_typed(name, std::move(operands), std::move(results), std::move(attrs));
}

Op* Builder::create_typed(const std::string& name, std::vector<Value*> operands, std::vector<Type> results,
                          AttrMap attrs) {
  return block_->append(Op::make(name, std::move(operands), results, std::move(attrs), loc_));
}

Value* Builder::i64(int64_t v) {
  auto it = i64_cache_.find({block_, v});
  if (it != i64_cache_.end()) return it->second;
  Value* c = value("arith.const", {}, {{"value", v}, {"type", Type::scalar(DType::I64)}});
  i64_cache_[{block_, v}] = c;
  return c;
}

Value* Builder::constant(DType t, double v) {
  return value("arith.const", {}, {{"value", v}, {"type", Type::scalar(t)}});
}

Value* Builder::cast(Value* v, DType to) {
  if (v->type.dtype == to) return v;
  return value("arith.cast", {v}, {{"to", Type::scalar(to)}});
}

std::unique_ptr<Op> clone_op(const Op& op, const std::map<Value*, Value*>& map) {
  std::vector<Value*> operands;
  for (Value* v : op.operands) {
    auto it = map.find(v);
    operands.push_back(it == map.end() ? v : it->second);
  }
  std::vector<Type> types;
  for (const auto& r : op.results) types.push_back(r->type);
  return Op::make(op.name, operands, types, op.attrs, op.loc);
}

}  // namespace tessera::ir
