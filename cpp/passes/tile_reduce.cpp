// Tile IR for reductions: a row per program instance (lanes stride the row, then tile.reduce)
// when the reduced axis is innermost, else a lane per output element walking the axis.
#include "passes/tile_kernels.hpp"

namespace tessera::passes {
using namespace ir;

Grid emit_reduce_kernel(const Op& kernel, Function& fn) {
  Builder b(&fn.body, kernel.loc);
  const Op& sum = *kernel.region->ops.front();
  if (sum.name != "sum") fail(ErrorCode::Compile, "reduce kernels support sum only, got " + sum.name, sum.loc.str());
  std::vector<int64_t> shape = sum.operands[0]->type.static_shape();
  int64_t axis = normalize_axis("sum", sum.int_attr("axis"), int64_t(shape.size()));
  int64_t outer = 1, extent = shape[size_t(axis)], inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[size_t(d)];
  for (size_t d = size_t(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  int64_t lanes = kernel.int_attr("lanes");
  Value* in = fn.body.args[0].get();
  Value* out = fn.body.args[1].get();
  DType ct = compute_dtype(in->type.dtype);

  if (inner == 1) {
    // One program per row: lanes stride along the row, then combine across lanes.
    Value* row = b.program_id(0);
    Value* row_base = b.arith("mul", row, b.i64(extent));
    Value* lane = b.arange(lanes);
    Value* acc = emit_for(b, b.i64(0), b.i64(extent), b.i64(lanes), zero_tile(b, ct, lanes),
                          [&](Builder& ib, Value* j, Value* carried) {
                            Value* col = ib.arith("add", lane, j);
                            Value* m = ib.cmp("lt", col, ib.i64(extent));
                            return ib.arith("add", carried, load(ib, in, ib.arith("add", row_base, col), m));
                          });
    Value* total = b.value("tile.reduce", {acc}, {{"kind", std::string("sum")}});
    store(b, out, row, total, nullptr);
    return {outer, 1, 1};
  }
  // Reduced axis is not innermost: one lane per output element walks the axis.
  int64_t n_out = outer * inner;
  Value* o = b.arith("add", b.arange(lanes), b.arith("mul", b.program_id(0), b.i64(lanes)));
  Value* m = b.cmp("lt", o, b.i64(n_out));
  Value* base = b.arith("add", b.arith("mul", b.arith("div", o, b.i64(inner)), b.i64(extent * inner)),
                        b.arith("rem", o, b.i64(inner)));
  Value* acc = emit_for(b, b.i64(0), b.i64(extent), b.i64(1), zero_tile(b, ct, lanes),
                        [&](Builder& ib, Value* r, Value* carried) {
                          Value* off = ib.arith("add", base, ib.arith("mul", r, ib.i64(inner)));
                          return ib.arith("add", carried, load(ib, in, off, m));
                        });
  store(b, out, o, acc, m);
  return {ceil_div(n_out, lanes), 1, 1};
}

}  // namespace tessera::passes
