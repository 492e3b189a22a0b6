// vmap as a Graph IR transform: f(x...) -> (y...) becomes g(x_batched...) -> (y_batched...),
// computing f for every index of a batch dim at once. Composites are decomposed first, so each
// primitive's batching rule (ir/batching.cpp) applies; ops that read no batched value are copied
// as they are. Control flow is batched here: a scan or while_loop carries everything batched
// (a while_loop keeps stepping while any example's condition holds, and examples that are done
// keep their values), and a cond with a batched predicate runs both branches and selects.
#include "passes/vmap.hpp"

#include <map>

#include "ir/control_flow.hpp"
#include "ir/custom_vjp.hpp"
#include "ir/op_rules.hpp"
#include "passes/autodiff.hpp"
#include "passes/derived.hpp"

namespace tessera::passes {
using namespace ir;

namespace {

using Values = std::vector<Value*>;

Type with_batch_type(const Type& t, int64_t batch, size_t axis = 0) {
  std::vector<Dim> s = t.shape;
  s.insert(s.begin() + long(axis), Dim::of(batch));
  return Type::tensor(t.dtype, s);
}

Value* broadcast_batch(Builder& b, Value* v, int64_t batch) {
  if (!v->type.has_static_shape())
    fail(ErrorCode::Shape, "vmap: cannot broadcast " + v->type.str() + " along the batch (a symbolic dim)");
  IntList shape = v->type.static_shape();
  shape.insert(shape.begin(), batch);
  return b.value("broadcast_to", {b.value("expand_dims", {v}, {{"axis", int64_t(0)}})}, {{"shape", shape}});
}

// Swaps dims 0 and 1 ([B, T, ...] <-> [T, B, ...]).
Value* swap01(Builder& b, Value* v) {
  IntList perm{1, 0};
  for (int64_t d = 2; d < v->type.rank(); ++d) perm.push_back(d);
  return b.value("transpose", {v}, {{"perm", perm}});
}

// A rank-0 bool per example ([B]) against a batched value: reshaped to broadcast along it.
Value* per_example(Builder& b, Value* pred, Value* like) {
  IntList shape(size_t(like->type.rank()), 1);
  shape[0] = pred->type.shape[0].size;
  return b.value("reshape", {pred}, {{"shape", shape}});
}

std::string vmap_function(Module& m, const std::string& name, const std::vector<bool>& batched, int64_t batch);

struct Batcher {
  Module& m;
  int64_t batch;
  Builder& b;

  Values all_batched(const Values& xs, const std::vector<bool>& f) {
    Values out;
    for (size_t i = 0; i < xs.size(); ++i) out.push_back(f[i] ? xs[i] : broadcast_batch(b, xs[i], batch));
    return out;
  }

  Values scan(const Op& op, const Values& xs, const std::vector<bool>& f) {
    Values args = all_batched(xs, f);
    const size_t a = size_t(op.int_attr("n_carry")), nx = size_t(op.int_attr("n_xs"));
    for (size_t i = a; i < a + nx; ++i) args[i] = swap01(b, args[i]);  // time first, then the batch
    AttrMap attrs = op.attrs;
    attrs["body"] = vmap_function(m, op.str_attr("body"), std::vector<bool>(args.size(), true), batch);
    std::vector<Type> rt;
    for (size_t i = 0; i < op.results.size(); ++i)
      rt.push_back(with_batch_type(op.result(int(i))->type, batch, i < a ? 0 : 1));
    Op* s = b.create_typed("scan", args, rt, attrs);
    Values out;
    for (size_t i = 0; i < rt.size(); ++i) out.push_back(i < a ? s->result(int(i)) : swap01(b, s->result(int(i))));
    return out;
  }

  Values cond(const Op& op, const Values& xs, const std::vector<bool>& f) {
    Values args = all_batched(Values(xs.begin() + 1, xs.end()), std::vector<bool>(f.begin() + 1, f.end()));
    std::vector<bool> all(args.size(), true);
    std::string t = vmap_function(m, op.str_attr("then"), all, batch),
                e = vmap_function(m, op.str_attr("else"), all, batch);
    if (!f[0]) {
      std::vector<Type> rt;
      for (const auto& r : op.results) rt.push_back(with_batch_type(r->type, batch));
      Values operands{xs[0]};
      operands.insert(operands.end(), args.begin(), args.end());
      Op* c = b.create_typed("cond", operands, rt, {{"then", t}, {"else", e}});
      Values out;
      for (size_t i = 0; i < rt.size(); ++i) out.push_back(c->result(int(i)));
      return out;
    }
    Values rt = call(b, m, t, args), re = call(b, m, e, args), out;  // a batched predicate: both, then select
    for (size_t i = 0; i < rt.size(); ++i)
      out.push_back(b.value("where", {per_example(b, xs[0], rt[i]), rt[i], re[i]}));
    return out;
  }

  Values while_loop(const Op& op, const Values& xs, const std::vector<bool>& f) {
    Values args = all_batched(xs, f);
    const size_t a = size_t(op.int_attr("n_carry"));
    std::vector<bool> all(args.size(), true);
    std::string cb = vmap_function(m, op.str_attr("cond"), all, batch);
    std::string bb = vmap_function(m, op.str_attr("body"), all, batch);
    std::vector<Type> params;
    for (Value* v : args) params.push_back(v->type);
    AttrMap attrs = op.attrs;
    attrs["cond"] = add_function(m, op.str_attr("cond") + "_any", params, [&](Builder& fb, const Values& p) {
      return Values{fb.value("any", {call(fb, m, cb, p)[0]})};
    });
    attrs["body"] = add_function(m, op.str_attr("body") + "_masked", params, [&](Builder& fb, const Values& p) {
      Value* go = call(fb, m, cb, p)[0];
      Values next = call(fb, m, bb, p), out;
      for (size_t i = 0; i < a; ++i) out.push_back(fb.value("where", {per_example(fb, go, next[i]), next[i], p[i]}));
      return out;
    });
    std::vector<Type> rt(params.begin(), params.begin() + long(a));
    Op* w = b.create_typed("while_loop", args, rt, attrs);
    Values out;
    for (size_t i = 0; i < a; ++i) out.push_back(w->result(int(i)));
    return out;
  }
};

// f's body batched: batched[i] says whether parameter i carries a leading batch dim; every
// result does. Returns the new function's name.
std::string vmap_function(Module& m, const std::string& name, const std::vector<bool>& batched, int64_t batch) {
  const Function& f = *m.find(name);
  auto g = std::make_unique<Function>();
  std::map<Value*, Value*> map;
  std::map<Value*, bool> is_batched;
  for (size_t i = 0; i < f.body.args.size(); ++i) {
    const Type& t = f.body.args[i]->type;
    Value* a = g->body.add_arg(batched[i] ? with_batch_type(t, batch) : t);
    map[f.body.args[i].get()] = a;
    is_batched[a] = batched[i];
  }
  Builder b(&g->body);
  for (const auto& op : f.body.ops) {
    Values xs;
    std::vector<bool> flags;
    bool any = false;
    for (Value* v : op->operands) {
      xs.push_back(map.at(v));
      flags.push_back(is_batched[map.at(v)]);
      any = any || flags.back();
    }
    if (op->name == "return") {
      Values out;
      for (size_t i = 0; i < xs.size(); ++i) out.push_back(flags[i] ? xs[i] : broadcast_batch(b, xs[i], batch));
      for (Value* v : out) g->result_types.push_back(v->type);
      g->body.append(Op::make("return", out, {}, {}, op->loc));
      continue;
    }
    if (!any) {
      Op* copy = g->body.append(clone_op(*op, map));
      for (size_t i = 0; i < op->results.size(); ++i) map[op->result(int(i))] = copy->result(int(i));
      continue;
    }
    Builder ob(&g->body, op->loc);
    Batcher at{m, batch, ob};
    Values results;
    if (op->name == "scan")
      results = at.scan(*op, xs, flags);
    else if (op->name == "cond")
      results = at.cond(*op, xs, flags);
    else if (op->name == "while_loop")
      results = at.while_loop(*op, xs, flags);
    else {
      const OpInfo* info = lookup_op(op->name);
      if (!info || !info->batch)
        fail(ErrorCode::Value, "vmap: " + op->name + " has no batching rule, so it cannot be vectorised",
             op->loc.str());
      results = {info->batch(ob, *op, xs, flags, batch)};
    }
    for (size_t i = 0; i < results.size(); ++i) {
      map[op->result(int(i))] = results[i];
      is_batched[results[i]] = true;
    }
  }
  return adopt(m, std::move(g), name + "_vmap");
}

}  // namespace

std::unique_ptr<Module> vmap_transform(const Module& in, const std::vector<int>& in_axes, int64_t batch) {
  auto m = in.clone();
  if (m->funcs.empty()) fail(ErrorCode::Value, "vmap: the module has no function");
  inline_custom_vjp_calls(*m);
  decompose_for_autodiff(*m, KeepRules::None);
  Function& f = *m->funcs.front();
  if (in_axes.size() != f.body.args.size())
    fail(ErrorCode::Value, "vmap: " + std::to_string(in_axes.size()) + " in_axes for " +
                               std::to_string(f.body.args.size()) + " parameters");
  std::vector<bool> batched;
  std::vector<Type> params;
  for (size_t i = 0; i < in_axes.size(); ++i) {
    const Type& t = f.body.args[i]->type;
    batched.push_back(in_axes[i] >= 0);
    if (in_axes[i] > t.rank())
      fail(ErrorCode::Value, "vmap: in_axes " + std::to_string(in_axes[i]) + " is out of range for argument " +
                                 std::to_string(i) + " of type " + t.str());
    params.push_back(in_axes[i] >= 0 ? with_batch_type(t, batch, size_t(in_axes[i])) : t);
  }
  std::string body = vmap_function(*m, f.name, batched, batch);
  // The entry: each batched argument's batch dim moved to the front, then the batched body.
  auto g = std::make_unique<Function>();
  g->name = f.name;
  Values args;
  for (const Type& t : params) args.push_back(g->body.add_arg(t));
  Builder b(&g->body);
  for (size_t i = 0; i < args.size(); ++i)
    if (in_axes[i] > 0) {
      IntList perm{in_axes[i]};
      for (int64_t d = 0; d < args[i]->type.rank(); ++d)
        if (d != in_axes[i]) perm.push_back(d);
      args[i] = b.value("transpose", {args[i]}, {{"perm", perm}});
    }
  Values out = call(b, *m, body, args);
  for (Value* v : out) g->result_types.push_back(v->type);
  g->body.append(Op::make("return", out, {}));
  m->funcs.front() = std::move(g);
  return m;
}

}  // namespace tessera::passes
