// Rearranging composites with NumPy's semantics: flip, roll, repeat, tile and triu. Each
// decomposes into data-movement primitives (slice, concat, reshape, broadcast_to, transpose,
// tril), so a chain of them still fuses into one kernel of index arithmetic.
#include <algorithm>

#include "ir/composite.hpp"

namespace tessera::ir {
namespace {

using namespace composite;

// The static size of dim d of x (an error naming `op` for a symbolic one).
int64_t size_of(const std::string& op, const Type& x, size_t d) {
  if (!x.shape[d].is_static()) symbolic_dim_error(op, x, d, "it needs the dim's size");
  return x.shape[d].size;
}

// The normalised axes of an optional "axis" attribute (int or list; absent: every axis).
IntList axes_attr(const std::string& op, const AttrMap& a, int64_t rank) {
  IntList axes;
  auto it = a.find("axis");
  if (it == a.end()) {
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  } else if (auto* one = std::get_if<int64_t>(&it->second)) {
    axes.push_back(normalize_axis(op, *one, rank));
  } else {
    for (int64_t d : std::get<IntList>(it->second)) axes.push_back(normalize_axis(op, d, rank));
  }
  return axes;
}

// x[lo:hi] along dim d, the other dims whole.
Value* cut(Builder& b, Value* x, size_t d, int64_t lo, int64_t hi) {
  IntList start(d + 1, 0), stop(d + 1, kWholeStop);
  start[d] = lo;
  stop[d] = hi;
  return b.value("slice", {x}, {{"start", start}, {"stop", stop}});
}

OpInfo flip() {
  OpInfo info = make("flip", OpClass::DataMovement, {"x"},
                     {{"axis", "axes", false, "axis or axes reversed; absent: every axis", ""}},
                     "x with the order of elements reversed along `axis` (every axis when absent).");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("flip", in[0]);
    axes_attr("flip", a, in[0].rank());
    return std::vector<Type>{in[0]};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* x = op.operands[0];
    IntList axes = axes_attr("flip", op.attrs, x->type.rank());
    if (axes.empty()) return {reshape_to(b, x, x->type)};
    size_t last = size_t(*std::max_element(axes.begin(), axes.end()));
    IntList start(last + 1, 0), stop(last + 1, kWholeStop), step(last + 1, 1);
    for (int64_t d : axes) {
      int64_t n = size_of("flip", x->type, size_t(d));
      start[size_t(d)] = n - 1, stop[size_t(d)] = -n - 1, step[size_t(d)] = -1;
    }
    return {b.value("slice", {x}, {{"start", start}, {"stop", stop}, {"step", step}})};
  };
  return info;
}

OpInfo roll() {
  OpInfo info = make("roll", OpClass::DataMovement, {"x"},
                     {{"shift", "ints", true, "elements moved forward per axis (negative: backward)"},
                      {"axis", "axes", false, "the axes, one per shift; absent: x flattened, then restored", ""}},
                     "x with elements shifted along `axis` cyclically (NumPy's roll): element i goes to (i + "
                     "shift) mod n.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("roll", in[0]);
    const IntList& shift = std::get<IntList>(a.at("shift"));
    size_t axes = a.count("axis") ? axes_attr("roll", a, in[0].rank()).size() : 1;
    if (shift.size() != axes)
      fail(ErrorCode::Value, "roll: needs one shift per axis, got " + std::to_string(shift.size()) + " shifts for " +
                                 std::to_string(axes) + " axes");
    return std::vector<Type>{in[0]};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* x = op.operands[0];
    const IntList& shift = op.ints_attr("shift");
    bool flat = !op.has_attr("axis");
    if (flat) x = op1(b, "reshape", x, {{"shape", IntList{-1}}});
    IntList axes = flat ? IntList{0} : axes_attr("roll", op.attrs, x->type.rank());
    for (size_t i = 0; i < axes.size(); ++i) {
      size_t d = size_t(axes[i]);
      int64_t n = size_of("roll", x->type, d);
      int64_t s = n ? ((shift[i] % n) + n) % n : 0;
      if (s) x = b.value("concat", {cut(b, x, d, n - s, n), cut(b, x, d, 0, n - s)}, {{"axis", int64_t(d)}});
    }
    return {reshape_to(b, x, op.operands[0]->type)};
  };
  return info;
}

OpInfo repeat() {
  OpInfo info = make("repeat", OpClass::DataMovement, {"x"},
                     {{"repeats", "int", true, "copies of each element (>= 0)"},
                      {"axis", "int", false, "the axis; absent: x flattened first", ""}},
                     "Each element of x repeated `repeats` times in a row along `axis` (NumPy's repeat).");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("repeat", in[0]);
    int64_t r = std::get<int64_t>(a.at("repeats"));
    if (r < 0) fail(ErrorCode::Value, "repeat: repeats must be >= 0, got " + std::to_string(r));
    std::vector<Dim> s = in[0].shape;
    if (!a.count("axis")) {
      int64_t n = 1;
      for (size_t d = 0; d < s.size(); ++d) n *= size_of("repeat", in[0], d);
      return std::vector<Type>{Type::tensor(in[0].dtype, std::vector<Dim>{Dim::of(n * r)})};
    }
    size_t d = size_t(normalize_axis("repeat", std::get<int64_t>(a.at("axis")), in[0].rank()));
    s[d] = Dim::of(size_of("repeat", in[0], d) * r);
    return std::vector<Type>{Type::tensor(in[0].dtype, s)};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* x = op.operands[0];
    if (!op.has_attr("axis")) x = op1(b, "reshape", x, {{"shape", IntList{-1}}});
    int64_t d = op.has_attr("axis") ? axis_of(op, 0) : 0, r = op.int_attr("repeats");
    IntList wide = x->type.static_shape();
    x = op1(b, "expand_dims", x, {{"axis", d + 1}});
    wide.insert(wide.begin() + d + 1, r);
    x = op1(b, "broadcast_to", x, {{"shape", wide}});
    return {reshape_to(b, x, op.result()->type)};
  };
  return info;
}

OpInfo tile() {
  OpInfo info = make("tile", OpClass::DataMovement, {"x"}, {{"reps", "ints", true, "copies along each axis"}},
                     "x repeated as a whole `reps[i]` times along axis i (NumPy's tile: short reps apply to the "
                     "last axes, long reps add leading axes).");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("tile", in[0]);
    IntList reps = std::get<IntList>(a.at("reps"));
    for (int64_t r : reps)
      if (r < 0) fail(ErrorCode::Value, "tile: reps must be >= 0, got " + std::to_string(r));
    size_t rank = std::max(reps.size(), size_t(in[0].rank()));
    reps.insert(reps.begin(), rank - reps.size(), 1);
    std::vector<Dim> s(rank - size_t(in[0].rank()), Dim::of(1));
    s.insert(s.end(), in[0].shape.begin(), in[0].shape.end());
    for (size_t d = 0; d < rank; ++d)
      if (reps[d] != 1) s[d] = Dim::of(size_of("tile", Type::tensor(in[0].dtype, s), d) * reps[d]);
    return std::vector<Type>{Type::tensor(in[0].dtype, s)};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* x = op.operands[0];
    const Type& out = op.result()->type;
    IntList reps = op.ints_attr("reps");
    reps.insert(reps.begin(), size_t(out.rank()) - reps.size(), 1);
    IntList in = x->type.static_shape();
    in.insert(in.begin(), size_t(out.rank() - x->type.rank()), 1);
    IntList pairs, wide;  // [1, n0, 1, n1, ...] broadcast to [r0, n0, r1, n1, ...]
    for (size_t d = 0; d < in.size(); ++d) {
      pairs.insert(pairs.end(), {1, in[d]});
      wide.insert(wide.end(), {reps[d], in[d]});
    }
    x = op1(b, "broadcast_to", op1(b, "reshape", x, {{"shape", pairs}}), {{"shape", wide}});
    return {reshape_to(b, x, out)};
  };
  return info;
}

// x with its last two dims swapped.
Value* swap_last(Builder& b, Value* x) {
  int64_t r = x->type.rank();
  IntList perm;
  for (int64_t d = 0; d < r; ++d) perm.push_back(d);
  std::swap(perm[size_t(r - 2)], perm[size_t(r - 1)]);
  return b.value("transpose", {x}, {{"perm", perm}});
}

OpInfo triu() {
  OpInfo info = make("triu", OpClass::DataMovement, {"x"},
                     {{"diagonal", "int", false, "elements with column - row >= diagonal are kept", "0"},
                      {"value", "float", false, "the value of the other elements", "0.0"}},
                     "The upper triangle of the last two dims of x (rank >= 2), as torch.triu: x[..., i, j] where "
                     "j - i >= diagonal, else `value`.");
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    require_tensor("triu", in[0]);
    if (in[0].rank() < 2) fail(ErrorCode::Shape, "triu: needs a tensor of rank >= 2, got " + in[0].str());
    return std::vector<Type>{in[0]};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {  // tril of the transpose
    double value = op.has_attr("value") ? number_attr(op, "value") : 0.0;
    Value* t =
        b.value("tril", {swap_last(b, op.operands[0])}, {{"diagonal", -op.int_attr("diagonal", 0)}, {"value", value}});
    return {swap_last(b, t)};
  };
  return info;
}

}  // namespace

void register_rearrange_ops(std::vector<OpInfo>& out) {
  out.push_back(flip());
  out.push_back(roll());
  out.push_back(repeat());
  out.push_back(tile());
  out.push_back(triu());
}

}  // namespace tessera::ir
