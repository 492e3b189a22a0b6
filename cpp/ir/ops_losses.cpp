// Loss composites, with PyTorch's semantics: cross_entropy (from logits) and nll_loss (from
// log-probabilities) of integer labels, mse, binary_cross_entropy (of probabilities and of
// logits) and kl_div. Each takes `reduction` ("mean", "sum" or "none").
#include <cmath>

#include "ir/composite.hpp"

namespace tessera::ir {
namespace {

using namespace composite;

// mode "error": labels checked to lie in [0, C) (or equal ignore_index) when the program runs.
Value* checked_labels(Builder& b, const Op& op, Value* labels, int64_t classes) {
  Value* j = cast_to(b, labels, DType::I64);
  Value* ok = op2(b, "logical_and", op2(b, "greater_equal", j, b.graph_constant(DType::I64, 0.0)),
                  op2(b, "less", j, b.graph_constant(DType::I64, double(classes))));
  if (op.has_attr("ignore_index"))
    ok =
        op2(b, "logical_or", ok, op2(b, "equal", j, b.graph_constant(DType::I64, double(op.int_attr("ignore_index")))));
  std::string message = op.name + ": a label is outside [0, " + std::to_string(classes) + ") (labels " +
                        labels->type.str() + ", mode \"error\")";
  return b.value("checked", {labels, op1(b, "all", ok)}, {{"message", message}});
}

// cross_entropy (log_softmax of logits first) and nll_loss (log-probabilities given): the
// negative log-probability of each row's label, then the reduction.
OpInfo labelled(bool from_logits) {
  std::string name = from_logits ? "cross_entropy" : "nll_loss";
  std::string what = from_logits ? "Softmax cross-entropy of logits [N, C] (float)"
                                 : "Negative log-likelihood of log-probabilities [N, C] (float)";
  OpInfo info = make(
      name, OpClass::Reduction, {from_logits ? "logits" : "log_probs", "labels"},
      {kReduction,
       {"ignore_index", "int", false, "label whose rows contribute 0 and are left out of the mean; absent: none", ""},
       {"mode", "str", false,
        "labels outside [0, C) (other than ignore_index): \"ignore\" (they contribute 0) or \"error\" "
        "(the program raises when it runs)",
        "\"ignore\""}},
      what + " against integer class labels [N]: -" + (from_logits ? "log_softmax(logits)" : "log_probs") +
          "[i, labels[i]], per row for reduction \"none\". With ignore_index (PyTorch's semantics), "
          "those rows are 0 and \"mean\" divides by the number of other rows.");
  info.infer = [name](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor(name, in[0]);
    require_float(name, in[0]);
    require_tensor(name, in[1]);
    if (in[0].rank() != 2 || in[1].rank() != 1 || in[0].shape[0] != in[1].shape[0])
      fail(ErrorCode::Shape, name + ": needs " + (name == "nll_loss" ? "log_probs" : "logits") +
                                 " [N, C] and labels [N], got " + in[0].str() + " and " + in[1].str());
    if (is_float(in[1].dtype) || in[1].dtype == DType::Bool)
      fail(ErrorCode::DType, name + ": labels must be an integer tensor, got " + in[1].str());
    auto m = a.find("mode");
    if (m != a.end() && std::get<std::string>(m->second) != "ignore" && std::get<std::string>(m->second) != "error")
      fail(ErrorCode::Value,
           name + ": mode must be \"ignore\" or \"error\", got \"" + std::get<std::string>(m->second) + "\"");
    return std::vector<Type>{reduced_loss(name, a, Type::tensor(in[0].dtype, {in[0].shape[0]}))};
  };
  info.decompose = [from_logits](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* lp = widen(b, op.operands[0]);
    Value* labels = op.operands[1];
    DType dt = lp->type.dtype;
    if (!lp->type.shape[1].is_static()) symbolic_dim_error(op.name, lp->type, 1, "one_hot needs the number of classes");
    int64_t classes = lp->type.shape[1].size;
    if (op.has_attr("mode") && op.str_attr("mode") == "error") labels = checked_labels(b, op, labels, classes);
    if (from_logits) lp = b.value("log_softmax", {lp}, {{"axis", int64_t(-1)}});
    Value* hot = b.value("one_hot", {labels}, {{"num_classes", classes}, {"dtype", std::string(dtype_name(dt))}});
    Value* nll = op1(b, "neg", b.value("sum", {op2(b, "mul", hot, lp)}, {{"axis", int64_t(-1)}}));
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

// A loss of two broadcasting float operands with a per-element formula.
using Pointwise = Value* (*)(Builder&, const Op&, Value*, Value*);

OpInfo pointwise_loss(const std::string& name, std::vector<std::string> operands, std::vector<AttrSpec> extra,
                      const std::string& summary, Pointwise f) {
  extra.insert(extra.begin(), kReduction);
  OpInfo info = make(name, OpClass::Reduction, std::move(operands), std::move(extra), summary);
  info.infer = [name](const std::vector<Type>& in, const AttrMap& a) {
    Type d = infer_as("sub", in, {})[0];
    if (!is_float(d.dtype))
      fail(ErrorCode::DType, name + ": needs floating-point operands, got " + in[0].str() + " and " + in[1].str());
    if (name == "kl_div" && a.count("reduction") && std::get<std::string>(a.at("reduction")) == "batchmean")
      return std::vector<Type>{Type::tensor(d.dtype, std::vector<Dim>{})};
    return std::vector<Type>{reduced_loss(name, a, d)};
  };
  info.decompose = [f](Builder& b, const Op& op) -> std::vector<Value*> {
    DType dt = op.result()->type.dtype;
    Value* x = widen(b, cast_to(b, op.operands[0], dt));
    Value* y = widen(b, cast_to(b, op.operands[1], dt));
    Value* per = f(b, op, x, y);
    if (reduction_of(op) == "batchmean") {  // kl_div: the sum over everything / the batch size
      const Dim& n = per->type.rank() ? per->type.shape[0] : Dim::of(1);
      if (!n.is_static()) symbolic_dim_error(op.name, per->type, 0, "batchmean divides by it");
      per = op2(b, "div", b.value("sum", {per}), b.graph_constant(per->type.dtype, double(n.size)));
      return {cast_to(b, per, dt)};
    }
    return {cast_to(b, reduce_loss(b, op, per), dt)};
  };
  return info;
}

Value* k(Builder& b, Value* like, double v) { return b.graph_constant(like->type.dtype, v); }

Value* squared_error(Builder& b, const Op&, Value* x, Value* y) {
  Value* d = op2(b, "sub", x, y);
  return op2(b, "mul", d, d);
}

// -(y log p + (1 - y) log(1 - p)) with each log clamped at -100, as PyTorch (so p = 0 or 1 give
// a finite loss).
Value* bce(Builder& b, const Op&, Value* p, Value* y) {
  auto clamped_log = [&](Value* v) { return op2(b, "maximum", op1(b, "log", v), k(b, v, -100.0)); };
  Value* one = k(b, p, 1.0);
  Value* pos = op2(b, "mul", y, clamped_log(p));
  Value* neg = op2(b, "mul", op2(b, "sub", one, y), clamped_log(op2(b, "sub", one, p)));
  return op1(b, "neg", op2(b, "add", pos, neg));
}

// max(x, 0) - x y + log(1 + e^-|x|): no overflow for any x.
Value* bce_logits(Builder& b, const Op&, Value* x, Value* y) {
  Value* soft = op1(b, "softplus", op1(b, "neg", op1(b, "abs", x)));
  return op2(b, "add", op2(b, "sub", op1(b, "relu", x), op2(b, "mul", x, y)), soft);
}

// target * (log target - input), 0 where target = 0 (input: log-probabilities); with
// log_target, exp(target) * (target - input).
Value* kl(Builder& b, const Op& op, Value* input, Value* target) {
  if (op.bool_attr("log_target", false)) return op2(b, "mul", op1(b, "exp", target), op2(b, "sub", target, input));
  Value* zero = k(b, target, 0.0);
  Value* safe = b.value("where", {op2(b, "greater", target, zero), target, k(b, target, 1.0)});
  Value* term = op2(b, "mul", target, op2(b, "sub", op1(b, "log", safe), input));
  return b.value("where", {op2(b, "equal", target, zero), zero, term});
}

}  // namespace

void register_loss_ops(std::vector<OpInfo>& out) {
  out.push_back(labelled(true));
  out.push_back(labelled(false));
  out.push_back(pointwise_loss("mse", {"x", "y"}, {},
                               "Squared error (x - y)^2 (NumPy-broadcast), averaged, summed or kept per element.",
                               squared_error));
  out.push_back(pointwise_loss("binary_cross_entropy", {"probs", "targets"}, {},
                               "Binary cross-entropy of probabilities in [0, 1] against targets: -(y log p + (1 - y) "
                               "log(1 - p)), each log clamped at -100 (PyTorch).",
                               bce));
  out.push_back(pointwise_loss("binary_cross_entropy_with_logits", {"logits", "targets"}, {},
                               "Binary cross-entropy of sigmoid(logits) against targets, computed stably from the "
                               "logits: max(x, 0) - x y + log(1 + e^-|x|).",
                               bce_logits));
  out.push_back(pointwise_loss(
      "kl_div", {"log_probs", "targets"}, {{"log_target", "bool", false, "targets are log-probabilities too", "false"}},
      "Kullback-Leibler divergence KL(targets || exp(log_probs)) per element: targets * "
      "(log targets - log_probs), 0 where targets = 0 (PyTorch's kl_div). reduction: \"mean\" "
      "(over every element), \"sum\", \"batchmean\" (the sum / the batch size, the true KL per "
      "sample) or \"none\".",
      kl));
}

}  // namespace tessera::ir
