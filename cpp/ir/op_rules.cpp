// Shared type rules for op definitions.
#include "ir/op_rules.hpp"

namespace tessera::ir {

std::string ints_text(const IntList& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

std::string dim_text(const Dim& d) { return d.is_static() ? std::to_string(d.size) : d.sym; }

std::vector<Dim> broadcast_shapes(const std::string& op, const Type& a, const Type& b) {
  size_t rank = std::max(a.shape.size(), b.shape.size());
  std::vector<Dim> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Align from the right, as NumPy does.
    const Dim* da = i < rank - a.shape.size() ? nullptr : &a.shape[i - (rank - a.shape.size())];
    const Dim* db = i < rank - b.shape.size() ? nullptr : &b.shape[i - (rank - b.shape.size())];
    if (!da)
      out[i] = *db;
    else if (!db)
      out[i] = *da;
    else if (*da == *db)
      out[i] = *da;
    else if (da->is_static() && da->size == 1)
      out[i] = *db;
    else if (db->is_static() && db->size == 1)
      out[i] = *da;
    else if (da->is_static() && db->is_static())
      fail(ErrorCode::Shape, op + ": shapes cannot be broadcast together: " + a.str() + " and " + b.str());
    else  // a symbol broadcasts only with itself and 1: its size is unknown until the call
      fail(ErrorCode::Shape, op + ": shapes cannot be broadcast together: " + a.str() + " and " + b.str() + " (dim " +
                                 dim_text(*da) + " vs " + dim_text(*db) + ": a symbolic dim only broadcasts with " +
                                 "itself or 1; give both the same name, or mark them static)");
  }
  return out;
}

void symbolic_dim_error(const std::string& op, const Type& t, size_t d, const std::string& why) {
  fail(ErrorCode::Shape, op + ": dim " + t.shape[d].sym + " (axis " + std::to_string(d) + " of " + t.str() +
                             ") is symbolic, but " + why + "; mark " + t.shape[d].sym +
                             " static (leave it out of jit's dynamic=)");
}

IntList reshape_shape(const std::string& op, const Type& t) {
  IntList out;
  int symbolic = -1;
  for (size_t d = 0; d < t.shape.size(); ++d) {
    if (t.shape[d].is_static()) {
      out.push_back(t.shape[d].size);
      continue;
    }
    if (symbolic >= 0)
      symbolic_dim_error(op, t, d,
                         "reshaping needs at most one symbolic dim (" + t.shape[size_t(symbolic)].sym + " is another)");
    symbolic = int(d);
    out.push_back(-1);
  }
  return out;
}

namespace {
std::vector<Dim> without_ones(const std::vector<Dim>& s) {
  std::vector<Dim> out;
  for (const Dim& d : s)
    if (d != Dim::of(1)) out.push_back(d);
  return out;
}
}  // namespace

// v reshaped to t's shape: a reshape (-1 for t's one symbolic dim, if any). With several
// symbolic dims, a reshape that only drops and inserts size-1 dims is squeeze + expand_dims.
Value* reshape_value(Builder& b, Value* v, const Type& t) {
  int symbols = 0;
  for (const Dim& d : t.shape) symbols += !d.is_static();
  if (symbols <= 1 || without_ones(v->type.shape) != without_ones(t.shape))
    return b.value("reshape", {v}, {{"shape", reshape_shape("reshape", t)}});
  IntList ones;
  for (int64_t d = 0; d < v->type.rank(); ++d)
    if (v->type.shape[size_t(d)] == Dim::of(1)) ones.push_back(d);
  if (!ones.empty()) v = b.value("squeeze", {v}, {{"axes", ones}});
  for (int64_t d = 0; d < t.rank(); ++d)
    if (t.shape[size_t(d)] == Dim::of(1)) v = b.value("expand_dims", {v}, {{"axis", d}});
  return v;
}

int64_t normalize_axis(const std::string& op, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank || rank == 0)
    fail(ErrorCode::Value,
         op + ": axis " + std::to_string(axis) + " is out of range for a tensor of rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}
void require_tensor(const std::string& op, const Type& t) {
  if (!t.is_tensor()) fail(ErrorCode::Verify, op + ": operands must be tensors, got " + t.str());
}

void require_float(const std::string& op, const Type& t) {
  if (!is_float(t.dtype)) fail(ErrorCode::DType, op + ": needs a floating-point tensor, got " + t.str());
}

OpInfo unary_op(const std::string& name, bool float_only, const std::string& summary) {
  OpInfo info;
  info.name = name;
  info.cls = OpClass::ElementwiseUnary;
  info.min_operands = info.max_operands = 1;
  info.operand_names = {"x"};
  info.summary = summary;
  info.infer = [name, float_only](const std::vector<Type>& in, const AttrMap&) {
    require_tensor(name, in[0]);
    if (float_only) require_float(name, in[0]);
    if (in[0].dtype == DType::Bool) fail(ErrorCode::DType, name + ": not defined for bool tensors");
    return std::vector<Type>{in[0]};
  };
  return info;
}

namespace {
int promotion_rank(DType t) {
  switch (t) {
    case DType::Bool: return 0;
    case DType::U8:
    case DType::I8: return 1;
    case DType::I32: return 2;
    case DType::I64: return 3;
    case DType::F16:
    case DType::BF16: return 4;
    case DType::F32: return 5;
    case DType::F64: return 6;
  }
  return 0;
}

OpInfo two_operand_op(const std::string& name, const std::string& summary) {
  OpInfo info;
  info.name = name;
  info.cls = OpClass::ElementwiseBinary;
  info.min_operands = info.max_operands = 2;
  info.operand_names = {"x", "y"};
  info.summary = summary;
  return info;
}
}  // namespace

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  int ra = promotion_rank(a), rb = promotion_rank(b);
  if (ra == rb) return ra == 1 ? DType::I32 : DType::F32;  // u8+i8 (no i16), f16+bf16
  return ra > rb ? a : b;
}

OpInfo binary_op(const std::string& name, const std::string& summary) {
  OpInfo info = two_operand_op(name, summary);
  info.infer = [name](const std::vector<Type>& in, const AttrMap&) {
    require_tensor(name, in[0]);
    require_tensor(name, in[1]);
    DType dt = promote_types(in[0].dtype, in[1].dtype);
    if (dt == DType::Bool) fail(ErrorCode::DType, name + ": not defined for bool tensors");
    return std::vector<Type>{Type::tensor(dt, broadcast_shapes(name, in[0], in[1]))};
  };
  return info;
}

OpInfo float_binary_op(const std::string& name, const std::string& summary) {
  OpInfo info = two_operand_op(name, summary);
  info.infer = [name](const std::vector<Type>& in, const AttrMap&) {
    require_tensor(name, in[0]);
    require_tensor(name, in[1]);
    DType dt = promote_types(in[0].dtype, in[1].dtype);
    if (!is_float(dt)) dt = DType::F32;
    return std::vector<Type>{Type::tensor(dt, broadcast_shapes(name, in[0], in[1]))};
  };
  return info;
}

OpInfo compare_op(const std::string& name, const std::string& summary) {
  OpInfo info = two_operand_op(name, summary);
  info.infer = [name](const std::vector<Type>& in, const AttrMap&) {
    require_tensor(name, in[0]);
    require_tensor(name, in[1]);
    return std::vector<Type>{Type::tensor(DType::Bool, broadcast_shapes(name, in[0], in[1]))};
  };
  return info;
}

OpInfo logical_op(const std::string& name, int arity, const std::string& summary) {
  OpInfo info = two_operand_op(name, summary);
  info.min_operands = info.max_operands = arity;
  if (arity == 1) {
    info.cls = OpClass::ElementwiseUnary;
    info.operand_names = {"x"};
  }
  info.infer = [name](const std::vector<Type>& in, const AttrMap&) {
    for (const Type& t : in) require_tensor(name, t);
    std::vector<Dim> shape = in[0].shape;
    if (in.size() == 2) shape = broadcast_shapes(name, in[0], in[1]);
    return std::vector<Type>{Type::tensor(DType::Bool, shape)};
  };
  return info;
}

OpInfo reduction_op(const std::string& name, const std::string& summary) {
  OpInfo info;
  info.name = name;
  info.cls = OpClass::Reduction;
  info.min_operands = info.max_operands = 1;
  info.attrs = {{"axis", "int", true, "axis to reduce (negative counts from the end)"},
                {"keepdims", "bool", false, "keep the reduced axis with size 1"}};
  info.summary = summary;
  info.infer = [name](const std::vector<Type>& in, const AttrMap& attrs) {
    require_tensor(name, in[0]);
    if (in[0].dtype == DType::Bool) fail(ErrorCode::DType, name + ": not defined for bool tensors");
    int64_t axis = normalize_axis(name, std::get<int64_t>(attrs.at("axis")), in[0].rank());
    auto kd = attrs.find("keepdims");
    bool keepdims = kd != attrs.end() && std::get<bool>(kd->second);
    std::vector<Dim> shape = in[0].shape;
    if (keepdims)
      shape[size_t(axis)] = Dim::of(1);
    else
      shape.erase(shape.begin() + axis);
    return std::vector<Type>{Type::tensor(in[0].dtype, shape)};
  };
  return info;
}

const AttrSpec kIndexMode{"mode", "str", false,
                          "out-of-range indices: \"clip\" (a negative index counts from the end once, then clamps), "
                          "\"wrap\" (modulo the axis), \"fill\" (reads give fill_value, scatters drop the update) or "
                          "\"error\" (the program raises when it runs)",
                          "\"clip\""};

std::string index_mode(const std::string& op, const AttrMap& attrs) {
  auto it = attrs.find("mode");
  std::string mode = it == attrs.end() ? "clip" : std::get<std::string>(it->second);
  if (mode != "clip" && mode != "wrap" && mode != "fill" && mode != "error")
    fail(ErrorCode::Value, op + ": mode must be \"clip\", \"wrap\", \"fill\" or \"error\", got \"" + mode + "\"");
  return mode;
}

Value* in_bounds_index(ValueAt& e, Value* j, int64_t n, const std::string& mode, Value** valid) {
  Builder& b = e.builder();
  j = b.cast(j, DType::I64);
  if (mode == "wrap") {
    Value* r = e.arith("rem", j, e.i64(n));
    return b.value("arith.select", {b.cmp("lt", r, e.i64(0)), e.arith("add", r, e.i64(n)), r});
  }
  if (valid && mode == "fill") *valid = b.arith("and", b.cmp("ge", j, e.i64(-n)), b.cmp("lt", j, e.i64(n)));
  j = b.value("arith.select", {b.cmp("lt", j, e.i64(0)), e.arith("add", j, e.i64(n)), j});
  return e.arith("min", e.arith("max", j, e.i64(0)), e.i64(n - 1));
}

Value* checked_indices(Builder& b, const Op& op, Value* idx, int64_t n, int64_t axis) {
  Value* j = idx->type.dtype == DType::I64 ? idx : b.value("cast", {idx}, {{"dtype", std::string("i64")}});
  Value* lo = b.value("greater_equal", {j, b.graph_constant(DType::I64, double(-n))});
  Value* hi = b.value("less", {j, b.graph_constant(DType::I64, double(n))});
  Value* ok = b.value("all", {b.value("logical_and", {lo, hi})});
  std::string message = op.name + ": an index is out of range for axis " + std::to_string(axis) + " of size " +
                        std::to_string(n) + " (indices " + idx->type.str() + ", mode \"error\")";
  return b.value("checked", {idx, ok}, {{"message", message}});
}

double number_attr(const Op& op, const std::string& key) {
  const Attr& a = op.attrs.at(key);
  if (auto* i = std::get_if<int64_t>(&a)) return double(*i);
  return std::get<double>(a);
}

}  // namespace tessera::ir
