// Tile IR for elementwise kernels: one lane per output element; fused ops are computed in
// registers from masked loads of the inputs (broadcast inputs are read through their strides).
#include "passes/tile_kernels.hpp"

namespace tessera::passes {
using namespace ir;

Grid emit_elementwise_kernel(const Op& kernel, Function& fn) {
  Builder b(&fn.body, kernel.loc);
  const Block& region = *kernel.region;
  const Op& yield = *region.ops.back();
  std::vector<int64_t> out_shape = yield.operands[0]->type.static_shape();
  int64_t n = yield.operands[0]->type.numel();
  int64_t lanes = kernel.int_attr("lanes");
  size_t n_in = region.args.size();

  Value* idx = b.arith("add", b.arange(lanes), b.arith("mul", b.program_id(0), b.i64(lanes)));
  Value* mask = b.cmp("lt", idx, b.i64(n));
  std::map<const Value*, Value*> values;
  for (size_t i = 0; i < n_in; ++i) {
    Value* off = broadcast_offset(b, idx, region.args[i]->type.static_shape(), out_shape);
    values[region.args[i].get()] = load(b, fn.body.args[i].get(), off, mask);
  }
  for (const auto& op : region.ops) {
    if (op.get() == &yield) break;
    std::vector<Value*> args;
    for (Value* v : op->operands) args.push_back(values.at(v));
    values[op->result()] = emit_elementwise_op(b, *op, args);
  }
  for (size_t i = 0; i < yield.operands.size(); ++i) {
    Value* v = values.at(yield.operands[i]);
    if (!v->type.is_tile()) v = b.splat(v, lanes);
    store(b, fn.body.args[n_in + i].get(), idx, v, mask);
  }
  return {ceil_div(n, lanes), 1, 1};
}

}  // namespace tessera::passes
