// Elementwise Graph IR ops: type rules and the Tile IR of one element.
#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

// An op whose element is one arith op applied to the operands' elements.
OpInfo lowered(OpInfo info, const std::string& arith_name) {
  info.lower_elementwise = [arith_name](Builder& b, const Op&, const std::vector<Value*>& args) {
    return b.value("arith." + arith_name, args);
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
  return info;
}

}  // namespace

void register_elementwise_ops(std::vector<OpInfo>& out) {
  out.push_back(lowered(binary_op("add", "Elementwise x + y with NumPy broadcasting."), "add"));
  out.push_back(lowered(binary_op("sub", "Elementwise x - y with NumPy broadcasting."), "sub"));
  out.push_back(lowered(binary_op("mul", "Elementwise x * y with NumPy broadcasting."), "mul"));
  out.push_back(lowered(binary_op("maximum", "Elementwise max(x, y) with NumPy broadcasting; NaN propagates."), "max"));
  out.push_back(lowered(unary_op("neg", false, "Elementwise -x."), "neg"));
  out.push_back(lowered(unary_op("exp", true, "Elementwise e**x."), "exp"));
  OpInfo relu = unary_op("relu", false, "Elementwise max(x, 0).");
  relu.lower_elementwise = [](Builder& b, const Op&, const std::vector<Value*>& a) {
    return b.arith("max", a[0], b.constant(a[0]->type.dtype, 0.0));
  };
  out.push_back(relu);
  OpInfo c = constant();
  c.lower_elementwise = [](Builder& b, const Op& op, const std::vector<Value*>&) {
    return b.constant(compute_dtype(op.result()->type.dtype), number_attr(op, "value"));
  };
  out.push_back(c);
}

}  // namespace tessera::ir
