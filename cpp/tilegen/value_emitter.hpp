// "Value at coordinates": the Tile IR of fused kernels.
//
// To produce the element of a kernel region's value at coordinates c (one i64 scalar or tile
// per dim), `at` recurses over the region: an input is a masked load at the row-major offset
// of c; an elementwise op reads its operands at broadcast-mapped coordinates, then applies its
// registry `lower_elementwise`; a data-movement op maps the coordinates through its registry
// `lower_at` (transpose permutes, slice scales and shifts, ...). Results are memoised by
// (value, coordinates) and coordinate arithmetic is folded and shared, so each distinct
// element expression is emitted once.
#pragma once
#include <map>

#include "tilegen/tilegen.hpp"

namespace tessera::tilegen {

class ValueEmitter final : public ir::ValueAt {
 public:
  // Emits at the end of `b`'s block. Region argument i is read from `fn`'s parameter i; loads
  // of tile offsets are masked by `mask` (lanes past the end of the iteration space).
  ValueEmitter(ir::Builder& b, const ir::Block& region, const ir::Function& fn, ir::Value* mask)
      : b_(b), region_(region), fn_(fn), mask_(mask) {}

  // From now on `v` (a value of the region, e.g. a reduction's result) is `known` at any
  // coordinates asked: callers bind per-row or per-lane results computed outside the emitter.
  void bind(ir::Value* v, ir::Value* known) { bound_[v] = known; }

  ir::Builder& builder() override { return b_; }
  ir::Value* at(ir::Value* v, const Coords& c) override;
  ir::Value* i64(int64_t v) override;
  ir::Value* arith(const std::string& op, ir::Value* a, ir::Value* b) override;
  ir::Value* flatten(const Coords& c, const std::vector<int64_t>& shape) override;
  Coords unflatten(ir::Value* flat, const std::vector<int64_t>& shape) override;

 private:
  const int64_t* constant_of(ir::Value* v) const;
  ir::Value* compute(ir::Value* v, const Coords& c);

  ir::Builder& b_;
  const ir::Block& region_;
  const ir::Function& fn_;
  ir::Value* mask_;
  ir::Value* reshape_at(const ir::Op& op, const Coords& c);

  std::map<ir::Value*, ir::Value*> bound_;
  std::map<std::pair<ir::Value*, Coords>, ir::Value*> memo_;
  std::map<ir::Value*, int64_t> constants_;
  std::map<std::tuple<std::string, ir::Value*, ir::Value*>, ir::Value*> shared_;
  std::map<std::pair<Coords, std::vector<int64_t>>, ir::Value*> flat_;  // coords -> flat index
};

// Removes pure ops whose results are unused (index arithmetic that folded away), innermost first.
void erase_dead_ops(ir::Block& block);

}  // namespace tessera::tilegen
