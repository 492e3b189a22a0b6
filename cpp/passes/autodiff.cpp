// Automatic differentiation as Graph IR -> Graph IR transforms.
//
// vjp: f(x...) -> (y...)  becomes  g(x..., ct...) -> (y..., dx_wrt...): the forward ops,
//      then each op's VJP rule in reverse order, summing cotangents where a value has several
//      uses. With `seed_ones`, the cotangents of the differentiated outputs are 1 (grad).
// jvp: f(x...) -> (y...)  becomes  g(x..., t_wrt...) -> (y..., ty...): each op's JVP rule in
//      program order.
// The results are ordinary Graph IR, so they are optimised, compiled and differentiated again
// like any program (grad of grad, jvp of grad).
// A custom_vjp call is replaced by its inlined `fwd` (primal value and residuals, ordinary ops
// that later transforms differentiate as usual), and its inlined `bwd` gives the cotangents of
// its operands in the reverse sweep. Forward mode has no rule for it.
#include "passes/autodiff.hpp"

#include <algorithm>
#include <map>

#include "ir/builder.hpp"
#include "ir/control_flow.hpp"
#include "ir/custom_vjp.hpp"
#include "ir/op_rules.hpp"
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
// the ops that have derivative rules. Composites with a rule of their own for the mode stay
// (attention's VJP; solve's VJP and JVP).
std::unique_ptr<Module> primitive_copy(const Module& in, bool reverse) {
  auto m = in.clone();
  decompose_for_autodiff(*m, reverse ? KeepRules::Vjp : KeepRules::Jvp);
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
    fail(ErrorCode::Value,
         op.name + ": no " + std::string(reverse ? "gradient (VJP)" : "forward-mode (JVP)") +
             " rule, so it cannot be differentiated",
         op.loc.str());
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

// One step of the forward program, as the reverse sweep visits it: an op with a VJP rule, or
// a custom_vjp call already replaced by its inlined fwd.
struct Step {
  Op* op = nullptr;
  Value* y = nullptr;             // custom: the call's value (a value only this call defines)
  std::vector<Value*> operands;   // custom: the call's operands
  std::vector<Value*> residuals;  // custom: fwd's other results
  const Function* bwd = nullptr;
};

// Forward steps of `f`, inlining each custom_vjp call's fwd in its place. Calls inside an
// inlined fwd stay calls: at this order of differentiation nothing flows back through them.
std::vector<Step> forward_steps(Module& m, Function& f, std::vector<Value*>& outs) {
  std::vector<Step> steps;
  Block& body = f.body;
  for (auto it = body.ops.begin(); it != body.ops.end();) {
    Op& op = **it;
    if (op.name == "scan") {  // its reverse needs the carries of every step: stack them too
      Op* res = scan_with_residuals(m, body, it);
      for (size_t i = 0; i < op.results.size(); ++i)
        std::replace(outs.begin(), outs.end(), op.result(int(i)), res->result(int(i)));
      steps.push_back({res, nullptr, {}, {}, nullptr});
      it = body.ops.erase(it);
      continue;
    }
    if (op.name != "custom_vjp") {
      steps.push_back({&op, nullptr, {}, {}, nullptr});
      ++it;
      continue;
    }
    Step s;
    s.operands = op.operands;
    s.bwd = &custom_vjp_callee(m, op, "bwd");
    std::vector<Value*> vals = inline_call(body, it, custom_vjp_callee(m, op, "fwd"), op.operands);
    s.y = vals[0];
    s.residuals.assign(vals.begin() + 1, vals.end());
    // fwd may return an argument itself (an identity with a custom gradient): the call's value
    // needs its own Value, or its cotangent would merge with the argument's.
    if (std::find(s.operands.begin(), s.operands.end(), s.y) != s.operands.end()) {
      Block scratch;
      Builder(&scratch, op.loc).create("reshape", {s.y}, {{"shape", reshape_shape("custom_vjp", s.y->type)}});
      s.y = body.insert(it, std::move(scratch.ops.back()))->result();
    }
    replace_all_uses(body, op.result(), s.y);
    std::replace(outs.begin(), outs.end(), op.result(), s.y);
    steps.push_back(std::move(s));
    it = body.ops.erase(it);
  }
  return steps;
}

}  // namespace

std::unique_ptr<Module> vjp_transform(const Module& in, const std::vector<int>& wrt,
                                      const std::vector<int>& differentiated_outputs, bool seed_ones) {
  auto m = primitive_copy(in, true);
  Function& f = entry(*m);
  check_wrt(f, wrt);
  std::vector<Value*> outs = take_return(f);
  std::vector<Step> forward = forward_steps(*m, f, outs);

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
    if (!it->op) {
      auto c = cot.find(it->y);
      if (c == cot.end()) continue;
      std::vector<Value*> args = it->operands;
      args.insert(args.end(), it->residuals.begin(), it->residuals.end());
      args.push_back(c->second);
      std::vector<Value*> grads = inline_call(f.body, f.body.ops.end(), *it->bwd, args);
      for (size_t i = 0; i < grads.size(); ++i)
        if (is_float(it->operands[i]->type.dtype)) accumulate(it->operands[i], grads[i]);
      continue;
    }
    Op& op = *it->op;
    if (is_control_flow(op)) {
      std::vector<Value*> cts;
      bool any = false;
      for (const auto& r : op.results) {
        auto c = cot.find(r.get());
        cts.push_back(c == cot.end() ? nullptr : c->second);
        any = any || c != cot.end();
      }
      if (!any) continue;
      std::vector<Value*> grads = control_vjp(*m, f.body, op, cts);
      for (size_t i = 0; i < grads.size(); ++i)
        if (is_float(op.operands[i]->type.dtype)) accumulate(op.operands[i], grads[i]);
      continue;
    }
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
  auto m = primitive_copy(in, false);
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
    if (op->name == "custom_vjp" &&
        std::any_of(op->operands.begin(), op->operands.end(), [&](Value* v) { return tan.count(v) != 0; }))
      fail(ErrorCode::Value,
           "custom_vjp function '" + op->str_attr("name") +
               "' has only a reverse-mode rule (defvjp), so forward mode (jvp) cannot differentiate "
               "it; differentiate it with grad/vjp",
           op->loc.str());
    std::vector<Value*> ts;
    bool any = false;
    for (Value* v : op->operands) {
      auto it = tan.find(v);
      ts.push_back(it == tan.end() ? nullptr : it->second);
      any = any || it != tan.end();
    }
    if (any && is_control_flow(*op)) {  // a copy carrying tangents too gives them
      auto pos = std::find_if(f.body.ops.begin(), f.body.ops.end(), [&](auto& o) { return o.get() == op; });
      std::vector<Value*> tr = control_jvp(*m, f.body, pos, ts);
      for (size_t i = 0; i < tr.size(); ++i)
        if (tr[i]) tan[op->result(int(i))] = tr[i];
      continue;
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
