// Graph IR on a mesh: gives every op's results a `sharding` attribute (sharding.hpp), starting
// from the entry function's `in_shardings` and the user's `sharding_constraint`s.
//
// Forward, in program order, each op takes the split its factor rule allows from its operands'
// shardings (sharding_rules.hpp): where operands disagree, the larger keeps its sharding and
// the smaller is resharded by spmd-partition. A split contraction or reduction dim leaves a
// pending sum (or max/min). Ops without a rule compute replicated. Then backward: an op without
// operands (a constant) takes the sharding its first user wants of it, so it is built in pieces
// rather than whole and sliced. Annotations already present are kept, so a constraint wins.
// In deterministic mode (module attribute `deterministic`) reduced dims are never split: a
// reduction or contraction gathers its operands and runs whole, in the single-device order.
#include <map>

#include "ir/op_rules.hpp"
#include "ir/sharding.hpp"
#include "passes/passes.hpp"
#include "passes/sharding_rules.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

using Shardings = std::map<const Value*, Sharding>;

int64_t bytes_of(const Type& t) {
  if (!t.has_static_shape()) return 0;
  return t.numel() * int64_t(dtype_size(t.dtype));
}

std::vector<Sharding> operand_shardings(const Op& op, const Shardings& known) {
  std::vector<Sharding> out;
  for (const Value* v : op.operands) {
    auto it = known.find(v);
    out.push_back(it != known.end() ? it->second : Sharding::replicated(size_t(v->type.rank())));
  }
  return out;
}

// A user's annotation, checked against the mesh and the value (a dim that does not divide is
// the user's error, reported at the op's line).
Sharding annotated(const Op& op, const std::string& text, const Value* v, const Mesh& mesh) {
  try {
    Sharding s = Sharding::parse(text, mesh, v->type.rank());
    s.local_shape(v->type.shape, mesh, op.name + " of " + v->type.str());
    return s;
  } catch (const Error& e) { throw Error(e.code(), e.message(), e.location().empty() ? op.loc.str() : e.location()); }
}

Sharding forward(const Op& op, const Shardings& known, const Mesh& mesh, bool deterministic) {
  std::optional<ShardingRule> rule = sharding_rule(op);
  if (!rule) return Sharding::replicated(size_t(op.result()->type.rank()));
  std::vector<Sharding> ops = operand_shardings(op, known);
  std::vector<int64_t> bytes;
  for (const Value* v : op.operands) bytes.push_back(bytes_of(v->type));
  OpSplit s = split_from_operands(*rule, ops, bytes, mesh, deterministic);
  return result_sharding(*rule, s, ops, mesh);
}

void set_sharding(Op& op, const std::vector<Sharding>& s) { op.attrs["sharding"] = join_shardings(s); }

// Constants: the sharding the first user with a rule wants of them.
void backward(Block& body, Shardings& known, const Mesh& mesh) {
  std::map<const Value*, Op*> first_user;
  for (auto& op : body.ops)
    for (Value* v : op->operands) first_user.emplace(v, op.get());
  for (auto it = body.ops.rbegin(); it != body.ops.rend(); ++it) {
    Op& op = **it;
    if (op.name != "constant" || !known[op.result()].is_replicated()) continue;
    auto user = first_user.find(op.result());
    if (user == first_user.end()) continue;
    Op& u = *user->second;
    std::optional<ShardingRule> rule = sharding_rule(u);
    if (!rule || u.results.size() != 1 || !known.count(u.result())) continue;
    std::vector<Sharding> ops = operand_shardings(u, known);
    OpSplit split = split_for_result(*rule, ops, known[u.result()], mesh);
    for (size_t i = 0; i < u.operands.size(); ++i)
      if (u.operands[i] == op.result()) {
        Sharding want = operand_sharding(*rule, split, ops, i);
        want.partial.clear();
        known[op.result()] = want;
        set_sharding(op, {want});
        break;
      }
  }
}

void propagate(Function& fn, const Mesh& mesh, bool deterministic) {
  Shardings known;
  std::vector<std::string> in = split_shardings(std::get<std::string>(fn.attrs.at("in_shardings")));
  if (in.size() != fn.body.args.size())
    fail(ErrorCode::Value, "propagate-sharding: @" + fn.name + " has " + std::to_string(fn.body.args.size()) +
                               " parameters but " + std::to_string(in.size()) + " in_shardings");
  for (size_t i = 0; i < in.size(); ++i) {
    Value* p = fn.body.args[i].get();
    try {
      Sharding s = Sharding::parse(in[i], mesh, p->type.rank());
      s.local_shape(p->type.shape, mesh, "argument " + std::to_string(i) + " (" + p->type.str() + ")");
      known[p] = s;
    } catch (const Error& e) { throw Error(e.code(), e.message(), fn.loc.str()); }
  }
  for (auto& op : fn.body.ops) {
    if (op->name == "return") continue;
    auto it = op->attrs.find("sharding");
    if (it != op->attrs.end()) {
      std::vector<std::string> texts = split_shardings(std::get<std::string>(it->second));
      if (texts.size() != op->results.size())
        fail(ErrorCode::Value,
             op->name + ": sharding names " + std::to_string(texts.size()) + " results, it has " +
                 std::to_string(op->results.size()),
             op->loc.str());
      for (size_t i = 0; i < texts.size(); ++i)
        known[op->result(int(i))] = annotated(*op, texts[i], op->result(int(i)), mesh);
      continue;
    }
    std::vector<Sharding> out;
    for (size_t i = 0; i < op->results.size(); ++i)
      out.push_back(op->results.size() == 1 && op->result()->type.is_tensor()
                        ? forward(*op, known, mesh, deterministic)
                        : Sharding::replicated(size_t(op->result(int(i))->type.rank())));
    for (size_t i = 0; i < out.size(); ++i) known[op->result(int(i))] = out[i];
    set_sharding(*op, out);
  }
  backward(fn.body, known, mesh);
}

}  // namespace

void propagate_sharding(Module& m) {
  std::optional<Mesh> mesh = Mesh::of(m);
  if (!mesh) return;
  for (auto& fn : m.funcs)
    if (fn->attrs.count("in_shardings")) propagate(*fn, *mesh, deterministic(m));
}

}  // namespace tessera::passes
