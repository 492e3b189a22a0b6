// Derivative rules (VJP and JVP) of the Graph IR ops, attached to their registry entries.
//
// Rules build ordinary Graph IR with the Builder, so gradients are programs like any other:
// they fuse, compile for every target and can be differentiated again (any order). Where an
// operand was broadcast, its cotangent is summed back to the operand's shape.
#include <map>

#include "ir/op_rules.hpp"

namespace tessera::ir {

namespace {

Value* zeros(Builder& b, const Type& t) {
  return b.value("constant", {}, {{"value", 0.0}, {"type", t}});
}

Value* scalar_const(Builder& b, DType dt, double v) {
  return b.value("constant", {}, {{"value", v}, {"type", Type::tensor(dt, std::vector<Dim>{})}});
}

// Sums `g` over the dims that broadcasting added or stretched to get from `target` to g.
Value* unbroadcast(Builder& b, Value* g, const Type& target) {
  while (g->type.rank() > target.rank())
    g = b.value("sum", {g}, {{"axis", int64_t(0)}, {"keepdims", false}});
  for (int64_t d = 0; d < target.rank(); ++d)
    if (target.shape[size_t(d)] == Dim::of(1) && g->type.shape[size_t(d)] != Dim::of(1))
      g = b.value("sum", {g}, {{"axis", d}, {"keepdims", true}});
  return g;
}

// 1 where `x` > 0, else 0, in x's dtype: the derivative of relu.
Value* positive_mask(Builder& b, Value* x) {
  Value* zero = scalar_const(b, x->type.dtype, 0.0);
  return b.value("cast", {b.value("greater", {x, zero})}, {{"dtype", std::string(dtype_name(x->type.dtype))}});
}

using Vjp = std::function<std::vector<Value*>(Builder&, const Op&, Value*)>;
using Jvp = std::function<Value*(Builder&, const Op&, const std::vector<Value*>&)>;

// Adds tangents that may be null (zero).
Value* add_maybe(Builder& b, Value* a, Value* c) {
  if (!a) return c;
  if (!c) return a;
  return b.value("add", {a, c});
}

void attach(std::map<std::string, OpInfo>& table, const std::string& name, Vjp vjp, Jvp jvp) {
  auto it = table.find(name);
  if (it == table.end()) return;  // the op is not in this build
  it->second.vjp = std::move(vjp);
  it->second.jvp = std::move(jvp);
}

// Ops linear in their floating-point operands: the tangent is the op applied to the tangents
// (zeros where missing); other operands (indices, masks) are passed through.
Jvp linear_jvp() {
  return [](Builder& b, const Op& op, const std::vector<Value*>& t) {
    std::vector<Value*> args;
    for (size_t i = 0; i < t.size(); ++i) {
      Value* x = op.operands[i];
      args.push_back(!is_float(x->type.dtype) ? x : t[i] ? t[i] : zeros(b, x->type));
    }
    return b.value(op.name, args, op.attrs);
  };
}

// x[start:stop:step] along dim d only.
Value* slice_dim(Builder& b, Value* x, size_t d, int64_t start, int64_t stop, int64_t step) {
  std::vector<int64_t> shape = x->type.static_shape();
  IntList st(d + 1, 0), sp(shape.begin(), shape.begin() + int64_t(d) + 1), stp(d + 1, 1);
  st[d] = start, sp[d] = stop, stp[d] = step;
  return b.value("slice", {x}, {{"start", st}, {"stop", sp}, {"step", stp}});
}

// x with lo zeros before and hi zeros after along dim d.
Value* pad_dim(Builder& b, Value* x, size_t d, int64_t lo, int64_t hi) {
  IntList p(2 * size_t(x->type.rank()), 0);
  p[2 * d] = lo, p[2 * d + 1] = hi;
  return b.value("pad", {x}, {{"pad", p}, {"value", 0.0}});
}

// The cotangent of x from that of x[start::step] (length n) along dim d: g's elements go back
// to positions start, start + step, ... and zeros fill the rest.
Value* unslice_dim(Builder& b, Value* g, size_t d, int64_t start, int64_t step, int64_t n, int64_t size) {
  if (step < 0) {  // reverse, then it is a positive-step slice starting at the lowest position
    g = slice_dim(b, g, d, n - 1, -n - 1, -1);
    start += (n - 1) * step;
    step = -step;
  }
  if (step > 1) {  // interleave step-1 zeros after each element, keep up to the last element
    std::vector<int64_t> shape = g->type.static_shape();
    Value* wide = pad_dim(b, b.value("expand_dims", {g}, {{"axis", int64_t(d) + 1}}), d + 1, 0, step - 1);
    shape[d] *= step;
    g = slice_dim(b, b.value("reshape", {wide}, {{"shape", IntList(shape)}}), d, 0, (n - 1) * step + 1, 1);
  }
  int64_t len = (n - 1) * step + 1;
  return pad_dim(b, g, d, start, size - start - len);
}

Value* reshape_to(Builder& b, Value* g, const Type& t) {
  return b.value("reshape", {g}, {{"shape", IntList(t.static_shape())}});
}

// Unary ops f with derivative f'(x) built by `deriv`: VJP g * f'(x), JVP t * f'(x).
using Deriv = std::function<Value*(Builder&, const Op&)>;
void attach_unary(std::map<std::string, OpInfo>& table, const std::string& name, Deriv deriv) {
  attach(table, name,
         [deriv](Builder& b, const Op& op, Value* g) { return std::vector<Value*>{b.value("mul", {g, deriv(b, op)})}; },
         [deriv](Builder& b, const Op& op, const std::vector<Value*>& t) { return b.value("mul", {t[0], deriv(b, op)}); });
}

// Cotangent for a binary-op operand: summed over broadcast dims, in the operand's dtype.
Value* to_operand(Builder& b, Value* g, const Type& operand) {
  g = unbroadcast(b, g, operand);
  if (g->type.dtype != operand.dtype)
    g = b.value("cast", {g}, {{"dtype", std::string(dtype_name(operand.dtype))}});
  return g;
}

Value* op2(Builder& b, const char* name, Value* x, Value* y) { return b.value(name, {x, y}); }
Value* op1(Builder& b, const char* name, Value* x) { return b.value(name, {x}); }
Value* k(Builder& b, Value* like, double v) { return scalar_const(b, like->type.dtype, v); }

void attach_math(std::map<std::string, OpInfo>& table) {
  auto x_of = [](const Op& op) { return op.operands[0]; };
  attach_unary(table, "log", [=](Builder& b, const Op& op) { return op2(b, "div", k(b, x_of(op), 1.0), x_of(op)); });
  attach_unary(table, "log1p", [=](Builder& b, const Op& op) {
    return op2(b, "div", k(b, x_of(op), 1.0), op2(b, "add", x_of(op), k(b, x_of(op), 1.0)));
  });
  attach_unary(table, "expm1", [](Builder& b, const Op& op) { return op2(b, "add", op.result(), k(b, op.result(), 1.0)); });
  attach_unary(table, "sqrt", [](Builder& b, const Op& op) { return op2(b, "div", k(b, op.result(), 0.5), op.result()); });
  attach_unary(table, "rsqrt", [=](Builder& b, const Op& op) {  // -x^(-3/2) / 2
    return op2(b, "mul", k(b, op.result(), -0.5), op2(b, "div", op.result(), x_of(op)));
  });
  attach_unary(table, "sin", [=](Builder& b, const Op& op) { return op1(b, "cos", x_of(op)); });
  attach_unary(table, "cos", [=](Builder& b, const Op& op) { return op1(b, "neg", op1(b, "sin", x_of(op))); });
  attach_unary(table, "tanh", [](Builder& b, const Op& op) {
    Value* y = op.result();
    return op2(b, "sub", k(b, y, 1.0), op2(b, "mul", y, y));
  });
  attach_unary(table, "sigmoid", [](Builder& b, const Op& op) {
    Value* y = op.result();
    return op2(b, "mul", y, op2(b, "sub", k(b, y, 1.0), y));
  });
  attach_unary(table, "silu", [=](Builder& b, const Op& op) {  // s + x s (1 - s)
    Value *x = x_of(op), *s = op1(b, "sigmoid", x);
    return op2(b, "add", s, op2(b, "mul", op2(b, "mul", x, s), op2(b, "sub", k(b, s, 1.0), s)));
  });
  attach_unary(table, "softplus", [=](Builder& b, const Op& op) { return op1(b, "sigmoid", x_of(op)); });
  attach_unary(table, "erf", [=](Builder& b, const Op& op) {  // 2/sqrt(pi) e^(-x^2)
    Value* x = x_of(op);
    return op2(b, "mul", k(b, x, 1.1283791670955126), op1(b, "exp", op1(b, "neg", op2(b, "mul", x, x))));
  });
  attach_unary(table, "abs", [=](Builder& b, const Op& op) { return op1(b, "sign", x_of(op)); });
  attach_unary(table, "gelu", [=](Builder& b, const Op& op) {
    Value* x = x_of(op);
    if (op.has_attr("approximate") && op.str_attr("approximate") == "tanh") {
      // y = x/2 (1 + t), t = tanh(u), u = c (x + a x^3): y' = (1 + t)/2 + x/2 (1 - t^2) c (1 + 3 a x^2)
      const double c = 0.7978845608028654, a = 0.044715;
      Value* x2 = op2(b, "mul", x, x);
      Value* u = op2(b, "mul", k(b, x, c), op2(b, "add", x, op2(b, "mul", k(b, x, a), op2(b, "mul", x2, x))));
      Value* t = op1(b, "tanh", u);
      Value* du = op2(b, "mul", k(b, x, c), op2(b, "add", k(b, x, 1.0), op2(b, "mul", k(b, x, 3 * a), x2)));
      Value* left = op2(b, "mul", k(b, x, 0.5), op2(b, "add", k(b, x, 1.0), t));
      Value* right = op2(b, "mul", op2(b, "mul", k(b, x, 0.5), x), op2(b, "mul", op2(b, "sub", k(b, x, 1.0), op2(b, "mul", t, t)), du));
      return op2(b, "add", left, right);
    }
    // y = x Phi(x): y' = Phi(x) + x phi(x)
    Value* cdf = op2(b, "mul", k(b, x, 0.5), op2(b, "add", k(b, x, 1.0), op1(b, "erf", op2(b, "mul", x, k(b, x, 0.7071067811865476)))));
    Value* pdf = op2(b, "mul", k(b, x, 0.3989422804014327), op1(b, "exp", op2(b, "mul", k(b, x, -0.5), op2(b, "mul", x, x))));
    return op2(b, "add", cdf, op2(b, "mul", x, pdf));
  });
  attach_unary(table, "clamp", [=](Builder& b, const Op& op) {  // 1 inside the bounds, else 0
    Value* inside = op2(b, "equal", op.result(), x_of(op));
    return b.value("cast", {inside}, {{"dtype", std::string(dtype_name(op.result()->type.dtype))}});
  });
  attach(table, "sign", [](Builder&, const Op&, Value*) { return std::vector<Value*>{nullptr}; },
         [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });

  attach(table, "div",
         [](Builder& b, const Op& op, Value* g) {
           Value *x = op.operands[0], *y = op.operands[1];
           Value* gx = op2(b, "div", g, y);
           Value* gy = op1(b, "neg", op2(b, "div", op2(b, "mul", g, op.result()), y));
           return std::vector<Value*>{to_operand(b, gx, x->type), to_operand(b, gy, y->type)};
         },
         [](Builder& b, const Op& op, const std::vector<Value*>& t) {
           Value* y = op.operands[1];
           Value* a = t[0] ? op2(b, "div", t[0], y) : nullptr;
           Value* c = t[1] ? op1(b, "neg", op2(b, "div", op2(b, "mul", t[1], op.result()), y)) : nullptr;
           return add_maybe(b, a, c);
         });
  auto pow_dx = [](Builder& b, const Op& op) {  // p x^(p-1)
    Value *x = op.operands[0], *p = op.operands[1];
    return op2(b, "mul", p, op2(b, "pow", x, op2(b, "sub", p, k(b, p, 1.0))));
  };
  auto pow_dp = [](Builder& b, const Op& op) { return op2(b, "mul", op.result(), op1(b, "log", op.operands[0])); };
  attach(table, "pow",
         [=](Builder& b, const Op& op, Value* g) {
           Value *x = op.operands[0], *p = op.operands[1];
           Value* gx = is_float(x->type.dtype) ? to_operand(b, op2(b, "mul", g, pow_dx(b, op)), x->type) : nullptr;
           Value* gp = is_float(p->type.dtype) ? to_operand(b, op2(b, "mul", g, pow_dp(b, op)), p->type) : nullptr;
           return std::vector<Value*>{gx, gp};
         },
         [=](Builder& b, const Op& op, const std::vector<Value*>& t) {
           Value* a = t[0] ? op2(b, "mul", t[0], pow_dx(b, op)) : nullptr;
           Value* c = t[1] ? op2(b, "mul", t[1], pow_dp(b, op)) : nullptr;
           return add_maybe(b, a, c);
         });
  attach(table, "minimum",
         [](Builder& b, const Op& op, Value* g) {
           Value *x = op.operands[0], *y = op.operands[1];
           Value* pick_x = op2(b, "less_equal", x, y);
           Value* zero = k(b, g, 0.0);
           return std::vector<Value*>{to_operand(b, b.value("where", {pick_x, g, zero}), x->type),
                                      to_operand(b, b.value("where", {pick_x, zero, g}), y->type)};
         },
         [](Builder& b, const Op& op, const std::vector<Value*>& t) {
           Value* pick_x = op2(b, "less_equal", op.operands[0], op.operands[1]);
           return b.value("where", {pick_x, t[0] ? t[0] : zeros(b, op.result()->type), t[1] ? t[1] : zeros(b, op.result()->type)});
         });
  attach(table, "where",
         [](Builder& b, const Op& op, Value* g) {
           Value *c = op.operands[0], *x = op.operands[1], *y = op.operands[2];
           Value* zero = k(b, g, 0.0);
           return std::vector<Value*>{nullptr, to_operand(b, b.value("where", {c, g, zero}), x->type),
                                      to_operand(b, b.value("where", {c, zero, g}), y->type)};
         },
         [](Builder& b, const Op& op, const std::vector<Value*>& t) {
           const Type& rt = op.result()->type;
           return b.value("where", {op.operands[0], t[1] ? t[1] : zeros(b, rt), t[2] ? t[2] : zeros(b, rt)});
         });
  attach(table, "cast",
         [](Builder& b, const Op& op, Value* g) {
           const Type& in = op.operands[0]->type;
           if (!is_float(in.dtype)) return std::vector<Value*>{nullptr};
           return std::vector<Value*>{b.value("cast", {g}, {{"dtype", std::string(dtype_name(in.dtype))}})};
         },
         linear_jvp());
  // Comparisons and logical ops have no derivative: their results are bool; one_hot depends
  // only on integer indices.
  for (const char* name : {"less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "logical_and",
                           "logical_or", "logical_xor", "logical_not", "one_hot"})
    attach(table, name, [](Builder&, const Op& op, Value*) { return std::vector<Value*>(op.operands.size(), nullptr); },
           [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });
}

// A reduction's result (or its cotangent) with the reduced axis put back as size 1, so it
// broadcasts against the operand. Reductions over every axis were split into one-axis ones by
// `decompose` before differentiation; a rank-0 result broadcasts as it is.
Value* unreduce(Builder& b, const Op& op, Value* v) {
  if (!op.has_attr("axis") || op.bool_attr("keepdims", false)) return v;
  int64_t axis = normalize_axis(op.name, op.int_attr("axis"), op.operands[0]->type.rank());
  return b.value("expand_dims", {v}, {{"axis", axis}});
}

// 1 where x attains the reduced max/min, divided by how many times it does: the gradient is
// shared evenly between ties (as torch.amax does).
Value* extremum_weights(Builder& b, const Op& op) {
  Value* x = op.operands[0];
  Value* hit = b.value("cast", {op2(b, "equal", x, unreduce(b, op, op.result()))},
                       {{"dtype", std::string(dtype_name(x->type.dtype))}});
  AttrMap count_attrs = op.attrs;
  count_attrs["keepdims"] = true;
  return op2(b, "div", hit, b.value("sum", {hit}, count_attrs));
}

Value* reduce_like(Builder& b, const Op& op, Value* v) {
  AttrMap attrs = op.attrs;
  attrs.erase("dtype");
  return b.value("sum", {v}, attrs);
}

void attach_reductions(std::map<std::string, OpInfo>& table) {
  attach(table, "sum",
         [](Builder& b, const Op& op, Value* g) {
           const Type& in = op.operands[0]->type;
           Value* full = op2(b, "add", unreduce(b, op, g), zeros(b, Type::tensor(g->type.dtype, in.shape)));
           return std::vector<Value*>{to_operand(b, full, in)};
         },
         [](Builder& b, const Op& op, const std::vector<Value*>& t) { return b.value("sum", {t[0]}, op.attrs); });
  attach(table, "prod",  // d/dx_i prod = prod / x_i (inputs with zeros are not handled yet)
         [](Builder& b, const Op& op, Value* g) {
           Value* x = op.operands[0];
           Value* share = op2(b, "div", unreduce(b, op, op.result()), x);
           return std::vector<Value*>{to_operand(b, op2(b, "mul", unreduce(b, op, g), share), x->type)};
         },
         [](Builder& b, const Op& op, const std::vector<Value*>& t) {
           return op2(b, "mul", op.result(), reduce_like(b, op, op2(b, "div", t[0], op.operands[0])));
         });
  for (const char* name : {"max", "min"})
    attach(table, name,
           [](Builder& b, const Op& op, Value* g) {
             return std::vector<Value*>{op2(b, "mul", unreduce(b, op, g), extremum_weights(b, op))};
           },
           [](Builder& b, const Op& op, const std::vector<Value*>& t) {
             return reduce_like(b, op, op2(b, "mul", t[0], extremum_weights(b, op)));
           });
  for (const char* name : {"argmax", "argmin"})
    attach(table, name, [](Builder&, const Op&, Value*) { return std::vector<Value*>{nullptr}; },
           [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });

  // matmul with NumPy semantics: batch dims broadcast, 1-D operands act as a row / a column.
  attach(table, "matmul",
         [](Builder& b, const Op& op, Value* g) {
           Value *x = op.operands[0], *y = op.operands[1];
           bool xv = x->type.rank() == 1, yv = y->type.rank() == 1;
           if (xv) x = b.value("expand_dims", {x}, {{"axis", int64_t(0)}});
           if (yv) y = b.value("expand_dims", {y}, {{"axis", int64_t(-1)}});
           // The cotangent with the dims a 1-D operand dropped put back as size 1.
           if (xv || yv) g = reshape_to(b, g, lookup_op("matmul")->infer({x->type, y->type}, {})[0]);
           auto swap = [&](Value* v) {
             IntList perm;
             for (int64_t i = 0; i < v->type.rank(); ++i) perm.push_back(i);
             std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
             return b.value("transpose", {v}, {{"perm", perm}});
           };
           Value* gx = to_operand(b, b.value("matmul", {g, swap(y)}), x->type);
           Value* gy = to_operand(b, b.value("matmul", {swap(x), g}), y->type);
           if (xv) gx = reshape_to(b, gx, op.operands[0]->type);
           if (yv) gy = reshape_to(b, gy, op.operands[1]->type);
           return std::vector<Value*>{gx, gy};
         },
         [](Builder& b, const Op& op, const std::vector<Value*>& t) {
           Value* a = t[0] ? b.value("matmul", {t[0], op.operands[1]}) : nullptr;
           Value* c = t[1] ? b.value("matmul", {op.operands[0], t[1]}) : nullptr;
           return add_maybe(b, a, c);
         });
}

// Indexing ops. Their cotangents scatter-add back into the source, so like scatter_add
// itself they compile for the CPU only until GPU kernels get atomics.
void attach_indexing(std::map<std::string, OpInfo>& table) {
  attach(table, "gather",  // out[i][j] = x[idx[i][j]][j]  ->  dx = scatter_add(0, idx, g)
         [](Builder& b, const Op& op, Value* g) {
           Value* x = op.operands[0];
           return std::vector<Value*>{b.value("scatter_add", {zeros(b, x->type), op.operands[1], g}, op.attrs), nullptr};
         },
         linear_jvp());
  attach(table, "scatter_add",  // out = x + scatter(src)  ->  dx = g, dsrc = gather(g, idx)
         [](Builder& b, const Op& op, Value* g) {
           return std::vector<Value*>{g, nullptr, b.value("gather", {g, op.operands[1]}, op.attrs)};
         },
         linear_jvp());
  attach(table, "take",  // x.take(idx, axis): dx scatters g's rows back, as gather's does
         [](Builder& b, const Op& op, Value* g) {
           Value *x = op.operands[0], *idx = op.operands[1];
           std::vector<int64_t> xs = x->type.static_shape(), is = idx->type.static_shape();
           int64_t axis = normalize_axis("take", op.int_attr("axis", 0), int64_t(xs.size()));
           int64_t pre = 1, post = 1, k = 1;
           for (int64_t d = 0; d < axis; ++d) pre *= xs[size_t(d)];
           for (size_t d = size_t(axis) + 1; d < xs.size(); ++d) post *= xs[d];
           for (int64_t d : is) k *= d;
           // g is [pre..., idx..., post...]: as [pre, k, post], scatter rows of axis 1 into [pre, n, post].
           Value* g3 = b.value("reshape", {g}, {{"shape", IntList{pre, k, post}}});
           Value* i3 = b.value("broadcast_to", {b.value("reshape", {idx}, {{"shape", IntList{1, k, 1}}})},
                               {{"shape", IntList{pre, k, post}}});
           Type acc = Type::tensor(x->type.dtype, std::vector<int64_t>{pre, xs[size_t(axis)], post});
           Value* dx = b.value("scatter_add", {zeros(b, acc), i3, g3}, {{"axis", int64_t(1)}});
           return std::vector<Value*>{reshape_to(b, dx, x->type), nullptr};
         },
         linear_jvp());
}

void attach_movement(std::map<std::string, OpInfo>& table) {
  // Ops that only rearrange elements one-to-one: the cotangent is reshaped back.
  for (const char* name : {"reshape", "expand_dims", "squeeze"})
    attach(table, name,
           [](Builder& b, const Op& op, Value* g) { return std::vector<Value*>{reshape_to(b, g, op.operands[0]->type)}; },
           linear_jvp());
  attach(table, "transpose",
         [](Builder& b, const Op& op, Value* g) {
           IntList perm = op.has_attr("perm") ? op.ints_attr("perm") : IntList{};
           int64_t rank = op.operands[0]->type.rank();
           if (perm.empty())
             for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
           IntList inverse(perm.size());
           for (size_t i = 0; i < perm.size(); ++i) inverse[size_t(perm[i] < 0 ? perm[i] + rank : perm[i])] = int64_t(i);
           return std::vector<Value*>{b.value("transpose", {g}, {{"perm", inverse}})};
         },
         linear_jvp());
  attach(table, "slice",
         [](Builder& b, const Op& op, Value* g) {
           const Type& in = op.operands[0]->type;
           if (g->type.numel() == 0) return std::vector<Value*>{zeros(b, in)};
           std::vector<int64_t> shape = in.static_shape();
           auto bounds = slice_bounds(in, op.attrs);
           for (size_t d = 0; d < bounds.size(); ++d) {
             auto [start, step, n] = bounds[d];
             if (!(start == 0 && step == 1 && n == shape[d])) g = unslice_dim(b, g, d, start, step, n, shape[d]);
           }
           return std::vector<Value*>{g};
         },
         linear_jvp());
  attach(table, "pad",
         [](Builder& b, const Op& op, Value* g) {
           const IntList& p = op.ints_attr("pad");
           std::vector<int64_t> shape = op.operands[0]->type.static_shape();
           IntList start, stop;
           for (size_t d = 0; d < shape.size(); ++d) {
             start.push_back(p[2 * d]);
             stop.push_back(p[2 * d] + shape[d]);
           }
           return std::vector<Value*>{b.value("slice", {g}, {{"start", start}, {"stop", stop}, {"step", IntList(shape.size(), 1)}})};
         },
         [](Builder& b, const Op& op, const std::vector<Value*>& t) {  // the padding value is a constant
           AttrMap attrs = op.attrs;
           attrs["value"] = 0.0;
           return b.value("pad", {t[0]}, attrs);
         });
  attach(table, "concat",
         [](Builder& b, const Op& op, Value* g) {
           size_t axis = size_t(normalize_axis("concat", op.int_attr("axis", 0), g->type.rank()));
           std::vector<Value*> grads;
           int64_t offset = 0;
           for (Value* x : op.operands) {
             int64_t size = x->type.static_shape()[axis];
             grads.push_back(slice_dim(b, g, axis, offset, offset + size, 1));
             offset += size;
           }
           return grads;
         },
         linear_jvp());
  attach(table, "stack",
         [](Builder& b, const Op& op, Value* g) {
           size_t axis = size_t(normalize_axis("stack", op.int_attr("axis", 0), g->type.rank()));
           std::vector<Value*> grads;
           for (size_t i = 0; i < op.operands.size(); ++i)
             grads.push_back(reshape_to(b, slice_dim(b, g, axis, int64_t(i), int64_t(i) + 1, 1), op.operands[i]->type));
           return grads;
         },
         linear_jvp());
  attach(table, "broadcast_to",
         [](Builder& b, const Op& op, Value* g) { return std::vector<Value*>{unbroadcast(b, g, op.operands[0]->type)}; },
         linear_jvp());
}

}  // namespace

void attach_derivatives(std::map<std::string, OpInfo>& table) {
  attach(table, "add",
         [](Builder& b, const Op& op, Value* g) {
           return std::vector<Value*>{to_operand(b, g, op.operands[0]->type), to_operand(b, g, op.operands[1]->type)};
         },
         [](Builder& b, const Op&, const std::vector<Value*>& t) { return add_maybe(b, t[0], t[1]); });
  attach(table, "sub",
         [](Builder& b, const Op& op, Value* g) {
           return std::vector<Value*>{to_operand(b, g, op.operands[0]->type),
                                      to_operand(b, b.value("neg", {g}), op.operands[1]->type)};
         },
         [](Builder& b, const Op&, const std::vector<Value*>& t) {
           return add_maybe(b, t[0], t[1] ? b.value("neg", {t[1]}) : nullptr);
         });
  attach(table, "mul",
         [](Builder& b, const Op& op, Value* g) {
           Value *x = op.operands[0], *y = op.operands[1];
           return std::vector<Value*>{to_operand(b, b.value("mul", {g, y}), x->type),
                                      to_operand(b, b.value("mul", {g, x}), y->type)};
         },
         [](Builder& b, const Op& op, const std::vector<Value*>& t) {
           Value* a = t[0] ? b.value("mul", {t[0], op.operands[1]}) : nullptr;
           Value* c = t[1] ? b.value("mul", {op.operands[0], t[1]}) : nullptr;
           return add_maybe(b, a, c);
         });
  attach(table, "neg",
         [](Builder& b, const Op&, Value* g) { return std::vector<Value*>{b.value("neg", {g})}; },
         [](Builder& b, const Op&, const std::vector<Value*>& t) { return b.value("neg", {t[0]}); });
  attach(table, "exp",
         [](Builder& b, const Op& op, Value* g) { return std::vector<Value*>{b.value("mul", {g, op.result()})}; },
         [](Builder& b, const Op& op, const std::vector<Value*>& t) { return b.value("mul", {t[0], op.result()}); });
  attach(table, "relu",
         [](Builder& b, const Op& op, Value* g) {
           return std::vector<Value*>{b.value("mul", {g, positive_mask(b, op.operands[0])})};
         },
         [](Builder& b, const Op& op, const std::vector<Value*>& t) {
           return b.value("mul", {t[0], positive_mask(b, op.operands[0])});
         });
  attach(table, "maximum",
         [](Builder& b, const Op& op, Value* g) {
           // Ties send the gradient to x, as NumPy-style maximum picks x.
           Value *x = op.operands[0], *y = op.operands[1];
           Value* pick_x = b.value("greater_equal", {x, y});
           Value* zero = scalar_const(b, g->type.dtype, 0.0);
           return std::vector<Value*>{to_operand(b, b.value("where", {pick_x, g, zero}), x->type),
                                      to_operand(b, b.value("where", {pick_x, zero, g}), y->type)};
         },
         [](Builder& b, const Op& op, const std::vector<Value*>& t) {
           Value* pick_x = b.value("greater_equal", {op.operands[0], op.operands[1]});
           Value* tx = t[0] ? t[0] : zeros(b, op.result()->type);
           Value* ty = t[1] ? t[1] : zeros(b, op.result()->type);
           return b.value("where", {pick_x, tx, ty});
         });
  attach_movement(table);
  attach_math(table);
  attach_reductions(table);
  attach_indexing(table);
  attach(table, "stop_gradient",
         [](Builder&, const Op&, Value*) { return std::vector<Value*>{nullptr}; },
         [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });
  attach(table, "constant",
         [](Builder&, const Op&, Value*) { return std::vector<Value*>{}; },
         [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });
}

}  // namespace tessera::ir
