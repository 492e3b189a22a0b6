// Normalisation composites: layernorm and rmsnorm (over one axis), batch_norm (over every axis
// but the channel axis, with the batch's statistics), instance_norm (over the spatial axes of
// each sample and channel) and group_norm (over groups of channels of each sample). Each
// decomposes into mean / var reductions and element-wise ops (biased variance, as PyTorch).
#include "ir/composite.hpp"

namespace tessera::ir {
namespace {

using namespace composite;

const AttrSpec kLastAxis{"axis", "int", false, "the axis normalised over (negative counts from the end)", "-1"};
AttrSpec eps_attr(const char* dflt) {
  return {"eps", "float", false, "added to the variance before the square root", dflt};
}
double eps_of(const Op& op, double dflt) { return op.has_attr("eps") ? number_attr(op, "eps") : dflt; }

// An affine parameter of rank 1 and size x.shape[axis], reshaped to broadcast along `axis`.
Value* along_axis(Builder& b, Value* w, int64_t axis, int64_t rank) {
  IntList s = reshape_shape("reshape", w->type);  // [D], or [-1] for a symbolic D
  for (int64_t d = axis + 1; d < rank; ++d) s.push_back(1);
  return widen(b, op1(b, "reshape", w, {{"shape", s}}));
}

void check_param(const std::string& op, const Type& x, const Type& p, int64_t axis, const char* what) {
  require_tensor(op, p);
  if (!is_float(p.dtype)) fail(ErrorCode::DType, op + ": " + what + " must be floating-point, got " + p.str());
  if (p.rank() != 1 || p.shape[0] != x.shape[size_t(axis)]) {
    const Dim& n = x.shape[size_t(axis)];
    fail(ErrorCode::Shape, op + ": " + what + " must have shape [" + dim_text(n) + "] (axis " + std::to_string(axis) +
                               " of " + x.str() + "), got " + p.str());
  }
}

// x's type, its float dtype promoted with the optional weight and bias (operands 1 and 2), which
// must have shape [x.shape[axis]].
std::vector<Type> norm_type(const std::string& name, const std::vector<Type>& in, int64_t axis, int64_t min_rank) {
  require_tensor(name, in[0]);
  require_float(name, in[0]);
  if (in[0].rank() < min_rank)
    fail(ErrorCode::Value, name + ": needs a tensor of rank >= " + std::to_string(min_rank) + ", got " + in[0].str());
  Type t = in[0];
  for (size_t i = 1; i < in.size(); ++i) {
    check_param(name, in[0], in[i], axis, i == 1 ? "weight" : "bias");
    t.dtype = promote_types(t.dtype, in[i].dtype);  // mixed dtypes promote, as x * weight would
  }
  return {t};
}

// (x - mean) / sqrt(var + eps) over `axes` of x (already widened), or x / sqrt(mean(x^2) + eps)
// for RMS normalisation.
Value* normalized(Builder& b, Value* x, const IntList& axes, double eps, bool rms = false) {
  AttrMap keep{{"axis", axes}, {"keepdims", true}};
  if (!rms) x = op2(b, "sub", x, b.value("mean", {x}, keep));
  Value* ms = b.value("mean", {op2(b, "mul", x, x)}, keep);
  return op2(b, "mul", x, op1(b, "rsqrt", op2(b, "add", ms, b.graph_constant(x->type.dtype, eps))));
}

// y * weight + bias along `axis`, for the operands the op has, in the result's dtype.
Value* affine(Builder& b, const Op& op, Value* y, int64_t axis) {
  int64_t rank = y->type.rank();
  if (op.operands.size() > 1) y = op2(b, "mul", y, along_axis(b, op.operands[1], axis, rank));
  if (op.operands.size() > 2) y = op2(b, "add", y, along_axis(b, op.operands[2], axis, rank));
  return cast_to(b, y, op.result()->type.dtype);
}

OpInfo with_params(OpInfo info) {
  info.min_operands = 1;
  info.max_operands = 3;
  info.operand_names = {"x", "weight", "bias"};
  return info;
}

OpInfo norm(bool rms) {
  std::string name = rms ? "rmsnorm" : "layernorm";
  OpInfo info = make(name, OpClass::ElementwiseUnary,
                     rms ? std::vector<std::string>{"x", "weight"} : std::vector<std::string>{"x", "weight", "bias"},
                     {kLastAxis, eps_attr(rms ? "1e-06" : "1e-05")},
                     rms ? "x / sqrt(mean(x^2, axis) + eps) * weight: RMS normalisation along `axis` "
                           "(weight, of shape [x.shape[axis]], is optional)."
                         : "(x - mean) / sqrt(var + eps) * weight + bias along `axis` (biased variance, "
                           "as in PyTorch); weight and bias, of shape [x.shape[axis]], are optional "
                           "(bias needs weight).");
  info.min_operands = 1;
  info.infer = [name](const std::vector<Type>& in, const AttrMap& a) {
    return norm_type(name, in,
                     normalize_axis(name, a.count("axis") ? std::get<int64_t>(a.at("axis")) : -1, in[0].rank()), 1);
  };
  info.decompose = [rms](Builder& b, const Op& op) -> std::vector<Value*> {
    int64_t axis = axis_of(op, -1);
    Value* y = normalized(b, widen(b, op.operands[0]), {axis}, eps_of(op, rms ? 1e-6 : 1e-5), rms);
    return {affine(b, op, y, axis)};
  };
  return info;
}

OpInfo batch_norm() {
  OpInfo info = with_params(
      make("batch_norm", OpClass::ElementwiseUnary, {"x"},
           {{"axis", "int", false, "the channel axis (its statistics are kept apart)", "1"}, eps_attr("1e-05")},
           "(x - mean) / sqrt(var + eps) * weight + bias with mean and (biased) var over every "
           "axis but the channel axis: batch normalisation with the batch's statistics (training "
           "mode); weight and bias have shape [C], optional."));
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    int64_t axis = normalize_axis("batch_norm", a.count("axis") ? std::get<int64_t>(a.at("axis")) : 1, in[0].rank());
    return norm_type("batch_norm", in, axis, 2);
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    int64_t axis = axis_of(op, 1);
    IntList axes;
    for (int64_t d = 0; d < op.operands[0]->type.rank(); ++d)
      if (d != axis) axes.push_back(d);
    return {affine(b, op, normalized(b, widen(b, op.operands[0]), axes, eps_of(op, 1e-5)), axis)};
  };
  return info;
}

OpInfo instance_norm() {
  OpInfo info = with_params(make("instance_norm", OpClass::ElementwiseUnary, {"x"}, {eps_attr("1e-05")},
                                 "Normalisation of x [N, C, *spatial] over the spatial axes of each sample and "
                                 "channel, then * weight + bias (shape [C], optional)."));
  info.infer = [](const std::vector<Type>& in, const AttrMap&) { return norm_type("instance_norm", in, 1, 3); };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    IntList axes;
    for (int64_t d = 2; d < op.operands[0]->type.rank(); ++d) axes.push_back(d);
    return {affine(b, op, normalized(b, widen(b, op.operands[0]), axes, eps_of(op, 1e-5)), 1)};
  };
  return info;
}

OpInfo group_norm() {
  OpInfo info = with_params(make("group_norm", OpClass::ElementwiseUnary, {"x"},
                                 {{"num_groups", "int", true, "channel groups; must divide C"}, eps_attr("1e-05")},
                                 "Normalisation of x [N, C, *spatial] over each group of C / num_groups channels "
                                 "(and the spatial axes) of each sample, then * weight + bias (shape [C], optional)."));
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    auto t = norm_type("group_norm", in, 1, 2);
    int64_t g = std::get<int64_t>(a.at("num_groups"));
    const Dim& c = in[0].shape[1];
    if (g < 1 || !c.is_static() || c.size % g != 0)
      fail(ErrorCode::Value, "group_norm: num_groups " + std::to_string(g) + " must divide the channels " +
                                 dim_text(c) + " of " + in[0].str());
    return t;
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* x = widen(b, op.operands[0]);
    const Type& t = x->type;
    int64_t g = op.int_attr("num_groups"), rest = 1;
    for (size_t d = 1; d < t.shape.size(); ++d) {
      if (!t.shape[d].is_static()) symbolic_dim_error("group_norm", t, d, "its groups are reshaped by size");
      rest *= t.shape[d].size;
    }
    IntList grouped = {t.shape[0].is_static() ? t.shape[0].size : -1, g, rest / g};
    Value* y = normalized(b, op1(b, "reshape", x, {{"shape", grouped}}), {2}, eps_of(op, 1e-5));
    return {affine(b, op, reshape_to(b, y, t), 1)};
  };
  return info;
}

}  // namespace

void register_norm_ops(std::vector<OpInfo>& out) {
  out.push_back(norm(false));
  out.push_back(norm(true));
  out.push_back(batch_norm());
  out.push_back(instance_norm());
  out.push_back(group_norm());
}

}  // namespace tessera::ir
