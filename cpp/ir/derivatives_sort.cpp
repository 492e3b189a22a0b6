// Derivative rules of the scans (ops_sort.cpp). argsort and the cumarg* scans give integers
// (no derivative); sort differentiates through its gather.
//
// Reverse scans are the forward scan of the flipped operand, flipped back: their rules flip,
// apply the forward rule, and flip the result.
#include "ir/derivatives.hpp"

namespace tessera::ir::derivative {
namespace {

Value* flip(Builder& b, Value* v, int64_t axis) { return b.value("flip", {v}, {{"axis", IntList{axis}}}); }
int64_t scan_axis(const Op& op) { return normalize_axis(op.name, op.int_attr("axis"), op.operands[0]->type.rank()); }
bool reverse(const Op& op) { return op.bool_attr("reverse", false); }
Value* scan(Builder& b, const char* name, Value* v, int64_t axis, bool rev = false) {
  return b.value(name, {v}, {{"axis", axis}, {"reverse", rev}});
}
Value* where(Builder& b, Value* c, Value* x, Value* y) { return b.value("where", {c, x, y}); }

// A rule for the forward scan (x and y = the forward scan of x, seed = g or t), wrapped so
// that reverse scans run it on flipped values.
using ForwardRule = std::function<Value*(Builder&, Value* x, Value* y, Value* seed, int64_t axis)>;
Value* oriented(Builder& b, const Op& op, Value* seed, const ForwardRule& rule) {
  int64_t axis = scan_axis(op);
  if (!reverse(op)) return rule(b, op.operands[0], op.result(), seed, axis);
  return flip(b, rule(b, flip(b, op.operands[0], axis), flip(b, op.result(), axis), flip(b, seed, axis), axis), axis);
}

// cumprod with zeros, exactly. z marks zeros, f the first zero of each row; x1 is x with that
// zero made 1 and y1 its cumprod. Before the first zero dy_j/dx_i = y_j / x_i; the first zero's
// derivatives are y1's values; after it everything holds a factor 0.
struct ProdParts {
  Value *z, *first, *safe, *y1;
};
ProdParts prod_parts(Builder& b, Value* x, int64_t axis) {
  Value* zero = k(b, x, 0.0);
  Value* one = k(b, x, 1.0);
  Value* is_zero = op2(b, "equal", x, zero);
  Value* count = scan(b, "cumsum", b.value("cast", {is_zero}, {{"dtype", std::string("i64")}}), axis);
  Value* first = b.value("logical_and", {is_zero, op2(b, "equal", count, b.graph_constant(DType::I64, 1.0))});
  return {is_zero, first, where(b, is_zero, one, x), scan(b, "cumprod", where(b, first, one, x), axis)};
}

Value* cumprod_vjp(Builder& b, Value* x, Value* y, Value* g, int64_t axis) {
  ProdParts p = prod_parts(b, x, axis);
  Value* a = op2(b, "div", scan(b, "cumsum", op2(b, "mul", g, y), axis, true), p.safe);
  Value* at_first = scan(b, "cumsum", op2(b, "mul", g, p.y1), axis, true);
  return where(b, p.z, where(b, p.first, at_first, k(b, x, 0.0)), a);
}

Value* cumprod_jvp(Builder& b, Value* x, Value* y, Value* t, int64_t axis) {
  ProdParts p = prod_parts(b, x, axis);
  Value* zeros_before = scan(b, "cumsum", b.value("cast", {p.z}, {{"dtype", std::string("i64")}}), axis);
  Value* before = op2(b, "equal", zeros_before, b.graph_constant(DType::I64, 0.0));
  Value* dy = op2(b, "mul", y, scan(b, "cumsum", op2(b, "div", t, p.safe), axis));
  Value* t_first = b.value("sum", {where(b, p.first, t, k(b, t, 0.0))}, {{"axis", axis}, {"keepdims", true}});
  return where(b, before, dy, op2(b, "mul", t_first, p.y1));
}

// cummax / cummin: each result element is one element of x (the first of the running
// extremum), so the cotangent goes there and the tangent comes from there.
Value* extremum_vjp(Builder& b, const Op& op, Value* g, const char* arg) {
  int64_t axis = scan_axis(op);
  Value* idx = b.value(arg, {op.operands[0]}, {{"axis", axis}, {"reverse", reverse(op)}});
  return b.value("scatter_add", {zeros(b, op.operands[0]->type), idx, g}, {{"axis", axis}});
}

}  // namespace

void attach_scans(Table& table) {
  for (const char* name : {"argsort", "cumargmax", "cumargmin"})  // integer-valued: no derivative
    attach(
        table, name, [](Builder&, const Op&, Value*) { return std::vector<Value*>{nullptr}; },
        [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });
  attach(
      table, "cumsum",
      [](Builder& b, const Op& op, Value* g) -> std::vector<Value*> {
        if (!is_float(op.operands[0]->type.dtype)) return {nullptr};
        return {scan(b, "cumsum", g, scan_axis(op), !reverse(op))};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) -> Value* {
        return t[0] ? scan(b, "cumsum", t[0], scan_axis(op), reverse(op)) : nullptr;
      });
  attach(
      table, "cumprod",
      [](Builder& b, const Op& op, Value* g) -> std::vector<Value*> {
        if (!is_float(op.operands[0]->type.dtype)) return {nullptr};
        return {oriented(b, op, g, cumprod_vjp)};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) -> Value* {
        return t[0] ? oriented(b, op, t[0], cumprod_jvp) : nullptr;
      });
  for (auto [name, arg] : {std::pair{"cummax", "cumargmax"}, std::pair{"cummin", "cumargmin"}}) {
    const char* a = arg;
    attach(
        table, name,
        [a](Builder& b, const Op& op, Value* g) -> std::vector<Value*> {
          if (!is_float(op.operands[0]->type.dtype)) return {nullptr};
          return {extremum_vjp(b, op, g, a)};
        },
        [a](Builder& b, const Op& op, const std::vector<Value*>& t) -> Value* {
          if (!t[0]) return nullptr;
          int64_t axis = scan_axis(op);
          Value* idx = b.value(a, {op.operands[0]}, {{"axis", axis}, {"reverse", reverse(op)}});
          return b.value("gather", {t[0], idx}, {{"axis", axis}});
        });
  }
}

}  // namespace tessera::ir::derivative
