// Two data-movement primitives for convolution and pooling (the composites are in ops_conv.cpp),
// and `iota`:
//   windows(x)       x [..., S1..Sk] -> [..., K1..Kk, O1..Ok]: element (w, o) of the windows is
//                    x at o*stride + w*dilation - pad_lo (or `value` in the padding): im2col.
//   overlap_add(c)   [..., K1..Kk, O1..Ok] -> [..., S1..Sk]: every window element added back
//                    where `windows` read it: col2im, the adjoint (transpose) of windows.
//   iota             a tensor whose elements are their own index along one axis.
// All three are `lower_at` rules, so they fuse into the kernels around them: a convolution's
// im2col is the matmul's operand kernel, a pool's windows are its reduction's prologue.
#include <algorithm>
#include <cmath>

#include "ir/op_rules.hpp"
#include "ir/windows.hpp"

namespace tessera::ir {
namespace {

using Shape = std::vector<int64_t>;
using Coords = ValueAt::Coords;

Shape ints_or(const AttrMap& a, const std::string& key, Shape dflt) {
  auto it = a.find(key);
  return it == a.end() ? dflt : std::get<IntList>(it->second);
}

// The trailing `k` dims of `t` (static: window arithmetic needs their sizes); errors name `op`.
Shape trailing(const std::string& op, const Type& t, size_t k, const std::string& what) {
  require_tensor(op, t);
  if (size_t(t.rank()) < k)
    fail(ErrorCode::Shape, op + ": " + what + " needs " + std::to_string(k) + " trailing dims, got " + t.str());
  Shape s;
  for (size_t d = t.shape.size() - k; d < t.shape.size(); ++d) {
    if (!t.shape[d].is_static()) symbolic_dim_error(op, t, d, "window arithmetic needs the size");
    s.push_back(t.shape[d].size);
  }
  return s;
}

std::vector<Dim> leading(const Type& t, size_t drop) { return {t.shape.begin(), t.shape.end() - std::ptrdiff_t(drop)}; }

std::vector<Type> with_trailing(const Type& t, size_t drop, const std::vector<Shape>& tails) {
  std::vector<Dim> s = leading(t, drop);
  for (const Shape& tail : tails)
    for (int64_t v : tail) s.push_back(Dim::of(v));
  return {Type::tensor(t.dtype, s)};
}

const std::vector<AttrSpec> kGeometryAttrs = {
    {"stride", "ints", false, "steps between window starts, one per window dim (default 1)", "[]"},
    {"dilation", "ints", false, "steps between a window's elements, one per window dim (default 1)", "[]"},
    {"padding", "ints", false, "[lo, hi] per window dim added around the input; negative crops (default 0)", "[]"},
};

// `first` (the window or the size), then the geometry attributes, then `last`.
std::vector<AttrSpec> window_attr_specs(AttrSpec first, std::vector<AttrSpec> last) {
  std::vector<AttrSpec> a{std::move(first)};
  a.insert(a.end(), kGeometryAttrs.begin(), kGeometryAttrs.end());
  a.insert(a.end(), last.begin(), last.end());
  return a;
}

OpInfo windows_op() {
  OpInfo info = movement("windows", {"x"},
                         window_attr_specs({"window", "ints", true, "window size K along each of the trailing dims"},
                                           {{"value", "float", false, "the value read in the padding", "0.0"}}),
                         "");
  info.summary =
      "Sliding windows of the trailing k = len(window) dims (im2col): x [..., S1..Sk] -> "
      "[..., K1..Kk, O1..Ok], element (w, o) being x at o*stride + w*dilation - pad_lo "
      "(`value` in the padding), O = floor((S + lo + hi - dilation*(K-1) - 1) / stride) + 1.";
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    Shape window = std::get<IntList>(a.at("window"));
    WindowGeometry g = geometry_of("windows", trailing("windows", in[0], window.size(), "x"), window, a);
    if (a.count("value") && !is_float(in[0].dtype)) {
      double v = std::holds_alternative<double>(a.at("value")) ? std::get<double>(a.at("value"))
                                                               : double(std::get<int64_t>(a.at("value")));
      if (!std::isfinite(v) || v != std::trunc(v))
        fail(ErrorCode::Value,
             "windows: the padding value " + std::to_string(v) + " is not an integer of " + in[0].str());
    }
    return with_trailing(in[0], g.k(), {g.window, g.out});
  };
  info.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    Builder& b = e.builder();
    const Type& x = op.operands[0]->type;
    Shape window = op.ints_attr("window");
    WindowGeometry g = geometry_of("windows", trailing("windows", x, window.size(), "x"), window, op.attrs);
    const size_t k = g.k(), lead = c.size() - 2 * k;
    DType dt = compute_dtype(op.result()->type.dtype);
    double value = op.has_attr("value") ? number_attr(op, "value") : 0.0;
    for (int64_t s : g.in)
      if (s == 0) return b.constant(dt, value);  // nothing to read: every window lies in the padding
    Coords ci(c.begin(), c.begin() + std::ptrdiff_t(lead));
    Value* inside = nullptr;
    for (size_t i = 0; i < k; ++i) {
      Value* j = e.arith("add", e.arith("mul", c[lead + k + i], e.i64(g.stride[i])),
                         e.arith("mul", c[lead + i], e.i64(g.dilation[i])));
      j = e.arith("sub", j, e.i64(g.padding[2 * i]));
      if (g.padding[2 * i] > 0 || g.padding[2 * i + 1] > 0) {  // only then can j leave [0, S)
        Value* ok = b.arith("and", b.cmp("ge", j, e.i64(0)), b.cmp("lt", j, e.i64(g.in[i])));
        inside = inside ? b.arith("and", inside, ok) : ok;
        j = e.arith("min", e.arith("max", j, e.i64(0)), e.i64(g.in[i] - 1));
      }
      ci.push_back(j);
    }
    Value* v = e.at(op.operands[0], ci);
    if (!inside) return v;
    return b.value("arith.select", {inside, v, b.constant(dt, value)});
  };
  return info;
}

OpInfo overlap_add_op() {
  OpInfo info = movement("overlap_add", {"x"},
                         window_attr_specs({"size", "ints", true, "the k trailing sizes S of the result"}, {}), "");
  info.summary =
      "The adjoint of windows (col2im): x [..., K1..Kk, O1..Ok] -> [..., S1..Sk] with k = len(size), each "
      "window element added at the position windows reads it from (elements in the padding are dropped).";
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    Shape size = std::get<IntList>(a.at("size"));
    const size_t k = size.size();
    Shape tail = trailing("overlap_add", in[0], 2 * k, "x (window dims, then window counts)");
    Shape window(tail.begin(), tail.begin() + std::ptrdiff_t(k)), counts(tail.begin() + std::ptrdiff_t(k), tail.end());
    if (in[0].dtype == DType::Bool) fail(ErrorCode::DType, "overlap_add: adds elements, so bool is not defined");
    WindowGeometry g = geometry_of("overlap_add", size, window, a);
    if (g.out != counts)
      fail(ErrorCode::Shape, "overlap_add: windows of size " + ints_text(size) + " give counts " + ints_text(g.out) +
                                 ", but x " + in[0].str() + " has " + ints_text(counts));
    return with_trailing(in[0], 2 * k, {size});
  };
  // Element j sums x[w, o] over the windows w with o*stride + w*dilation - lo == j, unrolled over w.
  info.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    Builder& b = e.builder();
    Shape size = op.ints_attr("size");
    const size_t k = size.size(), lead = c.size() - k;
    Shape tail = trailing("overlap_add", op.operands[0]->type, 2 * k, "x");
    WindowGeometry g =
        geometry_of("overlap_add", size, Shape(tail.begin(), tail.begin() + std::ptrdiff_t(k)), op.attrs);
    DType dt = compute_dtype(op.result()->type.dtype);
    Value* zero = b.constant(dt, 0.0);
    Value* sum = nullptr;
    Shape w(k, 0);
    auto next = [&] {  // the next window element, last dim fastest; false after the last
      for (size_t i = k; i-- > 0;) {
        if (++w[i] < g.window[i]) return true;
        w[i] = 0;
      }
      return false;
    };
    do {
      Coords ci(c.begin(), c.begin() + std::ptrdiff_t(lead));
      Coords oc;
      Value* valid = nullptr;
      for (size_t i = 0; i < k; ++i) {
        ci.push_back(e.i64(w[i]));
        Value* t = e.arith("add", c[lead + i], e.i64(g.padding[2 * i] - w[i] * g.dilation[i]));
        Value* ok = b.arith("and", b.cmp("ge", t, e.i64(0)), b.cmp("lt", t, e.i64(g.out[i] * g.stride[i])));
        if (g.stride[i] > 1) ok = b.arith("and", ok, b.cmp("eq", e.arith("rem", t, e.i64(g.stride[i])), e.i64(0)));
        valid = valid ? b.arith("and", valid, ok) : ok;
        Value* o = e.arith("div", e.arith("max", t, e.i64(0)), e.i64(g.stride[i]));
        oc.push_back(e.arith("min", o, e.i64(g.out[i] - 1)));
      }
      ci.insert(ci.end(), oc.begin(), oc.end());
      Value* term = b.value("arith.select", {valid, e.at(op.operands[0], ci), zero});
      sum = sum ? b.arith("add", sum, term) : term;
    } while (next());
    return sum;
  };
  return info;
}

OpInfo iota_op() {
  OpInfo info;
  info.name = "iota";
  info.cls = OpClass::DataMovement;
  info.attrs = {{"type", "type", true, "the result type"}, {"axis", "int", true, "the axis whose index is the value"}};
  info.summary = "A tensor whose elements equal their index along `axis`.";
  info.infer = [](const std::vector<Type>&, const AttrMap& a) {
    const Type& t = std::get<Type>(a.at("type"));
    require_tensor("iota", t);
    normalize_axis("iota", std::get<int64_t>(a.at("axis")), t.rank());
    return std::vector<Type>{t};
  };
  info.lower_at = [](ValueAt& e, const Op& op, const Coords& c) {
    const Type& t = op.result()->type;
    return e.builder().cast(c[size_t(normalize_axis("iota", op.int_attr("axis"), t.rank()))], compute_dtype(t.dtype));
  };
  return info;
}

Shape per_dim(const std::string& op, const std::string& what, Shape v, size_t k, int64_t dflt, int64_t min) {
  if (v.empty()) v.assign(k, dflt);
  if (v.size() != k)
    fail(ErrorCode::Value,
         op + ": needs one " + what + " per window dim (" + std::to_string(k) + "), got " + ints_text(v));
  for (int64_t s : v)
    if (s < min)
      fail(ErrorCode::Value, op + ": every " + what + " must be >= " + std::to_string(min) + ", got " + ints_text(v));
  return v;
}

}  // namespace

WindowGeometry window_geometry(const std::string& op, Shape in, Shape window, Shape stride, Shape dilation,
                               Shape padding) {
  WindowGeometry g;
  const size_t k = window.size();
  g.in = std::move(in);
  g.window = per_dim(op, "window size", std::move(window), k, 1, 1);
  g.stride = per_dim(op, "stride", std::move(stride), k, 1, 1);
  g.dilation = per_dim(op, "dilation", std::move(dilation), k, 1, 1);
  if (padding.empty()) padding.assign(2 * k, 0);
  if (padding.size() != 2 * k)
    fail(ErrorCode::Value, op + ": needs [lo, hi] padding per window dim (" + std::to_string(2 * k) + " values), got " +
                               ints_text(padding));
  g.padding = std::move(padding);
  for (size_t i = 0; i < k; ++i) {
    int64_t padded = g.in[i] + g.padding[2 * i] + g.padding[2 * i + 1];
    int64_t span = g.dilation[i] * (g.window[i] - 1) + 1;
    if (padded < span)
      fail(ErrorCode::Shape, op + ": the window spans " + std::to_string(span) + " elements along spatial dim " +
                                 std::to_string(i) + ", more than the " + std::to_string(padded) +
                                 " of the padded input (size " + std::to_string(g.in[i]) + ")");
    g.out.push_back((padded - span) / g.stride[i] + 1);
  }
  return g;
}

WindowGeometry geometry_of(const std::string& op, const Shape& in, const Shape& window, const AttrMap& a) {
  return window_geometry(op, in, window, ints_or(a, "stride", {}), ints_or(a, "dilation", {}),
                         ints_or(a, "padding", {}));
}

AttrMap window_attrs(const WindowGeometry& g, bool with_window) {
  AttrMap a{{"stride", g.stride}, {"dilation", g.dilation}, {"padding", g.padding}};
  if (with_window) a["window"] = g.window;
  return a;
}

void register_window_ops(std::vector<OpInfo>& out) {
  out.push_back(windows_op());
  out.push_back(overlap_add_op());
  out.push_back(iota_op());
}

}  // namespace tessera::ir
