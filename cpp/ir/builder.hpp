// A small helper for passes that create ops: appends to a block, infers result types from the
// op registry, and offers short names for the Tile IR ops lowerings emit most.
#pragma once
#include <map>

#include "ir/registry.hpp"

namespace tessera::ir {

class Builder {
 public:
  explicit Builder(Block* block, Location loc = {}) : block_(block), loc_(std::move(loc)) {}

  Block* block() const { return block_; }
  void set_block(Block* b) { block_ = b; }

  // Creates an op whose result types come from the registry's rule.
  Op* create(const std::string& name, std::vector<Value*> operands, AttrMap attrs = {});
  // Creates an op with explicit result types (ops without a rule, e.g. tile.for).
  Op* create_typed(const std::string& name, std::vector<Value*> operands, std::vector<Type> results,
                   AttrMap attrs = {});
  Value* value(const std::string& name, std::vector<Value*> operands, AttrMap attrs = {}) {
    return create(name, std::move(operands), std::move(attrs))->result();
  }

  // A Graph IR `constant`: every element of type `t` equals `v` (rank 0 by default, which
  // broadcasts against anything).
  Value* graph_constant(DType dt, double v) { return graph_constant(Type::tensor(dt, std::vector<Dim>{}), v); }
  Value* graph_constant(const Type& t, double v) { return value("constant", {}, {{"value", v}, {"type", t}}); }

  // Tile IR shorthands.
  Value* i64(int64_t v);
  Value* constant(DType t, double v);
  Value* arith(const std::string& op, Value* a, Value* b) { return value("arith." + op, {a, b}); }
  Value* cmp(const std::string& pred, Value* a, Value* b) { return value("arith.cmp", {a, b}, {{"pred", pred}}); }
  Value* cast(Value* v, DType to);  // no-op when already `to`
  Value* program_id(int axis) { return value("tile.program_id", {}, {{"axis", int64_t(axis)}}); }
  Value* arange(int64_t lanes) { return value("tile.arange", {}, {{"lanes", lanes}}); }
  Value* splat(Value* s, int64_t lanes) { return value("tile.splat", {s}, {{"lanes", lanes}}); }

 private:
  Block* block_;
  Location loc_;
  std::map<std::pair<Block*, int64_t>, Value*> i64_cache_;  // one constant per value per block
};

// Copies `op` (without region) with operands remapped through `map` (unmapped operands stay).
std::unique_ptr<Op> clone_op(const Op& op, const std::map<Value*, Value*>& map);

}  // namespace tessera::ir
