// Tile IR for scatter_add and scatter, many-to-one: a program instance copies the base into the
// output, then walks the updates a tile at a time, combining each into its slot (add, or for
// scatter its `reduce`: set, add, mul, max, min). Duplicate indices must combine in turn: CPU
// lanes run in order within one instance (so results are deterministic, and with "set" the last
// update wins); GPU lanes would need atomics, so lower-to-tile rejects GPU targets.
#include "ir/op_rules.hpp"
#include "tilegen/tilegen.hpp"
#include "tilegen/value_emitter.hpp"

namespace tessera::tilegen {
using namespace ir;

Grid emit_scatter_kernel(const Op& kernel, Function& fn) {
  Builder b(&fn.body, kernel.loc);
  const Block& region = *kernel.region;
  const Op& yield = *region.ops.back();
  const Op& sc = *yield.operands[0]->def;
  if (sc.name != "scatter_add" && sc.name != "scatter")
    fail(ErrorCode::Compile, "scatter kernels take scatter or scatter_add, got " + sc.name, sc.loc.str());
  // scatter_add adds; scatter combines by its `reduce` attribute, "set" when absent (its default).
  const std::string reduce = sc.name == "scatter_add" ? "add" : sc.has_attr("reduce") ? sc.str_attr("reduce") : "set";
  std::vector<int64_t> base = sc.operands[0]->type.static_shape(), upd = sc.operands[1]->type.static_shape();
  size_t axis = size_t(normalize_axis("scatter_add", sc.int_attr("axis"), int64_t(base.size())));
  int64_t lanes = kernel.int_attr("lanes");
  Value* out = fn.body.args[region.args.size()].get();

  for_tiles(b, sc.result()->type.numel(), lanes, [&](Builder& ib, Value* flat, Value* m) {
    ValueEmitter e(ib, region, fn, m);
    Value* v = e.at(sc.operands[0], e.unflatten(flat, base));
    store(ib, out, flat, v->type.is_tile() ? v : ib.splat(v, lanes), m);
  });
  for_tiles(b, sc.operands[1]->type.numel(), lanes, [&](Builder& ib, Value* flat, Value* m) {
    ValueEmitter e(ib, region, fn, m);
    ValueAt::Coords c = e.unflatten(flat, upd), oc = c;
    // Out-of-range indices follow the op's mode ("error" was checked before, by decompose).
    std::string mode = index_mode(sc.name, sc.attrs);
    Value* valid = nullptr;
    oc[axis] = in_bounds_index(e, e.at(sc.operands[1], c), base[axis], mode == "error" ? "clip" : mode, &valid);
    Value* keep = valid ? ib.arith("and", m, valid) : m;  // "fill": the update is dropped
    Value* off = e.flatten(oc, base);
    Value* u = e.at(sc.operands[2], c);
    Value* r = reduce == "set" ? u
                               : ib.arith(reduce == "add"   ? "add"
                                          : reduce == "mul" ? "mul"
                                                            : reduce,
                                          load(ib, out, off, keep), u);
    store(ib, out, off, r->type.is_tile() ? r : ib.splat(r, lanes), keep);
  });
  erase_dead_ops(fn.body);
  return {1, 1, 1};  // one instance: updates with equal indices must not race
}

}  // namespace tessera::tilegen
