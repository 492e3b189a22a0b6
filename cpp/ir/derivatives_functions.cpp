// Derivative rules of the ops in ops_math.cpp: inverse trigonometric and hyperbolic functions,
// base-2/10 logarithms, the binary float functions, and the ops whose derivative is zero
// (rounding, floor division) or undefined (bool and integer results).
#include "ir/derivatives.hpp"

namespace tessera::ir::derivative {
namespace {

// d/dx and d/dy of a binary op (null: zero), as builders of the op.
using Partial = std::function<Value*(Builder&, const Op&)>;

void attach_binary(Table& table, const std::string& name, Partial dx, Partial dy) {
  attach(
      table, name,
      [=](Builder& b, const Op& op, Value* g) {
        auto part = [&](size_t i, const Partial& d) -> Value* {
          const Type& t = op.operands[i]->type;
          if (!d || !is_float(t.dtype)) return nullptr;
          return to_operand(b, op2(b, "mul", g, d(b, op)), t);
        };
        return std::vector<Value*>{part(0, dx), part(1, dy)};
      },
      [=](Builder& b, const Op& op, const std::vector<Value*>& t) {
        Value* a = t[0] && dx ? op2(b, "mul", t[0], dx(b, op)) : nullptr;
        Value* c = t[1] && dy ? op2(b, "mul", t[1], dy(b, op)) : nullptr;
        return add_maybe(b, a, c);
      });
}

void attach_none(Table& table, const std::string& name, size_t operands) {
  attach(
      table, name, [operands](Builder&, const Op&, Value*) { return std::vector<Value*>(operands, nullptr); },
      [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });
}

Value* x_of(const Op& op) { return op.operands[0]; }
Value* one_minus_sq(Builder& b, Value* x) { return op2(b, "sub", k(b, x, 1.0), op2(b, "mul", x, x)); }
Value* recip(Builder& b, Value* x) { return op2(b, "div", k(b, x, 1.0), x); }

}  // namespace

void attach_functions(Table& table) {
  for (const char* name :
       {"floor", "ceil", "round", "trunc", "isnan", "isinf", "isfinite", "signbit", "bitwise_invert"})
    attach_none(table, name, 1);
  for (const char* name : {"floor_divide", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift"})
    attach_none(table, name, 2);

  attach_unary(table, "atan", [](Builder& b, const Op& op) {
    Value* x = x_of(op);
    return recip(b, op2(b, "add", k(b, x, 1.0), op2(b, "mul", x, x)));
  });
  attach_unary(table, "asin", [](Builder& b, const Op& op) { return op1(b, "rsqrt", one_minus_sq(b, x_of(op))); });
  attach_unary(table, "acos",
               [](Builder& b, const Op& op) { return op1(b, "neg", op1(b, "rsqrt", one_minus_sq(b, x_of(op)))); });
  attach_unary(table, "tan", [](Builder& b, const Op& op) {
    Value* y = op.result();
    return op2(b, "add", k(b, y, 1.0), op2(b, "mul", y, y));
  });
  attach_unary(table, "sinh", [](Builder& b, const Op& op) { return op1(b, "cosh", x_of(op)); });
  attach_unary(table, "cosh", [](Builder& b, const Op& op) { return op1(b, "sinh", x_of(op)); });
  attach_unary(table, "asinh", [](Builder& b, const Op& op) {
    Value* x = x_of(op);
    return op1(b, "rsqrt", op2(b, "add", op2(b, "mul", x, x), k(b, x, 1.0)));
  });
  attach_unary(table, "acosh", [](Builder& b, const Op& op) {  // 1 / sqrt((x - 1)(x + 1))
    Value* x = x_of(op);
    return op1(b, "rsqrt", op2(b, "mul", op2(b, "sub", x, k(b, x, 1.0)), op2(b, "add", x, k(b, x, 1.0))));
  });
  attach_unary(table, "atanh", [](Builder& b, const Op& op) { return recip(b, one_minus_sq(b, x_of(op))); });
  attach_unary(table, "log2", [](Builder& b, const Op& op) {
    return recip(b, op2(b, "mul", x_of(op), k(b, x_of(op), 0.6931471805599453)));
  });
  attach_unary(table, "log10", [](Builder& b, const Op& op) {
    return recip(b, op2(b, "mul", x_of(op), k(b, x_of(op), 2.302585092994046)));
  });
  attach_unary(table, "exp2", [](Builder& b, const Op& op) {
    return op2(b, "mul", op.result(), k(b, op.result(), 0.6931471805599453));
  });

  // atan2(y, x): d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2).
  auto r2 = [](Builder& b, const Op& op) {
    Value *y = op.operands[0], *x = op.operands[1];
    return op2(b, "add", op2(b, "mul", x, x), op2(b, "mul", y, y));
  };
  attach_binary(
      table, "atan2", [=](Builder& b, const Op& op) { return op2(b, "div", op.operands[1], r2(b, op)); },
      [=](Builder& b, const Op& op) { return op1(b, "neg", op2(b, "div", op.operands[0], r2(b, op))); });
  attach_binary(
      table, "hypot", [](Builder& b, const Op& op) { return op2(b, "div", op.operands[0], op.result()); },
      [](Builder& b, const Op& op) { return op2(b, "div", op.operands[1], op.result()); });
  attach_binary(
      table, "logaddexp",
      [](Builder& b, const Op& op) { return op1(b, "exp", op2(b, "sub", op.operands[0], op.result())); },
      [](Builder& b, const Op& op) { return op1(b, "exp", op2(b, "sub", op.operands[1], op.result())); });
  // copysign(x, y) = |x| s(y): d/dx = s(y) sign(x) = result / x (0 at x = 0); nothing for y.
  attach_binary(
      table, "copysign",
      [](Builder& b, const Op& op) {
        Value* x = op.operands[0];
        Value* zero = k(b, op.result(), 0.0);
        return b.value("where", {op2(b, "equal", x, zero), zero, op2(b, "div", op.result(), x)});
      },
      nullptr);
  // fmod and remainder: x - n y with n piecewise constant (trunc / floor of x / y).
  auto one = [](Builder& b, const Op& op) { return k(b, op.result(), 1.0); };
  attach_binary(table, "fmod", one, [](Builder& b, const Op& op) {
    return op1(b, "neg", op1(b, "trunc", op2(b, "div", op.operands[0], op.operands[1])));
  });
  attach_binary(table, "remainder", one, [](Builder& b, const Op& op) {
    return op1(b, "neg", op1(b, "floor", op2(b, "div", op.operands[0], op.operands[1])));
  });
}

}  // namespace tessera::ir::derivative
