// Data-movement Graph IR ops: type rules, and `lower_at`, the element of the result at given
// coordinates read from the operands at mapped coordinates. Fused kernels compose these
// mappings (tilegen/value_emitter.cpp), so a transpose or slice costs index arithmetic only.
#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "ir/op_rules.hpp"

namespace tessera::ir {

OpInfo movement(const std::string& name, std::vector<std::string> operands, std::vector<AttrSpec> attrs,
                const std::string& summary) {
  OpInfo info;
  info.name = name;
  info.cls = OpClass::DataMovement;
  info.operand_names = std::move(operands);
  bool variadic = info.operand_names.size() == 1 && info.operand_names[0] == "xs";
  info.min_operands = variadic ? 1 : int(info.operand_names.size());
  info.max_operands = variadic ? -1 : info.min_operands;
  info.attrs = std::move(attrs);
  info.summary = summary;
  return info;
}

namespace {

using Shape = std::vector<int64_t>;
using Coords = ValueAt::Coords;

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

// The static shape of `t` for an op that needs every size (an error names a symbolic dim).
Shape dims(const std::string& op, const Type& t, const std::string& why = "it needs every size") {
  require_tensor(op, t);
  for (size_t d = 0; d < t.shape.size(); ++d)
    if (!t.shape[d].is_static()) symbolic_dim_error(op, t, d, why);
  return t.static_shape();
}
bool is_one(const Dim& d) { return d == Dim::of(1); }

IntList ints_or(const AttrMap& a, const std::string& k, IntList dflt = {}) {
  auto it = a.find(k);
  return it == a.end() ? dflt : std::get<IntList>(it->second);
}
int64_t int_or(const AttrMap& a, const std::string& k, int64_t dflt) {
  auto it = a.find(k);
  return it == a.end() ? dflt : std::get<int64_t>(it->second);
}
int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}
std::vector<Type> one(DType dt, const Shape& s) { return {Type::tensor(dt, s)}; }

// The dtype joined tensors promote to (docs/dtype_promotion.md).
DType promoted(const std::vector<Type>& in) {
  DType dt = in[0].dtype;
  for (const Type& t : in) dt = promote_types(dt, t.dtype);
  return dt;
}

// concat / stack of tensors of several dtypes: each converted to the result's dtype first.
std::vector<Value*> cast_operands(Builder& b, const Op& op) {
  DType dt = op.result()->type.dtype;
  bool mixed = false;
  for (Value* v : op.operands) mixed = mixed || v->type.dtype != dt;
  if (!mixed) return {};
  std::vector<Value*> xs;
  for (Value* v : op.operands)
    xs.push_back(v->type.dtype == dt ? v : b.value("cast", {v}, {{"dtype", std::string(dtype_name(dt))}}));
  return {b.value(op.name, xs, op.attrs)};
}

const char* const kScatterCpuOnly = "many-to-one updates need atomics or a sorted update kernel on GPUs";

// The element of index operand `idx` at `c` as an in-bounds index into an axis of `n`, by the
// op's mode (kIndexMode); with "fill", `*valid` says whether it was in range. "error" checks
// before the op runs (decompose), so here it reads like "clip".
Value* index_at(ValueAt& e, const Op& op, Value* idx, const Coords& c, int64_t n, Value** valid) {
  std::string mode = index_mode(op.name, op.attrs);
  if (mode == "error") mode = "clip";
  return in_bounds_index(e, e.at(idx, c), n, mode, mode == "fill" ? valid : nullptr);
}

// The value read where the index was out of range (mode "fill"): fill_value, by default NaN
// for floats and 0 for integers and bools.
Value* fill_value(Builder& b, const Op& op) {
  DType dt = compute_dtype(op.result()->type.dtype);
  double v = op.has_attr("fill_value") ? number_attr(op, "fill_value") : is_float(dt) ? NAN : 0.0;
  return b.constant(dt, dt == DType::Bool ? double(v != 0.0) : v);
}

// mode "error": the same op on indices checked when the program runs (operand `which`).
std::vector<Value*> check_then(Builder& b, const Op& op, size_t which, int64_t axis) {
  if (index_mode(op.name, op.attrs) != "error") return {};
  std::vector<Value*> xs = op.operands;
  const Type& x = op.operands[0]->type;
  if (!x.shape[size_t(axis)].is_static())
    symbolic_dim_error(op.name, x, size_t(axis), "its indices are checked against its size");
  xs[which] = checked_indices(b, op, xs[which], x.shape[size_t(axis)].size, axis);
  AttrMap a = op.attrs;
  a["mode"] = std::string("clip");
  return {b.value(op.name, xs, a)};
}

const AttrSpec kFillValue{"fill_value", "float", false,
                          "mode \"fill\": the value read for out-of-range indices "
                          "(default NaN for floats, 0 for integers)",
                          ""};

void require_index(const std::string& op, const Type& t) {
  if (!is_integer(t.dtype)) fail(ErrorCode::DType, op + ": indices must be an integer tensor, got " + t.str());
}

// ---- reshape family ----

// The static sizes of `x` multiplied, and its symbolic dims (the first one's axis in `axis`).
int64_t static_numel(const Type& x, std::vector<Dim>& symbols, size_t& axis) {
  int64_t n = 1;
  for (size_t d = 0; d < x.shape.size(); ++d) {
    if (x.shape[d].is_static()) {
      n *= x.shape[d].size;
      continue;
    }
    if (symbols.empty()) axis = d;
    symbols.push_back(x.shape[d]);
  }
  return n;
}

// A symbolic operand can be reshaped only when -1 stands for exactly its one symbolic dim:
// the static sizes on both sides must have the same product ([B,4,32] -> [-1,128] gives [B,128]).
std::vector<Dim> symbolic_reshape(const Type& x, const Shape& out, int64_t known, int64_t free) {
  std::vector<Dim> symbols;
  size_t axis = 0;
  int64_t n = static_numel(x, symbols, axis);
  if (free < 0) symbolic_dim_error("reshape", x, axis, "a target shape of sizes cannot hold it (write -1 for it)");
  if (symbols.size() > 1)
    symbolic_dim_error("reshape", x, axis,
                       "-1 can stand for only one symbolic dim, not " + symbols[0].sym + "*" + symbols[1].sym);
  if (n != known)
    symbolic_dim_error("reshape", x, axis,
                       "-1 in " + shape_str(out) + " would be " + symbols[0].sym + "*" + std::to_string(n) + "/" +
                           std::to_string(known) + ", not a dim");
  std::vector<Dim> s;
  for (size_t i = 0; i < out.size(); ++i) s.push_back(int64_t(i) == free ? symbols[0] : Dim::of(out[i]));
  return s;
}

std::vector<Dim> reshape_target(const Type& x, const AttrMap& a) {
  require_tensor("reshape", x);
  Shape out = std::get<IntList>(a.at("shape"));
  int64_t known = 1, free = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1 && free < 0)
      free = int64_t(i);
    else if (out[i] < 0)
      fail(ErrorCode::Value, "reshape: bad target shape " + shape_str(out) + " for " + x.str());
    else
      known *= out[i];
  }
  if (!x.has_static_shape()) return symbolic_reshape(x, out, known, free);
  Shape in = x.static_shape();
  if (free >= 0) {
    if (known == 0 || numel(in) % known != 0)
      fail(ErrorCode::Shape, "reshape: cannot infer -1 reshaping " + x.str() + " to " + shape_str(out));
    out[size_t(free)] = numel(in) / known;
  }
  if (numel(out) != numel(in))
    fail(ErrorCode::Shape,
         "reshape: cannot reshape " + x.str() + " (" + std::to_string(numel(in)) + " elements) to " + shape_str(out));
  std::vector<Dim> s;
  for (int64_t n : out) s.push_back(Dim::of(n));
  return s;
}

Shape perm_of(const Type& x, const AttrMap& a) {
  int64_t r = x.rank();
  Shape perm = ints_or(a, "perm");
  if (perm.empty())
    for (int64_t i = r; i-- > 0;) perm.push_back(i);
  if (int64_t(perm.size()) != r)
    fail(ErrorCode::Value, "transpose: perm " + shape_str(perm) + " does not match " + x.str());
  std::set<int64_t> seen;
  for (auto& p : perm) {
    p = normalize_axis("transpose", p, r);
    if (!seen.insert(p).second) fail(ErrorCode::Value, "transpose: perm " + shape_str(perm) + " repeats an axis");
  }
  return perm;
}

Shape squeezed_axes(const Type& x, const AttrMap& a) {
  require_tensor("squeeze", x);
  Shape axes = ints_or(a, "axes");
  if (axes.empty()) {
    for (size_t d = 0; d < x.shape.size(); ++d) {
      if (!x.shape[d].is_static())
        symbolic_dim_error("squeeze", x, d,
                           "squeezing every size-1 axis needs to know "
                           "whether it is 1 (name the axes to drop)");
      if (is_one(x.shape[d])) axes.push_back(int64_t(d));
    }
  }
  for (auto& ax : axes) {
    ax = normalize_axis("squeeze", ax, x.rank());
    const Dim& n = x.shape[size_t(ax)];
    if (!n.is_static()) symbolic_dim_error("squeeze", x, size_t(ax), "squeeze needs a size-1 axis");
    if (n.size != 1)
      fail(ErrorCode::Shape, "squeeze: axis " + std::to_string(ax) + " of " + x.str() + " has size " +
                                 std::to_string(n.size) + ", not 1");
  }
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return axes;
}

void add_reshape_family(std::vector<OpInfo>& out) {
  OpInfo r = movement("reshape", {"x"}, {{"shape", "ints", true, "the new shape; one entry may be -1"}},
                      "The elements in row-major order, viewed with a new shape of the same size.");
  r.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    return std::vector<Type>{Type::tensor(in[0].dtype, reshape_target(in[0], a))};
  };
  r.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    Value* x = op.operands[0];
    return e.at(x, e.unflatten(e.flatten(c, op.result()->type.static_shape()), x->type.static_shape()));
  };
  out.push_back(r);

  OpInfo t = movement("transpose", {"x"},
                      {{"perm", "ints", false, "result axis i is input axis perm[i]; default reverses", "[]"}},
                      "Permutes the axes.");
  t.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("transpose", in[0]);
    std::vector<Dim> s;
    for (int64_t p : perm_of(in[0], a)) s.push_back(in[0].shape[size_t(p)]);
    return std::vector<Type>{Type::tensor(in[0].dtype, s)};
  };
  t.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    Shape perm = perm_of(op.operands[0]->type, op.attrs);
    Coords ci(c.size());
    for (size_t i = 0; i < perm.size(); ++i) ci[size_t(perm[i])] = c[i];
    return e.at(op.operands[0], ci);
  };
  out.push_back(t);

  OpInfo bt = movement("broadcast_to", {"x"}, {{"shape", "ints", true, "the target shape"}},
                       "Repeats size-1 and missing leading dims to a larger shape (NumPy broadcasting).");
  bt.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    Shape x = dims("broadcast_to", in[0], "its target shape is static"), to = std::get<IntList>(a.at("shape"));
    bool ok = x.size() <= to.size();
    for (size_t i = 0; ok && i < x.size(); ++i) {
      int64_t t = to[to.size() - x.size() + i];
      ok = x[i] == t || (x[i] == 1 && t >= 0);
    }
    for (int64_t t : to) ok = ok && t >= 0;
    if (!ok) fail(ErrorCode::Shape, "broadcast_to: cannot broadcast " + in[0].str() + " to " + shape_str(to));
    return one(in[0].dtype, to);
  };
  bt.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    Shape x = op.operands[0]->type.static_shape();
    size_t lead = c.size() - x.size();
    Coords ci;
    for (size_t d = 0; d < x.size(); ++d) ci.push_back(x[d] == 1 ? e.i64(0) : c[lead + d]);
    return e.at(op.operands[0], ci);
  };
  out.push_back(bt);

  OpInfo ex = movement("expand_dims", {"x"}, {{"axis", "int", true, "where the new size-1 axis goes"}},
                       "Inserts a size-1 axis.");
  ex.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("expand_dims", in[0]);
    int64_t axis = normalize_axis("expand_dims", std::get<int64_t>(a.at("axis")), in[0].rank() + 1);
    std::vector<Dim> s = in[0].shape;
    s.insert(s.begin() + axis, Dim::of(1));
    return std::vector<Type>{Type::tensor(in[0].dtype, s)};
  };
  ex.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    int64_t axis = normalize_axis("expand_dims", op.int_attr("axis"), int64_t(c.size()));
    Coords ci = c;
    ci.erase(ci.begin() + axis);
    return e.at(op.operands[0], ci);
  };
  out.push_back(ex);

  OpInfo sq = movement("squeeze", {"x"}, {{"axes", "ints", false, "size-1 axes to drop; default all", "[]"}},
                       "Removes size-1 axes.");
  sq.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    Shape axes = squeezed_axes(in[0], a);
    std::vector<Dim> s;
    for (size_t d = 0; d < in[0].shape.size(); ++d)
      if (!std::binary_search(axes.begin(), axes.end(), int64_t(d))) s.push_back(in[0].shape[d]);
    return std::vector<Type>{Type::tensor(in[0].dtype, s)};
  };
  sq.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    Shape axes = squeezed_axes(op.operands[0]->type, op.attrs);
    Coords ci;
    size_t k = 0;
    for (int64_t d = 0; d < op.operands[0]->type.rank(); ++d)
      ci.push_back(std::binary_search(axes.begin(), axes.end(), d) ? e.i64(0) : c[k++]);
    return e.at(op.operands[0], ci);
  };
  out.push_back(sq);
}

// ---- joining and cutting ----

void add_join_ops(std::vector<OpInfo>& out) {
  OpInfo cat = movement("concat", {"xs"}, {{"axis", "int", false, "the axis to join along", "0"}},
                        "Joins tensors along an existing axis.");
  cat.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    // Other dims may be symbolic (equal symbols); the joined axis must be static everywhere.
    for (const Type& t : in) require_tensor("concat", t);
    int64_t axis = normalize_axis("concat", int_or(a, "axis", 0), in[0].rank());
    std::vector<Dim> s = in[0].shape;
    for (size_t i = 0; i < in.size(); ++i) {
      const Type& t = in[i];
      bool ok = t.rank() == in[0].rank();
      for (size_t d = 0; ok && d < t.shape.size(); ++d) ok = int64_t(d) == axis || t.shape[d] == s[d];
      if (!ok)
        fail(ErrorCode::Shape,
             "concat: cannot join " + in[0].str() + " and " + t.str() + " along axis " + std::to_string(axis));
      if (!t.shape[size_t(axis)].is_static())
        symbolic_dim_error("concat", t, size_t(axis), "the joined axis must be static");
      if (i) s[size_t(axis)].size += t.shape[size_t(axis)].size;
    }
    return std::vector<Type>{Type::tensor(promoted(in), s)};
  };
  cat.decompose = cast_operands;
  cat.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    size_t axis = size_t(normalize_axis("concat", op.int_attr("axis", 0), int64_t(c.size())));
    Builder& b = e.builder();
    Value* result = nullptr;  // built from the last piece backwards: select(c < end_i, piece_i, rest)
    int64_t end = op.result()->type.static_shape()[axis];
    for (size_t i = op.operands.size(); i-- > 0;) {
      int64_t size = op.operands[i]->type.static_shape()[axis], begin = end - size;
      if (size == 0) continue;
      Coords ci = c;  // clamped into the piece so the load is in bounds whichever piece wins
      ci[axis] = e.arith("min", e.arith("max", e.arith("sub", c[axis], e.i64(begin)), e.i64(0)), e.i64(size - 1));
      Value* v = e.at(op.operands[i], ci);
      result = result ? b.value("arith.select", {b.cmp("lt", c[axis], e.i64(end)), v, result}) : v;
      end = begin;
    }
    // Every piece empty along the axis: the result has no elements, and nothing is read.
    return result ? result : b.constant(compute_dtype(op.result()->type.dtype), 0.0);
  };
  out.push_back(cat);

  OpInfo st = movement("stack", {"xs"}, {{"axis", "int", false, "where the new axis goes", "0"}},
                       "Joins tensors of one shape along a new axis.");
  st.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("stack", in[0]);
    std::vector<Dim> s = in[0].shape;
    for (const Type& t : in) {
      require_tensor("stack", t);
      if (t.shape != in[0].shape) fail(ErrorCode::Shape, "stack: shapes differ: " + in[0].str() + " and " + t.str());
    }
    int64_t axis = normalize_axis("stack", int_or(a, "axis", 0), in[0].rank() + 1);
    s.insert(s.begin() + axis, Dim::of(int64_t(in.size())));
    return std::vector<Type>{Type::tensor(promoted(in), s)};
  };
  st.decompose = cast_operands;
  st.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    int64_t axis = normalize_axis("stack", op.int_attr("axis", 0), int64_t(c.size()));
    Coords ci = c;
    ci.erase(ci.begin() + axis);
    Builder& b = e.builder();
    Value* result = e.at(op.operands.back(), ci);
    for (size_t i = op.operands.size() - 1; i-- > 0;)
      result =
          b.value("arith.select", {b.cmp("eq", c[size_t(axis)], e.i64(int64_t(i))), e.at(op.operands[i], ci), result});
    return result;
  };
  out.push_back(st);
}

struct SliceAttrs {
  Shape start, stop, step;
};

SliceAttrs slice_attrs(const Type& x, const AttrMap& a) {
  require_tensor("slice", x);
  SliceAttrs s{std::get<IntList>(a.at("start")), std::get<IntList>(a.at("stop")), ints_or(a, "step")};
  if (s.step.empty()) s.step.assign(s.start.size(), 1);
  if (s.start.size() != s.stop.size() || s.step.size() != s.start.size() || int64_t(s.start.size()) > x.rank())
    fail(ErrorCode::Value, "slice: start " + shape_str(s.start) + ", stop " + shape_str(s.stop) + " and step " +
                               shape_str(s.step) + " must have one entry per leading dim of " + x.str());
  return s;
}

// Normalised (start, step, length) per dim of a slice, with Python's slice.indices rules. A
// symbolic dim can only be kept whole (start 0, step 1, stop kWholeStop): {0, 1, -1}.
std::vector<std::array<int64_t, 3>> slice_dims(const Type& x, const AttrMap& a) {
  SliceAttrs sa = slice_attrs(x, a);
  const Shape &start = sa.start, &stop = sa.stop, &step = sa.step;
  std::vector<std::array<int64_t, 3>> out;
  for (size_t d = 0; d < x.shape.size(); ++d) {
    bool whole = d >= start.size() || (start[d] == 0 && step[d] == 1 && stop[d] == kWholeStop);
    if (!x.shape[d].is_static()) {
      if (!whole) symbolic_dim_error("slice", x, d, "only a whole symbolic dim can be sliced (x[:])");
      out.push_back({0, 1, -1});
      continue;
    }
    if (d >= start.size()) {
      out.push_back({0, 1, x.shape[d].size});
      continue;
    }
    int64_t n = x.shape[d].size, k = step[d];
    if (k == 0)
      fail(ErrorCode::Value, "slice: step must not be zero (dim " + std::to_string(d) + " of " + x.str() + ")");
    int64_t lo = k > 0 ? 0 : -1, hi = k > 0 ? n : n - 1;
    int64_t b = std::clamp(start[d] < 0 ? start[d] + n : start[d], lo, hi);
    int64_t e = std::clamp(stop[d] < 0 ? stop[d] + n : stop[d], lo, hi);
    int64_t len = k > 0 ? (e > b ? (e - b + k - 1) / k : 0) : (b > e ? (b - e - k - 1) / -k : 0);
    out.push_back({b, k, len});
  }
  return out;
}

void add_slice_pad(std::vector<OpInfo>& out) {
  OpInfo sl = movement("slice", {"x"},
                       {{"start", "ints", true, "first index per leading dim (negative counts from the end)"},
                        {"stop", "ints", true, "end (exclusive) per leading dim; clamped as in Python"},
                        {"step", "ints", false, "stride per leading dim, may be negative; default 1", "[]"}},
                       "x[start:stop:step] on the leading dims, with Python's slice rules.");
  sl.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    std::vector<Dim> s = in[0].shape;
    auto bounds = slice_dims(in[0], a);
    for (size_t d = 0; d < s.size(); ++d)
      if (s[d].is_static()) s[d] = Dim::of(bounds[d][2]);
    return std::vector<Type>{Type::tensor(in[0].dtype, s)};
  };
  sl.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    auto sd = slice_dims(op.operands[0]->type, op.attrs);
    Coords ci;
    for (size_t d = 0; d < c.size(); ++d)
      ci.push_back(e.arith("add", e.i64(sd[d][0]), e.arith("mul", c[d], e.i64(sd[d][1]))));
    return e.at(op.operands[0], ci);
  };
  out.push_back(sl);

  OpInfo pad = movement("pad", {"x"},
                        {{"pad", "ints", true, "elements added before and after each dim: [lo0, hi0, lo1, hi1, ...]"},
                         {"value", "float", false, "the value of the added elements", "0.0"}},
                        "Surrounds x with a constant.");
  pad.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("pad", in[0]);
    std::vector<Dim> s = in[0].shape;
    Shape p = std::get<IntList>(a.at("pad"));
    if (p.size() != 2 * s.size() || std::any_of(p.begin(), p.end(), [](int64_t v) { return v < 0; }))
      fail(ErrorCode::Value, "pad: needs two non-negative widths per dim of " + in[0].str() + ", got " + shape_str(p));
    for (size_t d = 0; d < s.size(); ++d) {
      if (!p[2 * d] && !p[2 * d + 1]) continue;
      if (!s[d].is_static()) symbolic_dim_error("pad", in[0], d, "only static dims can be padded");
      s[d].size += p[2 * d] + p[2 * d + 1];
    }
    return std::vector<Type>{Type::tensor(in[0].dtype, s)};
  };
  pad.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    Builder& b = e.builder();
    Shape s = op.operands[0]->type.static_shape(), p = op.ints_attr("pad");
    DType dt = compute_dtype(op.result()->type.dtype);
    double value = op.has_attr("value") ? number_attr(op, "value") : 0.0;
    Value* fill = b.constant(dt, dt == DType::Bool ? double(value != 0.0) : value);  // bool: value != 0
    if (numel(s) == 0) return fill;
    Coords ci;
    Value* inside = nullptr;
    for (size_t d = 0; d < s.size(); ++d) {
      Value* x = e.arith("sub", c[d], e.i64(p[2 * d]));
      if (p[2 * d] || p[2 * d + 1]) {
        Value* ok = b.arith("and", b.cmp("ge", x, e.i64(0)), b.cmp("lt", x, e.i64(s[d])));
        inside = inside ? b.arith("and", inside, ok) : ok;
        x = e.arith("min", e.arith("max", x, e.i64(0)), e.i64(s[d] - 1));
      }
      ci.push_back(x);
    }
    Value* v = e.at(op.operands[0], ci);
    return inside ? b.value("arith.select", {inside, v, fill}) : v;
  };
  out.push_back(pad);

  OpInfo upd = movement("slice_update", {"x", "v"},
                        {{"start", "ints", true, "first index per leading dim, as slice's"},
                         {"stop", "ints", true, "end (exclusive) per leading dim, as slice's"},
                         {"step", "ints", false, "stride per leading dim, may be negative; default 1", "[]"}},
                        "x with the elements of x[start:stop:step] replaced by v (broadcast to that region, "
                        "converted to x's dtype): the functional form of x[...] = v for basic indices.");
  upd.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    dims("slice_update", in[0], "the updated region is found by index arithmetic");
    require_tensor("slice_update", in[1]);
    Type region = lookup_op("slice")->infer({in[0]}, a)[0];
    if (in[1].rank() > region.rank() || broadcast_shapes("slice_update", region, in[1]) != region.shape)
      fail(ErrorCode::Shape, "slice_update: the value " + in[1].str() + " does not broadcast to the region " +
                                 region.str() + " of " + in[0].str());
    if (in[0].dtype == DType::Bool && in[1].dtype != DType::Bool)
      fail(ErrorCode::DType, "slice_update: a bool tensor takes bool values, got " + in[1].str());
    return std::vector<Type>{in[0]};
  };
  // Coordinate c is in the region when c = start + k step for 0 <= k < length along every dim;
  // then the element is v at k (broadcast), else x's own.
  upd.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    Builder& b = e.builder();
    auto sd = slice_dims(op.operands[0]->type, op.attrs);
    const Type& v = op.operands[1]->type;
    Coords vc(size_t(v.rank()));
    Value* inside = nullptr;
    for (size_t d = 0; d < c.size(); ++d) {
      auto [start, step, len] = sd[d];
      Value* diff = e.arith("sub", c[d], e.i64(start));
      Value* k = e.arith("div", diff, e.i64(step));
      Value* ok = b.arith("and", b.cmp("eq", e.arith("mul", k, e.i64(step)), diff),
                          b.arith("and", b.cmp("ge", k, e.i64(0)), b.cmp("lt", k, e.i64(len))));
      inside = inside ? b.arith("and", inside, ok) : ok;
      int64_t vd = int64_t(d) - (int64_t(c.size()) - v.rank());
      if (vd >= 0)
        vc[size_t(vd)] =
            v.shape[size_t(vd)] == Dim::of(1) ? e.i64(0) : e.arith("min", e.arith("max", k, e.i64(0)), e.i64(len - 1));
    }
    DType dt = compute_dtype(op.result()->type.dtype);
    Value* x = e.at(op.operands[0], c);
    if (!inside || op.result()->type.static_shape().empty()) return b.cast(e.at(op.operands[1], vc), dt);
    return b.value("arith.select", {inside, b.cast(e.at(op.operands[1], vc), dt), x});
  };
  out.push_back(upd);
}

// ---- indexing: take, gather, scatter_add, one_hot ----

void add_indexing_ops(std::vector<OpInfo>& out) {
  OpInfo take =
      movement("take", {"x", "indices"}, {{"axis", "int", false, "the axis indexed", "0"}, kIndexMode, kFillValue},
               "x indexed along `axis` by an integer tensor: shape x[:axis] + indices + x[axis+1:] "
               "(negative indices count from the end; out-of-range ones follow `mode`, clamped by "
               "default).");
  take.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    index_mode("take", a);
    require_tensor("take", in[0]);
    require_tensor("take", in[1]);
    require_index("take", in[1]);
    const std::vector<Dim>&x = in[0].shape, &idx = in[1].shape;
    int64_t axis = normalize_axis("take", int_or(a, "axis", 0), in[0].rank());
    // (A symbolic axis that turns out empty is caught when the call's sizes are bound.)
    if (x[size_t(axis)] == Dim::of(0) && !(in[1].has_static_shape() && in[1].numel() == 0))
      fail(ErrorCode::Value, "take: cannot index the empty axis " + std::to_string(axis) + " of " + in[0].str());
    std::vector<Dim> s(x.begin(), x.begin() + axis);
    s.insert(s.end(), idx.begin(), idx.end());
    s.insert(s.end(), x.begin() + axis + 1, x.end());
    return std::vector<Type>{Type::tensor(in[0].dtype, s)};
  };
  take.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    Shape x = op.operands[0]->type.static_shape();
    size_t axis = size_t(normalize_axis("take", op.int_attr("axis", 0), int64_t(x.size())));
    size_t k = size_t(op.operands[1]->type.rank());
    Coords ic(c.begin() + long(axis), c.begin() + long(axis + k));
    Coords xc(c.begin(), c.begin() + long(axis));
    Value* valid = nullptr;
    xc.push_back(index_at(e, op, op.operands[1], ic, x[axis], &valid));
    xc.insert(xc.end(), c.begin() + long(axis + k), c.end());
    Value* v = e.at(op.operands[0], xc);
    return valid ? e.builder().value("arith.select", {valid, v, fill_value(e.builder(), op)}) : v;
  };
  take.decompose = [](Builder& b, const Op& op) {
    return check_then(b, op, 1, normalize_axis("take", op.int_attr("axis", 0), op.operands[0]->type.rank()));
  };
  out.push_back(take);

  auto check_along = [](const std::string& name, const Type& x, const Type& idx, int64_t axis) {
    require_tensor(name, x);
    require_tensor(name, idx);
    require_index(name, idx);
    const std::vector<Dim>&xs = x.shape, &is = idx.shape;
    // Symbolic dims must match exactly; static ones may be smaller in the indices.
    auto fits = [](const Dim& i, const Dim& n) {
      return i == n || (i.is_static() && n.is_static() && i.size <= n.size);
    };
    bool ok = xs.size() == is.size();
    for (size_t d = 0; ok && d < xs.size(); ++d) ok = int64_t(d) == axis || fits(is[d], xs[d]);
    if (!ok)
      fail(ErrorCode::Shape, name + ": indices " + idx.str() + " must have the rank of " + x.str() +
                                 " and no larger dims except along axis " + std::to_string(axis));
    if (xs[size_t(axis)] == Dim::of(0) && !(idx.has_static_shape() && idx.numel() == 0))
      fail(ErrorCode::Value, name + ": cannot index the empty axis " + std::to_string(axis) + " of " + x.str());
  };
  OpInfo g = movement("gather", {"x", "indices"}, {{"axis", "int", true, "the axis indexed"}, kIndexMode, kFillValue},
                      "out[i][j] = x[indices[i][j]][j] for axis 0 (torch.gather); shape of indices.");
  g.infer = [check_along](const std::vector<Type>& in, const AttrMap& a) {
    index_mode("gather", a);
    int64_t axis = normalize_axis("gather", std::get<int64_t>(a.at("axis")), in[0].rank());
    check_along("gather", in[0], in[1], axis);
    return std::vector<Type>{Type::tensor(in[0].dtype, in[1].shape)};
  };
  g.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    Shape x = op.operands[0]->type.static_shape();
    size_t axis = size_t(normalize_axis("gather", op.int_attr("axis"), int64_t(x.size())));
    Coords xc = c;
    Value* valid = nullptr;
    xc[axis] = index_at(e, op, op.operands[1], c, x[axis], &valid);
    Value* v = e.at(op.operands[0], xc);
    return valid ? e.builder().value("arith.select", {valid, v, fill_value(e.builder(), op)}) : v;
  };
  g.decompose = [](Builder& b, const Op& op) {
    return check_then(b, op, 1, normalize_axis("gather", op.int_attr("axis"), op.operands[0]->type.rank()));
  };
  out.push_back(g);

  OpInfo sc = movement("scatter_add", {"x", "indices", "src"}, {{"axis", "int", true, "the axis indexed"}, kIndexMode},
                       "A copy of x with out[indices[i][j]][j] += src[i][j] for axis 0 (torch.scatter_add).");
  sc.decompose = [](Builder& b, const Op& op) {
    return check_then(b, op, 1, normalize_axis("scatter_add", op.int_attr("axis"), op.operands[0]->type.rank()));
  };
  sc.infer = [check_along](const std::vector<Type>& in, const AttrMap& a) {
    index_mode("scatter_add", a);
    int64_t axis = normalize_axis("scatter_add", std::get<int64_t>(a.at("axis")), in[0].rank());
    check_along("scatter_add", in[0], in[1], axis);
    if (in[2].shape != in[1].shape || in[2].dtype != in[0].dtype)
      fail(in[2].dtype != in[0].dtype ? ErrorCode::DType : ErrorCode::Shape,
           "scatter_add: src " + in[2].str() + " must have the shape of indices " + in[1].str() + " and the dtype of " +
               in[0].str());
    if (in[0].dtype == DType::Bool) fail(ErrorCode::DType, "scatter_add: not defined for bool tensors");
    return std::vector<Type>{in[0]};
  };
  sc.cpu_only = kScatterCpuOnly;
  out.push_back(sc);  // many-to-one: its own kernel kind (tilegen/scatter.cpp), no lower_at

  OpInfo gen = movement("scatter", {"x", "indices", "src"},
                        {{"axis", "int", true, "the axis indexed"},
                         {"reduce", "str", false,
                          "how an update meets its slot: set (the last update wins), add, mul, "
                          "max or min",
                          "\"set\""},
                         kIndexMode},
                        "A copy of x with out[indices[i][j]][j] = src[i][j] for axis 0 (torch.scatter), or combined "
                        "with it by `reduce`; updates apply in order, so with \"set\" the last one wins.");
  gen.decompose = [](Builder& b, const Op& op) {
    return check_then(b, op, 1, normalize_axis("scatter", op.int_attr("axis"), op.operands[0]->type.rank()));
  };
  gen.infer = [check_along](const std::vector<Type>& in, const AttrMap& a) {
    index_mode("scatter", a);
    auto r = a.find("reduce");
    std::string reduce = r == a.end() ? "set" : std::get<std::string>(r->second);
    if (reduce != "set" && reduce != "add" && reduce != "mul" && reduce != "max" && reduce != "min")
      fail(ErrorCode::Value, "scatter: reduce must be set, add, mul, max or min, got \"" + reduce + "\"");
    int64_t axis = normalize_axis("scatter", std::get<int64_t>(a.at("axis")), in[0].rank());
    check_along("scatter", in[0], in[1], axis);
    if (in[2].shape != in[1].shape || in[2].dtype != in[0].dtype)
      fail(in[2].dtype != in[0].dtype ? ErrorCode::DType : ErrorCode::Shape,
           "scatter: src " + in[2].str() + " must have the shape of indices " + in[1].str() + " and the dtype of " +
               in[0].str());
    if (in[0].dtype == DType::Bool && reduce != "set")
      fail(ErrorCode::DType, "scatter: bool tensors take reduce \"set\" only");
    return std::vector<Type>{in[0]};
  };
  gen.cpu_only = kScatterCpuOnly;
  out.push_back(gen);

  OpInfo oh = movement(
      "one_hot", {"indices"},
      {{"num_classes", "int", true, "size of the new last axis"}, {"dtype", "str", false, "result dtype", "\"i64\""}},
      "A new last axis with 1 at each index and 0 elsewhere (out-of-range indices give zeros).");
  oh.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("one_hot", in[0]);
    std::vector<Dim> s = in[0].shape;
    require_index("one_hot", in[0]);
    int64_t n = std::get<int64_t>(a.at("num_classes"));
    if (n < 0) fail(ErrorCode::Value, "one_hot: num_classes must not be negative, got " + std::to_string(n));
    auto it = a.find("dtype");
    auto dt = parse_dtype(it == a.end() ? "i64" : std::get<std::string>(it->second));
    if (!dt) fail(ErrorCode::DType, "one_hot: unknown dtype '" + std::get<std::string>(it->second) + "'");
    s.push_back(Dim::of(n));
    return std::vector<Type>{Type::tensor(*dt, s)};
  };
  oh.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    Builder& b = e.builder();
    Value* j = b.cast(e.at(op.operands[0], Coords(c.begin(), c.end() - 1)), DType::I64);
    return b.cast(b.cmp("eq", j, c.back()), compute_dtype(op.result()->type.dtype));
  };
  out.push_back(oh);
}

}  // namespace

std::vector<std::array<int64_t, 3>> slice_bounds(const Type& x, const AttrMap& attrs) { return slice_dims(x, attrs); }

void register_movement_ops(std::vector<OpInfo>& out) {
  add_reshape_family(out);
  add_join_ops(out);
  add_slice_pad(out);
  add_indexing_ops(out);
}

}  // namespace tessera::ir
