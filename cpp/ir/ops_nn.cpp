// Neural-network composites: logsumexp, std, softmax, log_softmax and embedding (norms are in
// ops_norms.cpp, losses in ops_losses.cpp). Each is a decomposition into primitives (the
// `decompose` pass expands it before kernels are formed), so autodiff differentiates the
// primitives and none of these ops needs a derivative rule of its own.
#include <cmath>

#include "ir/composite.hpp"

namespace tessera::ir {
namespace {

using namespace composite;

const AttrSpec kAxisAll{"axis", "axes", false,
                        "axis, or list of axes, to reduce (negative counts from the end); absent: every axis", ""};
const AttrSpec kKeepdims{"keepdims", "bool", false, "keep reduced axes with size 1", "false"};
const AttrSpec kLastAxis{"axis", "int", false, "the axis normalised over (negative counts from the end)", "-1"};

// A reduction's attributes with keepdims forced.
AttrMap reduce_attrs(const Op& op, bool keepdims) {
  AttrMap a;
  if (op.has_attr("axis")) a["axis"] = op.attrs.at("axis");
  a["keepdims"] = keepdims;
  return a;
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

// Whether a reduction of `op` (its `axis`: one, a list, or absent for all) combines nothing:
// some reduced dim has size 0.
bool reduces_empty(const Op& op) {
  const Type& x = op.operands[0]->type;
  std::vector<int64_t> axes;
  if (!op.has_attr("axis")) {
    for (int64_t d = 0; d < x.rank(); ++d) axes.push_back(d);
  } else if (auto* one = std::get_if<int64_t>(&op.attrs.at("axis"))) {
    axes.push_back(normalize_axis(op.name, *one, x.rank()));
  } else {
    for (int64_t d : std::get<IntList>(op.attrs.at("axis"))) axes.push_back(normalize_axis(op.name, d, x.rank()));
  }
  for (int64_t d : axes)
    if (x.shape[size_t(d)] == Dim::of(0)) return true;
  return false;
}

OpInfo logsumexp() {
  OpInfo info = make("logsumexp", OpClass::Reduction, {"x"}, {kAxisAll, kKeepdims},
                     "log(sum(exp(x))) over `axis` (every axis when absent), computed stably as "
                     "log(sum(exp(x - m))) + m with m the (finite) maximum. Floating-point inputs only.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("logsumexp", in[0]);
    require_float("logsumexp", in[0]);
    return infer_as("sum", in, a);
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    const Type& out = op.result()->type;
    if (reduces_empty(op)) return {b.graph_constant(out, -INFINITY)};  // log(0): nothing to add
    Value* r = logsumexp_keep(b, op, widen(b, op.operands[0]));
    return {cast_to(b, reshape_to(b, r, Type::tensor(r->type.dtype, out.shape)), out.dtype)};
  };
  return info;
}

OpInfo std_op() {
  OpInfo info = make("std", OpClass::Reduction, {"x"},
                     {kAxisAll,
                      kKeepdims,
                      {"correction", "float", false,
                       "subtracted from n in the divisor "
                       "(NumPy's ddof)",
                       "0"}},
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
  OpInfo info = make(name, OpClass::ElementwiseUnary, {"x"}, {kLastAxis},
                     log ? "log(softmax(x)) along `axis`, computed stably as x - logsumexp(x, axis)."
                         : "exp(x - m) / sum(exp(x - m)) along `axis`, m the (finite) maximum along it.");
  info.infer = [name](const std::vector<Type>& in, const AttrMap& a) {
    auto t = same_float(name, in);
    normalize_axis(name, a.count("axis") ? std::get<int64_t>(a.at("axis")) : -1, in[0].rank());
    return t;
  };
  info.decompose = [log](Builder& b, const Op& op) -> std::vector<Value*> {
    if (op.operands[0]->type.shape[size_t(axis_of(op, -1))] == Dim::of(0))
      return {b.graph_constant(op.result()->type, 0.0)};  // no elements at all
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

OpInfo embedding() {
  OpInfo info = make("embedding", OpClass::DataMovement, {"indices", "weight"}, {kIndexMode},
                     "Rows of weight [V, ...] picked by integer indices: take(weight, indices, axis=0), "
                     "shape indices.shape + weight.shape[1:] (gradient w.r.t. weight via take's VJP).");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("embedding", in[1]);
    if (in[1].rank() < 1) fail(ErrorCode::Shape, "embedding: weight must have rank >= 1, got " + in[1].str());
    AttrMap take_attrs = a;
    take_attrs["axis"] = int64_t(0);
    return infer_as("take", {in[1], in[0]}, take_attrs);
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    AttrMap a = op.attrs;
    a["axis"] = int64_t(0);
    return {b.value("take", {op.operands[1], op.operands[0]}, a)};
  };
  return info;
}

}  // namespace

void register_random_ops(std::vector<OpInfo>& out);     // ops_random.cpp
void register_einsum_ops(std::vector<OpInfo>& out);     // ops_einsum.cpp
void register_attention_ops(std::vector<OpInfo>& out);  // ops_attention.cpp
void register_norm_ops(std::vector<OpInfo>& out);       // ops_norms.cpp
void register_loss_ops(std::vector<OpInfo>& out);       // ops_losses.cpp
void register_rearrange_ops(std::vector<OpInfo>& out);  // ops_rearrange.cpp

void register_nn_ops(std::vector<OpInfo>& out) {
  out.push_back(logsumexp());
  out.push_back(std_op());
  out.push_back(softmax(false));
  out.push_back(softmax(true));
  out.push_back(embedding());
  register_norm_ops(out);
  register_loss_ops(out);
  register_rearrange_ops(out);
  register_random_ops(out);
  register_einsum_ops(out);
  register_attention_ops(out);
}

}  // namespace tessera::ir
