// Shared builders of composite ops (composite.hpp).
#include "ir/composite.hpp"

namespace tessera::ir::composite {

Value* op1(Builder& b, const std::string& name, Value* x, AttrMap a) { return b.value(name, {x}, std::move(a)); }
Value* op2(Builder& b, const std::string& name, Value* x, Value* y) { return b.value(name, {x, y}); }

Value* cast_to(Builder& b, Value* x, DType dt) {
  if (x->type.dtype == dt) return x;
  return op1(b, "cast", x, {{"dtype", std::string(dtype_name(dt))}});
}

Value* widen(Builder& b, Value* x) { return cast_to(b, x, compute_dtype(x->type.dtype)); }

Value* reshape_to(Builder& b, Value* x, const Type& t) {
  if (x->type.shape == t.shape) return x;
  return reshape_value(b, x, t);
}

std::vector<Type> infer_as(const std::string& op, const std::vector<Type>& in, const AttrMap& a) {
  return lookup_op(op)->infer(in, a);
}

OpInfo make(const std::string& name, OpClass cls, std::vector<std::string> operands, std::vector<AttrSpec> attrs,
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

int64_t axis_of(const Op& op, int64_t dflt) {
  return normalize_axis(op.name, op.int_attr("axis", dflt), op.operands[0]->type.rank());
}

const char* const kBuiltOnScatter = "built on scatter_add, whose many-to-one updates run on the CPU only for now";

const AttrSpec kReduction{"reduction", "str", false, "mean, sum or none (per element)", "\"mean\""};

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

}  // namespace tessera::ir::composite
