// Tile IR for one-axis reductions (sum, prod, max, min, argmax, argmin): a row per program
// instance (lanes stride the row, then tile.reduce) when the reduced axis is innermost, else a
// lane per output element walking the axis, computing the kernel's element-wise prologue on
// each element it reads (value_emitter.hpp) and its epilogue on the result. Both orders are
// fixed, so results are the same bits on any number of threads. (form-kernels makes innermost
// reductions row-wise kernels, tilegen/rowwise.cpp; the innermost path here serves hand-written
// Schedule IR.)
#include <limits>

#include "ir/op_rules.hpp"
#include "tilegen/tilegen.hpp"
#include "tilegen/value_emitter.hpp"

namespace tessera::tilegen {
using namespace ir;

namespace {
bool is_arg(const std::string& kind) { return kind == "argmax" || kind == "argmin"; }
}  // namespace

// The value combined with nothing changes nothing: 0, 1, -inf/+inf or the integer extremes.
Value* reduce_identity(Builder& b, const std::string& kind, DType t) {
  if (kind == "sum") return b.constant(t, 0.0);
  if (kind == "prod") return b.constant(t, 1.0);
  bool max = kind == "max" || kind == "argmax";
  if (is_float(t))
    return b.constant(t, max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity());
  int64_t lo = 0, hi = 0;
  switch (t) {
    case DType::I64: lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max(); break;
    case DType::I32: lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max(); break;
    case DType::I8: lo = -128, hi = 127; break;
    case DType::U8: lo = 0, hi = 255; break;
    default: fail(ErrorCode::Internal, "reduce: no identity for " + std::string(dtype_name(t)));
  }
  return b.value("arith.const", {}, {{"value", max ? lo : hi}, {"type", Type::scalar(t)}});
}

// Folds element (x, at index idx) into state s, lane-wise, with the same rule as tile.reduce.
ReduceState reduce_fold(Builder& b, const std::string& kind, ReduceState s, Value* x, Value* idx) {
  if (kind == "sum") return {b.arith("add", s.v, x)};
  if (kind == "prod") return {b.arith("mul", s.v, x)};
  if (!is_arg(kind)) return {b.arith(kind, s.v, x)};  // max/min propagate NaN
  // Take x when it is better: a NaN beats any number, then the larger (smaller) value, then
  // the smaller index (the first occurrence).
  Value* better = b.cmp(kind == "argmax" ? "gt" : "lt", x, s.v);
  Value* lower = b.cmp("lt", idx, s.i);
  Value* tie = b.arith("and", b.cmp("eq", x, s.v), lower);
  Value* take = b.arith("or", better, tie);
  if (is_float(x->type.dtype)) {
    Value* x_nan = b.cmp("ne", x, x);
    Value* s_nan = b.cmp("ne", s.v, s.v);
    take = b.value("arith.select", {s_nan, b.arith("and", x_nan, lower), b.arith("or", x_nan, take)});
  }
  return {b.value("arith.select", {take, x, s.v}), b.value("arith.select", {take, idx, s.i})};
}

namespace {

// A counted tile.for carrying a ReduceState.
template <class Body>
ReduceState emit_state_for(Builder& b, Value* ub, Value* step, ReduceState init, Body body) {
  std::vector<Value*> inits = {init.v};
  if (init.i) inits.push_back(init.i);
  std::vector<Value*> ops = {b.i64(0), ub, step};
  std::vector<Type> types;
  for (Value* v : inits) ops.push_back(v), types.push_back(v->type);
  Op* loop = b.create_typed("tile.for", ops, types);
  Block* region = loop->add_region();
  Value* iv = region->add_arg(Type::scalar(DType::I64));
  ReduceState carried{region->add_arg(init.v->type), init.i ? region->add_arg(init.i->type) : nullptr};
  Builder inner(region, loop->loc);
  ReduceState next = body(inner, iv, carried);
  std::vector<Value*> yielded = {next.v};
  if (next.i) yielded.push_back(next.i);
  inner.create_typed("tile.yield", yielded, {});
  return {loop->result(0), init.i ? loop->result(1) : nullptr};
}

}  // namespace

Grid emit_reduce_kernel(const Op& kernel, Function& fn) {
  Builder b(&fn.body, kernel.loc);
  const Block& region = *kernel.region;
  const Op& yield = *region.ops.back();
  const Op* found = nullptr;
  for (const auto& op : region.ops)
    if (const OpInfo* info = lookup_op(op->name); info && info->cls == OpClass::Reduction) {
      if (found) fail(ErrorCode::Compile, "reduce kernels hold one reduction", op->loc.str());
      found = op.get();
    }
  if (!found || yield.operands.empty())
    fail(ErrorCode::Compile, "reduce kernels yield their reduction or values computed from it", kernel.loc.str());
  const Op& red = *found;
  const std::string& kind = red.name;
  if (kind != "sum" && kind != "prod" && kind != "max" && kind != "min" && !is_arg(kind))
    fail(ErrorCode::Compile, "reduce kernels do not support '" + kind + "' (decompose it first)", red.loc.str());
  std::vector<int64_t> shape = red.operands[0]->type.static_shape();
  int64_t axis = normalize_axis(kind, red.int_attr("axis"), int64_t(shape.size()));
  int64_t outer = 1, extent = shape[size_t(axis)], inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[size_t(d)];
  for (size_t d = size_t(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  int64_t lanes = kernel.int_attr("lanes");
  Value* out = fn.body.args[region.args.size()].get();
  for (Value* y : yield.operands)
    if (y->type.shape != red.result()->type.shape)
      fail(
          ErrorCode::Compile,
          "reduce kernels yield values of the reduction's shape " + red.result()->type.str() + ", not " + y->type.str(),
          kernel.loc.str());
  // sum/prod accumulate in the result's compute dtype (i32 sums in i64); the rest in the input's.
  // (The reduction's own result: the kernel's outputs may be epilogue values of other dtypes.)
  DType ct = compute_dtype(is_arg(kind) ? red.operands[0]->type.dtype : red.result()->type.dtype);
  auto init = [&](Builder& ib) {
    ReduceState s{ib.splat(reduce_identity(ib, kind, ct), lanes)};
    if (is_arg(kind)) s.i = ib.splat(ib.i64(std::numeric_limits<int64_t>::max()), lanes);
    return s;
  };

  if (inner == 1 && red.operands[0]->owner == &region && yield.operands.size() == 1 &&
      yield.operands[0] == red.result()) {
    // One program per row: lanes stride along the row, then combine across lanes. (Innermost
    // reductions with ops around them are row-wise kernels: tilegen/rowwise.cpp.)
    Value* in = fn.body.args[size_t(red.operands[0]->index)].get();
    // Masked-off lanes read the identity: straight from tile.load's `other` where a double
    // holds it exactly, else through a select.
    Value* id_const = reduce_identity(b, kind, ct);
    double id_value = number_attr(*id_const->def, "value");
    bool exact = is_float(ct) || (id_value > -9.2e18 && id_value < 9.2e18);
    auto masked_element = [&](Builder& ib, Value* off, Value* mask) {
      if (!exact)
        return ib.value("arith.select", {mask, ib.cast(load(ib, in, off, mask), ct), ib.splat(id_const, lanes)});
      Value* v = ib.value("tile.load", {in, off, mask}, {{"other", id_value}});
      return ib.cast(ib.cast(v, compute_dtype(v->type.dtype)), ct);
    };
    Value* row = b.program_id(0);
    Value* row_base = b.arith("mul", row, b.i64(extent));
    Value* lane = b.arange(lanes);
    ReduceState acc =
        emit_state_for(b, b.i64(extent), b.i64(lanes), init(b), [&](Builder& ib, Value* j, ReduceState s) {
          Value* col = ib.arith("add", lane, j);
          Value* m = ib.cmp("lt", col, ib.i64(extent));
          // Lanes past the row's end fold the identity (their index never wins: see fold).
          return reduce_fold(ib, kind, s, masked_element(ib, ib.arith("add", row_base, col), m), col);
        });
    Op* total = is_arg(kind) ? b.create("tile.reduce", {acc.v, acc.i}, {{"kind", kind}})
                             : b.create("tile.reduce", {acc.v}, {{"kind", kind}});
    store(b, out, row, total->result(is_arg(kind) ? 1 : 0), nullptr);
    return {outer, 1, 1};
  }
  // Reduced axis is not innermost (or a prologue reads trailing size-1 dims): one lane per
  // output element walks the axis in order, evaluating the region's prologue (element-wise
  // ops on the inputs) at each element.
  int64_t n_out = outer * inner;
  Value* o = b.arith("add", b.arange(lanes), b.arith("mul", b.program_id(0), b.i64(lanes)));
  Value* m = b.cmp("lt", o, b.i64(n_out));
  std::vector<int64_t> kept = shape;
  kept.erase(kept.begin() + axis);
  ValueEmitter top(b, region, fn, m);
  ValueAt::Coords out_coords = top.unflatten(o, kept);
  ReduceState acc = emit_state_for(b, b.i64(extent), b.i64(1), init(b), [&](Builder& ib, Value* r, ReduceState s) {
    ValueEmitter e(ib, region, fn, m);
    ValueAt::Coords c = out_coords;
    c.insert(c.begin() + axis, r);
    Value* x = ib.cast(e.at(red.operands[0], c), ct);
    if (!x->type.is_tile()) x = ib.splat(x, lanes);
    return reduce_fold(ib, kind, s, x, ib.splat(r, lanes));
  });
  // The epilogue reads the reduction's result as the unfused kernel would have stored it.
  top.bind(red.result(), b.cast(is_arg(kind) ? acc.i : acc.v, red.result()->type.dtype));
  ValueAt::Coords result_coords = out_coords;  // keepdims: the reduced axis stays, at 0
  if (red.result()->type.rank() == int64_t(shape.size())) result_coords.insert(result_coords.begin() + axis, b.i64(0));
  for (size_t i = 0; i < yield.operands.size(); ++i) {
    Value* y = top.at(yield.operands[i], result_coords);
    if (!y->type.is_tile()) y = b.splat(y, lanes);
    store(b, fn.body.args[region.args.size() + i].get(), o, y, m);
  }
  erase_dead_ops(fn.body);
  return {ceil_div(n_out, lanes), 1, 1};
}

}  // namespace tessera::tilegen
