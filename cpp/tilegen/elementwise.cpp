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

// Row mode (CPU, knob `rows`): each instance computes `rows` whole rows of the last dim, one
// per trip of a loop. A row's outer coordinates are scalars and only the last dim is a tile, so
// the index arithmetic of fused movement ops (reshape, transpose, windows) runs once per row
// instead of once per element.
Grid emit_rows(const Op& kernel, Function& fn, const std::vector<int64_t>& shape) {
  Builder b(&fn.body, kernel.loc);
  const Block& region = *kernel.region;
  const Op& yield = *region.ops.back();
  const int64_t width = shape.back(), rows = kernel.int_attr("rows");
  const int64_t total = yield.operands[0]->type.numel() / width;
  const std::vector<int64_t> outer(shape.begin(), shape.end() - 1);
  Value* first = b.arith("mul", b.program_id(0), b.i64(rows));
  Value* count = b.arith("min", b.i64(rows), b.arith("sub", b.i64(total), first));
  Op* loop = b.create_typed("tile.for", {b.i64(0), count, b.i64(1)}, {});
  Block* body = loop->add_region();
  Value* r = body->add_arg(Type::scalar(DType::I64));
  Builder ib(body, loop->loc);
  Value* row = ib.arith("add", first, r);
  ValueEmitter e(ib, region, fn, nullptr);
  ValueAt::Coords coords = e.unflatten(row, outer);
  coords.push_back(ib.arange(width));
  Value* flat = ib.arith("add", ib.arith("mul", row, ib.i64(width)), coords.back());
  for (size_t i = 0; i < yield.operands.size(); ++i) {
    Value* v = e.at(yield.operands[i], coords);
    store(ib, fn.body.args[region.args.size() + i].get(), flat, v->type.is_tile() ? v : ib.splat(v, width), nullptr);
  }
  ib.create_typed("tile.yield", {}, {});
  erase_dead_ops(fn.body);
  fn.attrs["lanes"] = width;  // tiles are one row wide
  return {ceil_div(total, rows), 1, 1};
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
  if (kernel.has_attr("rows") && !shape.empty() && n > 0) return emit_rows(kernel, fn, shape);
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
