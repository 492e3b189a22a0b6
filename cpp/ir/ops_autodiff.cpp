// Ops that exist for differentiation: stop_gradient, remat_barrier, and custom_vjp (see custom_vjp.hpp).
#include <algorithm>
#include <map>
#include <set>

#include "ir/custom_vjp.hpp"
#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

std::string types_str(const std::vector<Type>& ts) {
  std::string s;
  for (size_t i = 0; i < ts.size(); ++i) s += (i ? ", " : "") + ts[i].str();
  return "(" + s + ")";
}

std::vector<Type> types_of(const std::vector<Value*>& vs) {
  std::vector<Type> out;
  for (const Value* v : vs) out.push_back(v->type);
  return out;
}

std::vector<Type> param_types(const Function& f) {
  std::vector<Type> out;
  for (const auto& a : f.body.args) out.push_back(a->type);
  return out;
}

void verify_custom_vjp_op(const Op& op) {
  if (op.results.size() != 1) fail(ErrorCode::Verify, "custom_vjp: must have exactly one result");
  for (const char* role : {"name", "fn", "fwd", "bwd"})
    if (!std::holds_alternative<std::string>(op.attrs.at(role)) || op.str_attr(role).empty())
      fail(ErrorCode::Verify, std::string("custom_vjp: attribute '") + role + "' must be a non-empty string");
}

void check_call(const Module& m, const Op& op) {
  const std::string who = "custom_vjp '" + op.str_attr("name") + "'";
  auto bad = [&](const std::string& role, const Function& f, const std::string& what, const std::vector<Type>& got,
                 const std::vector<Type>& want) {
    fail(ErrorCode::Verify,
         who + ": " + role + " function @" + f.name + " " + what + " " + types_str(got) + ", expected " +
             types_str(want),
         op.loc.str());
  };
  std::vector<Type> xs = types_of(op.operands);
  std::vector<Type> y{op.result()->type};
  const Function& fn = custom_vjp_callee(m, op, "fn");
  if (param_types(fn) != xs) bad("fn", fn, "takes", param_types(fn), xs);
  if (fn.result_types != y) bad("fn", fn, "returns", fn.result_types, y);
  const Function& fwd = custom_vjp_callee(m, op, "fwd");
  if (param_types(fwd) != xs) bad("fwd", fwd, "takes", param_types(fwd), xs);
  if (fwd.result_types.empty() || fwd.result_types[0] != y[0]) {
    std::vector<Type> want = y;
    if (!fwd.result_types.empty()) want.insert(want.end(), fwd.result_types.begin() + 1, fwd.result_types.end());
    bad("fwd", fwd, "returns", fwd.result_types, want);
  }
  const Function& bwd = custom_vjp_callee(m, op, "bwd");
  std::vector<Type> bwd_in = xs;
  bwd_in.insert(bwd_in.end(), fwd.result_types.begin() + 1, fwd.result_types.end());
  bwd_in.push_back(y[0]);
  if (param_types(bwd) != bwd_in) bad("bwd", bwd, "takes", param_types(bwd), bwd_in);
  if (bwd.result_types != xs) bad("bwd", bwd, "returns (one cotangent per operand)", bwd.result_types, xs);
}

}  // namespace

void register_autodiff_ops(std::vector<OpInfo>& out) {
  OpInfo stop =
      unary_op("stop_gradient", false, "Identity in the forward pass; blocks gradients (its derivative is zero).");
  stop.operand_names = {"x"};
  stop.lower_elementwise = [](Builder&, const Op&, const std::vector<Value*>& a) { return a[0]; };
  out.push_back(stop);

  // tessera.checkpoint's recomputation starts from these: impure, so CSE never merges the
  // recomputed forward with the original one (which would keep its activations alive).
  OpInfo barrier = unary_op("remat_barrier", false,
                            "Identity (value and derivative) that common-subexpression elimination leaves alone: "
                            "tessera.checkpoint recomputes from it.");
  barrier.operand_names = {"x"};
  barrier.pure = false;
  barrier.lower_elementwise = [](Builder&, const Op&, const std::vector<Value*>& a) { return a[0]; };
  out.push_back(barrier);

  // Structural: it is made by tessera.custom_vjp, not called as an op, and never reaches kernels.
  OpInfo call;
  call.name = "custom_vjp";
  call.cls = OpClass::Structural;
  call.min_operands = 0;
  call.max_operands = -1;
  call.attrs = {{"name", "str", true, "the user's function, for messages"},
                {"fn", "str", true, "primal function: (x...) -> (y)"},
                {"fwd", "str", true, "forward function: (x...) -> (y, residuals...)"},
                {"bwd", "str", true, "backward function: (x..., residuals..., ct) -> (dx...)"}};
  call.verify_op = verify_custom_vjp_op;
  call.summary = "A call of module functions with a user-defined gradient (tessera.custom_vjp).";
  out.push_back(call);
}

const Function& custom_vjp_callee(const Module& m, const Op& op, const std::string& role) {
  const std::string& name = op.str_attr(role);
  const Function* f = m.find(name);
  if (!f)
    fail(ErrorCode::Verify,
         "custom_vjp '" + op.str_attr("name") + "': its " + role + " function @" + name + " is not in the module",
         op.loc.str());
  return *f;
}

void verify_custom_vjp_calls(const Module& m) {
  for (const auto& f : m.funcs)
    walk(f->body, [&](Op& op) {
      if (op.name == "custom_vjp") check_call(m, op);
    });
}

std::vector<Value*> inline_call(Block& block, std::list<std::unique_ptr<Op>>::iterator pos, const Function& callee,
                                const std::vector<Value*>& args) {
  if (args.size() != callee.body.args.size())
    fail(ErrorCode::Internal, "inline_call: @" + callee.name + " takes " + std::to_string(callee.body.args.size()) +
                                  " arguments, given " + std::to_string(args.size()));
  std::map<Value*, Value*> map;
  for (size_t i = 0; i < args.size(); ++i) map[callee.body.args[i].get()] = args[i];
  for (const auto& op : callee.body.ops) {
    if (op->name == "return") {
      std::vector<Value*> out;
      for (Value* v : op->operands) out.push_back(map.count(v) ? map[v] : v);
      return out;
    }
    if (op->region) fail(ErrorCode::Internal, "inline_call: @" + callee.name + " holds an op with a region");
    Op* copy = block.insert(pos, clone_op(*op, map));
    for (size_t i = 0; i < op->results.size(); ++i) map[op->result(int(i))] = copy->result(int(i));
  }
  fail(ErrorCode::Internal, "inline_call: @" + callee.name + " has no return");
}

void inline_custom_vjp_calls(Module& m) {
  std::set<std::string> named;
  for (auto& f : m.funcs)
    walk(f->body, [&](Op& op) {
      if (op.name != "custom_vjp") return;
      for (const char* role : {"fn", "fwd", "bwd"}) named.insert(op.str_attr(role));
    });
  if (named.empty()) return;
  for (auto& f : m.funcs) {
    if (named.count(f->name) || f->attrs.count("kernel")) continue;
    Block& body = f->body;
    // Calls inside an inlined primal are inlined on the next sweep.
    for (bool again = true; again;) {
      again = false;
      for (auto it = body.ops.begin(); it != body.ops.end();) {
        Op& op = **it;
        if (op.name != "custom_vjp") {
          ++it;
          continue;
        }
        std::vector<Value*> out = inline_call(body, it, custom_vjp_callee(m, op, "fn"), op.operands);
        replace_all_uses(body, op.result(), out.at(0));
        it = body.ops.erase(it);
        again = true;
      }
    }
  }
  auto& fs = m.funcs;
  fs.erase(std::remove_if(fs.begin() + 1, fs.end(), [&](const auto& f) { return named.count(f->name) != 0; }),
           fs.end());
}

}  // namespace tessera::ir
