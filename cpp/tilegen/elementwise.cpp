// Tile IR for elementwise kernels: one lane per element of the kernel's iteration space (the
// shape of its outputs). The lane's coordinates come from its flat index; every output is the
// region's value at those coordinates (value_emitter.hpp), so fused movement ops (transpose,
// slice, concat, ...) cost index arithmetic, not memory traffic.
//
// Only the last program instance can run past the end, so when the element count is not a
// multiple of the lanes, full instances run an unmasked copy of the body and the last one a
// masked copy (two one-trip loops with uniform bounds): masked vector stores are slow on some
// CPUs (AMD Zen microcodes vmaskmovps) and unmasked bodies vectorise without predication.
#include "tilegen/tilegen.hpp"
#include "tilegen/value_emitter.hpp"

namespace tessera::tilegen {
using namespace ir;

namespace {

// for iv in [lb, ub) step 1 with no carried values; `body(builder)`.
template <class Body>
void one_trip_loop(Builder& b, Value* lb, Value* ub, Body body) {
  Op* loop = b.create_typed("tile.for", {lb, ub, b.i64(1)}, {});
  Block* region = loop->add_region();
  region->add_arg(Type::scalar(DType::I64));
  Builder inner(region, loop->loc);
  body(inner);
  inner.create_typed("tile.yield", {}, {});
}

}  // namespace

Grid emit_elementwise_kernel(const Op& kernel, Function& fn) {
  Builder b(&fn.body, kernel.loc);
  const Block& region = *kernel.region;
  const Op& yield = *region.ops.back();
  std::vector<int64_t> shape = yield.operands[0]->type.static_shape();
  for (Value* y : yield.operands)
    if (y->type.static_shape() != shape)
      fail(ErrorCode::Compile,
           "elementwise kernel outputs differ in shape: " + yield.operands[0]->type.str() + " and " + y->type.str(),
           kernel.loc.str());
  int64_t n = yield.operands[0]->type.numel();
  int64_t lanes = kernel.int_attr("lanes");

  auto body = [&](Builder& ib, bool masked) {
    Value* idx = ib.arith("add", ib.arange(lanes), ib.arith("mul", ib.program_id(0), ib.i64(lanes)));
    Value* mask = masked ? ib.cmp("lt", idx, ib.i64(n)) : nullptr;
    ValueEmitter e(ib, region, fn, mask);
    ValueAt::Coords coords = e.unflatten(idx, shape);
    for (size_t i = 0; i < yield.operands.size(); ++i) {
      Value* v = e.at(yield.operands[i], coords);
      if (!v->type.is_tile()) v = ib.splat(v, lanes);
      store(ib, fn.body.args[region.args.size() + i].get(), idx, v, mask);
    }
  };
  if (n % lanes == 0 || n < lanes) {
    body(b, n % lanes != 0);  // every instance full, or a single partial one
  } else {
    // full = 1 on instances before the last, else 0: they run the first loop, the last the second.
    Value* full = b.value("arith.select", {b.cmp("lt", b.program_id(0), b.i64(n / lanes)), b.i64(1), b.i64(0)});
    one_trip_loop(b, b.i64(0), full, [&](Builder& ib) { body(ib, false); });
    one_trip_loop(b, full, b.i64(1), [&](Builder& ib) { body(ib, true); });
  }
  erase_dead_ops(fn.body);
  if (kernel.has_attr("vector")) {  // NVIDIA: lanes are vector components of fewer threads
    fn.attrs["vector"] = kernel.int_attr("vector");
    fn.attrs["block"] = IntList{kernel.int_attr("threads"), 1, 1};
  }
  return {ceil_div(n, lanes), 1, 1};
}

}  // namespace tessera::tilegen
