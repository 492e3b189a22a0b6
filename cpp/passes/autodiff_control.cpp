// Control flow under the autodiff transforms: the derivative of a scan, cond or while_loop is
// another such op calling derived functions (the transforms applied to the functions it calls),
// added to the module next to them.
//
// Reverse mode. scan: the forward scan also stacks its input carries (residuals); the backward
// scan runs the other way, carrying the carries' cotangents and the accumulated cotangents of
// the constants, and produces the xs' cotangents as its ys. cond: a cond of the branches' VJPs.
// while_loop has no reverse mode (its step count is not known when the program is built).
// Forward mode: scan, while_loop and cond of the functions' JVPs, carrying the tangents along;
// appended after the tangents they read, next to the original op (which keeps the primal).
#include <algorithm>
#include <cstdint>

#include "ir/builder.hpp"
#include "ir/control_flow.hpp"
#include "ir/custom_vjp.hpp"
#include "passes/autodiff.hpp"
#include "passes/derived.hpp"

namespace tessera::passes {
using namespace ir;

namespace {

using Values = std::vector<Value*>;

// The VJP (reverse) or JVP of function `name` of m, added to m with the functions the
// transform made; returns the derived function's name.
std::string derive(Module& m, const std::string& name, bool reverse, const std::vector<int>& wrt,
                   const std::vector<int>& outs) {
  auto tmp = m.clone();
  auto it = std::find_if(tmp->funcs.begin(), tmp->funcs.end(), [&](auto& f) { return f->name == name; });
  std::rotate(tmp->funcs.begin(), it, it + 1);  // the transforms act on the first function
  auto d = reverse ? vjp_transform(*tmp, wrt, outs, false) : jvp_transform(*tmp, wrt);
  for (size_t i = 1; i < d->funcs.size(); ++i)
    if (!m.find(d->funcs[i]->name)) m.funcs.push_back(std::move(d->funcs[i]));
  return adopt(m, std::move(d->funcs[0]), name + (reverse ? "_vjp" : "_jvp"));
}

std::vector<int> float_indices(const Values& vs, size_t begin, size_t end) {
  std::vector<int> out;
  for (size_t i = begin; i < end; ++i)
    if (is_float(vs[i]->type.dtype)) out.push_back(int(i));
  return out;
}

std::vector<Type> types(const Values& vs) {
  std::vector<Type> out;
  for (Value* v : vs) out.push_back(v->type);
  return out;
}

Values pick(const Values& vs, const std::vector<int>& at, int shift = 0) {
  Values out;
  for (int i : at) out.push_back(vs[size_t(i + shift)]);
  return out;
}

Value* or_zeros(Builder& b, Value* v, const Type& t) { return v ? v : b.graph_constant(t, 0.0); }

Type slice_type(const Type& stacked) {
  return Type::tensor(stacked.dtype, std::vector<Dim>(stacked.shape.begin() + 1, stacked.shape.end()));
}

Type stacked_type(const Type& t, int64_t length) {
  std::vector<Dim> s{Dim::of(length)};
  s.insert(s.end(), t.shape.begin(), t.shape.end());
  return Type::tensor(t.dtype, s);
}

Op* emit(Block& body, std::list<std::unique_ptr<Op>>::iterator pos, const Op& like, Values operands,
         std::vector<Type> results, AttrMap attrs) {
  return body.insert(pos, Op::make(like.name, std::move(operands), results, std::move(attrs), like.loc));
}

Values results_of(const Op* op, size_t begin, size_t end) {
  Values out;
  for (size_t i = begin; i < end; ++i) out.push_back(op->result(int(i)));
  return out;
}

// ---- reverse mode ----

Values scan_vjp(Module& m, Block& body, const Op& op, const Values& cts) {
  const size_t a = size_t(op.int_attr("n_carry")), b = size_t(op.int_attr("n_xs")), n = op.operands.size();
  const size_t ny = op.results.size() - 2 * a;  // results: carries, ys, then the stacked carries (residuals)
  const int64_t length = op.int_attr("length");
  const Values& in = op.operands;
  std::vector<int> cf = float_indices(in, 0, a), xf = float_indices(in, a, a + b), kf = float_indices(in, a + b, n);
  std::vector<int> yf;
  for (size_t j = 0; j < ny; ++j)
    if (is_float(op.result(int(a + j))->type.dtype)) yf.push_back(int(j));
  std::vector<int> wrt = cf, outs = cf;
  wrt.insert(wrt.end(), xf.begin(), xf.end());
  wrt.insert(wrt.end(), kf.begin(), kf.end());
  for (int j : yf) outs.push_back(int(a) + j);
  const std::string body_fn = op.str_attr("body");
  std::string g = derive(m, body_fn, true, wrt, outs);
  const Function& B = *m.find(body_fn);
  const size_t n_out = B.result_types.size();

  // Bb(dc_f.., dk_f.., c.., x.., dy_f.., k..) -> (dc_prev_f.., dk_f + dk_t.., dx_f..)
  std::vector<Type> params;
  for (int i : cf) params.push_back(in[size_t(i)]->type);
  for (int i : kf) params.push_back(in[size_t(i)]->type);
  for (size_t i = 0; i < a; ++i) params.push_back(in[i]->type);
  for (size_t i = a; i < a + b; ++i) params.push_back(slice_type(in[i]->type));
  for (int j : yf) params.push_back(B.result_types[a + size_t(j)]);
  for (size_t i = a + b; i < n; ++i) params.push_back(in[i]->type);
  const size_t ncf = cf.size(), nkf = kf.size(), nyf = yf.size();
  std::string bb = add_function(m, body_fn + "_bwd", params, [&](Builder& bl, const Values& p) {
    Values args(p.begin() + long(ncf + nkf), p.begin() + long(ncf + nkf + a + b));  // c.., x..
    args.insert(args.end(), p.end() - long(n - a - b), p.end());                    // k..
    args.insert(args.end(), p.begin(), p.begin() + long(ncf));                      // dc_f..
    args.insert(args.end(), p.begin() + long(ncf + nkf + a + b), p.begin() + long(ncf + nkf + a + b + nyf));  // dy_f..
    Values r = call(bl, m, g, args);
    Values d(r.begin() + long(n_out), r.end());  // in wrt order: c_f, x_f, k_f
    Values out(d.begin(), d.begin() + long(ncf));
    for (size_t i = 0; i < nkf; ++i) out.push_back(bl.value("add", {p[ncf + i], d[ncf + xf.size() + i]}));
    out.insert(out.end(), d.begin() + long(ncf), d.begin() + long(ncf + xf.size()));
    return out;
  });

  Builder bl(&body);
  Values operands, stacks = results_of(&op, a + ny, op.results.size());
  for (int i : cf) operands.push_back(or_zeros(bl, cts[size_t(i)], in[size_t(i)]->type));
  for (int i : kf) operands.push_back(bl.graph_constant(in[size_t(i)]->type, 0.0));
  operands.insert(operands.end(), stacks.begin(), stacks.end());
  operands.insert(operands.end(), in.begin() + long(a), in.begin() + long(a + b));
  for (int j : yf) operands.push_back(or_zeros(bl, cts[a + size_t(j)], op.result(int(a) + j)->type));
  operands.insert(operands.end(), in.begin() + long(a + b), in.end());
  std::vector<Type> rt;
  for (int i : cf) rt.push_back(in[size_t(i)]->type);
  for (int i : kf) rt.push_back(in[size_t(i)]->type);
  for (int i : xf) rt.push_back(in[size_t(i)]->type);
  AttrMap attrs{{"body", bb},
                {"length", length},
                {"n_carry", int64_t(ncf + nkf)},
                {"n_xs", int64_t(a + b + nyf)},
                {"reverse", !op.bool_attr("reverse", false)}};
  Op* back = emit(body, body.ops.end(), op, operands, rt, attrs);
  Values grads(n, nullptr);
  size_t r = 0;
  for (int i : cf) grads[size_t(i)] = back->result(int(r++));
  for (int i : kf) grads[size_t(i)] = back->result(int(r++));
  for (int i : xf) grads[size_t(i)] = back->result(int(r++));
  return grads;
}

Values cond_vjp(Module& m, Block& body, const Op& op, const Values& cts) {
  const Values& in = op.operands;
  std::vector<int> of = float_indices(in, 1, in.size());  // operand indices (pred is 0)
  std::vector<int> wrt, outs;
  for (int i : of) wrt.push_back(i - 1);
  std::vector<Type> params = types(Values(in.begin() + 1, in.end()));
  Values ct_values;
  Builder bl(&body);
  for (size_t j = 0; j < op.results.size(); ++j) {
    if (!is_float(op.result(int(j))->type.dtype)) continue;
    outs.push_back(int(j));
    params.push_back(op.result(int(j))->type);
    ct_values.push_back(or_zeros(bl, cts[j], op.result(int(j))->type));
  }
  AttrMap attrs;
  for (const char* role : {"then", "else"}) {
    std::string d = derive(m, op.str_attr(role), true, wrt, outs);
    size_t n_out = op.results.size();
    attrs[role] = add_function(m, op.str_attr(role) + "_bwd", params, [&](Builder& b, const Values& p) {
      Values r = call(b, m, d, p);
      return Values(r.begin() + long(n_out), r.end());
    });
  }
  Values operands(in.begin(), in.end());
  operands.insert(operands.end(), ct_values.begin(), ct_values.end());
  std::vector<Type> rt;
  for (int i : of) rt.push_back(in[size_t(i)]->type);
  Op* back = emit(body, body.ops.end(), op, operands, rt, attrs);
  Values grads(in.size(), nullptr);
  for (size_t k = 0; k < of.size(); ++k) grads[size_t(of[k])] = back->result(int(k));
  return grads;
}

// ---- forward mode ----

// Tangents of operands `at` (zeros where missing).
Values tangents_of(Builder& b, const Op& op, const Values& t, const std::vector<int>& at) {
  Values out;
  for (int i : at) out.push_back(or_zeros(b, t[size_t(i)], op.operands[size_t(i)]->type));
  return out;
}

// scan(c.., tc_f.., x.., tx_f.., k.., tk_f..) of the body's JVP: results (c.., tc_f.., y.., ty_f..).
Op* scan_jvp(Module& m, Block& body, std::list<std::unique_ptr<Op>>::iterator pos, const Values& t,
             std::vector<std::pair<size_t, size_t>>& map) {
  const Op& op = **pos;
  const size_t a = size_t(op.int_attr("n_carry")), b = size_t(op.int_attr("n_xs")), n = op.operands.size();
  const Values& in = op.operands;
  std::vector<int> cf = float_indices(in, 0, a), xf = float_indices(in, a, a + b), kf = float_indices(in, a + b, n);
  std::vector<int> wrt = cf;
  wrt.insert(wrt.end(), xf.begin(), xf.end());
  wrt.insert(wrt.end(), kf.begin(), kf.end());
  const std::string fn = op.str_attr("body");
  std::string d = derive(m, fn, false, wrt, {});
  const Function& B = *m.find(fn);
  const size_t n_out = B.result_types.size(), ny = n_out - a;
  std::vector<Type> params;
  auto add = [&](size_t lo, size_t hi, const std::vector<int>& f, bool slice) {
    for (size_t i = lo; i < hi; ++i) params.push_back(slice ? slice_type(in[i]->type) : in[i]->type);
    for (int i : f) params.push_back(slice ? slice_type(in[size_t(i)]->type) : in[size_t(i)]->type);
  };
  add(0, a, cf, false);
  add(a, a + b, xf, true);
  add(a + b, n, kf, false);
  std::vector<int> yf;
  for (size_t j = 0; j < ny; ++j)
    if (is_float(B.result_types[a + j].dtype)) yf.push_back(int(j));
  std::string wrapped = add_function(m, fn + "_jvp_step", params, [&](Builder& bl, const Values& p) {
    const size_t c0 = 0, x0 = a + cf.size(), k0 = x0 + b + xf.size();
    Values args(p.begin() + long(c0), p.begin() + long(c0 + a));
    args.insert(args.end(), p.begin() + long(x0), p.begin() + long(x0 + b));
    args.insert(args.end(), p.begin() + long(k0), p.begin() + long(k0 + (n - a - b)));
    for (auto [lo, cnt] : {std::pair{c0 + a, cf.size()}, {x0 + b, xf.size()}, {k0 + (n - a - b), kf.size()}})
      args.insert(args.end(), p.begin() + long(lo), p.begin() + long(lo + cnt));
    Values r = call(bl, m, d, args);  // (c'.., y.., tangent of every output..)
    Values out(r.begin(), r.begin() + long(a));
    for (int i : cf) out.push_back(r[n_out + size_t(i)]);
    out.insert(out.end(), r.begin() + long(a), r.begin() + long(n_out));
    for (int j : yf) out.push_back(r[n_out + a + size_t(j)]);
    return out;
  });
  Builder bl(&body);
  Values operands(in.begin(), in.begin() + long(a));
  for (Value* v : tangents_of(bl, op, t, cf)) operands.push_back(v);
  operands.insert(operands.end(), in.begin() + long(a), in.begin() + long(a + b));
  for (Value* v : tangents_of(bl, op, t, xf)) operands.push_back(v);
  operands.insert(operands.end(), in.begin() + long(a + b), in.end());
  for (Value* v : tangents_of(bl, op, t, kf)) operands.push_back(v);
  std::vector<Type> rt;
  for (size_t i = 0; i < a; ++i) rt.push_back(op.result(int(i))->type);
  for (int i : cf) rt.push_back(op.result(i)->type);
  for (size_t j = 0; j < ny; ++j) rt.push_back(op.result(int(a + j))->type);
  for (int j : yf) rt.push_back(op.result(int(a) + j)->type);
  AttrMap attrs = op.attrs;
  attrs["body"] = wrapped;
  attrs["n_carry"] = int64_t(a + cf.size());
  attrs["n_xs"] = int64_t(b + xf.size());
  Op* fwd = emit(body, body.ops.end(), op, operands, rt, attrs);
  // (original result, its tangent) positions in the new op
  for (size_t i = 0; i < a; ++i) map.push_back({i, SIZE_MAX});
  for (size_t k = 0; k < cf.size(); ++k) map[size_t(cf[k])].second = a + k;
  const size_t y0 = a + cf.size();
  for (size_t j = 0; j < ny; ++j) map.push_back({y0 + j, SIZE_MAX});
  for (size_t k = 0; k < yf.size(); ++k) map[a + size_t(yf[k])].second = y0 + ny + k;
  return fwd;
}

// while_loop(c.., tc_f.., k.., tk_f..) with the cond seeing c.., k.. and the body's JVP.
Op* while_jvp(Module& m, Block& body, std::list<std::unique_ptr<Op>>::iterator pos, const Values& t,
              std::vector<std::pair<size_t, size_t>>& map) {
  const Op& op = **pos;
  const size_t a = size_t(op.int_attr("n_carry")), n = op.operands.size();
  const Values& in = op.operands;
  std::vector<int> cf = float_indices(in, 0, a), kf = float_indices(in, a, n);
  std::vector<int> wrt = cf;
  wrt.insert(wrt.end(), kf.begin(), kf.end());
  std::string d = derive(m, op.str_attr("body"), false, wrt, {});
  std::vector<Type> params = types(Values(in.begin(), in.begin() + long(a)));
  for (int i : cf) params.push_back(in[size_t(i)]->type);
  for (size_t i = a; i < n; ++i) params.push_back(in[i]->type);
  for (int i : kf) params.push_back(in[size_t(i)]->type);
  const size_t k0 = a + cf.size();
  auto primal_args = [&](const Values& p) {
    Values args(p.begin(), p.begin() + long(a));
    args.insert(args.end(), p.begin() + long(k0), p.begin() + long(k0 + n - a));
    return args;
  };
  AttrMap attrs = op.attrs;
  attrs["cond"] = add_function(m, op.str_attr("cond") + "_jvp", params, [&](Builder& bl, const Values& p) {
    return call(bl, m, op.str_attr("cond"), primal_args(p));
  });
  attrs["body"] = add_function(m, op.str_attr("body") + "_jvp_step", params, [&](Builder& bl, const Values& p) {
    Values args = primal_args(p);
    args.insert(args.end(), p.begin() + long(a), p.begin() + long(k0));
    args.insert(args.end(), p.begin() + long(k0 + n - a), p.end());
    Values r = call(bl, m, d, args);  // (c'.., tangent of every c'..)
    Values out(r.begin(), r.begin() + long(a));
    for (int i : cf) out.push_back(r[a + size_t(i)]);
    return out;
  });
  attrs["n_carry"] = int64_t(a + cf.size());
  Builder bl(&body);
  Values operands(in.begin(), in.begin() + long(a));
  for (Value* v : tangents_of(bl, op, t, cf)) operands.push_back(v);
  operands.insert(operands.end(), in.begin() + long(a), in.end());
  for (Value* v : tangents_of(bl, op, t, kf)) operands.push_back(v);
  std::vector<Type> rt = types(Values(in.begin(), in.begin() + long(a)));
  for (int i : cf) rt.push_back(in[size_t(i)]->type);
  Op* fwd = emit(body, body.ops.end(), op, operands, rt, attrs);
  for (size_t i = 0; i < a; ++i) map.push_back({i, SIZE_MAX});
  for (size_t k = 0; k < cf.size(); ++k) map[size_t(cf[k])].second = a + k;
  return fwd;
}

// cond(p, x.., tx_f..) of the branches' JVPs: results (r.., tangent of every r..).
Op* cond_jvp(Module& m, Block& body, std::list<std::unique_ptr<Op>>::iterator pos, const Values& t,
             std::vector<std::pair<size_t, size_t>>& map) {
  const Op& op = **pos;
  const Values& in = op.operands;
  std::vector<int> of = float_indices(in, 1, in.size()), wrt;
  for (int i : of) wrt.push_back(i - 1);
  AttrMap attrs = op.attrs;
  for (const char* role : {"then", "else"}) attrs[role] = derive(m, op.str_attr(role), false, wrt, {});
  Builder bl(&body);
  Values operands(in.begin(), in.end());
  for (Value* v : tangents_of(bl, op, t, of)) operands.push_back(v);
  std::vector<Type> rt;
  for (int k = 0; k < 2; ++k)
    for (const auto& r : op.results) rt.push_back(r->type);
  Op* fwd = emit(body, body.ops.end(), op, operands, rt, attrs);
  const size_t nr = op.results.size();
  for (size_t j = 0; j < nr; ++j) map.push_back({j, is_float(op.result(int(j))->type.dtype) ? nr + j : SIZE_MAX});
  return fwd;
}

}  // namespace

Values control_jvp(Module& m, Block& body, std::list<std::unique_ptr<Op>>::iterator pos, const Values& tangents) {
  const Op& op = **pos;
  std::vector<std::pair<size_t, size_t>> map;  // per original result: (primal, tangent) in the new op
  Op* fwd = op.name == "scan"         ? scan_jvp(m, body, pos, tangents, map)
            : op.name == "while_loop" ? while_jvp(m, body, pos, tangents, map)
                                      : cond_jvp(m, body, pos, tangents, map);
  Values out;
  for (size_t i = 0; i < op.results.size(); ++i)
    out.push_back(map[i].second == SIZE_MAX ? nullptr : fwd->result(int(map[i].second)));
  return out;
}

Op* scan_with_residuals(Module& m, Block& body, std::list<std::unique_ptr<Op>>::iterator pos) {
  Op& op = **pos;
  const size_t a = size_t(op.int_attr("n_carry"));
  const int64_t length = op.int_attr("length");
  const std::string fn = op.str_attr("body");
  std::vector<Type> params;
  for (const auto& arg : m.find(fn)->body.args) params.push_back(arg->type);
  AttrMap attrs = op.attrs;
  attrs["body"] = add_function(m, fn + "_res", params, [&](Builder& b, const Values& args) {
    Values r = call(b, m, fn, args);
    r.insert(r.end(), args.begin(), args.begin() + long(a));  // the step's input carries
    return r;
  });
  std::vector<Type> rt;
  for (const auto& r : op.results) rt.push_back(r->type);
  for (size_t i = 0; i < a; ++i) rt.push_back(stacked_type(op.operands[i]->type, length));
  Op* res = emit(body, pos, op, op.operands, rt, attrs);
  for (size_t i = 0; i < op.results.size(); ++i) replace_all_uses(body, op.result(int(i)), res->result(int(i)));
  return res;
}

Values control_vjp(Module& m, Block& body, const Op& op, const Values& cts) {
  if (op.name == "scan") return scan_vjp(m, body, op, cts);
  if (op.name == "cond") return cond_vjp(m, body, op, cts);
  fail(ErrorCode::Value,
       "while_loop: no reverse-mode derivative (grad/vjp): its number of steps is only known when "
       "it runs; use scan or fori_loop with int bounds, or forward mode (jvp)",
       op.loc.str());
}

}  // namespace tessera::passes
