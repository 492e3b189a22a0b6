// Neural-network composites: logsumexp, std, softmax, log_softmax, layernorm, rmsnorm,
// cross_entropy, mse and embedding. Each is a decomposition into primitives (the `decompose`
// pass expands it before kernels are formed), so autodiff differentiates the primitives and
// none of these ops needs a derivative rule of its own.
//
// f16/bf16 inputs are widened to f32 for the whole decomposition and rounded once at the end:
// the intermediate sums and exponentials would lose too much in 16 bits (PyTorch does the same).
#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

const AttrSpec kAxisAll{"axis", "int", false, "axis to reduce (negative counts from the end); absent: every axis", ""};
const AttrSpec kKeepdims{"keepdims", "bool", false, "keep reduced axes with size 1", "false"};
const AttrSpec kLastAxis{"axis", "int", false, "the axis normalised over (negative counts from the end)", "-1"};
const AttrSpec kReduction{"reduction", "str", false, "mean, sum or none (per element)", "\"mean\""};

Value* op1(Builder& b, const std::string& name, Value* x, AttrMap a = {}) { return b.value(name, {x}, std::move(a)); }
Value* op2(Builder& b, const std::string& name, Value* x, Value* y) { return b.value(name, {x, y}); }

Value* cast_to(Builder& b, Value* x, DType dt) {
  if (x->type.dtype == dt) return x;
  return op1(b, "cast", x, {{"dtype", std::string(dtype_name(dt))}});
}
// Widens f16/bf16 to f32 (see the file comment); other dtypes stay.
Value* widen(Builder& b, Value* x) { return cast_to(b, x, compute_dtype(x->type.dtype)); }

int64_t axis_of(const Op& op, int64_t dflt) { return normalize_axis(op.name, op.int_attr("axis", dflt), op.operands[0]->type.rank()); }

// A reduction's attributes with keepdims forced.
AttrMap reduce_attrs(const Op& op, bool keepdims) {
  AttrMap a;
  if (op.has_attr("axis")) a["axis"] = op.attrs.at("axis");
  a["keepdims"] = keepdims;
  return a;
}

Value* reshape_to(Builder& b, Value* x, const Type& t) {
  if (x->type.shape == t.shape) return x;
  return reshape_value(b, x, t);
}

// max over the reduced axes (keepdims), with non-finite maxima (all -inf, inf, NaN) replaced
// by 0 so that x - m stays meaningful: the usual shift that keeps exp from overflowing.
Value* finite_max(Builder& b, Value* x, const AttrMap& keep) {
  Value* m = b.value("max", {x}, keep);
  Value* finite = op2(b, "equal", op2(b, "sub", m, m), b.graph_constant(m->type.dtype, 0.0));
  return b.value("where", {finite, m, b.graph_constant(m->type.dtype, 0.0)});
}

// log(sum(exp(x - m))) + m with the reduction's attributes, keepdims forced true.
Value* logsumexp_keep(Builder& b, const Op& op, Value* x) {
  AttrMap keep = reduce_attrs(op, true);
  Value* m = finite_max(b, x, keep);
  Value* s = b.value("sum", {op1(b, "exp", op2(b, "sub", x, m))}, keep);
  return op2(b, "add", op1(b, "log", s), m);
}

OpInfo composite(const std::string& name, OpClass cls, std::vector<std::string> operands, std::vector<AttrSpec> attrs,
                 const std::string& summary) {
  OpInfo info;
  info.name = name;
  info.cls = cls;
  info.min_operands = info.max_operands = int(operands.size());
  info.operand_names = std::move(operands);
  info.attrs = std::move(attrs);
  info.summary = summary;
  return info;
}

std::vector<Type> infer_as(const std::string& op, const std::vector<Type>& in, const AttrMap& a) {
  return lookup_op(op)->infer(in, a);
}

OpInfo logsumexp() {
  OpInfo info = composite("logsumexp", OpClass::Reduction, {"x"}, {kAxisAll, kKeepdims},
                          "log(sum(exp(x))) over `axis` (every axis when absent), computed stably as "
                          "log(sum(exp(x - m))) + m with m the (finite) maximum. Floating-point inputs only.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("logsumexp", in[0]);
    require_float("logsumexp", in[0]);
    return infer_as("max", in, a);
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* r = logsumexp_keep(b, op, widen(b, op.operands[0]));
    const Type& out = op.result()->type;
    return {cast_to(b, reshape_to(b, r, Type::tensor(r->type.dtype, out.shape)), out.dtype)};
  };
  return info;
}

OpInfo std_op() {
  OpInfo info = composite("std", OpClass::Reduction, {"x"},
                          {kAxisAll, kKeepdims, {"correction", "float", false, "subtracted from n in the divisor "
                                                 "(NumPy's ddof)", "0"}},
                          "Standard deviation over `axis` (every axis when absent): sqrt(var(x)). "
                          "Floating-point inputs only.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) { return infer_as("var", in, a); };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    return {op1(b, "sqrt", b.value("var", {op.operands[0]}, op.attrs))};
  };
  return info;
}

std::vector<Type> same_float(const std::string& name, const std::vector<Type>& in) {
  require_tensor(name, in[0]);
  require_float(name, in[0]);
  if (in[0].rank() == 0) fail(ErrorCode::Value, name + ": needs a tensor of rank >= 1, got " + in[0].str());
  return {in[0]};
}

OpInfo softmax(bool log) {
  std::string name = log ? "log_softmax" : "softmax";
  OpInfo info = composite(name, OpClass::ElementwiseUnary, {"x"}, {kLastAxis},
                          log ? "log(softmax(x)) along `axis`, computed stably as x - logsumexp(x, axis)."
                              : "exp(x - m) / sum(exp(x - m)) along `axis`, m the (finite) maximum along it.");
  info.infer = [name](const std::vector<Type>& in, const AttrMap& a) {
    auto t = same_float(name, in);
    normalize_axis(name, a.count("axis") ? std::get<int64_t>(a.at("axis")) : -1, in[0].rank());
    return t;
  };
  info.decompose = [log](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* x = widen(b, op.operands[0]);
    AttrMap keep{{"axis", axis_of(op, -1)}, {"keepdims", true}};
    Value* r;
    if (log) {
      Value* m = finite_max(b, x, keep);
      Value* s = b.value("sum", {op1(b, "exp", op2(b, "sub", x, m))}, keep);
      r = op2(b, "sub", op2(b, "sub", x, m), op1(b, "log", s));
    } else {
      Value* e = op1(b, "exp", op2(b, "sub", x, finite_max(b, x, keep)));
      r = op2(b, "div", e, b.value("sum", {e}, keep));
    }
    return {cast_to(b, r, op.result()->type.dtype)};
  };
  return info;
}

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
    fail(ErrorCode::Shape, op + ": " + what + " must have shape [" + dim_text(n) +
                               "] (the normalised axis of " + x.str() + "), got " + p.str());
  }
}

OpInfo norm(bool rms) {
  std::string name = rms ? "rmsnorm" : "layernorm";
  OpInfo info = composite(name, OpClass::ElementwiseUnary, rms ? std::vector<std::string>{"x", "weight"}
                                                            : std::vector<std::string>{"x", "weight", "bias"},
                          {kLastAxis, {"eps", "float", false, "added to the variance before the square root",
                                       rms ? "1e-06" : "1e-05"}},
                          rms ? "x / sqrt(mean(x^2, axis) + eps) * weight: RMS normalisation along `axis` "
                                "(weight, of shape [x.shape[axis]], is optional)."
                              : "(x - mean) / sqrt(var + eps) * weight + bias along `axis` (biased variance, "
                                "as in PyTorch); weight and bias, of shape [x.shape[axis]], are optional "
                                "(bias needs weight).");
  info.min_operands = 1;
  info.infer = [name](const std::vector<Type>& in, const AttrMap& a) {
    auto t = same_float(name, in);
    int64_t axis = normalize_axis(name, a.count("axis") ? std::get<int64_t>(a.at("axis")) : -1, in[0].rank());
    for (size_t i = 1; i < in.size(); ++i) check_param(name, in[0], in[i], axis, i == 1 ? "weight" : "bias");
    return t;
  };
  info.decompose = [rms](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* x = widen(b, op.operands[0]);
    int64_t axis = axis_of(op, -1), rank = x->type.rank();
    AttrMap keep{{"axis", axis}, {"keepdims", true}};
    Value* eps = b.graph_constant(x->type.dtype, op.has_attr("eps") ? number_attr(op, "eps") : (rms ? 1e-6 : 1e-5));
    if (!rms) x = op2(b, "sub", x, b.value("mean", {x}, keep));
    Value* ms = b.value("mean", {op2(b, "mul", x, x)}, keep);
    Value* y = op2(b, "mul", x, op1(b, "rsqrt", op2(b, "add", ms, eps)));
    if (op.operands.size() > 1) y = op2(b, "mul", y, along_axis(b, op.operands[1], axis, rank));
    if (op.operands.size() > 2) y = op2(b, "add", y, along_axis(b, op.operands[2], axis, rank));
    return {cast_to(b, y, op.result()->type.dtype)};
  };
  return info;
}

const std::string& reduction_of(const Op& op) {
  static const std::string mean = "mean";
  return op.has_attr("reduction") ? op.str_attr("reduction") : mean;
}

Type reduced_loss(const std::string& op, const AttrMap& a, const Type& per_element) {
  auto it = a.find("reduction");
  std::string r = it == a.end() ? "mean" : std::get<std::string>(it->second);
  if (r == "none") return per_element;
  if (r != "mean" && r != "sum")
    fail(ErrorCode::Value, op + ": reduction must be \"mean\", \"sum\" or \"none\", got \"" + r + "\"");
  return Type::tensor(per_element.dtype, std::vector<Dim>{});
}

Value* reduce_loss(Builder& b, const Op& op, Value* per_element) {
  const std::string& r = reduction_of(op);
  if (r == "none" || per_element->type.rank() == 0) return per_element;
  return b.value(r, {per_element});
}

OpInfo cross_entropy() {
  OpInfo info = composite("cross_entropy", OpClass::Reduction, {"logits", "labels"},
                          {kReduction, {"ignore_index", "int", false,
                                        "label whose rows contribute 0 and are left out of the mean; absent: none", ""}},
                          "Softmax cross-entropy of logits [N, C] (float) against integer class labels [N]: "
                          "-sum(one_hot(labels) * log_softmax(logits)), per row for reduction \"none\". "
                          "Labels outside [0, C) contribute 0. With ignore_index (PyTorch's semantics), those rows "
                          "are 0 and \"mean\" divides by the number of other rows.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("cross_entropy", in[0]);
    require_float("cross_entropy", in[0]);
    require_tensor("cross_entropy", in[1]);
    if (in[0].rank() != 2 || in[1].rank() != 1 || in[0].shape[0] != in[1].shape[0])
      fail(ErrorCode::Shape, "cross_entropy: needs logits [N, C] and labels [N], got " + in[0].str() + " and " +
                                 in[1].str());
    if (is_float(in[1].dtype) || in[1].dtype == DType::Bool)
      fail(ErrorCode::DType, "cross_entropy: labels must be an integer tensor, got " + in[1].str());
    return std::vector<Type>{reduced_loss("cross_entropy", a, Type::tensor(in[0].dtype, {in[0].shape[0]}))};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* logits = widen(b, op.operands[0]);
    Value* labels = op.operands[1];
    DType dt = logits->type.dtype;
    if (!logits->type.shape[1].is_static())
      symbolic_dim_error("cross_entropy", logits->type, 1, "one_hot needs the number of classes");
    int64_t classes = logits->type.shape[1].size;
    Value* ls = b.value("log_softmax", {logits}, {{"axis", int64_t(-1)}});
    Value* hot = b.value("one_hot", {labels}, {{"num_classes", classes}, {"dtype", std::string(dtype_name(dt))}});
    Value* nll = op1(b, "neg", b.value("sum", {op2(b, "mul", hot, ls)}, {{"axis", int64_t(-1)}}));
    if (!op.has_attr("ignore_index")) return {cast_to(b, reduce_loss(b, op, nll), op.result()->type.dtype)};
    // where, not a multiply: an ignored row's loss may be inf or NaN and must still give 0.
    Value* ignore = b.graph_constant(labels->type.dtype, double(op.int_attr("ignore_index")));
    Value* kept = op2(b, "not_equal", labels, ignore);
    nll = b.value("where", {kept, nll, b.graph_constant(dt, 0.0)});
    Value* loss = nll;
    if (reduction_of(op) != "none") loss = b.value("sum", {nll});
    if (reduction_of(op) == "mean") loss = op2(b, "div", loss, b.value("sum", {cast_to(b, kept, dt)}));
    return {cast_to(b, loss, op.result()->type.dtype)};
  };
  return info;
}

OpInfo mse() {
  OpInfo info = composite("mse", OpClass::Reduction, {"x", "y"}, {kReduction},
                          "Squared error (x - y)^2 (NumPy-broadcast), averaged, summed or kept per element.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    Type d = infer_as("sub", in, {})[0];
    if (!is_float(d.dtype)) fail(ErrorCode::DType, "mse: needs floating-point operands, got " + in[0].str() + " and " + in[1].str());
    return std::vector<Type>{reduced_loss("mse", a, d)};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* d = op2(b, "sub", op.operands[0], op.operands[1]);
    return {reduce_loss(b, op, op2(b, "mul", d, d))};
  };
  return info;
}

OpInfo embedding() {
  OpInfo info = composite("embedding", OpClass::DataMovement, {"indices", "weight"}, {},
                          "Rows of weight [V, ...] picked by integer indices: take(weight, indices, axis=0), "
                          "shape indices.shape + weight.shape[1:] (gradient w.r.t. weight via take's VJP).");
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    require_tensor("embedding", in[1]);
    if (in[1].rank() < 1) fail(ErrorCode::Shape, "embedding: weight must have rank >= 1, got " + in[1].str());
    return infer_as("take", {in[1], in[0]}, {{"axis", int64_t(0)}});
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    return {b.value("take", {op.operands[1], op.operands[0]}, {{"axis", int64_t(0)}})};
  };
  return info;
}

}  // namespace

void register_random_ops(std::vector<OpInfo>& out);  // ops_random.cpp
void register_einsum_ops(std::vector<OpInfo>& out);  // ops_einsum.cpp
void register_attention_ops(std::vector<OpInfo>& out);  // ops_attention.cpp

void register_nn_ops(std::vector<OpInfo>& out) {
  out.push_back(logsumexp());
  out.push_back(std_op());
  out.push_back(softmax(false));
  out.push_back(softmax(true));
  out.push_back(norm(false));
  out.push_back(norm(true));
  out.push_back(cross_entropy());
  out.push_back(mse());
  out.push_back(embedding());
  register_random_ops(out);
  register_einsum_ops(out);
  register_attention_ops(out);
}

}  // namespace tessera::ir
