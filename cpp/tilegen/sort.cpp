// Tile IR for argsort: one program instance per row sorts the row's indices in the output
// buffer with a bitonic network that needs no padding (every compare puts the earlier key at
// the lower position, so positions past the row's end never move): for k = 2, 4, .. P (P the
// power of two >= n), a "flip" step compares i with the mirror position in its block of k, then
// half-cleaners compare i with i + j for j = k/4 .. 1. A step's pairs are disjoint, so its
// lanes run in any order; steps run in sequence. Keys are read from x through the indices;
// equal keys order by index, which makes the sort stable. O(n log^2 n) per row. On GPUs a
// program instance is a thread block, a barrier after each step.
#include "ir/op_rules.hpp"
#include "tilegen/tilegen.hpp"
#include "tilegen/value_emitter.hpp"

namespace tessera::tilegen {
using namespace ir;

namespace {

// Whether key a sorts after key c (NaN largest; equal keys by index).
Value* after(Builder& b, Value* ka, Value* ia, Value* kc, Value* ic, bool descending) {
  auto gt = [&](Value* x, Value* y) {
    Value* r = b.cmp("gt", x, y);
    if (!is_float(x->type.dtype)) return r;
    return b.arith("or", r, b.arith("and", b.cmp("ne", x, x), b.cmp("eq", y, y)));
  };
  Value* eq = b.cmp("eq", ka, kc);
  if (is_float(ka->type.dtype)) eq = b.arith("or", eq, b.arith("and", b.cmp("ne", ka, ka), b.cmp("ne", kc, kc)));
  Value* later = descending ? gt(kc, ka) : gt(ka, kc);
  return b.arith("or", later, b.arith("and", eq, b.cmp("gt", ia, ic)));
}

}  // namespace

Grid emit_sort_kernel(const Op& kernel, Function& fn) {
  Builder b(&fn.body, kernel.loc);
  const Block& region = *kernel.region;
  const Op& op = *region.ops.back()->operands[0]->def;
  if (op.name != "argsort") fail(ErrorCode::Compile, "sort kernels compute argsort, got " + op.name, op.loc.str());
  std::vector<int64_t> shape = op.operands[0]->type.static_shape();
  const int64_t axis = normalize_axis("argsort", op.int_attr("axis"), int64_t(shape.size()));
  const int64_t n = shape[size_t(axis)], lanes = kernel.int_attr("lanes");
  const bool descending = op.bool_attr("descending", false);
  std::vector<int64_t> kept = shape;
  kept.erase(kept.begin() + axis);
  int64_t rows = 1, inner = 1;
  for (int64_t d : kept) rows *= d;
  for (size_t d = size_t(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  Value* out = fn.body.args[region.args.size()].get();

  Value* row = b.program_id(0);
  ValueEmitter top(b, region, fn, nullptr);
  ValueAt::Coords row_coords = top.unflatten(row, kept);
  Value* base = b.arith("add", b.arith("mul", b.arith("div", row, b.i64(inner)), b.i64(n * inner)),
                        b.arith("rem", row, b.i64(inner)));
  auto offset = [&](Builder& ib, Value* i) { return ib.arith("add", base, ib.arith("mul", i, ib.i64(inner))); };
  for_tiles(b, n, lanes, [&](Builder& ib, Value* q, Value* m) { store(ib, out, offset(ib, q), q, m); });
  b.create("tile.barrier", {});  // GPUs: a step's pairs are other threads' next step

  // One compare-exchange step over P/2 pairs; `pair(builder, q)` gives the positions (i, p).
  int64_t p2 = 1;
  while (p2 < n) p2 *= 2;
  auto step = [&](auto pair) {
    for_tiles(b, p2 / 2, lanes, [&](Builder& ib, Value* q, Value* m) {
      auto [i, p] = pair(ib, q);
      Value* active = ib.arith("and", m, ib.cmp("lt", p, ib.i64(n)));
      Value* ia = load(ib, out, offset(ib, i), active);
      Value* ic = load(ib, out, offset(ib, p), active);
      ValueEmitter e(ib, region, fn, active);
      auto key = [&](Value* idx) {
        ValueAt::Coords c = row_coords;
        c.insert(c.begin() + axis, idx);
        return e.at(op.operands[0], c);
      };
      Value* swap = after(ib, key(ia), ia, key(ic), ic, descending);
      store(ib, out, offset(ib, i), ib.value("arith.select", {swap, ic, ia}), active);
      store(ib, out, offset(ib, p), ib.value("arith.select", {swap, ia, ic}), active);
    });
    b.create("tile.barrier", {});
  };
  for (int64_t k = 2; k <= p2; k *= 2) {
    step([&](Builder& ib, Value* q) {  // the flip: i and its mirror in the block of k
      Value* start = ib.arith("mul", ib.arith("div", q, ib.i64(k / 2)), ib.i64(k));
      Value* w = ib.arith("rem", q, ib.i64(k / 2));
      return std::pair{ib.arith("add", start, w), ib.arith("sub", ib.arith("add", start, ib.i64(k - 1)), w)};
    });
    for (int64_t j = k / 4; j >= 1; j /= 2)
      step([&](Builder& ib, Value* q) {  // half-cleaner: i and i + j
        Value* i = ib.arith("add", ib.arith("mul", ib.arith("div", q, ib.i64(j)), ib.i64(2 * j)),
                            ib.arith("rem", q, ib.i64(j)));
        return std::pair{i, ib.arith("add", i, ib.i64(j))};
      });
  }
  erase_dead_ops(fn.body);
  return {rows, 1, 1};
}

}  // namespace tessera::tilegen
