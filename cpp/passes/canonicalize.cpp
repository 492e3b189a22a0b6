// The `canonicalize` pass: algebraic simplifications of Graph IR that never change a result.
//
//   x - 0, x * 1, 1 * x, x / 1                  -> x   (when the result has x's type)
//   x + 0, 0 + x                                 -> x   (integers only: -0.0 + 0.0 is +0.0)
//   neg(neg(x))                                  -> x
//   cast(x) to x's own dtype                    -> x
//   transpose(transpose(x, p), q)               -> transpose(x, p∘q), or x for the identity
//   reshape(reshape(x)) / reshape to x's shape  -> one reshape / x
// x * 0 is not folded: NaN * 0 is NaN. Ops made dead are left for `dce`.
#include "ir/registry.hpp"
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

// The uniform value of a `constant` operand, if `v` is one.
bool constant_value(const Value* v, double& out) {
  if (!v->def || v->def->name != "constant") return false;
  const Attr& a = v->def->attrs.at("value");
  out = std::holds_alternative<int64_t>(a) ? double(std::get<int64_t>(a)) : std::get<double>(a);
  return true;
}

bool is_const(const Value* v, double value) {
  double c;
  return constant_value(v, c) && c == value;
}

IntList full_perm(const Op& op) {
  IntList perm = op.has_attr("perm") ? op.ints_attr("perm") : IntList{};
  int64_t rank = op.operands[0]->type.rank();
  if (perm.empty())
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  for (int64_t& p : perm) p = p < 0 ? p + rank : p;
  return perm;
}

// The value `op`'s result can be replaced by, or null.
Value* simplify(Op& op) {
  if (op.results.size() != 1) return nullptr;
  const Type& rt = op.result()->type;
  auto same = [&](Value* v) { return v->type == rt ? v : nullptr; };
  const std::string& n = op.name;
  if (op.operands.size() == 2) {
    Value *x = op.operands[0], *y = op.operands[1];
    if (n == "add" && !is_float(rt.dtype) && is_const(y, 0)) return same(x);
    if (n == "add" && !is_float(rt.dtype) && is_const(x, 0)) return same(y);
    if (n == "sub" && is_const(y, 0)) return same(x);
    if (n == "mul" && is_const(y, 1)) return same(x);
    if (n == "mul" && is_const(x, 1)) return same(y);
    if (n == "div" && is_const(y, 1)) return same(x);
  }
  if (op.operands.size() != 1) return nullptr;
  Value* x = op.operands[0];
  Op* inner = x->def;
  if (n == "neg" && inner && inner->name == "neg") return same(inner->operands[0]);
  if (n == "cast") return same(x);
  if (n == "reshape" || n == "expand_dims" || n == "squeeze") {
    if (x->type == rt) return x;
    // A reshape of a reshape is one reshape of the original.
    if (inner && (inner->name == "reshape" || inner->name == "expand_dims" || inner->name == "squeeze") &&
        inner->operands[0]->type == rt)
      return inner->operands[0];
  }
  if (n == "transpose") {
    IntList p = full_perm(op);
    bool identity = true;
    for (size_t i = 0; i < p.size(); ++i) identity = identity && p[i] == int64_t(i);
    if (identity) return same(x);
    if (inner && inner->name == "transpose") {
      IntList q = full_perm(*inner), composed(p.size());
      for (size_t i = 0; i < p.size(); ++i) composed[i] = q[size_t(p[i])];
      bool back = true;
      for (size_t i = 0; i < composed.size(); ++i) back = back && composed[i] == int64_t(i);
      if (back) return same(inner->operands[0]);
      op.operands[0] = inner->operands[0];  // transpose(transpose(x)) -> one transpose of x
      op.attrs["perm"] = composed;
    }
  }
  return nullptr;
}

// Replacing uses in the whole block covers the ops after `op`, nested regions and the return.
void canonicalize_block(Block& block) {
  for (auto& op : block.ops) {
    if (op->region) canonicalize_block(*op->region);
    if (Value* r = simplify(*op)) replace_all_uses(block, op->result(), r);
  }
}

}  // namespace

void canonicalize(Module& m) {
  for (auto& fn : m.funcs)
    if (!fn->attrs.count("kernel")) canonicalize_block(fn->body);
}

}  // namespace tessera::passes
