// Derivative rules of the elementwise math ops, comparisons, where and cast.
#include "ir/derivatives.hpp"

namespace tessera::ir::derivative {

void attach_math(Table& table) {
  auto x_of = [](const Op& op) { return op.operands[0]; };
  attach_unary(table, "log", [=](Builder& b, const Op& op) { return op2(b, "div", k(b, x_of(op), 1.0), x_of(op)); });
  attach_unary(table, "log1p", [=](Builder& b, const Op& op) {
    return op2(b, "div", k(b, x_of(op), 1.0), op2(b, "add", x_of(op), k(b, x_of(op), 1.0)));
  });
  attach_unary(table, "expm1",
               [](Builder& b, const Op& op) { return op2(b, "add", op.result(), k(b, op.result(), 1.0)); });
  attach_unary(table, "sqrt",
               [](Builder& b, const Op& op) { return op2(b, "div", k(b, op.result(), 0.5), op.result()); });
  attach_unary(table, "rsqrt", [=](Builder& b, const Op& op) {  // -x^(-3/2) / 2
    return op2(b, "mul", k(b, op.result(), -0.5), op2(b, "div", op.result(), x_of(op)));
  });
  attach_unary(table, "sin", [=](Builder& b, const Op& op) { return op1(b, "cos", x_of(op)); });
  attach_unary(table, "cos", [=](Builder& b, const Op& op) { return op1(b, "neg", op1(b, "sin", x_of(op))); });
  attach_unary(table, "tanh", [](Builder& b, const Op& op) {
    Value* y = op.result();
    return op2(b, "sub", k(b, y, 1.0), op2(b, "mul", y, y));
  });
  attach_unary(table, "sigmoid", [](Builder& b, const Op& op) {
    Value* y = op.result();
    return op2(b, "mul", y, op2(b, "sub", k(b, y, 1.0), y));
  });
  attach_unary(table, "silu", [=](Builder& b, const Op& op) {  // s + x s (1 - s)
    Value *x = x_of(op), *s = op1(b, "sigmoid", x);
    return op2(b, "add", s, op2(b, "mul", op2(b, "mul", x, s), op2(b, "sub", k(b, s, 1.0), s)));
  });
  attach_unary(table, "softplus", [=](Builder& b, const Op& op) { return op1(b, "sigmoid", x_of(op)); });
  attach_unary(table, "erf", [=](Builder& b, const Op& op) {  // 2/sqrt(pi) e^(-x^2)
    Value* x = x_of(op);
    return op2(b, "mul", k(b, x, 1.1283791670955126), op1(b, "exp", op1(b, "neg", op2(b, "mul", x, x))));
  });
  attach_unary(table, "abs", [=](Builder& b, const Op& op) { return op1(b, "sign", x_of(op)); });
  attach_unary(table, "gelu", [=](Builder& b, const Op& op) {
    Value* x = x_of(op);
    if (op.has_attr("approximate") && op.str_attr("approximate") == "tanh") {
      // y = x/2 (1 + t), t = tanh(u), u = c (x + a x^3): y' = (1 + t)/2 + x/2 (1 - t^2) c (1 + 3 a x^2)
      const double c = 0.7978845608028654, a = 0.044715;
      Value* x2 = op2(b, "mul", x, x);
      Value* u = op2(b, "mul", k(b, x, c), op2(b, "add", x, op2(b, "mul", k(b, x, a), op2(b, "mul", x2, x))));
      Value* t = op1(b, "tanh", u);
      Value* du = op2(b, "mul", k(b, x, c), op2(b, "add", k(b, x, 1.0), op2(b, "mul", k(b, x, 3 * a), x2)));
      Value* left = op2(b, "mul", k(b, x, 0.5), op2(b, "add", k(b, x, 1.0), t));
      Value* right = op2(b, "mul", op2(b, "mul", k(b, x, 0.5), x),
                         op2(b, "mul", op2(b, "sub", k(b, x, 1.0), op2(b, "mul", t, t)), du));
      return op2(b, "add", left, right);
    }
    // y = x Phi(x): y' = Phi(x) + x phi(x)
    Value* cdf = op2(b, "mul", k(b, x, 0.5),
                     op2(b, "add", k(b, x, 1.0), op1(b, "erf", op2(b, "mul", x, k(b, x, 0.7071067811865476)))));
    Value* pdf =
        op2(b, "mul", k(b, x, 0.3989422804014327), op1(b, "exp", op2(b, "mul", k(b, x, -0.5), op2(b, "mul", x, x))));
    return op2(b, "add", cdf, op2(b, "mul", x, pdf));
  });
  attach_unary(table, "clamp", [=](Builder& b, const Op& op) {  // 1 inside the bounds, else 0
    Value* inside = op2(b, "equal", op.result(), x_of(op));
    return b.value("cast", {inside}, {{"dtype", std::string(dtype_name(op.result()->type.dtype))}});
  });
  attach(
      table, "sign", [](Builder&, const Op&, Value*) { return std::vector<Value*>{nullptr}; },
      [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });

  attach(
      table, "div",
      [](Builder& b, const Op& op, Value* g) {
        Value *x = op.operands[0], *y = op.operands[1];
        Value* gx = op2(b, "div", g, y);
        Value* gy = op1(b, "neg", op2(b, "div", op2(b, "mul", g, op.result()), y));
        return std::vector<Value*>{to_operand(b, gx, x->type), to_operand(b, gy, y->type)};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) {
        Value* y = op.operands[1];
        Value* a = t[0] ? op2(b, "div", t[0], y) : nullptr;
        Value* c = t[1] ? op1(b, "neg", op2(b, "div", op2(b, "mul", t[1], op.result()), y)) : nullptr;
        return add_maybe(b, a, c);
      });
  // At x = 0 the formulas give 0 * inf: d/dx of x^0 is 0, and d/dp of 0^p (p >= 0) is taken
  // as 0 (the one-sided limit; PyTorch and JAX do the same).
  auto pow_dx = [](Builder& b, const Op& op) {  // p x^(p-1), 0 where p = 0
    Value *x = op.operands[0], *p = op.operands[1];
    // A constant exponent (x ** 2 in a loss) needs no guard, and its small cases no pow: the
    // kernel computes 2 x, not a where of pow(x, 1) (which powf's approximation need not keep exact).
    if (p->def && p->def->name == "constant" && std::holds_alternative<double>(p->def->attrs.at("value"))) {
      double c = std::get<double>(p->def->attrs.at("value"));
      if (c == 0.0) return k(b, x, 0.0);
      if (c == 1.0) return k(b, x, 1.0);
      if (c == 2.0) return op2(b, "mul", p, x);
      return op2(b, "mul", p, op2(b, "pow", x, k(b, p, c - 1.0)));
    }
    Value* d = op2(b, "mul", p, op2(b, "pow", x, op2(b, "sub", p, k(b, p, 1.0))));
    return b.value("where", {op2(b, "equal", p, k(b, p, 0.0)), k(b, d, 0.0), d});
  };
  auto pow_dp = [](Builder& b, const Op& op) {  // x^p log(x), 0 where x = 0 and p >= 0
    Value *x = op.operands[0], *p = op.operands[1];
    Value* d = op2(b, "mul", op.result(), op1(b, "log", x));
    Value* at_zero = op2(b, "logical_and", op2(b, "equal", x, k(b, x, 0.0)), op2(b, "greater_equal", p, k(b, p, 0.0)));
    return b.value("where", {at_zero, k(b, d, 0.0), d});
  };
  attach(
      table, "pow",
      [=](Builder& b, const Op& op, Value* g) {
        Value *x = op.operands[0], *p = op.operands[1];
        Value* gx = is_float(x->type.dtype) ? to_operand(b, op2(b, "mul", g, pow_dx(b, op)), x->type) : nullptr;
        Value* gp = is_float(p->type.dtype) ? to_operand(b, op2(b, "mul", g, pow_dp(b, op)), p->type) : nullptr;
        return std::vector<Value*>{gx, gp};
      },
      [=](Builder& b, const Op& op, const std::vector<Value*>& t) {
        Value* a = t[0] ? op2(b, "mul", t[0], pow_dx(b, op)) : nullptr;
        Value* c = t[1] ? op2(b, "mul", t[1], pow_dp(b, op)) : nullptr;
        return add_maybe(b, a, c);
      });
  attach(
      table, "minimum",
      [](Builder& b, const Op& op, Value* g) {
        Value *x = op.operands[0], *y = op.operands[1];
        Value* pick_x = op2(b, "less_equal", x, y);
        Value* zero = k(b, g, 0.0);
        return std::vector<Value*>{to_operand(b, b.value("where", {pick_x, g, zero}), x->type),
                                   to_operand(b, b.value("where", {pick_x, zero, g}), y->type)};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) {
        Value* pick_x = op2(b, "less_equal", op.operands[0], op.operands[1]);
        return b.value("where",
                       {pick_x, t[0] ? t[0] : zeros(b, op.result()->type), t[1] ? t[1] : zeros(b, op.result()->type)});
      });
  attach(
      table, "where",
      [](Builder& b, const Op& op, Value* g) {
        Value *c = op.operands[0], *x = op.operands[1], *y = op.operands[2];
        Value* zero = k(b, g, 0.0);
        return std::vector<Value*>{nullptr, to_operand(b, b.value("where", {c, g, zero}), x->type),
                                   to_operand(b, b.value("where", {c, zero, g}), y->type)};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) {
        const Type& rt = op.result()->type;
        return b.value("where", {op.operands[0], t[1] ? t[1] : zeros(b, rt), t[2] ? t[2] : zeros(b, rt)});
      });
  attach(
      table, "cast",
      [](Builder& b, const Op& op, Value* g) {
        const Type& in = op.operands[0]->type;
        if (!is_float(in.dtype)) return std::vector<Value*>{nullptr};
        return std::vector<Value*>{b.value("cast", {g}, {{"dtype", std::string(dtype_name(in.dtype))}})};
      },
      linear_jvp());
  // Comparisons and logical ops have no derivative: their results are bool; one_hot depends
  // only on integer indices.
  for (const char* name : {"less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "logical_and",
                           "logical_or", "logical_xor", "logical_not", "one_hot"})
    attach(
        table, name, [](Builder&, const Op& op, Value*) { return std::vector<Value*>(op.operands.size(), nullptr); },
        [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });
}

}  // namespace tessera::ir::derivative
