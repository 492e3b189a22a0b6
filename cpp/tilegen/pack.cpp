// Tile IR for kind "pack" kernels (select_pack_kernels.cpp): program instance (s, z) writes
// panel s of batch element z of sched.pack's result with one tile.pack.
#include "ir/op_rules.hpp"
#include "tilegen/tilegen.hpp"

namespace tessera::tilegen {
using namespace ir;

Grid emit_pack_kernel(const Op& kernel, Function& fn) {
  Builder b(&fn.body, kernel.loc);
  const Op& pack = *kernel.region->ops.front();
  std::vector<int64_t> in = pack.operands[0]->type.static_shape(), out = pack.result()->type.static_shape();
  int64_t axis = pack.int_attr("axis"), w = pack.int_attr("width");
  int64_t panels = out[out.size() - 3], depth = out[out.size() - 2];
  int64_t R = in[in.size() + size_t(axis)];  // rows (axis -2) or columns (axis -1) to pack
  int64_t C = in.back();                     // the source's row length
  int64_t n_batch = 1;
  for (size_t d = 0; d + 3 < out.size(); ++d) n_batch *= out[d];

  Value* src = fn.body.args[0].get();
  Value* dst = fn.body.args[1].get();
  Value* s = b.program_id(0);
  Value* z = b.program_id(1);
  Value* first = b.arith("mul", s, b.i64(w));  // first row (column) of the panel
  Value* rows = b.arith("min", b.i64(w), b.arith("sub", b.i64(R), first));
  Value* src_base = b.arith("mul", z, b.i64(in[in.size() - 2] * C));
  // Rows of a left operand start `first` rows down; columns of a right one `first` across.
  Value* src_off = b.arith("add", src_base, axis == -2 ? b.arith("mul", first, b.i64(C)) : first);
  Value* dst_off = b.arith("mul", b.arith("add", b.arith("mul", z, b.i64(panels)), s), b.i64(depth * w));
  b.create("tile.pack", {dst, dst_off, src, src_off, b.i64(C), rows, b.i64(depth)}, {{"width", w}, {"axis", axis}});
  return {panels, n_batch, 1};
}

}  // namespace tessera::tilegen
