// Batching rules (vmap) of the primitive Graph IR ops: each op applied to operands some of which
// carry a leading batch dim, giving a result with the batch dim leading. The vmap transform
// (passes/vmap.cpp) decomposes composites first, so only primitives need a rule; control flow is
// batched there, since it needs new functions.
//
// Conventions: a batched operand's per-example rank is its rank - 1. "Lifting" inserts size-1
// dims after the batch dim so that a batched operand lines up with wider unbatched ones under
// NumPy's right-aligned broadcasting.
#include <algorithm>

#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

using Values = std::vector<Value*>;
using Flags = std::vector<bool>;

int64_t example_rank(Value* v, bool batched) { return v->type.rank() - (batched ? 1 : 0); }

// v with size-1 dims inserted after its batch dim until its per-example rank is `rank`.
Value* lift(Builder& b, Value* v, int64_t rank) {
  while (v->type.rank() - 1 < rank) v = b.value("expand_dims", {v}, {{"axis", int64_t(1)}});
  return v;
}

// An unbatched v broadcast to a leading batch dim of size `batch`.
Value* with_batch(Builder& b, Value* v, int64_t batch) {
  if (!v->type.has_static_shape())
    fail(ErrorCode::Shape, "vmap: cannot broadcast " + v->type.str() + " along the batch (a symbolic dim)");
  IntList shape = v->type.static_shape();
  shape.insert(shape.begin(), batch);
  return b.value("broadcast_to", {b.value("expand_dims", {v}, {{"axis", int64_t(0)}})}, {{"shape", shape}});
}

Values all_batched(Builder& b, const Values& xs, const Flags& f, int64_t batch) {
  Values out;
  for (size_t i = 0; i < xs.size(); ++i) out.push_back(f[i] ? xs[i] : with_batch(b, xs[i], batch));
  return out;
}

// A per-example axis as an axis of the batched tensor (`rank`: the per-example rank).
int64_t shifted(const std::string& op, int64_t axis, int64_t rank) { return normalize_axis(op, axis, rank) + 1; }

IntList ints_or_empty(const AttrMap& a, const char* k) {
  auto it = a.find(k);
  return it == a.end() ? IntList{} : std::get<IntList>(it->second);
}

// Element-wise ops: batched operands lifted to the widest per-example rank.
Value* elementwise(Builder& b, const Op& op, const Values& xs, const Flags& f, int64_t) {
  int64_t rank = 0;
  for (size_t i = 0; i < xs.size(); ++i) rank = std::max(rank, example_rank(xs[i], f[i]));
  Values args;
  for (size_t i = 0; i < xs.size(); ++i) args.push_back(f[i] ? lift(b, xs[i], rank) : xs[i]);
  return b.value(op.name, args, op.attrs);
}

Value* reduction(Builder& b, const Op& op, const Values& xs, const Flags&, int64_t) {
  AttrMap a = op.attrs;
  int64_t rank = xs[0]->type.rank() - 1;
  if (!op.has_attr("axis")) fail(ErrorCode::Internal, "vmap: " + op.name + " without an axis after decompose");
  a["axis"] = shifted(op.name, op.int_attr("axis"), rank);
  return b.value(op.name, xs, a);
}

// matmul: vectors become matrices, batched operands are lifted to the other's rank, and the
// vectors' dims are dropped again from the product.
Value* matmul(Builder& b, const Op& op, const Values& xs, const Flags& f, int64_t) {
  Value *x = xs[0], *y = xs[1];
  bool xv = example_rank(x, f[0]) == 1, yv = example_rank(y, f[1]) == 1;
  if (xv) x = b.value("expand_dims", {x}, {{"axis", int64_t(-2)}});
  if (yv) y = b.value("expand_dims", {y}, {{"axis", int64_t(-1)}});
  int64_t rank = std::max(example_rank(x, f[0]), example_rank(y, f[1]));
  Value* r = b.value("matmul", {f[0] ? lift(b, x, rank) : x, f[1] ? lift(b, y, rank) : y}, op.attrs);
  if (yv) r = b.value("squeeze", {r}, {{"axes", IntList{r->type.rank() - 1}}});
  if (xv) r = b.value("squeeze", {r}, {{"axes", IntList{r->type.rank() - (yv ? 1 : 2)}}});
  return r;
}

// Ops of one batched tensor operand whose attributes get a leading entry for the batch dim.
Value* reshape(Builder& b, const Op& op, const Values& xs, const Flags&, int64_t batch) {
  IntList shape = op.ints_attr("shape");
  shape.insert(shape.begin(), batch);
  return b.value("reshape", xs, {{"shape", shape}});
}

Value* transpose(Builder& b, const Op& op, const Values& xs, const Flags&, int64_t) {
  int64_t rank = xs[0]->type.rank() - 1;
  IntList perm = ints_or_empty(op.attrs, "perm"), out{0};
  if (perm.empty())
    for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
  for (int64_t p : perm) out.push_back(normalize_axis("transpose", p, rank) + 1);
  return b.value("transpose", xs, {{"perm", out}});
}

Value* broadcast_to(Builder& b, const Op& op, const Values& xs, const Flags&, int64_t batch) {
  IntList shape = op.ints_attr("shape");
  Value* x = lift(b, xs[0], int64_t(shape.size()));
  shape.insert(shape.begin(), batch);
  return b.value("broadcast_to", {x}, {{"shape", shape}});
}

Value* expand_dims(Builder& b, const Op& op, const Values& xs, const Flags&, int64_t) {
  int64_t rank = xs[0]->type.rank();  // the per-example rank of the result
  return b.value("expand_dims", xs, {{"axis", shifted("expand_dims", op.int_attr("axis"), rank)}});
}

Value* squeeze(Builder& b, const Op& op, const Values& xs, const Flags&, int64_t) {
  const Type& t = xs[0]->type;
  int64_t rank = t.rank() - 1;
  IntList axes = ints_or_empty(op.attrs, "axes"), out;
  if (axes.empty())  // every size-1 dim of the example, never the batch dim
    for (int64_t d = 0; d < rank; ++d)
      if (t.shape[size_t(d + 1)] == Dim::of(1)) axes.push_back(d);
  for (int64_t a : axes) out.push_back(shifted("squeeze", a, rank));
  return out.empty() ? xs[0] : b.value("squeeze", xs, {{"axes", out}});
}

Value* join(Builder& b, const Op& op, const Values& xs, const Flags& f, int64_t batch) {
  Values args = all_batched(b, xs, f, batch);
  int64_t rank = args[0]->type.rank() - 1 + (op.name == "stack" ? 1 : 0);
  return b.value(op.name, args, {{"axis", shifted(op.name, op.int_attr("axis", 0), rank)}});
}

// slice and slice_update: a whole leading dim in front of the bounds.
AttrMap whole_first(const Op& op) {
  IntList start = op.ints_attr("start"), stop = op.ints_attr("stop"), step = ints_or_empty(op.attrs, "step");
  start.insert(start.begin(), 0);
  stop.insert(stop.begin(), kWholeStop);
  if (!step.empty()) step.insert(step.begin(), 1);
  AttrMap a{{"start", start}, {"stop", stop}};
  if (!step.empty()) a["step"] = step;
  return a;
}

Value* slice(Builder& b, const Op& op, const Values& xs, const Flags&, int64_t) {
  return b.value("slice", xs, whole_first(op));
}

Value* slice_update(Builder& b, const Op& op, const Values& xs, const Flags& f, int64_t batch) {
  Value* x = f[0] ? xs[0] : with_batch(b, xs[0], batch);
  Value* v = f[1] ? lift(b, xs[1], x->type.rank() - 1) : xs[1];
  return b.value("slice_update", {x, v}, whole_first(op));
}

Value* pad(Builder& b, const Op& op, const Values& xs, const Flags&, int64_t) {
  IntList p = op.ints_attr("pad");
  p.insert(p.begin(), {0, 0});
  AttrMap a = op.attrs;
  a["pad"] = p;
  return b.value("pad", xs, a);
}

// Same-rank indexing (gather, scatter, scatter_add): every operand batched, the axis shifted.
Value* same_rank_indexing(Builder& b, const Op& op, const Values& xs, const Flags& f, int64_t batch) {
  Values args = all_batched(b, xs, f, batch);
  AttrMap a = op.attrs;
  a["axis"] = shifted(op.name, op.int_attr("axis"), args[0]->type.rank() - 1);
  return b.value(op.name, args, a);
}

// The moved dims of `perm` applied to a batched result whose batch dim sits at `at`: to the front.
Value* batch_to_front(Builder& b, Value* v, int64_t at) {
  if (at == 0) return v;
  IntList perm{at};
  for (int64_t d = 0; d < v->type.rank(); ++d)
    if (d != at) perm.push_back(d);
  return b.value("transpose", {v}, {{"perm", perm}});
}

// take(x, idx, axis): with only x batched, the axis moves by one; with only idx batched, the
// batch dim lands at `axis` and moves to the front; with both, example b reads its own x: a
// gather of x broadcast over idx's dims, so the op's mode (clip, wrap, fill) still applies.
Value* take(Builder& b, const Op& op, const Values& xs, const Flags& f, int64_t) {
  Value *x = xs[0], *idx = xs[1];
  int64_t xr = example_rank(x, f[0]), axis = normalize_axis("take", op.int_attr("axis", 0), xr);
  if (f[0] && !f[1]) {
    AttrMap a = op.attrs;
    a["axis"] = axis + 1;
    return b.value("take", {x, idx}, a);
  }
  if (!f[0]) return batch_to_front(b, b.value("take", {x, idx}, op.attrs), axis);
  for (const Type* t : {&x->type, &idx->type})
    if (!t->has_static_shape())
      fail(ErrorCode::Shape, "vmap: take of batched indices needs static sizes, got " + t->str());
  // x as [B, rest..., n] (the axis last), idx as [B, I...]
  IntList perm{0};
  for (int64_t d = 1; d <= xr; ++d)
    if (d != axis + 1) perm.push_back(d);
  perm.push_back(axis + 1);
  Value* xt = b.value("transpose", {x}, {{"perm", perm}});
  IntList xs_ = xt->type.static_shape(), is = idx->type.static_shape();
  const size_t ni = is.size() - 1, nr = xs_.size() - 2;
  // both to [B, I..., rest..., n or 1]
  IntList xv{xs_[0]}, iv(is.begin(), is.end()), full(is.begin(), is.end());
  xv.insert(xv.end(), ni, 1);
  xv.insert(xv.end(), xs_.begin() + 1, xs_.end());
  iv.insert(iv.end(), nr, 1);
  iv.push_back(1);
  full.insert(full.end(), xs_.begin() + 1, xs_.end() - 1);
  IntList xfull = full, ifull = full;
  xfull.push_back(xs_.back());
  ifull.push_back(1);
  Value* xe = b.value("broadcast_to", {b.value("reshape", {xt}, {{"shape", xv}})}, {{"shape", xfull}});
  Value* ie = b.value("broadcast_to", {b.value("reshape", {idx}, {{"shape", iv}})}, {{"shape", ifull}});
  AttrMap a = op.attrs;
  a["axis"] = int64_t(ifull.size() - 1);
  Value* g = b.value("gather", {xe, ie}, a);
  g = b.value("squeeze", {g}, {{"axes", IntList{int64_t(ifull.size() - 1)}}});  // [B, I..., rest...]
  // per-example layout: x[:axis] + I + x[axis+1:]
  IntList out{0};
  for (int64_t d = 0; d < axis; ++d) out.push_back(1 + int64_t(ni) + d);
  for (size_t d = 0; d < ni; ++d) out.push_back(1 + int64_t(d));
  for (size_t d = size_t(axis); d < nr; ++d) out.push_back(1 + int64_t(ni + d));
  return b.value("transpose", {g}, {{"perm", out}});
}

Value* checked(Builder& b, const Op& op, const Values& xs, const Flags& f, int64_t) {
  Value* ok = f[1] ? b.value("all", {xs[1]}) : xs[1];
  return b.value("checked", {xs[0], ok}, op.attrs);
}

// Linear-algebra kernels act on the trailing matrices and take equal batch dims: unbatched
// operands get the batch dim too.
Value* matrices(Builder& b, const Op& op, const Values& xs, const Flags& f, int64_t batch) {
  return b.value(op.name, all_batched(b, xs, f, batch), op.attrs);
}

Value* unchanged(Builder& b, const Op& op, const Values& xs, const Flags&, int64_t) {
  return b.value(op.name, xs, op.attrs);
}

Value* counters_unbatched(Builder& b, const Op& op, const Values& xs, const Flags& f, int64_t) {
  for (size_t i = 1; i < f.size(); ++i)
    if (f[i])
      fail(ErrorCode::Value, "vmap: " + op.name + " with a batched seed or offset is not supported", op.loc.str());
  return b.value(op.name, xs, op.attrs);
}

}  // namespace

void attach_batching(std::map<std::string, OpInfo>& table) {
  for (auto& [name, info] : table) {
    if (info.cls == OpClass::Tile || info.cls == OpClass::Structural) continue;
    if (info.lower_elementwise) info.batch = elementwise;
    if (info.cls == OpClass::Reduction && !info.decompose) info.batch = reduction;
  }
  auto set = [&](const std::string& name, decltype(OpInfo::batch) rule) {
    auto it = table.find(name);
    if (it != table.end()) it->second.batch = std::move(rule);
  };
  for (const char* r : {"sum", "prod", "max", "min", "argmax", "argmin", "argsort", "cumsum", "cumprod", "cummax",
                        "cummin", "cumargmax", "cumargmin"})
    set(r, reduction);  // one operand, an `axis`
  set("matmul", matmul);
  set("reshape", reshape);
  set("transpose", transpose);
  set("broadcast_to", broadcast_to);
  set("expand_dims", expand_dims);
  set("squeeze", squeeze);
  set("concat", join);
  set("stack", join);
  set("slice", slice);
  set("slice_update", slice_update);
  set("pad", pad);
  set("gather", same_rank_indexing);
  set("scatter", same_rank_indexing);
  set("scatter_add", same_rank_indexing);
  set("take", take);
  set("checked", checked);
  for (const char* m : {"potrf", "getrf", "tri_solve", "geqrf", "orgqr", "syevj", "gesvj"}) set(m, matrices);
  for (const char* u : {"tril", "one_hot", "windows", "overlap_add"}) set(u, unchanged);            // trailing dims
  set("debug_print", [](Builder& b, const Op& op, const Values& xs, const Flags&, int64_t batch) {  // the whole batch
    return with_batch(b, b.value(op.name, xs, op.attrs), batch);
  });
  for (const char* r : {"rand_like", "dropout"}) set(r, counters_unbatched);
}

}  // namespace tessera::ir
