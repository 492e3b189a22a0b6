// Tile IR generators for the Schedule IR kernel kinds.
//
// Every program instance handles one tile of `lanes` elements. Loads and stores are masked at
// the edges, so no size needs to be a multiple of the tile. Elementwise math on f16/bf16 runs
// in f32.
#include "passes/tile_kernels.hpp"

#include <algorithm>

namespace tessera::passes {
using namespace ir;

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Lowers one Graph IR elementwise op applied to already-loaded values (scalars or tiles).
Value* emit_elementwise_op(Builder& b, const Op& op, const std::vector<Value*>& args) {
  const OpInfo* info = lookup_op(op.name);
  if (!info || !info->lower_elementwise)
    fail(ErrorCode::Compile, "no Tile IR lowering for elementwise op '" + op.name + "'", op.loc.str());
  return info->lower_elementwise(b, op, args);
}

// Element offset into an input of shape `in` broadcast to `out`, for flat output index `idx`.
Value* broadcast_offset(Builder& b, Value* idx, const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  if (in == out) return idx;
  int64_t in_numel = 1;
  for (int64_t d : in) in_numel *= d;
  if (in_numel == 1) return b.i64(0);
  size_t lead = out.size() - in.size();
  Value* off = nullptr;
  int64_t out_stride = 1, in_stride = 1;
  for (size_t d = out.size(); d-- > 0;) {
    bool real = d >= lead && in[d - lead] != 1;  // broadcast dims contribute nothing
    if (real) {
      Value* coord = b.arith("div", idx, b.i64(out_stride));
      if (d > 0) coord = b.arith("rem", coord, b.i64(out[d]));
      Value* term = in_stride == 1 ? coord : b.arith("mul", coord, b.i64(in_stride));
      off = off ? b.arith("add", off, term) : term;
      in_stride *= in[d - lead];
    }
    out_stride *= out[d];
  }
  return off ? off : b.i64(0);
}

Value* load(Builder& b, Value* ptr, Value* offset, Value* mask) {
  std::vector<Value*> ops = {ptr, offset};
  if (mask && offset->type.is_tile()) ops.push_back(mask);
  Value* v = b.value("tile.load", ops);
  return b.cast(v, compute_dtype(v->type.dtype));
}

void store(Builder& b, Value* ptr, Value* offset, Value* value, Value* mask) {
  value = b.cast(value, ptr->type.dtype);
  std::vector<Value*> ops = {ptr, offset, value};
  if (mask) ops.push_back(mask);
  b.create("tile.store", ops);
}

Value* zero_tile(Builder& b, DType t, int64_t lanes) { return b.splat(b.constant(t, 0.0), lanes); }

// Emits a counted tile.for with one carried value; `body` maps (builder, iv, carried) -> next.
template <class Body>
Value* emit_for(Builder& b, Value* lb, Value* ub, Value* step, Value* init, Body body) {
  Op* loop = b.create_typed("tile.for", {lb, ub, step, init}, {init->type});
  Block* region = loop->add_region();
  Value* iv = region->add_arg(Type::scalar(DType::I64));
  Value* carried = region->add_arg(init->type);
  Builder inner(region, loop->loc);
  Value* next = body(inner, iv, carried);
  inner.create_typed("tile.yield", {next}, {});
  return loop->result();
}

}  // namespace

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

Grid emit_matmul_kernel(const Op& kernel, Function& fn) {
  Builder b(&fn.body, kernel.loc);
  const Op& mm = *kernel.region->ops.front();
  std::vector<int64_t> a_shape = mm.operands[0]->type.static_shape();
  std::vector<int64_t> b_shape = mm.operands[1]->type.static_shape();
  int64_t M = a_shape[0], K = a_shape[1], N = b_shape[1];
  const IntList& tile = kernel.ints_attr("tile");
  int64_t tm = tile[0], tn = tile[1], lanes = tm * tn;
  // Region args follow first use; map them back to the matmul's operand order.
  auto arg_index = [&](const Value* v) {
    for (size_t i = 0; i < kernel.region->args.size(); ++i)
      if (kernel.region->args[i].get() == v) return i;
    fail(ErrorCode::Internal, "matmul kernel operand is not a region argument");
  };
  Value* A = fn.body.args[arg_index(mm.operands[0])].get();
  Value* B = fn.body.args[arg_index(mm.operands[1])].get();
  Value* C = fn.body.args[kernel.region->args.size()].get();
  DType ct = compute_dtype(C->type.dtype);

  Value* lane = b.arange(lanes);
  Value* i = b.arith("add", b.arith("mul", b.program_id(1), b.i64(tm)), b.arith("div", lane, b.i64(tn)));
  Value* j = b.arith("add", b.arith("mul", b.program_id(0), b.i64(tn)), b.arith("rem", lane, b.i64(tn)));
  Value* mi = b.cmp("lt", i, b.i64(M));
  Value* mj = b.cmp("lt", j, b.i64(N));
  Value* a_row = b.arith("mul", i, b.i64(K));
  Value* acc = emit_for(b, b.i64(0), b.i64(K), b.i64(1), zero_tile(b, ct, lanes),
                        [&](Builder& ib, Value* k, Value* carried) {
                          Value* a = load(ib, A, ib.arith("add", a_row, k), mi);
                          Value* bv = load(ib, B, ib.arith("add", ib.arith("mul", k, ib.i64(N)), j), mj);
                          return ib.arith("add", carried, ib.arith("mul", a, bv));
                        });
  store(b, C, b.arith("add", b.arith("mul", i, b.i64(N)), j), acc, b.arith("and", mi, mj));
  return {ceil_div(N, tn), ceil_div(M, tm), 1};
}

}  // namespace tessera::passes
