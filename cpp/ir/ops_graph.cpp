// Graph IR ops (TSOL): the first handful of primitives. Each op's shape and dtype rule lives
// here and nowhere else; Python asks for it through tessera._C.infer_op.
#include <algorithm>

#include "ir/ops.hpp"

namespace tessera::ir {

std::vector<Dim> broadcast_shapes(const std::string& op, const Type& a, const Type& b) {
  size_t rank = std::max(a.shape.size(), b.shape.size());
  std::vector<Dim> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Align from the right, as NumPy does.
    const Dim* da = i < rank - a.shape.size() ? nullptr : &a.shape[i - (rank - a.shape.size())];
    const Dim* db = i < rank - b.shape.size() ? nullptr : &b.shape[i - (rank - b.shape.size())];
    if (!da) out[i] = *db;
    else if (!db) out[i] = *da;
    else if (*da == *db) out[i] = *da;
    else if (da->is_static() && da->size == 1) out[i] = *db;
    else if (db->is_static() && db->size == 1) out[i] = *da;
    else
      fail(ErrorCode::Shape, op + ": shapes cannot be broadcast together: " + a.str() + " and " + b.str());
  }
  return out;
}

int64_t normalize_axis(const std::string& op, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank || rank == 0)
    fail(ErrorCode::Value, op + ": axis " + std::to_string(axis) + " is out of range for a tensor of rank " +
                               std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

namespace {

void require_tensor(const std::string& op, const Type& t) {
  if (!t.is_tensor()) fail(ErrorCode::Verify, op + ": operands must be tensors, got " + t.str());
}

void require_float(const std::string& op, const Type& t) {
  if (!is_float(t.dtype))
    fail(ErrorCode::DType, op + ": needs a floating-point tensor, got " + t.str());
}

OpInfo unary(const std::string& name, bool float_only, const std::string& summary) {
  OpInfo info;
  info.name = name;
  info.cls = OpClass::ElementwiseUnary;
  info.min_operands = info.max_operands = 1;
  info.summary = summary;
  info.infer = [name, float_only](const std::vector<Type>& in, const AttrMap&) {
    require_tensor(name, in[0]);
    if (float_only) require_float(name, in[0]);
    if (in[0].dtype == DType::Bool) fail(ErrorCode::DType, name + ": not defined for bool tensors");
    return std::vector<Type>{in[0]};
  };
  return info;
}

OpInfo binary(const std::string& name, const std::string& summary) {
  OpInfo info;
  info.name = name;
  info.cls = OpClass::ElementwiseBinary;
  info.min_operands = info.max_operands = 2;
  info.summary = summary;
  info.infer = [name](const std::vector<Type>& in, const AttrMap&) {
    require_tensor(name, in[0]);
    require_tensor(name, in[1]);
    if (in[0].dtype != in[1].dtype)
      fail(ErrorCode::DType, name + ": dtypes differ: " + in[0].str() + " and " + in[1].str() +
                                 " (cast one operand first)");
    if (in[0].dtype == DType::Bool) fail(ErrorCode::DType, name + ": not defined for bool tensors");
    return std::vector<Type>{Type::tensor(in[0].dtype, broadcast_shapes(name, in[0], in[1]))};
  };
  return info;
}

OpInfo reduction(const std::string& name, const std::string& summary) {
  OpInfo info;
  info.name = name;
  info.cls = OpClass::Reduction;
  info.min_operands = info.max_operands = 1;
  info.attrs = {{"axis", "int", true, "axis to reduce (negative counts from the end)"},
                {"keepdims", "bool", false, "keep the reduced axis with size 1"}};
  info.summary = summary;
  info.infer = [name](const std::vector<Type>& in, const AttrMap& attrs) {
    require_tensor(name, in[0]);
    if (in[0].dtype == DType::Bool) fail(ErrorCode::DType, name + ": not defined for bool tensors");
    int64_t axis = normalize_axis(name, std::get<int64_t>(attrs.at("axis")), in[0].rank());
    auto kd = attrs.find("keepdims");
    bool keepdims = kd != attrs.end() && std::get<bool>(kd->second);
    std::vector<Dim> shape = in[0].shape;
    if (keepdims) shape[size_t(axis)] = Dim::of(1);
    else shape.erase(shape.begin() + axis);
    return std::vector<Type>{Type::tensor(in[0].dtype, shape)};
  };
  return info;
}

OpInfo matmul() {
  OpInfo info;
  info.name = "matmul";
  info.cls = OpClass::Contraction;
  info.min_operands = info.max_operands = 2;
  info.summary = "Matrix product of [M,K] and [K,N] tensors.";
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    const Type &a = in[0], &b = in[1];
    require_tensor("matmul", a);
    require_tensor("matmul", b);
    if (a.rank() != 2 || b.rank() != 2)
      fail(ErrorCode::Shape, "matmul: expects two rank-2 tensors (batched matmul comes with the operator "
                             "library), got " + a.str() + " @ " + b.str());
    if (a.dtype != b.dtype)
      fail(ErrorCode::DType, "matmul: dtypes differ: " + a.str() + " @ " + b.str());
    require_float("matmul", a);
    if (a.shape[1] != b.shape[0])
      fail(ErrorCode::Shape, "matmul: inner dims differ: " + a.str() + " @ " + b.str());
    return std::vector<Type>{Type::tensor(a.dtype, {a.shape[0], b.shape[1]})};
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

void register_graph_ops(std::vector<OpInfo>& out) {
  out.push_back(binary("add", "Elementwise x + y with NumPy broadcasting."));
  out.push_back(binary("sub", "Elementwise x - y with NumPy broadcasting."));
  out.push_back(binary("mul", "Elementwise x * y with NumPy broadcasting."));
  out.push_back(binary("maximum", "Elementwise max(x, y) with NumPy broadcasting; NaN propagates."));
  out.push_back(unary("neg", false, "Elementwise -x."));
  out.push_back(unary("exp", true, "Elementwise e**x."));
  out.push_back(unary("relu", false, "Elementwise max(x, 0)."));
  out.push_back(reduction("sum", "Sum over one axis."));
  out.push_back(matmul());
  out.push_back(constant());
}

}  // namespace tessera::ir
