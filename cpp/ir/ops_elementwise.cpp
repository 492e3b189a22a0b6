// Elementwise Graph IR ops: type rules and the Tile IR of one element. Operands arrive widened
// to their own compute dtype (compute_dtype); each lowering first converts them to the compute
// dtype the op works in (the promoted dtype, docs/dtype_promotion.md).
#include <cmath>

#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

using Args = std::vector<Value*>;

DType result_dtype(const Op& op) { return op.result()->type.dtype; }

// The operands converted to the compute dtype of `dt`.
Args as(Builder& b, const Args& args, DType dt) {
  Args out;
  for (Value* v : args) out.push_back(to_compute(b, v, dt));
  return out;
}

Value* c(Builder& b, Value* like, double v) { return b.constant(like->type.dtype, v); }

// An op whose element is one arith op applied to the operands in the result's compute dtype.
OpInfo lowered(OpInfo info, const std::string& arith_name) {
  info.lower_elementwise = [arith_name](Builder& b, const Op& op, const Args& args) {
    return b.value("arith." + arith_name, as(b, args, result_dtype(op)));
  };
  return info;
}

// An op whose element is `fn` of the (single) operand in the result's compute dtype.
template <class F>
OpInfo lowered_fn(OpInfo info, F fn) {
  info.lower_elementwise = [fn](Builder& b, const Op& op, const Args& args) {
    return fn(b, op, as(b, args, result_dtype(op))[0]);
  };
  return info;
}

Value* un(Builder& b, const std::string& name, Value* x) { return b.value("arith." + name, {x}); }

// arith.sigmoid: the math library's overflow-free formula (math.cpp), which may use a target's
// fast reciprocal.
Value* sigmoid(Builder& b, Value* x) { return un(b, "sigmoid", x); }

OpInfo gelu() {
  OpInfo info =
      unary_op("gelu", true, "Gaussian error linear unit x * Phi(x); approximate = \"tanh\" uses the tanh formula.");
  info.attrs = {{"approximate", "str", false, "\"none\" (exact, via erfc) or \"tanh\" (the tanh formula)", "\"none\""}};
  InferFn base = info.infer;
  info.infer = [base](const std::vector<Type>& in, const AttrMap& attrs) {
    auto it = attrs.find("approximate");
    if (it != attrs.end()) {
      const std::string& a = std::get<std::string>(it->second);
      if (a != "none" && a != "tanh")
        fail(ErrorCode::Value, "gelu: approximate must be \"none\" or \"tanh\", got \"" + a + "\"");
    }
    return base(in, attrs);
  };
  return lowered_fn(info, [](Builder& b, const Op& op, Value* x) {
    Value* half_x = b.arith("mul", c(b, x, 0.5), x);
    if (op.has_attr("approximate") && op.str_attr("approximate") == "tanh") {
      Value* inner = b.arith("mul", b.arith("mul", x, b.arith("mul", x, x)), c(b, x, 0.044715));
      Value* t = un(b, "tanh", b.arith("mul", c(b, x, 0.7978845608028654), b.arith("add", x, inner)));
      return b.arith("mul", half_x, b.arith("add", c(b, x, 1.0), t));
    }
    // 0.5 x erfc(-x / sqrt 2): no cancellation for negative x, unlike 1 + erf(x / sqrt 2).
    return b.arith("mul", half_x, un(b, "erfc", b.arith("mul", x, c(b, x, -0.7071067811865476))));
  });
}

OpInfo clamp() {
  OpInfo info =
      unary_op("clamp", false, "Elementwise min(max(x, min), max); either bound may be omitted; NaN propagates.");
  info.attrs = {{"min", "float", false, "lower bound (none: no lower bound)"},
                {"max", "float", false, "upper bound (none: no upper bound)"}};
  return lowered_fn(info, [](Builder& b, const Op& op, Value* x) {
    if (op.has_attr("min")) x = b.arith("max", x, c(b, x, number_attr(op, "min")));
    if (op.has_attr("max")) x = b.arith("min", x, c(b, x, number_attr(op, "max")));
    return x;
  });
}

OpInfo where() {
  OpInfo info;
  info.name = "where";
  info.cls = OpClass::ElementwiseBinary;
  info.min_operands = info.max_operands = 3;
  info.operand_names = {"cond", "x", "y"};
  info.summary = "Elementwise cond ? x : y (cond nonzero is true); x and y promote; all three broadcast.";
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    for (const Type& t : in) require_tensor("where", t);
    Type xy = Type::tensor(promote_types(in[1].dtype, in[2].dtype), broadcast_shapes("where", in[1], in[2]));
    return std::vector<Type>{Type::tensor(xy.dtype, broadcast_shapes("where", in[0], xy))};
  };
  info.lower_elementwise = [](Builder& b, const Op& op, const Args& a) {
    Args xy = as(b, {a[1], a[2]}, result_dtype(op));
    return b.value("arith.select", {b.cast(a[0], DType::Bool), xy[0], xy[1]});
  };
  return info;
}

OpInfo compare(const std::string& name, const std::string& pred, const std::string& symbol) {
  OpInfo info = compare_op(name, "Elementwise x " + symbol +
                                     " y (bool result), compared in the promoted dtype; "
                                     "NaN compares unequal to everything.");
  info.lower_elementwise = [pred](Builder& b, const Op& op, const Args& a) {
    Args xy = as(b, a, promote_types(op.operands[0]->type.dtype, op.operands[1]->type.dtype));
    return b.cmp(pred, xy[0], xy[1]);
  };
  return info;
}

OpInfo logical(const std::string& name, int arity, const std::string& arith_name, const std::string& summary) {
  OpInfo info = logical_op(name, arity, summary);
  info.lower_elementwise = [arith_name](Builder& b, const Op&, const Args& a) {
    return b.value("arith." + arith_name, as(b, a, DType::Bool));
  };
  return info;
}

OpInfo cast() {
  OpInfo info = unary_op("cast", false,
                         "Converts x to another dtype (floats to integers truncate toward zero; "
                         "nonzero and NaN become true; out-of-range values are undefined).");
  info.attrs = {{"dtype", "str", true, "the dtype to convert to, e.g. \"f32\" or \"float32\" (short or long name)"}};
  info.infer = [](const std::vector<Type>& in, const AttrMap& attrs) {
    require_tensor("cast", in[0]);
    const std::string& name = std::get<std::string>(attrs.at("dtype"));
    std::optional<DType> to = parse_dtype(name);
    if (!to) fail(ErrorCode::DType, "cast: unknown dtype '" + name + "'");
    return std::vector<Type>{Type::tensor(*to, in[0].shape)};
  };
  // Straight to the storage dtype (one rounding), then to its compute dtype (exact).
  info.lower_elementwise = [](Builder& b, const Op& op, const Args& a) {
    return to_compute(b, b.cast(a[0], result_dtype(op)), result_dtype(op));
  };
  return info;
}

OpInfo constant() {
  OpInfo info;
  info.name = "constant";
  info.cls = OpClass::ElementwiseUnary;
  info.attrs = {{"value", "float", true, "the value of every element"},
                {"type", "type", true, "the tensor type of the result"}};
  info.summary = "A tensor whose elements all equal `value` (usually rank 0, then broadcast).";
  info.infer = [](const std::vector<Type>&, const AttrMap& attrs) {
    const Type& t = std::get<Type>(attrs.at("type"));
    if (!t.is_tensor()) fail(ErrorCode::Verify, "constant: type must be a tensor type, got " + t.str());
    return std::vector<Type>{t};
  };
  info.lower_elementwise = [](Builder& b, const Op& op, const Args&) {
    // Round to the storage dtype first (0.9 as f16 is 0.89990234375), then widen exactly.
    DType t = result_dtype(op);
    return b.cast(b.constant(t, number_attr(op, "value")), compute_dtype(t));
  };
  return info;
}

void register_math(std::vector<OpInfo>& out) {
  const std::pair<const char*, const char*> fns[] = {
      {"exp", "Elementwise e**x."},
      {"expm1", "Elementwise e**x - 1, accurate for small x."},
      {"log", "Elementwise natural logarithm (log(0) = -inf, log(x < 0) = NaN)."},
      {"log1p", "Elementwise log(1 + x), accurate for small x."},
      {"sqrt", "Elementwise square root (correctly rounded; NaN below 0)."},
      {"sin", "Elementwise sine (radians)."},
      {"cos", "Elementwise cosine (radians)."},
      {"tanh", "Elementwise hyperbolic tangent."},
      {"erf", "Elementwise error function."}};
  for (auto [name, summary] : fns) out.push_back(lowered(unary_op(name, true, summary), name));
  out.push_back(lowered_fn(unary_op("rsqrt", true, "Elementwise 1 / sqrt(x)."), [](Builder& b, const Op&, Value* x) {
    return b.arith("div", c(b, x, 1.0), un(b, "sqrt", x));
  }));
  out.push_back(lowered_fn(unary_op("sigmoid", true, "Elementwise logistic function 1 / (1 + e**-x)."),
                           [](Builder& b, const Op&, Value* x) { return sigmoid(b, x); }));
  out.push_back(lowered_fn(unary_op("silu", true, "Elementwise x * sigmoid(x) (swish)."),
                           [](Builder& b, const Op&, Value* x) { return b.arith("mul", x, sigmoid(b, x)); }));
  // softplus = max(x, 0) + log1p(e**-|x|): both terms >= 0 and nothing overflows.
  out.push_back(lowered_fn(unary_op("softplus", true, "Elementwise log(1 + e**x), computed without overflow."),
                           [](Builder& b, const Op&, Value* x) {
                             Value* t = un(b, "log1p", un(b, "exp", un(b, "neg", un(b, "abs", x))));
                             return b.arith("add", b.arith("max", x, c(b, x, 0.0)), t);
                           }));
  out.push_back(gelu());
}

}  // namespace

void register_elementwise_ops(std::vector<OpInfo>& out) {
  out.push_back(lowered(binary_op("add", "Elementwise x + y with NumPy broadcasting."), "add"));
  out.push_back(lowered(binary_op("sub", "Elementwise x - y with NumPy broadcasting."), "sub"));
  out.push_back(lowered(binary_op("mul", "Elementwise x * y with NumPy broadcasting."), "mul"));
  out.push_back(
      lowered(float_binary_op("div", "Elementwise true division x / y; integer operands give float32."), "div"));
  out.push_back(lowered(
      binary_op("pow", "Elementwise x ** y (C99 special values; integers wrap, negative integer exponents truncate)."),
      "pow"));
  out.push_back(lowered(binary_op("maximum", "Elementwise max(x, y) with NumPy broadcasting; NaN propagates."), "max"));
  out.push_back(lowered(binary_op("minimum", "Elementwise min(x, y) with NumPy broadcasting; NaN propagates."), "min"));
  out.push_back(lowered(unary_op("neg", false, "Elementwise -x."), "neg"));
  out.push_back(lowered(unary_op("abs", false, "Elementwise |x| (integers wrap: abs(INT_MIN) = INT_MIN)."), "abs"));
  out.push_back(lowered_fn(unary_op("sign", false, "Elementwise sign: -1, 0 or 1 (NaN stays NaN, -0 gives 0)."),
                           [](Builder& b, const Op&, Value* x) {
                             Value* zero = c(b, x, 0.0);
                             Value* s = b.value("arith.select",
                                                {b.cmp("lt", x, zero), c(b, x, -1.0), b.arith("add", x, zero)});
                             return b.value("arith.select", {b.cmp("gt", x, zero), c(b, x, 1.0), s});
                           }));
  out.push_back(lowered_fn(unary_op("relu", false, "Elementwise max(x, 0)."),
                           [](Builder& b, const Op&, Value* x) { return b.arith("max", x, c(b, x, 0.0)); }));
  register_math(out);
  out.push_back(clamp());
  out.push_back(where());
  for (auto [name, pred, sym] : {std::tuple{"less", "lt", "<"},
                                 {"less_equal", "le", "<="},
                                 {"greater", "gt", ">"},
                                 {"greater_equal", "ge", ">="},
                                 {"equal", "eq", "=="},
                                 {"not_equal", "ne", "!="}})
    out.push_back(compare(name, pred, sym));
  out.push_back(logical("logical_and", 2, "and", "Elementwise x and y (nonzero is true); bool result."));
  out.push_back(logical("logical_or", 2, "or", "Elementwise x or y (nonzero is true); bool result."));
  out.push_back(logical("logical_xor", 2, "xor", "Elementwise x xor y (nonzero is true); bool result."));
  out.push_back(logical("logical_not", 1, "not", "Elementwise not x (zero is true); bool result."));
  out.push_back(cast());
  out.push_back(constant());
}

}  // namespace tessera::ir
