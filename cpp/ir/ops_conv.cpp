// Convolution and pooling composites over 1, 2 or 3 spatial dims, built from `windows` and
// `overlap_add` (ops_windows.cpp), matmul and reductions, so their gradients, batching and
// fusion come from those primitives:
//   conv{k}d            windows (im2col) -> one GEMM [N*L, C*K] x [C*K, OC] (per group)
//   conv_transpose{k}d  one GEMM [N*L, C] x [C, OC*K] -> overlap_add (col2im)
//   max_pool / avg_pool windows -> max / sum over the window dims
//   adaptive_avg_pool   windows when the size divides, else an averaging matrix per dim
//   unfold / fold       windows / overlap_add in PyTorch's [N, C*K, L] layout
// Inputs are [N, C, *S] (channels_last: [N, *S, C]) or the same without N; weights keep
// PyTorch's layout ([OC, C/groups, *K]; transposed: [C, OC/groups, *K]) in both cases.
#include <cmath>
#include <numeric>

#include "ir/composite.hpp"
#include "ir/windows.hpp"

namespace tessera::ir {
namespace {

using namespace composite;
using Shape = std::vector<int64_t>;

int64_t product(const Shape& s) { return std::accumulate(s.begin(), s.end(), int64_t(1), std::multiplies<>()); }

Value* rs(Builder& b, Value* x, const Shape& shape) { return b.value("reshape", {x}, {{"shape", shape}}); }
Value* tr(Builder& b, Value* x, const Shape& perm) { return b.value("transpose", {x}, {{"perm", perm}}); }
Shape iota_list(int64_t from, int64_t to) {
  Shape s;
  for (int64_t i = from; i < to; ++i) s.push_back(i);
  return s;
}
Shape cat(Shape a, const Shape& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ---- attributes ----

// A "sizes" attribute (one int for every dim, or one per dim) as k ints; `dflt` when absent.
Shape sizes(const std::string& op, const AttrMap& a, const std::string& key, size_t k, const Shape& dflt) {
  auto it = a.find(key);
  if (it == a.end()) return dflt;
  if (auto* one = std::get_if<int64_t>(&it->second)) return Shape(k, *one);
  Shape v = std::get<IntList>(it->second);
  if (v.size() == 1) return Shape(k, v[0]);
  if (v.size() != k)
    fail(ErrorCode::Value, op + ": `" + key + "` needs 1 or " + std::to_string(k) + " values, got " + ints_text(v));
  return v;
}

Shape check_padding(const std::string& op, const Shape& p) {
  for (int64_t x : p)
    if (x < 0) fail(ErrorCode::Value, op + ": padding must be >= 0, got " + ints_text(p));
  return p;
}

// The "padding" attribute as [lo, hi] per dim: an int (every side), one int per dim, [lo, hi]
// per dim, "valid" (none) or "same" (as JAX/TensorFlow: out = ceil(in / stride), the extra
// element after; with stride 1 this is PyTorch's "same").
Shape padding(const std::string& op, const AttrMap& a, const Shape& in, const Shape& window, const Shape& stride,
              const Shape& dilation) {
  const size_t k = in.size();
  auto it = a.find("padding");
  if (it == a.end()) return Shape(2 * k, 0);
  if (auto* s = std::get_if<std::string>(&it->second)) {
    if (*s == "valid") return Shape(2 * k, 0);
    if (*s != "same")
      fail(ErrorCode::Value, op + ": padding must be an int, ints, \"same\" or \"valid\", got \"" + *s + "\"");
    Shape p;
    for (size_t i = 0; i < k; ++i) {
      int64_t out = (in[i] + stride[i] - 1) / stride[i];
      int64_t total = std::max<int64_t>((out - 1) * stride[i] + dilation[i] * (window[i] - 1) + 1 - in[i], 0);
      p.insert(p.end(), {total / 2, total - total / 2});
    }
    return p;
  }
  if (auto* one = std::get_if<int64_t>(&it->second)) return check_padding(op, Shape(2 * k, *one));
  Shape v = std::get<IntList>(it->second), p;
  if (v.size() == 2 * k) return check_padding(op, v);  // [lo, hi] per dim
  if (v.size() != k && v.size() != 1)
    fail(ErrorCode::Value, op + ": padding needs 1, " + std::to_string(k) + " or " + std::to_string(2 * k) +
                               " values, got " + ints_text(v));
  for (size_t i = 0; i < k; ++i) p.insert(p.end(), {v[v.size() == 1 ? 0 : i], v[v.size() == 1 ? 0 : i]});
  return check_padding(op, p);
}

bool channels_last(const AttrMap& a) {
  auto it = a.find("channels_last");
  return it != a.end() && std::get<bool>(it->second);
}

// ---- layouts ----

// A conv/pool input: [N, C, *S] or [N, *S, C] (channels_last), N optional.
struct Spatial {
  bool batched = true, last = false;
  Dim n;
  int64_t c = 0;
  Shape s;
};

std::string layout_name(size_t k, bool last) {
  const char* dims[] = {"", "L", "H, W", "D, H, W"};
  return last ? std::string("[N, ") + dims[k] + ", C]" : std::string("[N, C, ") + dims[k] + "]";
}

Spatial read_input(const std::string& op, const Type& x, size_t k, const AttrMap& a) {
  require_tensor(op, x);
  require_float(op, x);
  Spatial in;
  in.last = channels_last(a);
  if (size_t(x.rank()) != k + 2 && size_t(x.rank()) != k + 1)
    fail(ErrorCode::Shape, op + ": the input must be " + layout_name(k, in.last) + " (N optional), got " + x.str());
  in.batched = size_t(x.rank()) == k + 2;
  in.n = in.batched ? x.shape[0] : Dim::of(1);
  size_t first = in.batched ? 1 : 0, cdim = in.last ? size_t(x.rank()) - 1 : first;
  for (size_t d = first; d < size_t(x.rank()); ++d) {
    if (!x.shape[d].is_static()) symbolic_dim_error(op, x, d, "only the batch dim may be symbolic");
    if (d != cdim) in.s.push_back(x.shape[d].size);
  }
  in.c = x.shape[cdim].size;
  return in;
}

Type output_type(const Spatial& in, DType dt, int64_t c, const Shape& o) {
  std::vector<Dim> s;
  if (in.batched) s.push_back(in.n);
  if (!in.last) s.push_back(Dim::of(c));
  for (int64_t v : o) s.push_back(Dim::of(v));
  if (in.last) s.push_back(Dim::of(c));
  return Type::tensor(dt, s);
}

// The batch dim as a reshape target: -1 when symbolic.
int64_t batch(const Spatial& in) { return in.n.is_static() ? in.n.size : -1; }

// x as [N, C, *S] (transposed / given N = 1 as needed), and a [N, C, *O] result back in x's layout.
Value* to_channels_first(Builder& b, Value* x, const Spatial& in) {
  if (!in.batched) x = b.value("expand_dims", {x}, {{"axis", int64_t(0)}});
  const int64_t r = int64_t(in.s.size()) + 2;
  return in.last ? tr(b, x, cat({0, r - 1}, iota_list(1, r - 1))) : x;
}
Value* from_channels_first(Builder& b, Value* y, const Spatial& in) {
  const int64_t r = int64_t(in.s.size()) + 2;
  if (in.last) y = tr(b, y, cat(cat({0}, iota_list(2, r)), {1}));
  return in.batched ? y : b.value("squeeze", {y}, {{"axes", IntList{0}}});
}

// ---- convolution ----

struct ConvSpec {
  Spatial in;
  int64_t out_c, groups;
  WindowGeometry g;
};

void check_operand(const std::string& op, const char* what, const Type& t, const Type& x) {
  require_tensor(op, t);
  if (t.dtype != x.dtype)
    fail(ErrorCode::DType, op + ": " + what + " " + t.str() + " must have the input's dtype (" + x.str() + ")");
}

ConvSpec conv_spec(const std::string& op, size_t k, const std::vector<Type>& t, const AttrMap& a, bool transposed) {
  ConvSpec c;
  c.in = read_input(op, t[0], k, a);
  check_operand(op, "weight", t[1], t[0]);
  const Type& w = t[1];
  c.groups = a.count("groups") ? std::get<int64_t>(a.at("groups")) : 1;
  if (c.groups < 1) fail(ErrorCode::Value, op + ": groups must be >= 1, got " + std::to_string(c.groups));
  std::string wl = transposed ? "[C_in, C_out/groups, *kernel]" : "[C_out, C_in/groups, *kernel]";
  if (size_t(w.rank()) != k + 2 || !w.has_static_shape())
    fail(ErrorCode::Shape,
         op + ": the weight must be " + wl + " with static sizes (rank " + std::to_string(k + 2) + "), got " + w.str());
  Shape ws = w.static_shape(), kernel(ws.begin() + 2, ws.end());
  if (c.in.c % c.groups || (transposed ? ws[0] != c.in.c : ws[1] * c.groups != c.in.c) ||
      (!transposed && ws[0] % c.groups))
    fail(ErrorCode::Shape, op + ": the input " + t[0].str() + " has " + std::to_string(c.in.c) +
                               " channels; a weight " + wl + " for groups = " + std::to_string(c.groups) +
                               " does not fit " + w.str());
  c.out_c = transposed ? ws[1] * c.groups : ws[0];
  if (t.size() > 2) {
    check_operand(op, "bias", t[2], t[0]);
    if (t[2].shape != std::vector<Dim>{Dim::of(c.out_c)})
      fail(ErrorCode::Shape,
           op + ": the bias must be [" + std::to_string(c.out_c) + "] (one per output channel), got " + t[2].str());
  }
  Shape stride = sizes(op, a, "stride", k, Shape(k, 1)), dilation = sizes(op, a, "dilation", k, Shape(k, 1));
  if (!transposed) {
    c.g = window_geometry(op, c.in.s, kernel, stride, dilation, padding(op, a, c.in.s, kernel, stride, dilation));
    return c;
  }
  // conv_transpose: the output O is the input of the conv whose windows have these counts.
  if (a.count("padding") && std::holds_alternative<std::string>(a.at("padding")))
    fail(ErrorCode::Value, op + ": padding must be ints (\"same\"/\"valid\" are for conv)");
  Shape pad = sizes(op, a, "padding", k, Shape(k, 0)), extra = sizes(op, a, "output_padding", k, Shape(k, 0));
  Shape size, p;
  for (size_t i = 0; i < k; ++i) {
    if (pad[i] < 0 || extra[i] < 0 || (extra[i] >= stride[i] && extra[i] >= dilation[i]))
      fail(ErrorCode::Value, op + ": needs padding >= 0 and 0 <= output_padding < max(stride, dilation), got padding " +
                                 ints_text(pad) + ", output_padding " + ints_text(extra));
    size.push_back((c.in.s[i] - 1) * stride[i] - 2 * pad[i] + dilation[i] * (kernel[i] - 1) + extra[i] + 1);
    if (size.back() < 1) fail(ErrorCode::Shape, op + ": the output would be empty: size " + ints_text(size));
    p.insert(p.end(), {pad[i], pad[i] - extra[i]});
  }
  c.g = window_geometry(op, size, kernel, stride, dilation, p);
  if (c.g.out != c.in.s) fail(ErrorCode::Internal, op + ": transposed geometry does not round-trip");
  return c;
}

// y [N, OC, *O] + bias, added as [N, OC, L] + [OC, 1] so that the bias gradient is a row sum
// over L then a sum over N.
Value* add_bias(Builder& b, const Op& op, Value* y) {
  if (op.operands.size() < 3) return y;
  const Type t = y->type;
  const int64_t oc = t.shape[1].size;
  int64_t l = 1;
  for (size_t d = 2; d < t.shape.size(); ++d) l *= t.shape[d].size;
  Value* flat = rs(b, y, {t.shape[0].is_static() ? t.shape[0].size : -1, oc, l});
  return reshape_to(b, op2(b, "add", flat, rs(b, op.operands[2], {oc, 1})), t);
}

// y [N, OC, *O] = x [N, C, *S] convolved with w [OC, C/g, *K]: per image and group, the
// weight [OC/g, C/g*K] times the windows [C/g*K, L]. The windows keep x's layout (the output
// position innermost, contiguous in x for stride 1) and the product comes out as [N, OC, L],
// so no large tensor is transposed.
Value* conv_core(Builder& b, const ConvSpec& c, Value* x, Value* w) {
  const WindowGeometry& g = c.g;
  const int64_t n = batch(c.in), pk = product(g.window), l = product(g.out);
  const int64_t cg = c.in.c / c.groups, og = c.out_c / c.groups, ck = cg * pk;
  Value* cols = b.value("windows", {x}, window_attrs(g, true));  // [N, C, *K, *O]
  Value* y;
  if (cg == 1 && c.groups > 1) {  // depthwise: a product and a sum per channel, no GEMM
    Value* prod = op2(b, "mul", rs(b, cols, {n, c.groups, 1, pk, l}), rs(b, w, {c.groups, og, pk, 1}));
    y = b.value("sum", {prod}, {{"axis", int64_t(3)}});
  } else if (c.groups == 1) {
    y = b.value("matmul", {rs(b, w, {c.out_c, ck}), rs(b, cols, {n, ck, l})});
  } else {
    y = b.value("matmul", {rs(b, w, {c.groups, og, ck}), rs(b, cols, {n, c.groups, ck, l})});
  }
  return rs(b, y, cat({n, c.out_c}, g.out));
}

// y [N, OC, *O] = the transposed convolution of x [N, C, *S] with w [C, OC/g, *K]: per image and
// group, the columns [OC/g*K, L] = w^T [OC/g*K, C/g] times x [C/g, L], added back by overlap_add.
Value* conv_transpose_core(Builder& b, const ConvSpec& c, Value* x, Value* w) {
  const WindowGeometry& g = c.g;
  const int64_t n = batch(c.in), pk = product(g.window), l = product(g.out);
  const int64_t cg = c.in.c / c.groups, og = c.out_c / c.groups;
  Value* cols;
  if (c.groups == 1) {
    cols = b.value("matmul", {tr(b, rs(b, w, {c.in.c, og * pk}), {1, 0}), rs(b, x, {n, c.in.c, l})});
  } else {
    Value* wt = tr(b, rs(b, w, {c.groups, cg, og * pk}), {0, 2, 1});
    cols = b.value("matmul", {wt, rs(b, x, {n, c.groups, cg, l})});
  }
  cols = rs(b, cols, cat(cat({n, c.out_c}, g.window), g.out));  // [N, OC, *K, *S]
  AttrMap oa = window_attrs(g, false);
  oa["size"] = g.in;
  return b.value("overlap_add", {cols}, oa);
}

const char* kDims[] = {"", "1d", "2d", "3d"};

std::vector<AttrSpec> conv_attrs(bool transposed) {
  std::vector<AttrSpec> a = {
      {"stride", "sizes", false, "steps between windows: one int, or one per spatial dim", "1"},
      {"padding", "padding", false,
       transposed ? "zeros removed from each side of the output: one int, or one per spatial dim"
                  : "zeros added around the input: an int, one per dim, [lo, hi] per dim, \"same\" or \"valid\"",
       "0"},
      {"dilation", "sizes", false, "steps between kernel elements", "1"},
      {"groups", "int", false, "channel groups (groups = C_in: depthwise)", "1"},
      {"channels_last", "bool", false, "input and output are [N, *spatial, C] (the weight layout is unchanged)",
       "false"}};
  if (transposed)
    a.insert(a.begin() + 2, {"output_padding", "sizes", false,
                             "extra size added to one side of the output (< max(stride, dilation))", "0"});
  return a;
}

OpInfo conv(size_t k, bool transposed) {
  std::string name = std::string(transposed ? "conv_transpose" : "conv") + kDims[k];
  std::string summary =
      transposed ? "Transposed convolution (the gradient of conv" + std::string(kDims[k]) +
                       " w.r.t. its input) of x [N, C_in, *S] with weight [C_in, C_out/groups, *K] and optional "
                       "bias [C_out], as torch.nn.functional." +
                       name + "."
                 : "Convolution (cross-correlation, as torch.nn.functional." + name +
                       ") of x [N, C_in, *S] with weight [C_out, C_in/groups, *K] and optional bias [C_out]: "
                       "im2col (windows) and one GEMM per group.";
  OpInfo info = make(name, OpClass::Contraction, {"x", "weight", "bias"}, conv_attrs(transposed), summary);
  info.min_operands = 2;
  info.infer = [name, k, transposed](const std::vector<Type>& in, const AttrMap& a) {
    ConvSpec c = conv_spec(name, k, in, a, transposed);
    return std::vector<Type>{output_type(c.in, in[0].dtype, c.out_c, transposed ? c.g.in : c.g.out)};
  };
  info.decompose = [name, k, transposed](Builder& b, const Op& op) -> std::vector<Value*> {
    std::vector<Type> types;
    for (Value* v : op.operands) types.push_back(v->type);
    ConvSpec c = conv_spec(name, k, types, op.attrs, transposed);
    Value* x = to_channels_first(b, op.operands[0], c.in);
    Value* y = transposed ? conv_transpose_core(b, c, x, op.operands[1]) : conv_core(b, c, x, op.operands[1]);
    return {from_channels_first(b, add_bias(b, op, y), c.in)};
  };
  return info;
}

// ---- pooling ----

// `reduce` (max or sum) over the k window dims of windows' [N, C, *K, *O], merged into one
// (derivative rules take single-axis reductions; one reduction is one kernel).
Value* reduce_windows(Builder& b, const std::string& reduce, Value* cols, size_t k) {
  std::vector<Dim> s = cols->type.shape;
  Shape merged{s[0].is_static() ? s[0].size : -1, s[1].size, 1};
  for (size_t i = 0; i < k; ++i) merged[2] *= s[2 + i].size;
  for (size_t i = 0; i < k; ++i) merged.push_back(s[2 + k + i].size);
  return b.value(reduce, {rs(b, cols, merged)}, {{"axis", int64_t(2)}});
}

std::vector<AttrSpec> pool_attrs(bool max) {
  std::vector<AttrSpec> a = {{"kernel_size", "sizes", true, "window size: one int, or one per spatial dim"},
                             {"stride", "sizes", false, "steps between windows (default: kernel_size)", ""},
                             {"padding", "sizes", false, "implicit padding on both sides", "0"}};
  if (max) a.push_back({"dilation", "sizes", false, "steps between window elements", "1"});
  if (!max) a.push_back({"count_include_pad", "bool", false, "divide by the whole window, padding included", "true"});
  a.push_back({"channels_last", "bool", false, "input and output are [N, *spatial, C]", "false"});
  return a;
}

WindowGeometry pool_geometry(const std::string& op, const Spatial& in, const AttrMap& a) {
  const size_t k = in.s.size();
  Shape window = sizes(op, a, "kernel_size", k, {});
  Shape stride = sizes(op, a, "stride", k, window), dilation = sizes(op, a, "dilation", k, Shape(k, 1));
  Shape pad = sizes(op, a, "padding", k, Shape(k, 0)), p;
  for (size_t i = 0; i < k; ++i) {
    if (pad[i] < 0 || 2 * pad[i] > dilation[i] * (window[i] - 1) + 1)
      fail(ErrorCode::Value, op +
                                 ": padding must be >= 0 and at most half the window (its dilated span), got padding " +
                                 ints_text(pad) + " for kernel_size " + ints_text(window));
    p.insert(p.end(), {pad[i], pad[i]});
  }
  return window_geometry(op, in.s, window, stride, dilation, p);
}

OpInfo pool(size_t k, bool max) {
  std::string name = std::string(max ? "max_pool" : "avg_pool") + kDims[k];
  std::string summary = (max ? "Maximum" : "Mean") +
                        std::string(
                            " over sliding windows of x [N, C, *S], as "
                            "torch.nn.functional.") +
                        name + (max ? " (padding counts as -inf)." : " (ceil_mode off).");
  OpInfo info = make(name, OpClass::Reduction, {"x"}, pool_attrs(max), summary);
  info.infer = [name, k](const std::vector<Type>& in, const AttrMap& a) {
    Spatial s = read_input(name, in[0], k, a);
    return std::vector<Type>{output_type(s, in[0].dtype, s.c, pool_geometry(name, s, a).out)};
  };
  info.decompose = [name, k, max](Builder& b, const Op& op) -> std::vector<Value*> {
    Spatial s = read_input(name, op.operands[0]->type, k, op.attrs);
    WindowGeometry g = pool_geometry(name, s, op.attrs);
    Value* x = widen(b, to_channels_first(b, op.operands[0], s));
    AttrMap wa = window_attrs(g, true);
    Value* y;
    if (max) {
      wa["value"] = -INFINITY;
      y = reduce_windows(b, "max", b.value("windows", {x}, wa), k);
    } else {
      y = reduce_windows(b, "sum", b.value("windows", {x}, wa), k);
      bool whole = op.bool_attr("count_include_pad", true);
      Value* count = b.graph_constant(x->type.dtype, double(product(g.window)));
      if (!whole) {  // the elements of each window that lie inside x
        Value* ones = b.graph_constant(Type::tensor(x->type.dtype, cat({1, 1}, s.s)), 1.0);
        count = reduce_windows(b, "sum", b.value("windows", {ones}, wa), k);
      }
      y = op2(b, "div", y, count);
    }
    return {cast_to(b, from_channels_first(b, y, s), op.result()->type.dtype)};
  };
  return info;
}

// A [out, in] matrix whose row o averages elements floor(o*in/out) .. ceil((o+1)*in/out) - 1.
Value* averaging_matrix(Builder& b, int64_t out, int64_t in, DType dt) {
  Type t = Type::tensor(DType::I64, Shape{out, in});
  Value* o = b.value("iota", {}, {{"type", t}, {"axis", int64_t(0)}});
  Value* j = b.value("iota", {}, {{"type", t}, {"axis", int64_t(1)}});
  auto c = [&](int64_t v) { return b.graph_constant(DType::I64, double(v)); };
  Value* start = op2(b, "floor_divide", op2(b, "mul", o, c(in)), c(out));
  Value* stop = op2(b, "floor_divide", op2(b, "add", op2(b, "mul", o, c(in)), c(in + out - 1)), c(out));
  Value* inside = b.value("logical_and", {op2(b, "greater_equal", j, start), op2(b, "less", j, stop)});
  Value* share = op2(b, "div", b.graph_constant(dt, 1.0), cast_to(b, op2(b, "sub", stop, start), dt));
  return b.value("where", {inside, share, b.graph_constant(dt, 0.0)});
}

OpInfo adaptive_avg_pool(size_t k) {
  std::string name = std::string("adaptive_avg_pool") + kDims[k];
  OpInfo info = make(name, OpClass::Reduction, {"x"},
                     {{"output_size", "sizes", true, "the spatial size of the result: one int, or one per dim"},
                      {"channels_last", "bool", false, "input and output are [N, *spatial, C]", "false"}},
                     "Mean over the windows that split each spatial dim of x [N, C, *S] into output_size parts "
                     "(window o spans floor(o*S/out) .. ceil((o+1)*S/out) - 1), as torch.nn.functional." +
                         name + ".");
  auto out_size = [name, k](const Spatial& s, const AttrMap& a) {
    Shape o = sizes(name, a, "output_size", k, {});
    for (size_t i = 0; i < k; ++i)
      if (o[i] < 1 || (s.s[i] == 0 && o[i] > 0))
        fail(ErrorCode::Value, name + ": output_size must be >= 1 per dim with a non-empty input, got " + ints_text(o) +
                                   " for spatial size " + ints_text(s.s));
    return o;
  };
  info.infer = [name, k, out_size](const std::vector<Type>& in, const AttrMap& a) {
    Spatial s = read_input(name, in[0], k, a);
    return std::vector<Type>{output_type(s, in[0].dtype, s.c, out_size(s, a))};
  };
  info.decompose = [name, k, out_size](Builder& b, const Op& op) -> std::vector<Value*> {
    Spatial s = read_input(name, op.operands[0]->type, k, op.attrs);
    Shape o = out_size(s, op.attrs), window(k, 1);
    Value* y = widen(b, to_channels_first(b, op.operands[0], s));
    for (size_t i = 0; i < k; ++i)
      if (s.s[i] % o[i] == 0) window[i] = s.s[i] / o[i];
    if (product(window) > 1) {  // dims that split evenly: windows of S/out, stride S/out
      WindowGeometry g = window_geometry(name, s.s, window, window, Shape(k, 1), Shape(2 * k, 0));
      y = reduce_windows(b, "sum", b.value("windows", {y}, window_attrs(g, true)), k);
      y = op2(b, "div", y, b.graph_constant(y->type.dtype, double(product(window))));
    }
    const int64_t r = int64_t(k) + 2;
    for (size_t i = 0; i < k; ++i) {  // the others: y @ A^T along dim i (moved last, then back)
      if (s.s[i] % o[i] == 0) continue;
      Shape perm = iota_list(0, r);
      std::swap(perm[size_t(2 + i)], perm[size_t(r - 1)]);
      Value* m = averaging_matrix(b, o[i], s.s[i], y->type.dtype);
      y = tr(b, b.value("matmul", {tr(b, y, perm), tr(b, m, {1, 0})}), perm);
    }
    return {cast_to(b, from_channels_first(b, y, s), op.result()->type.dtype)};
  };
  return info;
}

// ---- unfold / fold (PyTorch's layout) ----

std::vector<AttrSpec> fold_attrs(bool fold) {
  std::vector<AttrSpec> a;
  if (fold) a.push_back({"output_size", "sizes", true, "the spatial size S of the result"});
  a.insert(a.end(), {{"kernel_size", "sizes", true, "window size: one int, or one per spatial dim"},
                     {"dilation", "sizes", false, "steps between window elements", "1"},
                     {"padding", "sizes", false, "zeros around the input, per spatial dim", "0"},
                     {"stride", "sizes", false, "steps between windows", "1"}});
  return a;
}

WindowGeometry fold_geometry(const std::string& op, const Shape& in, const AttrMap& a) {
  const size_t k = in.size();
  Shape pad = sizes(op, a, "padding", k, Shape(k, 0)), p;
  for (int64_t v : pad) p.insert(p.end(), {v, v});
  check_padding(op, p);
  return window_geometry(op, in, sizes(op, a, "kernel_size", k, {}), sizes(op, a, "stride", k, Shape(k, 1)),
                         sizes(op, a, "dilation", k, Shape(k, 1)), p);
}

OpInfo unfold() {
  OpInfo info = make("unfold", OpClass::DataMovement, {"x"}, fold_attrs(false),
                     "Sliding windows of x [N, C, *S] as columns [N, C*prod(K), L] (L windows), as "
                     "torch.nn.functional.unfold; `windows` gives the same values unflattened.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    const Type& x = in[0];
    require_tensor("unfold", x);
    if (x.rank() < 3) fail(ErrorCode::Shape, "unfold: x must be [N, C, *spatial], got " + x.str());
    Shape s;
    for (size_t d = 1; d < size_t(x.rank()); ++d) {
      if (!x.shape[d].is_static()) symbolic_dim_error("unfold", x, d, "only the batch dim may be symbolic");
      if (d > 1) s.push_back(x.shape[d].size);
    }
    WindowGeometry g = fold_geometry("unfold", s, a);
    return std::vector<Type>{Type::tensor(
        x.dtype, std::vector<Dim>{x.shape[0], Dim::of(x.shape[1].size * product(g.window)), Dim::of(product(g.out))})};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    const Type& x = op.operands[0]->type;
    Shape s;
    for (size_t d = 2; d < size_t(x.rank()); ++d) s.push_back(x.shape[d].size);
    Value* cols = b.value("windows", {op.operands[0]}, window_attrs(fold_geometry("unfold", s, op.attrs), true));
    return {reshape_to(b, cols, op.result()->type)};
  };
  return info;
}

OpInfo fold() {
  OpInfo info = make("fold", OpClass::DataMovement, {"x"}, fold_attrs(true),
                     "Columns x [N, C*prod(K), L] added back into [N, C, *output_size] where unfold took them "
                     "(overlapping elements sum), as torch.nn.functional.fold.");
  auto geometry = [](const Type& x, const AttrMap& a, int64_t* c) {
    require_tensor("fold", x);
    size_t k = 2;  // PyTorch's: two spatial dims, unless a list says otherwise
    for (const char* key : {"kernel_size", "output_size"})
      if (auto* v = std::get_if<IntList>(&a.at(key)); v && v->size() > 1) k = v->size();
    WindowGeometry g = fold_geometry("fold", sizes("fold", a, "output_size", k, {}), a);
    if (x.rank() != 3 || !x.shape[1].is_static() || !x.shape[2].is_static() || x.shape[1].size % product(g.window) ||
        x.shape[2].size != product(g.out))
      fail(ErrorCode::Shape, "fold: x must be [N, C*" + std::to_string(product(g.window)) + ", " +
                                 std::to_string(product(g.out)) + "] for kernel " + ints_text(g.window) +
                                 " and output_size " + ints_text(g.in) + ", got " + x.str());
    *c = x.shape[1].size / product(g.window);
    return g;
  };
  info.infer = [geometry](const std::vector<Type>& in, const AttrMap& a) {
    int64_t c;
    WindowGeometry g = geometry(in[0], a, &c);
    std::vector<Dim> s{in[0].shape[0], Dim::of(c)};
    for (int64_t v : g.in) s.push_back(Dim::of(v));
    return std::vector<Type>{Type::tensor(in[0].dtype, s)};
  };
  info.decompose = [geometry](Builder& b, const Op& op) -> std::vector<Value*> {
    const Type& x = op.operands[0]->type;
    int64_t c;
    WindowGeometry g = geometry(x, op.attrs, &c);
    Value* cols = rs(b, op.operands[0], cat(cat({x.shape[0].is_static() ? x.shape[0].size : -1, c}, g.window), g.out));
    AttrMap oa = window_attrs(g, false);
    oa["size"] = g.in;
    return {b.value("overlap_add", {cols}, oa)};
  };
  return info;
}

}  // namespace

void register_conv_ops(std::vector<OpInfo>& out) {
  for (size_t k = 1; k <= 3; ++k) {
    out.push_back(conv(k, false));
    out.push_back(conv(k, true));
    out.push_back(pool(k, true));
    out.push_back(pool(k, false));
    out.push_back(adaptive_avg_pool(k));
  }
  out.push_back(unfold());
  out.push_back(fold());
}

}  // namespace tessera::ir
