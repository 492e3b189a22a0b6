// Op registry storage and the generic per-op check used by the verifier.
#include "ir/registry.hpp"

#include <map>
#include <mutex>

#include "ir/ops.hpp"

namespace tessera::ir {
namespace {

std::map<std::string, OpInfo>& table() {
  static std::map<std::string, OpInfo> t;
  return t;
}

void ensure_registered() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<OpInfo> ops;
    register_elementwise_ops(ops);
    register_math_ops(ops);
    register_reduction_ops(ops);
    register_contraction_ops(ops);
    register_movement_ops(ops);
    register_tile_ops(ops);
    register_structural_ops(ops);
    register_autodiff_ops(ops);
    register_control_ops(ops);
    register_nn_ops(ops);
    register_window_ops(ops);
    register_conv_ops(ops);
    register_sort_ops(ops);
    register_segment_ops(ops);
    register_linalg_ops(ops);
    register_decomposition_ops(ops);
    register_moe_ops(ops);
    register_transformer_ops(ops);
    register_packed_ops(ops);
    register_collective_ops(ops);
    for (auto& info : ops) {
      std::string name = info.name;
      table().emplace(name, std::move(info));
    }
    attach_derivatives(table());
    attach_batching(table());
  });
}

bool attr_has_kind(const Attr& a, const std::string& kind) {
  if (kind == "int") return std::holds_alternative<int64_t>(a);
  if (kind == "float") return std::holds_alternative<double>(a) || std::holds_alternative<int64_t>(a);
  if (kind == "bool") return std::holds_alternative<bool>(a);
  if (kind == "str") return std::holds_alternative<std::string>(a);
  if (kind == "ints") return std::holds_alternative<IntList>(a);
  if (kind == "axes" || kind == "sizes")
    return std::holds_alternative<int64_t>(a) || std::holds_alternative<IntList>(a);
  if (kind == "padding")
    return std::holds_alternative<int64_t>(a) || std::holds_alternative<IntList>(a) ||
           std::holds_alternative<std::string>(a);
  if (kind == "type") return std::holds_alternative<Type>(a);
  return true;  // "any"
}

std::string types_str(const std::vector<Type>& ts) {
  std::string s;
  for (size_t i = 0; i < ts.size(); ++i) s += (i ? ", " : "") + ts[i].str();
  return s;
}

}  // namespace

const OpInfo* lookup_op(const std::string& name) {
  ensure_registered();
  auto it = table().find(name);
  return it == table().end() ? nullptr : &it->second;
}

std::vector<const OpInfo*> all_ops() {
  ensure_registered();
  std::vector<const OpInfo*> out;
  for (auto& [name, info] : table()) out.push_back(&info);
  return out;
}

void check_attrs(const OpInfo& info, const AttrMap& attrs) {
  for (const auto& spec : info.attrs) {
    auto it = attrs.find(spec.name);
    if (it == attrs.end()) {
      if (spec.required) fail(ErrorCode::Verify, info.name + ": missing attribute '" + spec.name + "'");
      continue;
    }
    if (!attr_has_kind(it->second, spec.kind))
      fail(ErrorCode::Verify, info.name + ": attribute '" + spec.name + "' must be of kind " + spec.kind + ", got " +
                                  attr_str(it->second));
  }
  for (const auto& [name, value] : attrs) {
    // Any op may carry its results' sharding (sharding.hpp).
    bool known = name == "sharding" && std::holds_alternative<std::string>(value);
    for (const auto& spec : info.attrs) known = known || spec.name == name;
    if (!known) fail(ErrorCode::Verify, info.name + ": unknown attribute '" + name + "'");
  }
}

namespace {

void check_operand_count(const OpInfo& info, int n, ErrorCode code, const std::string& loc) {
  if (n >= info.min_operands && (info.max_operands < 0 || n <= info.max_operands)) return;
  std::string want = info.max_operands < 0 ? "at least " + std::to_string(info.min_operands)
                     : info.min_operands == info.max_operands
                         ? std::to_string(info.min_operands)
                         : std::to_string(info.min_operands) + " to " + std::to_string(info.max_operands);
  fail(code, info.name + ": expects " + want + " operands, got " + std::to_string(n), loc);
}

}  // namespace

std::vector<Type> infer_types(const std::string& name, const std::vector<Type>& in, const AttrMap& attrs) {
  const OpInfo* info = lookup_op(name);
  if (!info || !info->infer) fail(ErrorCode::Value, "unknown op '" + name + "' (the registry's ops: docs/ops.md)");
  check_operand_count(*info, int(in.size()), ErrorCode::Value, "");
  check_attrs(*info, attrs);
  return info->infer(in, attrs);
}

void check_op(const Op& op) {
  const OpInfo* info = lookup_op(op.name);
  if (!info) fail(ErrorCode::Verify, "unknown op '" + op.name + "'", op.loc.str());
  check_operand_count(*info, int(op.operands.size()), ErrorCode::Verify, op.loc.str());
  if (info->has_region != bool(op.region) && !(info->region_optional && !op.region))
    fail(ErrorCode::Verify, op.name + (info->has_region ? ": needs a region" : ": takes no region"), op.loc.str());
  try {
    check_attrs(*info, op.attrs);
    if (info->infer) {
      std::vector<Type> in;
      for (Value* v : op.operands) in.push_back(v->type);
      std::vector<Type> want = info->infer(in, op.attrs);
      std::vector<Type> got;
      for (auto& r : op.results) got.push_back(r->type);
      if (want != got)
        fail(ErrorCode::Verify,
             op.name + ": result types (" + types_str(got) + ") do not match the inferred (" + types_str(want) + ")");
    }
    if (info->verify_op) info->verify_op(op);
  } catch (const Error& e) {
    if (!e.location().empty() || !op.loc.known()) throw;
    throw Error(e.code(), e.message(), op.loc.str());
  }
}

}  // namespace tessera::ir
