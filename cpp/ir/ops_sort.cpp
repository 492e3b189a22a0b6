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

const char* const kSortCpuOnly =
    "the sort kernel keeps a row's compare-exchange steps in one program instance; its GPU path (a barrier per "
    "step) awaits a GPU run";

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

// Without an `axis` attribute: the same op with the default (-1) written out, so that
// kernels and rules find it.
std::vector<Value*> with_axis(Builder& b, const Op& op) {
  if (op.has_attr("axis")) return {};
  AttrMap a = op.attrs;
  a["axis"] = int64_t(-1);
  return {b.value(op.name, {op.operands[0]}, a)};
}

OpInfo argsort() {
  OpInfo info = movement("argsort", {"x"}, {kAxis, kDescending},  // a kernel of its own (form-kernels)
                         "Indices (i64) that sort x along `axis`, stable: equal values keep their order; NaN sorts "
                         "as the largest value. O(n log^2 n) per row (a bitonic network).");
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
  OpInfo info =
      movement(name, {"x"}, {{"axis", "int", true, "the axis scanned (negative counts from the end)"}, kReverse},
               what + " along `axis`: element i combines elements 0..i (reverse: i..n-1).");
  info.infer = [name](const std::vector<Type>& in, const AttrMap& a) {
    checked_axis(name, in[0], a);
    if (in[0].dtype == DType::Bool && (name == "cummax" || name == "cummin" || name.rfind("cumarg", 0) == 0))
      fail(ErrorCode::DType, name + ": not defined for bool tensors");
    return std::vector<Type>{Type::tensor(scan_dtype(name, in[0].dtype), in[0].shape)};
  };
  return info;
}

// ---- searchsorted ----

// Whether the sorted element a comes before value v (side "left": a < v; "right": a <= v), NaN
// being the largest value.
Value* before(Builder& b, Value* a, Value* v, bool right) {
  Value* r = op2(b, right ? "less_equal" : "less", a, v);
  if (!is_float(a->type.dtype)) return r;
  Value* v_nan = b.value("isnan", {v});
  return b.value("logical_or",
                 {r, right ? v_nan : b.value("logical_and", {v_nan, b.value("logical_not", {b.value("isnan", {a})})})});
}

OpInfo searchsorted() {
  OpInfo info =
      make("searchsorted", OpClass::DataMovement, {"sorted_sequence", "values"},
           {{"side", "str", false, "\"left\": the first position where a value fits; \"right\": the last", "\"left\""}},
           "Insertion points (i64) of values into sorted_sequence along its last axis, as numpy.searchsorted "
           "(NaN sorts last): sorted_sequence [M] with values of any shape, or [..., M] with values [..., V] "
           "(the same leading dims). A binary search: ceil(log2(M + 1)) gathers per value.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    const Type &s = in[0], &v = in[1];
    require_tensor("searchsorted", s);
    require_tensor("searchsorted", v);
    std::string side = a.count("side") ? std::get<std::string>(a.at("side")) : "left";
    if (side != "left" && side != "right")
      fail(ErrorCode::Value, "searchsorted: side must be \"left\" or \"right\", got \"" + side + "\"");
    if (s.rank() < 1 || !s.shape.back().is_static())
      fail(ErrorCode::Shape, "searchsorted: sorted_sequence must have a static last axis, got " + s.str());
    if (s.dtype == DType::Bool || v.dtype == DType::Bool)
      fail(ErrorCode::DType, "searchsorted: not defined for bool tensors");
    if (s.rank() > 1 && (v.rank() != s.rank() || !std::equal(s.shape.begin(), s.shape.end() - 1, v.shape.begin())))
      fail(ErrorCode::Shape,
           "searchsorted: values " + v.str() + " must share the leading dims of sorted_sequence " + s.str());
    return std::vector<Type>{Type::tensor(DType::I64, v.shape)};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value *s = op.operands[0], *v = op.operands[1];
    const Type& out = op.result()->type;
    const bool right = op.has_attr("side") && op.str_attr("side") == "right";
    const int64_t m = s->type.shape.back().size;
    DType common = promote_types(s->type.dtype, v->type.dtype);
    s = cast_to(b, s, common), v = cast_to(b, v, common);
    auto i64 = [&](double x) { return b.graph_constant(DType::I64, x); };
    Value* lo = b.graph_constant(out, 0.0);
    Value* hi = b.graph_constant(out, double(m));
    for (int64_t span = m; span > 0; span /= 2) {  // ceil(log2(m + 1)) halvings of [lo, hi)
      Value* mid = op2(b, "floor_divide", op2(b, "add", lo, hi), i64(2));
      Value* at = op2(b, "minimum", mid, i64(double(std::max<int64_t>(m - 1, 0))));
      Value* a = s->type.rank() == 1 ? b.value("take", {s, at}, {{"axis", int64_t(0)}})
                                     : b.value("gather", {s, at}, {{"axis", int64_t(-1)}});
      Value* active = op2(b, "less", lo, hi);
      Value* go_right = before(b, a, v, right);
      lo = b.value("where", {b.value("logical_and", {active, go_right}), op2(b, "add", mid, i64(1)), lo});
      hi = b.value("where", {b.value("logical_and", {active, b.value("logical_not", {go_right})}), mid, hi});
    }
    return {lo};
  };
  return info;
}

// ---- unique ----

OpInfo unique() {
  OpInfo info = make("unique", OpClass::DataMovement, {"x"},
                     {{"size", "int", true, "the result's length: the first `size` distinct values are kept"},
                      {"fill_value", "float", false, "the value of the slots past the distinct values", "0.0"}},
                     "The distinct values of x (flattened), sorted, in a tensor of static length `size` (as "
                     "jax.numpy.unique(size=)); NaNs count as one value, sorted last.");
  info.cpu_only = kBuiltOnScatter;
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("unique", in[0]);
    if (!in[0].has_static_shape()) fail(ErrorCode::Shape, "unique: needs static sizes, got " + in[0].str());
    int64_t size = std::get<int64_t>(a.at("size"));
    if (size < 0) fail(ErrorCode::Value, "unique: size must be >= 0, got " + std::to_string(size));
    return std::vector<Type>{Type::tensor(in[0].dtype, std::vector<int64_t>{size})};
  };
  // Sorted values; a run starts where a value differs from the one before (NaNs equal); the
  // run's first value goes to slot (runs so far - 1), slots past `size` are dropped.
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    const Type& out = op.result()->type;
    const int64_t n = op.operands[0]->type.numel();
    Value* fill = b.graph_constant(out, op.has_attr("fill_value") ? number_attr(op, "fill_value") : 0.0);
    if (n == 0) return {fill};
    Value* x = b.value("sort", {reshape_to(b, op.operands[0], Type::tensor(out.dtype, std::vector<int64_t>{n}))},
                       {{"axis", int64_t(0)}});
    Value* prev = b.value("pad", {b.value("slice", {x}, {{"start", IntList{0}}, {"stop", IntList{n - 1}}})},
                          {{"pad", IntList{1, 0}}});
    Value* same = op2(b, "equal", x, prev);
    if (is_float(out.dtype))
      same = b.value("logical_or", {same, b.value("logical_and", {b.value("isnan", {x}), b.value("isnan", {prev})})});
    Value* first =
        b.value("concat",
                {b.graph_constant(Type::tensor(DType::Bool, std::vector<int64_t>{1}), 1.0),
                 b.value("slice", {b.value("logical_not", {same})}, {{"start", IntList{1}}, {"stop", IntList{n}}})},
                {{"axis", int64_t(0)}});
    Value* slot = op2(b, "sub", b.value("cumsum", {cast_to(b, first, DType::I64)}, {{"axis", int64_t(0)}}),
                      b.graph_constant(DType::I64, 1.0));
    Value* drop = b.graph_constant(DType::I64, double(out.shape[0].size));  // repeats: past the end, dropped
    Value* where_to = b.value("where", {first, slot, drop});
    return {b.value("scatter", {fill, where_to, x}, {{"axis", int64_t(0)}, {"mode", std::string("fill")}})};
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
  out.push_back(searchsorted());
  out.push_back(unique());
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
