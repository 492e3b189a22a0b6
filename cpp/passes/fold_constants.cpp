// The `fold-constants` pass: an elementwise op whose operands are all constants (tensors of
// one repeated value) becomes a constant. Only correctly rounded operations are folded (+ - * /,
// sqrt, negation, abs, min/max, relu, casts): their value at compile time is bit-identical to
// the kernel's. Transcendental functions are left to the kernels, whose approximations are
// the reference for every target.
#include <cmath>
#include <cstring>
#include <optional>

#include "common/half.hpp"
#include "ir/builder.hpp"
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

std::optional<double> constant_of(const Value* v) {
  if (!v->def || v->def->name != "constant") return std::nullopt;
  const Attr& a = v->def->attrs.at("value");
  return std::holds_alternative<int64_t>(a) ? double(std::get<int64_t>(a)) : std::get<double>(a);
}

// The value `v` takes when stored as `t` (rounded once; integers truncate and wrap).
double round_to(double v, DType t) {
  switch (t) {
    case DType::F64: return v;
    case DType::F32: return double(float(v));
    case DType::F16: return double(half_bits_to_float(double_to_half_bits(v)));
    case DType::BF16: return double(bf16_bits_to_float(double_to_bf16_bits(v)));
    case DType::Bool: return v != 0 ? 1.0 : 0.0;
    default: break;
  }
  if (std::isnan(v) || std::isinf(v)) return 0.0;  // undefined for the kernels too; keep it tame
  int64_t i = int64_t(std::trunc(v));
  switch (t) {
    case DType::I32: return double(int32_t(uint32_t(uint64_t(i))));
    case DType::I8: return double(int8_t(uint8_t(uint64_t(i))));
    case DType::U8: return double(uint8_t(uint64_t(i)));
    default: return double(i);
  }
}

std::optional<double> evaluate(const Op& op, const std::vector<double>& a) {
  const std::string& n = op.name;
  DType t = op.result()->type.dtype;
  bool fp = is_float(t);
  if (a.size() == 2) {
    if (n == "add") return a[0] + a[1];
    if (n == "sub") return a[0] - a[1];
    if (n == "mul") return a[0] * a[1];
    if (n == "div" && fp) return a[0] / a[1];
    if (n == "maximum") return std::isnan(a[0]) || std::isnan(a[1]) ? NAN : std::max(a[0], a[1]);
    if (n == "minimum") return std::isnan(a[0]) || std::isnan(a[1]) ? NAN : std::min(a[0], a[1]);
    return std::nullopt;
  }
  if (a.size() != 1) return std::nullopt;
  if (n == "neg") return -a[0];
  if (n == "abs") return std::fabs(a[0]);
  if (n == "sqrt") return std::sqrt(a[0]);
  if (n == "relu") return std::isnan(a[0]) ? a[0] : std::max(a[0], 0.0);
  if (n == "cast") return a[0];
  return std::nullopt;
}

void fold_block(Block& block) {
  for (auto it = block.ops.begin(); it != block.ops.end(); ++it) {
    Op& op = **it;
    if (op.region) fold_block(*op.region);
    if (op.results.size() != 1 || op.operands.empty() || !op.result()->type.is_tensor()) continue;
    std::vector<double> values;
    for (Value* v : op.operands) {
      auto c = constant_of(v);
      if (!c) break;
      values.push_back(round_to(*c, v->type.dtype));
    }
    if (values.size() != op.operands.size()) continue;
    auto r = evaluate(op, values);
    if (!r) continue;
    const Type& type = op.result()->type;
    double value = round_to(*r, type.dtype);
    Attr attr = is_float(type.dtype) ? Attr(value) : Attr(int64_t(value));
    auto folded = Op::make("constant", {}, {type}, {{"value", attr}, {"type", type}}, op.loc);
    Value* replacement = block.insert(it, std::move(folded))->result();
    replace_all_uses(block, op.result(), replacement);
  }
}

}  // namespace

void fold_constants(Module& m) {
  for (auto& fn : m.funcs)
    if (!fn->attrs.count("kernel")) fold_block(fn->body);
}

}  // namespace tessera::passes
