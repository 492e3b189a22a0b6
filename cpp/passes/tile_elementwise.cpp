// Tile IR for elementwise kernels: one lane per element of the kernel's iteration space (the
// shape of its outputs). The lane's coordinates come from its flat index; every output is the
// region's value at those coordinates (value_emitter.hpp), so fused movement ops (transpose,
// slice, concat, ...) cost index arithmetic, not memory traffic.
#include "passes/tile_kernels.hpp"
#include "passes/value_emitter.hpp"

namespace tessera::passes {
using namespace ir;

Grid emit_elementwise_kernel(const Op& kernel, Function& fn) {
  Builder b(&fn.body, kernel.loc);
  const Block& region = *kernel.region;
  const Op& yield = *region.ops.back();
  std::vector<int64_t> shape = yield.operands[0]->type.static_shape();
  for (Value* y : yield.operands)
    if (y->type.static_shape() != shape)
      fail(ErrorCode::Compile, "elementwise kernel outputs differ in shape: " + yield.operands[0]->type.str() +
                                   " and " + y->type.str(), kernel.loc.str());
  int64_t n = yield.operands[0]->type.numel();
  int64_t lanes = kernel.int_attr("lanes");

  Value* idx = b.arith("add", b.arange(lanes), b.arith("mul", b.program_id(0), b.i64(lanes)));
  Value* mask = b.cmp("lt", idx, b.i64(n));
  ValueEmitter e(b, region, fn, mask);
  ValueAt::Coords coords = e.unflatten(idx, shape);
  for (size_t i = 0; i < yield.operands.size(); ++i) {
    Value* v = e.at(yield.operands[i], coords);
    if (!v->type.is_tile()) v = b.splat(v, lanes);
    store(b, fn.body.args[region.args.size() + i].get(), idx, v, mask);
  }
  erase_dead_ops(fn.body);
  return {ceil_div(n, lanes), 1, 1};
}

}  // namespace tessera::passes
