// Automatic differentiation as Graph IR -> Graph IR transforms.
//
// vjp: f(x...) -> (y...)  becomes  g(x..., ct...) -> (y..., dx_wrt...): the forward ops,
//      then each op's VJP rule in reverse order, summing cotangents where a value has several
//      uses. With `seed_ones`, the cotangents of the differentiated outputs are 1 (grad).
// jvp: f(x...) -> (y...)  becomes  g(x..., t_wrt...) -> (y..., ty...): each op's JVP rule in
//      program order.
// The results are ordinary Graph IR, so they are optimised, compiled and differentiated again
// like any program (grad of grad, jvp of grad).
#include "passes/autodiff.hpp"

#include <algorithm>
#include <map>

#include "ir/builder.hpp"
#include "ir/ops.hpp"
#include "ir/pass_manager.hpp"

namespace tessera::passes {
using namespace ir;

namespace {

Function& entry(Module& m) {
  if (m.funcs.empty()) fail(ErrorCode::Value, "autodiff: the module has no function");
  return *m.funcs.front();
}

// A copy of `in` with composite ops (mean, var, ...) decomposed into primitives, which are
// the ops that have derivative rules.
std::unique_ptr<Module> primitive_copy(const Module& in) {
  auto m = in.clone();
  run_pipeline(*m, "decompose");
  return m;
}

std::vector<Value*> take_return(Function& f) {
  Op* ret = f.terminator();
  if (!ret) fail(ErrorCode::Verify, "autodiff: @" + f.name + " has no return");
  std::vector<Value*> outs = ret->operands;
  f.body.ops.pop_back();
  return outs;
}

const OpInfo& rule_holder(const Op& op, bool reverse) {
  const OpInfo* info = lookup_op(op.name);
  if (!info || !(reverse ? bool(info->vjp) : bool(info->jvp)))
    fail(ErrorCode::Value, op.name + ": no " + std::string(reverse ? "gradient (VJP)" : "forward-mode (JVP)") +
                               " rule, so it cannot be differentiated", op.loc.str());
  return *info;
}

void check_wrt(const Function& f, const std::vector<int>& wrt) {
  for (int i : wrt) {
    if (i < 0 || size_t(i) >= f.body.args.size())
      fail(ErrorCode::Value, "autodiff: argument index " + std::to_string(i) + " is out of range");
    if (!is_float(f.body.args[size_t(i)]->type.dtype))
      fail(ErrorCode::DType, "autodiff: can only differentiate with respect to floating-point tensors, argument " +
                                 std::to_string(i) + " is " + f.body.args[size_t(i)]->type.str());
  }
}

}  // namespace

std::unique_ptr<Module> vjp_transform(const Module& in, const std::vector<int>& wrt,
                                      const std::vector<int>& differentiated_outputs, bool seed_ones) {
  auto m = primitive_copy(in);
  Function& f = entry(*m);
  check_wrt(f, wrt);
  std::vector<Value*> outs = take_return(f);
  std::vector<Op*> forward;
  for (auto& op : f.body.ops) forward.push_back(op.get());

  Builder b(&f.body);
  std::map<Value*, Value*> cot;
  auto accumulate = [&](Value* v, Value* g) {
    if (!g) return;
    auto it = cot.find(v);
    cot[v] = it == cot.end() ? g : b.value("add", {it->second, g});
  };
  for (int k : differentiated_outputs) {
    if (k < 0 || size_t(k) >= outs.size()) fail(ErrorCode::Value, "autodiff: output index out of range");
    Value* y = outs[size_t(k)];
    if (!is_float(y->type.dtype))
      fail(ErrorCode::DType, "autodiff: output " + std::to_string(k) + " is " + y->type.str() + ", not floating-point");
    Value* seed;
    if (seed_ones) {
      if (!y->type.has_static_shape() || y->type.numel() != 1)
        fail(ErrorCode::Shape, "grad: the function must return a single-element tensor to differentiate, got " +
                                   y->type.str() + " (use vjp for other outputs)");
      seed = b.graph_constant(y->type, 1.0);
    } else {
      seed = f.body.add_arg(y->type, "ct" + std::to_string(k));
    }
    accumulate(y, seed);
  }
  for (auto it = forward.rbegin(); it != forward.rend(); ++it) {
    Op& op = **it;
    auto c = cot.find(op.result());
    if (op.results.size() != 1 || c == cot.end()) continue;  // nothing flows back through op
    const OpInfo& info = rule_holder(op, true);
    Builder rb(&f.body, op.loc);
    std::vector<Value*> grads = info.vjp(rb, op, c->second);
    for (size_t i = 0; i < grads.size() && i < op.operands.size(); ++i)
      if (is_float(op.operands[i]->type.dtype)) accumulate(op.operands[i], grads[i]);
  }
  std::vector<Value*> results = outs;
  for (int i : wrt) {
    Value* x = f.body.args[size_t(i)].get();
    results.push_back(cot.count(x) ? cot[x] : b.graph_constant(x->type, 0.0));
  }
  f.result_types.clear();
  for (Value* v : results) f.result_types.push_back(v->type);
  f.body.append(Op::make("return", results, {}));
  return m;
}

std::unique_ptr<Module> jvp_transform(const Module& in, const std::vector<int>& wrt) {
  auto m = primitive_copy(in);
  Function& f = entry(*m);
  check_wrt(f, wrt);
  std::vector<Value*> outs = take_return(f);
  std::vector<Op*> forward;
  for (auto& op : f.body.ops) forward.push_back(op.get());

  std::map<Value*, Value*> tan;
  for (int i : wrt) {
    Value* x = f.body.args[size_t(i)].get();
    tan[x] = f.body.add_arg(x->type, "t" + std::to_string(i));
  }
  for (Op* op : forward) {
    std::vector<Value*> ts;
    bool any = false;
    for (Value* v : op->operands) {
      auto it = tan.find(v);
      ts.push_back(it == tan.end() ? nullptr : it->second);
      any = any || it != tan.end();
    }
    if (!any || op->results.size() != 1) continue;
    const OpInfo& info = rule_holder(*op, false);
    Builder tb(&f.body, op->loc);
    if (Value* t = info.jvp(tb, *op, ts)) tan[op->result()] = t;
  }
  Builder b(&f.body);
  std::vector<Value*> results = outs;
  for (Value* y : outs) results.push_back(tan.count(y) ? tan[y] : b.graph_constant(y->type, 0.0));
  f.result_types.clear();
  for (Value* v : results) f.result_types.push_back(v->type);
  f.body.append(Op::make("return", results, {}));
  return m;
}

}  // namespace tessera::passes
