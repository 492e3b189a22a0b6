// Tile IR for the scans (cumsum, cumprod, cummax, cummin, cumargmax, cumargmin): one lane per
// row (every position of the other axes) walks the scanned axis in order, folding each element
// into its running state with the reductions' rule (reduce_fold) and storing the state at every
// step. Neighbouring lanes are neighbouring rows, so when the axis is not innermost their loads
// and stores are contiguous. The order is fixed: the same bits on any number of threads.
#include <limits>

#include "ir/op_rules.hpp"
#include "tilegen/tilegen.hpp"
#include "tilegen/value_emitter.hpp"

namespace tessera::tilegen {
using namespace ir;

namespace {

// The reduction whose fold a scan repeats.
std::string fold_kind(const std::string& scan) {
  if (scan == "cumsum") return "sum";
  if (scan == "cumprod") return "prod";
  return scan.substr(3);  // cummax -> max, cumargmax -> argmax, ...
}

}  // namespace

Grid emit_scan_kernel(const Op& kernel, Function& fn) {
  Builder b(&fn.body, kernel.loc);
  const Block& region = *kernel.region;
  const Op& yield = *region.ops.back();
  const Op& op = *yield.operands[0]->def;
  if (!is_scan(op.name) || yield.operands.size() != 1)
    fail(ErrorCode::Compile, "scan kernels compute one scan, got " + op.name, op.loc.str());
  const std::string kind = fold_kind(op.name);
  const bool arg = kind == "argmax" || kind == "argmin", reverse = op.bool_attr("reverse", false);
  std::vector<int64_t> shape = op.operands[0]->type.static_shape();
  const int64_t axis = normalize_axis(op.name, op.int_attr("axis"), int64_t(shape.size()));
  const int64_t extent = shape[size_t(axis)], lanes = kernel.int_attr("lanes");
  std::vector<int64_t> kept = shape;
  kept.erase(kept.begin() + axis);
  int64_t rows = 1;
  for (int64_t d : kept) rows *= d;
  // Sums and products accumulate in the result's compute dtype (integers in i64), the rest in x's.
  DType ct = compute_dtype(arg ? op.operands[0]->type.dtype : op.result()->type.dtype);

  Value* row = b.arith("add", b.arange(lanes), b.arith("mul", b.program_id(0), b.i64(lanes)));
  Value* m = b.cmp("lt", row, b.i64(rows));
  ValueEmitter top(b, region, fn, m);
  ValueAt::Coords row_coords = top.unflatten(row, kept);
  ReduceState init{b.splat(reduce_identity(b, kind, ct), lanes)};
  if (arg) init.i = b.splat(b.i64(std::numeric_limits<int64_t>::max()), lanes);
  std::vector<Value*> inits = {init.v};
  if (arg) inits.push_back(init.i);
  std::vector<Value*> operands = {b.i64(0), b.i64(extent), b.i64(1)};
  std::vector<Type> types;
  for (Value* v : inits) operands.push_back(v), types.push_back(v->type);
  Op* loop = b.create_typed("tile.for", operands, types);
  Block* body = loop->add_region();
  Value* step = body->add_arg(Type::scalar(DType::I64));
  ReduceState s{body->add_arg(init.v->type), arg ? body->add_arg(init.i->type) : nullptr};
  Builder ib(body, loop->loc);
  Value* at = reverse ? ib.arith("sub", ib.i64(extent - 1), step) : step;
  ValueEmitter e(ib, region, fn, m);
  ValueAt::Coords c = row_coords;
  c.insert(c.begin() + axis, at);
  Value* x = ib.cast(e.at(op.operands[0], c), ct);
  if (!x->type.is_tile()) x = ib.splat(x, lanes);
  ReduceState next = reduce_fold(ib, kind, s, x, ib.splat(at, lanes));
  Value* result = ib.cast(arg ? next.i : next.v, op.result()->type.dtype);
  store(ib, fn.body.args[region.args.size()].get(), e.flatten(c, shape), result, m);
  std::vector<Value*> yielded = {next.v};
  if (arg) yielded.push_back(next.i);
  ib.create_typed("tile.yield", yielded, {});
  erase_dead_ops(fn.body);
  return {ceil_div(rows, lanes), 1, 1};
}

}  // namespace tessera::tilegen
