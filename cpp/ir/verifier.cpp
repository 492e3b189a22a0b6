// The IR verifier: structural invariants shared by every level, then each op's registry check.
//
// - every operand is defined before its use, in the same block or an enclosing one (a region
//   sees the values of the blocks around it; values of a region are not visible outside it,
//   and an op's own results are not visible in its region);
// - parent pointers and result / argument indices are consistent;
// - a function body ends with one `return` whose operand types are the function's result
//   types (a function with `kernel = true` may end without one);
// - every op is known to the registry and passes `check_op`.
#include <unordered_set>

#include "ir/control_flow.hpp"
#include "ir/custom_vjp.hpp"
#include "ir/ir.hpp"
#include "ir/registry.hpp"

namespace tessera::ir {
namespace {

std::string types_str(const std::vector<Type>& ts) {
  std::string s;
  for (size_t i = 0; i < ts.size(); ++i) s += (i ? ", " : "") + ts[i].str();
  return s;
}

class Verifier {
 public:
  explicit Verifier(const Function& f) : f_(f) {}

  void run() {
    collect(f_.body);
    if (f_.body.parent) func_error("the body block has a parent op");
    block(f_.body, nullptr);
    terminator();
  }

 private:
  const Function& f_;
  std::unordered_set<const Value*> all_;      // every value defined in the function
  std::unordered_set<const Value*> seen_;     // defined before the current point
  std::unordered_set<const Value*> visible_;  // in scope at the current point

  [[noreturn]] void func_error(const std::string& problem) const {
    fail(ErrorCode::Verify, "in function @" + f_.name + ": " + problem, f_.loc.str());
  }
  [[noreturn]] void op_error(const Op& op, const std::string& problem, std::string loc = {}) const {
    fail(ErrorCode::Verify, "in function @" + f_.name + ": op '" + print_op(op) + "': " + problem,
         loc.empty() ? op.loc.str() : loc);
  }

  void collect(const Block& b) {
    for (const auto& a : b.args) all_.insert(a.get());
    for (const auto& op : b.ops) {
      if (!op) continue;
      for (const auto& r : op->results) all_.insert(r.get());
      if (op->region) collect(*op->region);
    }
  }

  void define(const Value* v) {
    seen_.insert(v);
    visible_.insert(v);
  }

  void block(const Block& b, const Op* owner) {
    std::vector<const Value*> scope;
    for (size_t i = 0; i < b.args.size(); ++i) {
      const Value* a = b.args[i].get();
      if (!a) {
        if (owner) op_error(*owner, "region argument #" + std::to_string(i) + " is null");
        func_error("argument #" + std::to_string(i) + " is null");
      }
      if (a->owner != &b || a->def || a->index != int(i)) {
        std::string what = "argument #" + std::to_string(i) + " has an inconsistent owner/def/index";
        if (owner) op_error(*owner, "region " + what);
        func_error(what);
      }
      define(a);
      scope.push_back(a);
    }
    for (const auto& up : b.ops) {
      if (!up) {
        if (owner) op_error(*owner, "its region holds a null op");
        func_error("the body holds a null op");
      }
      const Op& op = *up;
      operation(op, b, owner);
      for (const auto& r : op.results) {
        define(r.get());
        scope.push_back(r.get());
      }
    }
    for (const Value* v : scope) visible_.erase(v);
  }

  void operation(const Op& op, const Block& b, const Op* owner) {
    if (op.parent != &b) op_error(op, "its parent pointer does not point to its block");
    for (size_t i = 0; i < op.operands.size(); ++i) {
      const Value* v = op.operands[i];
      std::string which = "operand #" + std::to_string(i);
      if (!v) op_error(op, which + " is null");
      if (visible_.count(v)) continue;
      if (seen_.count(v)) op_error(op, which + " is defined inside a nested region and is not visible here");
      if (all_.count(v)) op_error(op, which + " is used before its definition");
      op_error(op, which + " is not defined in this function");
    }
    for (size_t i = 0; i < op.results.size(); ++i) {
      const Value* r = op.results[i].get();
      if (!r || r->def != &op || r->owner || r->index != int(i))
        op_error(op, "result #" + std::to_string(i) + " has an inconsistent def/index");
    }
    if (op.name == "return" && !owner && &op != b.ops.back().get())
      op_error(op, "'return' must be the last op of the function body");
    if (op.region) {
      if (op.region->parent != &op) op_error(op, "its region's parent pointer does not point to it");
      block(*op.region, &op);
    }
    registry_check(op);
  }

  void registry_check(const Op& op) const {
    if (!lookup_op(op.name)) op_error(op, "unknown op '" + op.name + "'");
    try {
      check_op(op);
    } catch (const Error& e) { op_error(op, e.message(), e.location()); } catch (const std::exception& e) {
      op_error(op, std::string("check failed: ") + e.what());
    }
  }

  void terminator() const {
    const Op* ret = f_.terminator();
    if (!ret) {
      auto it = f_.attrs.find("kernel");
      const bool* kernel = it == f_.attrs.end() ? nullptr : std::get_if<bool>(&it->second);
      if (kernel && *kernel) return;
      func_error("the body does not end with 'return'");
    }
    std::vector<Type> got;
    for (const Value* v : ret->operands) got.push_back(v->type);
    if (got != f_.result_types)
      op_error(*ret, "returns (" + types_str(got) + ") but the function's result types are (" +
                         types_str(f_.result_types) + ")");
  }
};

}  // namespace

void verify(const Module& m) {
  std::unordered_set<std::string> names;
  for (const auto& f : m.funcs) {
    if (!f) fail(ErrorCode::Verify, "module @" + m.name + " holds a null function");
    if (!names.insert(f->name).second)
      fail(ErrorCode::Verify, "module @" + m.name + ": function @" + f->name + " is defined twice", f->loc.str());
    Verifier(*f).run();
  }
  verify_custom_vjp_calls(m);  // calls across functions
  verify_control_flow(m);
}

}  // namespace tessera::ir
