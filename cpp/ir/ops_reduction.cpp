// Reduction Graph IR ops.
//
// Primitives (sum, prod, max, min, argmax, argmin over one axis) become reduce kernels. An
// absent `axis` means every axis (NumPy's axis=None); the `decompose` pass turns that into a
// chain of one-axis reductions, innermost first. mean and var are decompositions into sums.
// Over a symbolic dim their count is a `dim_size` op, which `specialize` folds into a constant
// once the call's sizes are known (docs/design.md, "Symbolic dims").
#include <algorithm>

#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

const AttrSpec kAxis{"axis", "axes", false,
                     "axis, or list of axes, to reduce (negative counts from the end); absent: every axis", ""};
const AttrSpec kOneAxis{"axis", "int", false, "axis to reduce (negative counts from the end); absent: every axis", ""};
const AttrSpec kKeepdims{"keepdims", "bool", false, "keep reduced axes with size 1", "false"};

bool keepdims_of(const AttrMap& a) {
  auto it = a.find("keepdims");
  return it != a.end() && std::get<bool>(it->second);
}

// The reduced axes, ascending and non-negative: `axis` as one int or a list (no repeats);
// absent, every axis (none for a rank-0 tensor, whose reduction is the identity).
std::vector<int64_t> axes_of(const std::string& op, const AttrMap& a, int64_t rank) {
  auto it = a.find("axis");
  std::vector<int64_t> axes;
  if (it == a.end()) {
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    return axes;
  }
  if (auto* one = std::get_if<int64_t>(&it->second)) return {normalize_axis(op, *one, rank)};
  for (int64_t d : std::get<IntList>(it->second)) axes.push_back(normalize_axis(op, d, rank));
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    fail(ErrorCode::Value, op + ": axis list repeats an axis (rank " + std::to_string(rank) + ")");
  return axes;
}

Type reduced_type(const std::string& op, const Type& in, const AttrMap& a, DType dt) {
  std::vector<int64_t> axes = axes_of(op, a, in.rank());
  bool kd = keepdims_of(a);
  std::vector<Dim> shape;
  for (int64_t d = 0; d < in.rank(); ++d) {
    if (std::find(axes.begin(), axes.end(), d) == axes.end())
      shape.push_back(in.shape[size_t(d)]);
    else if (kd)
      shape.push_back(Dim::of(1));
  }
  return Type::tensor(dt, shape);
}

// 1 / (count - correction) as a rank-0 tensor of `dt`, the count being the number of elements
// combined into each output element. NumPy clamps the divisor at 0: n <= correction gives inf.
// A constant when the reduced dims are static; over a symbolic dim the count is a dim_size op.
Value* reciprocal_count(Builder& b, const Op& op, DType dt, double correction) {
  const Type& in = op.operands[0]->type;
  IntList axes = axes_of(op.name, op.attrs, in.rank());
  bool symbolic = false;
  int64_t n = 1;
  for (int64_t d : axes) {
    symbolic = symbolic || !in.shape[size_t(d)].is_static();
    n *= in.shape[size_t(d)].size;
  }
  if (!symbolic) return b.graph_constant(dt, 1.0 / std::max(double(n) - correction, 0.0));
  Value* count = b.value("dim_size", {op.operands[0]}, {{"axes", axes}, {"dtype", std::string(dtype_name(dt))}});
  if (correction != 0.0)
    count = b.value("maximum", {b.value("sub", {count, b.graph_constant(dt, correction)}), b.graph_constant(dt, 0.0)});
  return b.value("div", {b.graph_constant(dt, 1.0), count});
}

// dim_size: the product of x's sizes along `axes`, as a rank-0 tensor (the count of a mean over
// symbolic dims). Static sizes fold into a constant (`decompose`, `specialize`).
OpInfo dim_size() {
  OpInfo info;
  info.name = "dim_size";
  info.cls = OpClass::Structural;  // internal: never a kernel, never a user-facing tessera.op
  info.min_operands = info.max_operands = 1;
  info.operand_names = {"x"};
  info.attrs = {{"axes", "ints", true, "the dims whose sizes are multiplied"},
                {"dtype", "str", true, "the result dtype"}};
  info.summary = "The product of x's sizes along `axes` (a rank-0 tensor); folded once the sizes are known.";
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("dim_size", in[0]);
    for (int64_t d : std::get<IntList>(a.at("axes"))) normalize_axis("dim_size", d, in[0].rank());
    auto dt = parse_dtype(std::get<std::string>(a.at("dtype")));
    if (!dt) fail(ErrorCode::DType, "dim_size: unknown dtype '" + std::get<std::string>(a.at("dtype")) + "'");
    return std::vector<Type>{Type::tensor(*dt, std::vector<Dim>{})};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    const Type& x = op.operands[0]->type;
    int64_t n = 1;
    for (int64_t d : op.ints_attr("axes")) {
      const Dim& dim = x.shape[size_t(normalize_axis("dim_size", d, x.rank()))];
      if (!dim.is_static()) return {};
      n *= dim.size;
    }
    return {b.graph_constant(op.result()->type, double(n))};
  };
  return info;
}

// NumPy: max/min/argmax/argmin of nothing is an error (there is no identity to return).
void require_nonempty(const std::string& op, const Type& in, const AttrMap& a) {
  for (int64_t d : axes_of(op, a, in.rank()))
    if (in.shape[size_t(d)] == Dim::of(0))
      fail(ErrorCode::Value, op + ": zero-size reduction over axis " + std::to_string(d) + " of " + in.str() + " (" +
                                 op + " has no identity)");
}

OpInfo base(const std::string& name, std::vector<AttrSpec> attrs, const std::string& summary) {
  OpInfo info;
  info.name = name;
  info.cls = OpClass::Reduction;
  info.min_operands = info.max_operands = 1;
  info.operand_names = {"x"};
  info.attrs = std::move(attrs);
  info.summary = summary;
  return info;
}

// A primitive over several axes (absent: every axis) becomes one-axis reductions, the last
// axis first (descending order keeps the remaining axis numbers valid when keepdims is false).
// Over no axes (a rank-0 tensor, or an empty list) it is the identity in the result's dtype.
std::vector<Value*> split_axes(Builder& b, const Op& op) {
  if (op.has_attr("axis") && std::holds_alternative<int64_t>(op.attrs.at("axis"))) return {};
  Value* v = op.operands[0];
  std::vector<int64_t> axes = axes_of(op.name, op.attrs, v->type.rank());
  for (auto it = axes.rbegin(); it != axes.rend(); ++it) {
    AttrMap a = op.attrs;
    a["axis"] = *it;
    v = b.value(op.name, {v}, a);
  }
  DType dt = op.result()->type.dtype;
  if (v->type.dtype != dt) v = b.value("cast", {v}, {{"dtype", std::string(dtype_name(dt))}});
  return {v};
}

// sum and prod: integer and bool inputs accumulate in i64 as in NumPy (and torch); `dtype`
// picks another accumulation and result dtype.
OpInfo accumulate(const std::string& name, const std::string& what) {
  OpInfo info = base(name,
                     {kAxis,
                      kKeepdims,
                      {"dtype", "str", false,
                       "accumulation and result dtype; "
                       "default: the input's, integers and bool widened to i64",
                       ""}},
                     what +
                         " over `axis` (every axis when absent). Integer and bool inputs give i64, as in "
                         "NumPy; f16/bf16 accumulate in f32. Empty reductions give " +
                         (name == "sum" ? "0." : "1."));
  info.infer = [name](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor(name, in[0]);
    DType dt = is_float(in[0].dtype) ? in[0].dtype : DType::I64;
    auto it = a.find("dtype");
    if (it != a.end()) {
      auto parsed = parse_dtype(std::get<std::string>(it->second));
      if (!parsed || *parsed == DType::Bool)
        fail(ErrorCode::DType,
             name + ": dtype must be a numeric dtype, got '" + std::get<std::string>(it->second) + "'");
      dt = *parsed;
    }
    return std::vector<Type>{reduced_type(name, in[0], a, dt)};
  };
  info.decompose = split_axes;
  return info;
}

OpInfo extremum(const std::string& name, const std::string& summary) {
  OpInfo info = base(name, {kAxis, kKeepdims}, summary);
  info.infer = [name](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor(name, in[0]);
    if (in[0].dtype == DType::Bool) fail(ErrorCode::DType, name + ": not defined for bool tensors");
    require_nonempty(name, in[0], a);
    return std::vector<Type>{reduced_type(name, in[0], a, in[0].dtype)};
  };
  info.decompose = split_axes;
  return info;
}

OpInfo arg_extremum(const std::string& name, const std::string& summary) {
  OpInfo info = base(name, {kOneAxis, kKeepdims}, summary);
  info.infer = [name](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor(name, in[0]);
    if (in[0].dtype == DType::Bool) fail(ErrorCode::DType, name + ": not defined for bool tensors");
    if (in[0].rank() == 0) fail(ErrorCode::Value, name + ": needs a tensor of rank >= 1");
    if (!a.count("axis") && in[0].rank() != 1)
      fail(ErrorCode::Value, name + ": without an axis needs a rank-1 tensor (flatten first), got " + in[0].str());
    require_nonempty(name, in[0], a);
    return std::vector<Type>{reduced_type(name, in[0], a, DType::I64)};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    if (op.has_attr("axis")) return {};
    AttrMap a = op.attrs;
    a["axis"] = int64_t(0);
    return {b.value(op.name, {op.operands[0]}, a)};
  };
  return info;
}

// Float result dtype of mean/var: floats keep theirs; integers and bool give f64 (NumPy).
DType float_result(const Type& in) { return is_float(in.dtype) ? in.dtype : DType::F64; }

// sum * (1/n): for n = 0 that is 0 * inf = NaN, NumPy's mean of nothing.
Value* mean_of(Builder& b, const Op& op, Value* x, bool keepdims) {
  AttrMap a = op.attrs;
  a.erase("correction");
  a["keepdims"] = keepdims;
  a["dtype"] = std::string(dtype_name(float_result(x->type)));
  Value* s = b.value("sum", {x}, a);
  return b.value("mul", {s, reciprocal_count(b, op, s->type.dtype, 0.0)});
}

OpInfo mean() {
  OpInfo info = base("mean", {kAxis, kKeepdims},
                     "Arithmetic mean over `axis` (every axis when absent): sum times 1/n. Integer and bool "
                     "inputs give f64, as in NumPy; an empty reduction gives NaN.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("mean", in[0]);
    return std::vector<Type>{reduced_type("mean", in[0], a, float_result(in[0]))};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    return {mean_of(b, op, op.operands[0], keepdims_of(op.attrs))};
  };
  return info;
}

OpInfo var() {
  OpInfo info = base("var",
                     {kAxis,
                      kKeepdims,
                      {"correction", "float", false,
                       "subtracted from n in the divisor "
                       "(NumPy's ddof)",
                       "0"}},
                     "Variance over `axis` (every axis when absent), two-pass: sum((x - mean)^2) / (n - "
                     "correction), in a fixed order (deterministic). Floating-point inputs only.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("var", in[0]);
    require_float("var", in[0]);
    return std::vector<Type>{reduced_type("var", in[0], a, in[0].dtype)};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* x = op.operands[0];
    Value* d = b.value("sub", {x, mean_of(b, op, x, true)});
    AttrMap a = op.attrs;
    a.erase("correction");
    Value* s = b.value("sum", {b.value("mul", {d, d})}, a);
    double correction = op.has_attr("correction") ? number_attr(op, "correction") : 0.0;
    return {b.value("mul", {s, reciprocal_count(b, op, s->type.dtype, correction)})};
  };
  return info;
}

// any / all: whether some / every element over `axis` is nonzero, as a count of the ones that
// are (not) nonzero: sums give the empty reduction's answer (false / true) for free.
OpInfo truth(bool all) {
  std::string name = all ? "all" : "any";
  OpInfo info =
      base(name, {kAxis, kKeepdims},
           std::string(all ? "Whether every element" : "Whether some element") +
               " over `axis` (every axis when absent) is nonzero; bool result. Empty: " + (all ? "true." : "false."));
  info.infer = [name](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor(name, in[0]);
    return std::vector<Type>{reduced_type(name, in[0], a, DType::Bool)};
  };
  info.decompose = [all](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* x = op.operands[0];
    Value* hit = b.value(all ? "equal" : "not_equal", {x, b.graph_constant(x->type.dtype, 0.0)});
    AttrMap a = op.attrs;
    a["dtype"] = std::string("i64");
    Value* n = b.value("sum", {b.value("cast", {hit}, {{"dtype", std::string("i64")}})}, a);
    return {b.value(all ? "equal" : "greater", {n, b.graph_constant(DType::I64, 0.0)})};
  };
  return info;
}

}  // namespace

void register_reduction_ops(std::vector<OpInfo>& out) {
  out.push_back(truth(false));
  out.push_back(truth(true));
  out.push_back(accumulate("sum", "Sum"));
  out.push_back(accumulate("prod", "Product"));
  out.push_back(extremum("max", "Maximum over `axis` (every axis when absent); NaN propagates. Empty: error."));
  out.push_back(extremum("min", "Minimum over `axis` (every axis when absent); NaN propagates. Empty: error."));
  out.push_back(arg_extremum("argmax",
                             "Index (i64) of the maximum along `axis`: the first on ties; the first "
                             "NaN wins, as in NumPy. Without an axis: rank-1 tensors only."));
  out.push_back(arg_extremum("argmin",
                             "Index (i64) of the minimum along `axis`: the first on ties; the first "
                             "NaN wins, as in NumPy. Without an axis: rank-1 tensors only."));
  out.push_back(mean());
  out.push_back(var());
  out.push_back(dim_size());
}

}  // namespace tessera::ir
