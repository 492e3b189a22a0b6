// More elementwise Graph IR ops: rounding, classification (isnan...), inverse trigonometric
// and hyperbolic functions, base-2/10 logarithms and exponent, integer-aware division
// (floor_divide, remainder, fmod), hypot, logaddexp, copysign and bitwise ops. Each element is
// Tile IR built from arith ops (the math library in backends/llvm/math*.cpp for the
// transcendental ones), so these fuse like every other elementwise op.
#include <cmath>

#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

using Args = std::vector<Value*>;

Value* c(Builder& b, Value* like, double v) { return b.constant(like->type.dtype, v); }
Value* un(Builder& b, const std::string& name, Value* x) { return b.value("arith." + name, {x}); }
Value* sel(Builder& b, Value* cond, Value* x, Value* y) { return b.value("arith.select", {cond, x, y}); }
Value* half(Builder& b, Value* x) { return b.arith("mul", c(b, x, 0.5), x); }

// The operands in the compute dtype of the op's result (or of `dt`).
Args in_dtype(Builder& b, const Args& args, DType dt) {
  Args out;
  for (Value* v : args) out.push_back(to_compute(b, v, dt));
  return out;
}

template <class F>
OpInfo with_element(OpInfo info, F fn) {
  info.lower_elementwise = [fn](Builder& b, const Op& op, const Args& args) {
    return fn(b, in_dtype(b, args, op.result()->type.dtype));
  };
  return info;
}

// ---- rounding: integers are already whole, so those ops return them unchanged ----

OpInfo rounding(const std::string& name, const std::string& summary) {
  return with_element(unary_op(name, false, summary), [name](Builder& b, const Args& a) {
    return is_float(a[0]->type.dtype) ? un(b, name, a[0]) : a[0];
  });
}

// ---- classification: bool results, any numeric dtype ----

OpInfo classify(const std::string& name, const std::string& summary) {
  OpInfo info = unary_op(name, false, summary);
  info.infer = [name](const std::vector<Type>& in, const AttrMap&) {
    require_tensor(name, in[0]);
    if (in[0].dtype == DType::Bool) fail(ErrorCode::DType, name + ": not defined for bool tensors");
    return std::vector<Type>{Type::tensor(DType::Bool, in[0].shape)};
  };
  info.lower_elementwise = [name](Builder& b, const Op& op, const Args& args) -> Value* {
    Value* x = to_compute(b, args[0], op.operands[0]->type.dtype);
    if (!is_float(x->type.dtype)) {
      if (name == "signbit") return b.cmp("lt", x, c(b, x, 0.0));
      return b.constant(DType::Bool, name == "isfinite" ? 1.0 : 0.0);
    }
    if (name == "isnan") return b.cmp("ne", x, x);  // true only for NaN (unordered)
    if (name == "signbit") return b.cmp("lt", b.arith("copysign", c(b, x, 1.0), x), c(b, x, 0.0));
    Value* inf = c(b, x, INFINITY);
    return b.cmp(name == "isinf" ? "eq" : "lt", un(b, "abs", x), inf);
  };
  return info;
}

// ---- float functions ----

Value* sqrt1m(Builder& b, Value* x) {  // sqrt((1 - x)(1 + x)), no cancellation near |x| = 1
  return un(b, "sqrt", b.arith("mul", b.arith("sub", c(b, x, 1.0), x), b.arith("add", c(b, x, 1.0), x)));
}

// Below this |x| sinh and cosh use exp(|x|) directly; above, exp(|x|/2)^2 / 2 reaches the
// results that exp(|x|) alone would overflow.
double hyperbolic_limit(Value* x) { return x->type.dtype == DType::F64 ? 700.0 : 80.0; }

// Beyond this |x|, asinh and acosh take log(2|x|): x^2 would overflow.
double log2x_limit(Value* x) { return x->type.dtype == DType::F64 ? 0x1p500 : 0x1p60; }

Value* exp_half_squared(Builder& b, Value* a) {  // exp(a) / 2 without overflowing early
  Value* h = un(b, "exp", half(b, a));
  return b.arith("mul", half(b, h), h);
}

Value* sinh(Builder& b, Value* x) {
  Value* a = un(b, "abs", x);
  Value* u = un(b, "expm1", a);  // sinh = (u + u / (u + 1)) / 2: no cancellation for small a
  Value* small = half(b, b.arith("add", u, b.arith("div", u, b.arith("add", u, c(b, x, 1.0)))));
  Value* r = sel(b, b.cmp("lt", a, c(b, x, hyperbolic_limit(x))), small, exp_half_squared(b, a));
  return b.arith("copysign", r, x);
}

Value* cosh(Builder& b, Value* x) {
  Value* a = un(b, "abs", x);
  Value* e = un(b, "exp", a);
  Value* small = b.arith("add", half(b, e), b.arith("div", c(b, x, 0.5), e));
  return sel(b, b.cmp("lt", a, c(b, x, hyperbolic_limit(x))), small, exp_half_squared(b, a));
}

Value* log_2x(Builder& b, Value* a) { return b.arith("add", un(b, "log", a), c(b, a, 0.6931471805599453)); }

Value* asinh(Builder& b, Value* x) {  // log1p(a + a^2 / (1 + sqrt(1 + a^2)))
  Value* a = un(b, "abs", x);
  Value* a2 = b.arith("mul", a, a);
  Value* s = un(b, "sqrt", b.arith("add", c(b, x, 1.0), a2));
  Value* r = un(b, "log1p", b.arith("add", a, b.arith("div", a2, b.arith("add", c(b, x, 1.0), s))));
  r = sel(b, b.cmp("lt", a, c(b, x, log2x_limit(x))), r, log_2x(b, a));
  return b.arith("copysign", r, x);
}

Value* acosh(Builder& b, Value* x) {  // log1p(t + sqrt(t (t + 2))), t = x - 1
  Value* t = b.arith("sub", x, c(b, x, 1.0));
  Value* r = un(b, "log1p", b.arith("add", t, un(b, "sqrt", b.arith("mul", t, b.arith("add", t, c(b, x, 2.0))))));
  r = sel(b, b.cmp("lt", x, c(b, x, log2x_limit(x))), r, log_2x(b, x));
  return sel(b, b.cmp("lt", x, c(b, x, 1.0)), c(b, x, NAN), r);
}

Value* atanh(Builder& b, Value* x) {  // log1p(2a / (1 - a)) / 2
  Value* a = un(b, "abs", x);
  Value* q = b.arith("div", b.arith("add", a, a), b.arith("sub", c(b, x, 1.0), a));
  return b.arith("copysign", half(b, un(b, "log1p", q)), x);
}

using Fn1 = Value* (*)(Builder&, Value*);

OpInfo float_fn(const std::string& name, Fn1 fn, const std::string& summary) {
  return with_element(unary_op(name, true, summary), [fn](Builder& b, const Args& a) { return fn(b, a[0]); });
}

OpInfo arith_fn(const std::string& name, const std::string& summary) {
  return with_element(unary_op(name, true, summary), [name](Builder& b, const Args& a) { return un(b, name, a[0]); });
}

// ---- binary float functions ----

Value* hypot(Builder& b, Value* x, Value* y) {  // m sqrt(1 + (n/m)^2): no overflow, no underflow
  Value *ax = un(b, "abs", x), *ay = un(b, "abs", y);
  Value* m = b.arith("max", ax, ay);
  Value* n = b.arith("min", ax, ay);
  Value* r = b.arith("div", n, m);
  Value* h = b.arith("mul", m, un(b, "sqrt", b.arith("add", c(b, x, 1.0), b.arith("mul", r, r))));
  h = sel(b, b.cmp("eq", m, c(b, x, 0.0)), c(b, x, 0.0), h);
  Value* inf = c(b, x, INFINITY);
  Value* any_inf = b.arith("or", b.cmp("eq", ax, inf), b.cmp("eq", ay, inf));
  return sel(b, any_inf, inf, h);  // C99: hypot(inf, NaN) = inf
}

Value* logaddexp(Builder& b, Value* x, Value* y) {  // max + log1p(exp(-|x - y|))
  Value* d = un(b, "neg", un(b, "abs", b.arith("sub", x, y)));
  Value* r = b.arith("add", b.arith("max", x, y), un(b, "log1p", un(b, "exp", d)));
  Value* same = b.arith("add", x, c(b, x, 0.6931471805599453));  // also +-inf twice
  return sel(b, b.cmp("eq", x, y), same, r);
}

using Fn2 = Value* (*)(Builder&, Value*, Value*);

OpInfo float_fn2(const std::string& name, Fn2 fn, const std::string& summary) {
  return with_element(float_binary_op(name, summary), [fn](Builder& b, const Args& a) { return fn(b, a[0], a[1]); });
}

// ---- division with integer semantics ----

// Python's floor division and modulo (NumPy's divmod): the quotient rounds toward -inf and the
// remainder takes the divisor's sign. Integers: x // 0 and x % 0 are 0 (NumPy), and MIN // -1
// wraps to MIN, so no division is undefined behaviour.
void int_divmod(Builder& b, Value* x, Value* y, bool floor, Value*& q, Value*& r) {
  bool sgn = is_signed_int(x->type.dtype);
  Value* zero = c(b, x, 0.0);
  Value* by_zero = b.cmp("eq", y, zero);
  Value* by_minus_one = sgn ? b.cmp("eq", y, c(b, x, -1.0)) : nullptr;
  Value* unsafe = sgn ? b.arith("or", by_zero, by_minus_one) : by_zero;
  Value* ys = sel(b, unsafe, c(b, x, 1.0), y);
  q = b.arith("div", x, ys);
  r = b.arith("rem", x, ys);
  if (sgn && floor) {
    Value* fix = b.arith("and", b.cmp("ne", r, zero), b.arith("xor", b.cmp("lt", r, zero), b.cmp("lt", y, zero)));
    q = sel(b, fix, b.arith("sub", q, c(b, x, 1.0)), q);
    r = sel(b, fix, b.arith("add", r, y), r);
  }
  if (sgn) {
    q = sel(b, by_minus_one, un(b, "neg", x), q);
    r = sel(b, by_minus_one, zero, r);
  }
  q = sel(b, by_zero, zero, q);
  r = sel(b, by_zero, zero, r);
}

// Floats, NumPy's npy_divmod: mod = fmod(x, y) moved to y's sign; div = (x - mod) / y rounded
// to the nearest integer (exact), which is floor(x / y) without the double rounding.
void float_divmod(Builder& b, Value* x, Value* y, Value*& q, Value*& r) {
  Value* zero = c(b, x, 0.0);
  Value* mod = b.arith("rem", x, y);
  Value* div = b.arith("div", b.arith("sub", x, mod), y);
  Value* fix = b.arith("and", b.cmp("ne", mod, zero), b.arith("xor", b.cmp("lt", y, zero), b.cmp("lt", mod, zero)));
  mod = sel(b, fix, b.arith("add", mod, y), mod);
  div = sel(b, fix, b.arith("sub", div, c(b, x, 1.0)), div);
  r = sel(b, b.cmp("eq", mod, zero), b.arith("copysign", zero, y), mod);
  Value* fl = un(b, "floor", div);
  fl = sel(b, b.cmp("gt", b.arith("sub", div, fl), c(b, x, 0.5)), b.arith("add", fl, c(b, x, 1.0)), fl);
  Value* by_div = b.arith("div", x, y);
  fl = sel(b, b.cmp("eq", div, zero), b.arith("copysign", zero, by_div), fl);
  q = sel(b, b.cmp("eq", y, zero), by_div, fl);
}

OpInfo divmod_op(const std::string& name, const std::string& summary) {
  return with_element(binary_op(name, summary), [name](Builder& b, const Args& a) {
    Value *q, *r;
    if (name == "fmod") {  // C's fmod: the dividend's sign; integers truncate, x fmod 0 = 0
      if (is_float(a[0]->type.dtype)) return b.arith("rem", a[0], a[1]);
      int_divmod(b, a[0], a[1], false, q, r);
      return r;
    }
    if (is_float(a[0]->type.dtype))
      float_divmod(b, a[0], a[1], q, r);
    else
      int_divmod(b, a[0], a[1], true, q, r);
    return name == "floor_divide" ? q : r;
  });
}

// ---- bitwise ops on integers and bools ----

OpInfo bitwise(const std::string& name, int arity, bool shift, const std::string& summary) {
  OpInfo info = arity == 1 ? unary_op(name, false, summary) : binary_op(name, summary);
  info.infer = [name, arity, shift](const std::vector<Type>& in, const AttrMap&) {
    for (const Type& t : in) {
      require_tensor(name, t);
      if (is_float(t.dtype) || (shift && t.dtype == DType::Bool))
        fail(ErrorCode::DType,
             name + ": needs " + (shift ? "integer" : "integer or bool") + " tensors, got " + t.str());
    }
    DType dt = arity == 1 ? in[0].dtype : promote_types(in[0].dtype, in[1].dtype);
    std::vector<Dim> s = arity == 1 ? in[0].shape : broadcast_shapes(name, in[0], in[1]);
    return std::vector<Type>{Type::tensor(dt, s)};
  };
  info.lower_elementwise = [name](Builder& b, const Op& op, const Args& args) -> Value* {
    Args a = in_dtype(b, args, op.result()->type.dtype);
    DType dt = a[0]->type.dtype;
    if (name == "bitwise_invert") return un(b, "not", a[0]);
    if (name == "bitwise_and") return b.arith("and", a[0], a[1]);
    if (name == "bitwise_or") return b.arith("or", a[0], a[1]);
    if (name == "bitwise_xor") return b.arith("xor", a[0], a[1]);
    // Shifts by a negative amount or by the width or more give what shifting one bit at a
    // time would: 0, or -1 for a negative value shifted right (NumPy).
    double bits = double(8 * dtype_size(dt));
    Value* too_far = b.arith("or", b.cmp("lt", a[1], c(b, a[1], 0.0)), b.cmp("ge", a[1], c(b, a[1], bits)));
    if (name == "left_shift") return sel(b, too_far, c(b, a[0], 0.0), b.arith("shl", a[0], a[1]));
    if (!is_signed_int(dt)) return sel(b, too_far, c(b, a[0], 0.0), b.arith("lshr", a[0], a[1]));
    return b.arith("ashr", a[0], sel(b, too_far, c(b, a[1], bits - 1), a[1]));
  };
  return info;
}

}  // namespace

void register_math_ops(std::vector<OpInfo>& out) {
  out.push_back(rounding("floor", "Elementwise largest integer <= x (integers unchanged)."));
  out.push_back(rounding("ceil", "Elementwise smallest integer >= x (integers unchanged)."));
  out.push_back(rounding("round", "Elementwise nearest integer, halves to even as NumPy (integers unchanged)."));
  out.push_back(rounding("trunc", "Elementwise integer part, rounding toward zero (integers unchanged)."));
  out.push_back(classify("isnan", "Elementwise x is NaN (bool; false for integers)."));
  out.push_back(classify("isinf", "Elementwise x is +inf or -inf (bool; false for integers)."));
  out.push_back(classify("isfinite", "Elementwise x is neither infinite nor NaN (bool; true for integers)."));
  out.push_back(classify("signbit", "Elementwise sign bit of x (bool): true for -0.0 and negative NaNs too."));
  out.push_back(arith_fn("atan", "Elementwise arctangent (radians, in [-pi/2, pi/2])."));
  out.push_back(float_fn(
      "asin", [](Builder& b, Value* x) { return b.arith("atan2", x, sqrt1m(b, x)); },
      "Elementwise arcsine (radians; NaN outside [-1, 1])."));
  out.push_back(float_fn(
      "acos", [](Builder& b, Value* x) { return b.arith("atan2", sqrt1m(b, x), x); },
      "Elementwise arccosine (radians, in [0, pi]; NaN outside [-1, 1])."));
  out.push_back(float_fn(
      "tan", [](Builder& b, Value* x) { return b.arith("div", un(b, "sin", x), un(b, "cos", x)); },
      "Elementwise tangent (radians): sin(x) / cos(x)."));
  out.push_back(float_fn("sinh", sinh, "Elementwise hyperbolic sine."));
  out.push_back(float_fn("cosh", cosh, "Elementwise hyperbolic cosine."));
  out.push_back(float_fn("asinh", asinh, "Elementwise inverse hyperbolic sine."));
  out.push_back(float_fn("acosh", acosh, "Elementwise inverse hyperbolic cosine (NaN below 1)."));
  out.push_back(float_fn("atanh", atanh, "Elementwise inverse hyperbolic tangent (+-inf at +-1, NaN beyond)."));
  out.push_back(arith_fn("log2", "Elementwise base-2 logarithm (exact for powers of two)."));
  out.push_back(arith_fn("log10", "Elementwise base-10 logarithm."));
  out.push_back(arith_fn("exp2", "Elementwise 2**x (exact for integer x)."));
  out.push_back(with_element(float_binary_op("atan2",
                                             "Elementwise arctangent of y/x in the quadrant of (x, y), "
                                             "in [-pi, pi], with C99's special values."),
                             [](Builder& b, const Args& a) { return b.arith("atan2", a[0], a[1]); }));
  out.push_back(float_fn2("hypot", hypot, "Elementwise sqrt(x**2 + y**2) without overflow or underflow."));
  out.push_back(float_fn2("logaddexp", logaddexp, "Elementwise log(exp(x) + exp(y)), computed stably."));
  out.push_back(with_element(float_binary_op("copysign", "Elementwise |x| with the sign (bit) of y."),
                             [](Builder& b, const Args& a) { return b.arith("copysign", a[0], a[1]); }));
  out.push_back(divmod_op("floor_divide", "Elementwise x // y, rounding toward -inf (Python); integer x // 0 is 0."));
  out.push_back(divmod_op("remainder",
                          "Elementwise x % y with the divisor's sign (Python, NumPy's mod); integer "
                          "x % 0 is 0."));
  out.push_back(divmod_op("fmod",
                          "Elementwise C fmod: x - trunc(x / y) * y, with the dividend's sign; integer "
                          "fmod(x, 0) is 0."));
  out.push_back(bitwise("bitwise_and", 2, false, "Elementwise bitwise x & y of integers (logical for bools)."));
  out.push_back(bitwise("bitwise_or", 2, false, "Elementwise bitwise x | y of integers (logical for bools)."));
  out.push_back(bitwise("bitwise_xor", 2, false, "Elementwise bitwise x ^ y of integers (logical for bools)."));
  out.push_back(bitwise("bitwise_invert", 1, false, "Elementwise bitwise ~x of integers (logical not for bools)."));
  out.push_back(
      bitwise("left_shift", 2, true, "Elementwise x << y of integers (0 when y is negative or >= the width)."));
  out.push_back(bitwise("right_shift", 2, true,
                        "Elementwise x >> y of integers, arithmetic for signed types (by "
                        "the width or more: 0, or -1 for negative x)."));
}

}  // namespace tessera::ir
