// Sorting and scans along one axis (issue 18). Primitives with kernels of their own:
//   argsort(x)                       the stable sorting permutation (tilegen/sort.cpp: a
//                                    bitonic network over index pairs, keys read through them)
//   cumsum, cumprod, cummax, cummin  inclusive scans (tilegen/scan.cpp: a lane per row walks
//   cumargmax, cumargmin             the axis), optionally from the end (`reverse`)
// and `sort`, the values in that order (a gather, so it differentiates).
// Order: NaN is the largest value (last ascending, first descending, as NumPy and PyTorch);
// equal keys keep their index order in both directions.
#include "ir/composite.hpp"

namespace tessera::ir {
namespace {

using namespace composite;

const char* const kSortCpuOnly = "the sort kernel keeps a row's compare-exchange steps in one CPU program instance";
const AttrSpec kAxis{"axis", "int", false, "the axis (negative counts from the end)", "-1"};
const AttrSpec kDescending{"descending", "bool", false, "largest first (ties still in index order)", "false"};
const AttrSpec kReverse{"reverse", "bool", false, "scan from the last element to the first", "false"};

int64_t checked_axis(const std::string& op, const Type& x, const AttrMap& a) {
  require_tensor(op, x);
  if (x.rank() == 0) fail(ErrorCode::Value, op + ": needs a tensor of rank >= 1, got " + x.str());
  int64_t axis = normalize_axis(op, a.count("axis") ? std::get<int64_t>(a.at("axis")) : -1, x.rank());
  if (!x.shape[size_t(axis)].is_static())
    symbolic_dim_error(op, x, size_t(axis), "the sorted or scanned axis must have a static size");
  return axis;
}

OpInfo primitive(const std::string& name, std::vector<AttrSpec> attrs, const std::string& summary) {
  OpInfo info;
  info.name = name;
  info.cls = OpClass::DataMovement;  // kernels of their own (form-kernels picks them by name)
  info.operand_names = {"x"};
  info.min_operands = info.max_operands = 1;
  info.attrs = std::move(attrs);
  info.summary = summary;
  return info;
}

// Without an `axis` attribute: the same op with the default (-1) written out, so that
// kernels and rules find it.
std::vector<Value*> with_axis(Builder& b, const Op& op) {
  if (op.has_attr("axis")) return {};
  AttrMap a = op.attrs;
  a["axis"] = int64_t(-1);
  return {b.value(op.name, {op.operands[0]}, a)};
}

OpInfo argsort() {
  OpInfo info = primitive("argsort", {kAxis, kDescending},
                          "Indices (i64) that sort x along `axis`, stable: equal values keep their order; NaN sorts "
                          "as the largest value. O(n log^2 n) per row (a bitonic network); CPU only for now.");
  info.cpu_only = kSortCpuOnly;
  info.decompose = with_axis;
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    checked_axis("argsort", in[0], a);
    if (in[0].dtype == DType::Bool) fail(ErrorCode::DType, "argsort: not defined for bool tensors (cast to int8)");
    return std::vector<Type>{Type::tensor(DType::I64, in[0].shape)};
  };
  return info;
}

OpInfo sort() {
  OpInfo info = make("sort", OpClass::DataMovement, {"x"}, {kAxis, kDescending},
                     "x sorted along `axis` (stable; NaN largest): gather(x, argsort(x)), so the gradient flows "
                     "back to where each value came from.");
  info.cpu_only = kSortCpuOnly;
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    infer_as("argsort", in, a);
    return std::vector<Type>{in[0]};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    int64_t axis = checked_axis("sort", op.operands[0]->type, op.attrs);
    Value* idx = b.value("argsort", {op.operands[0]}, op.attrs);
    return {b.value("gather", {op.operands[0], idx}, {{"axis", axis}})};
  };
  return info;
}

// The scans' result dtype: sums and products of integers and bools in i64 (as NumPy).
DType scan_dtype(const std::string& op, DType in) {
  if (op == "cumargmax" || op == "cumargmin") return DType::I64;
  if ((op == "cumsum" || op == "cumprod") && !is_float(in)) return DType::I64;
  return in;
}

OpInfo scan(const std::string& name, const std::string& what) {
  OpInfo info = primitive(name, {{"axis", "int", true, "the axis scanned (negative counts from the end)"}, kReverse},
                          what + " along `axis`: element i combines elements 0..i (reverse: i..n-1).");
  info.infer = [name](const std::vector<Type>& in, const AttrMap& a) {
    checked_axis(name, in[0], a);
    if (in[0].dtype == DType::Bool && (name == "cummax" || name == "cummin" || name.rfind("cumarg", 0) == 0))
      fail(ErrorCode::DType, name + ": not defined for bool tensors");
    return std::vector<Type>{Type::tensor(scan_dtype(name, in[0].dtype), in[0].shape)};
  };
  return info;
}

}  // namespace

bool is_scan(const std::string& name) {
  return name == "cumsum" || name == "cumprod" || name == "cummax" || name == "cummin" || name == "cumargmax" ||
         name == "cumargmin";
}

void register_sort_ops(std::vector<OpInfo>& out) {
  out.push_back(argsort());
  out.push_back(sort());
  out.push_back(scan("cumsum", "Running sum"));
  out.push_back(scan("cumprod", "Running product"));
  out.push_back(scan("cummax", "Running maximum (NaN propagates)"));
  out.push_back(scan("cummin", "Running minimum (NaN propagates)"));
  out.push_back(
      scan("cumargmax", "Index (i64) of the running maximum (its first occurrence; a NaN wins, as in argmax)"));
  out.push_back(
      scan("cumargmin", "Index (i64) of the running minimum (its first occurrence; a NaN wins, as in argmin)"));
}

}  // namespace tessera::ir
