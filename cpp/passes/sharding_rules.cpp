#include "passes/sharding_rules.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "ir/op_rules.hpp"
#include "ir/ops.hpp"
#include "ir/registry.hpp"
#include "ir/sharding.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

using Rule = std::optional<ShardingRule>;

int64_t size_of(const Dim& d) { return d.is_static() ? d.size : -1; }

bool all_static(const Op& op) {
  for (const Value* v : op.operands)
    if (!v->type.has_static_shape()) return false;
  for (const auto& r : op.results)
    if (!r->type.has_static_shape()) return false;
  return true;
}

// One factor per result dim; operands aligned to the right (NumPy broadcasting), a size-1 dim
// against a larger one naming none.
ShardingRule elementwise(const Op& op) {
  ShardingRule r;
  const std::vector<Dim>& out = op.result()->type.shape;
  std::vector<int> f;
  for (const Dim& d : out) f.push_back(r.add_factor(size_of(d)));
  r.results = {f};
  for (const Value* v : op.operands) {
    const std::vector<Dim>& s = v->type.shape;
    std::vector<int> dims;
    for (size_t i = 0; i < s.size(); ++i) {
      size_t o = out.size() - s.size() + i;
      dims.push_back(s[i] == out[o] ? f[o] : -1);
    }
    r.operands.push_back(dims);
  }
  return r;
}

Rule unary(const Op& op) {
  ShardingRule r = elementwise(op);
  if (op.name == "neg" || op.name == "stop_gradient") {
    r.partial = "one";
    r.linear = {true};
  }
  return r;
}

Rule binary(const Op& op) {
  ShardingRule r = elementwise(op);
  if (op.name == "add" || op.name == "sub") {
    r.partial = "each";
    r.linear = {true, true};
  } else if (op.name == "mul" || op.name == "div") {
    r.partial = "one";
    r.linear = {true, op.name == "mul"};
  }
  return r;
}

// Single-axis reductions (decompose leaves no other kind).
Rule reduction(const Op& op) {
  auto it = op.attrs.find("axis");
  if (it == op.attrs.end() || !std::holds_alternative<int64_t>(it->second)) return std::nullopt;
  const Type& x = op.operands[0]->type;
  const int64_t axis = normalize_axis(op.name, std::get<int64_t>(it->second), x.rank());
  const bool keep = op.bool_attr("keepdims", false);
  ShardingRule r;
  std::vector<int> in, out;
  for (int64_t d = 0; d < x.rank(); ++d) {
    int f = r.add_factor(size_of(x.shape[size_t(d)]));
    in.push_back(f);
    if (d != axis)
      out.push_back(f);
    else if (keep)
      out.push_back(-1);
  }
  r.operands = {in};
  r.results = {out};
  if (op.name == "sum") {
    r.reduce = "sum";
    r.partial = "one";
    r.linear = {true};
  } else if (op.name == "max" || op.name == "any") {
    r.reduce = "max";
  } else if (op.name == "min" || op.name == "all") {
    r.reduce = "min";
  }  // prod, argmax, argmin: the reduced axis stays whole
  return r;
}

// a[..., M, K] @ b[..., K, N] (either may be a vector), batch dims broadcast.
Rule matmul(const Op& op) {
  const std::vector<Dim>&a = op.operands[0]->type.shape, &b = op.operands[1]->type.shape;
  const std::vector<Dim>& out = op.result()->type.shape;
  ShardingRule r;
  const size_t a_batch = a.size() - std::min<size_t>(a.size(), 2), b_batch = b.size() - std::min<size_t>(b.size(), 2);
  const size_t n_batch = std::max(a_batch, b_batch);
  std::vector<int> fa, fb, fo;
  for (size_t i = 0; i < n_batch; ++i) fo.push_back(r.add_factor(size_of(out[i])));
  auto batch_dims = [&](const std::vector<Dim>& s, size_t nb, std::vector<int>& dims) {
    for (size_t i = 0; i < nb; ++i) {
      size_t o = n_batch - nb + i;
      dims.push_back(s[i] == out[o] ? fo[o] : -1);
    }
  };
  batch_dims(a, a_batch, fa);
  batch_dims(b, b_batch, fb);
  const int k = r.add_factor(size_of(a.back()));
  if (a.size() >= 2) {
    int m = r.add_factor(size_of(a[a.size() - 2]));
    fa.push_back(m);
    fo.push_back(m);
  }
  fa.push_back(k);
  fb.push_back(k);
  if (b.size() >= 2) {
    int n = r.add_factor(size_of(b.back()));
    fb.push_back(n);
    fo.push_back(n);
  }
  r.operands = {fa, fb};
  r.results = {fo};
  r.reduce = "sum";
  r.partial = "one";
  r.linear = {true, true};
  return r;
}

// "ab,bc->ac": one factor per letter (no ellipsis, no repeated letter within an operand).
Rule einsum(const Op& op) {
  const std::string& eq = op.str_attr("equation");
  size_t arrow = eq.find("->");
  if (arrow == std::string::npos || eq.find('.') != std::string::npos) return std::nullopt;
  std::vector<std::string> ins;
  size_t start = 0;
  for (size_t i = 0; i <= arrow; ++i)
    if (i == arrow || eq[i] == ',') {
      ins.push_back(eq.substr(start, i - start));
      start = i + 1;
    }
  std::string outs = eq.substr(arrow + 2);
  if (ins.size() != op.operands.size()) return std::nullopt;
  ShardingRule r;
  std::map<char, int> factor;
  auto dims_of = [&](const std::string& letters, const std::vector<Dim>& shape) -> std::optional<std::vector<int>> {
    if (letters.size() != shape.size() || std::set<char>(letters.begin(), letters.end()).size() != letters.size())
      return std::nullopt;
    std::vector<int> dims;
    for (size_t i = 0; i < letters.size(); ++i) {
      auto [it, fresh] = factor.emplace(letters[i], 0);
      if (fresh) it->second = r.add_factor(size_of(shape[i]));
      dims.push_back(it->second);
    }
    return dims;
  };
  for (size_t i = 0; i < ins.size(); ++i) {
    auto d = dims_of(ins[i], op.operands[i]->type.shape);
    if (!d) return std::nullopt;
    r.operands.push_back(*d);
  }
  auto d = dims_of(outs, op.result()->type.shape);
  if (!d) return std::nullopt;
  r.results = {*d};
  r.reduce = "sum";
  r.partial = "one";
  r.linear = std::vector<bool>(op.operands.size(), true);
  return r;
}

// No perm: the dims reversed.
Rule transpose(const Op& op) {
  ShardingRule r;
  std::vector<int> in;
  for (const Dim& d : op.operands[0]->type.shape) in.push_back(r.add_factor(size_of(d)));
  std::vector<int> out(in.rbegin(), in.rend());
  if (op.has_attr("perm") && !op.ints_attr("perm").empty()) {  // [] is the default too
    out.clear();
    for (int64_t p : op.ints_attr("perm")) out.push_back(in[size_t(p < 0 ? p + int64_t(in.size()) : p)]);
  }
  r.operands = {in};
  r.results = {out};
  r.partial = "one";
  r.linear = {true};
  return r;
}

// reshape, expand_dims, squeeze: the dims fall into groups of equal products. Within a group
// only the leading dims of both sides can split, together: splitting the leading dim of a
// row-major group in n parts splits the group's elements in n contiguous runs, on both sides,
// when both leading sizes divide by n (the factor's size is their gcd). Size-1 dims name none.
Rule reshape_like(const Op& op) {
  if (!all_static(op)) return std::nullopt;
  std::vector<int64_t> in = op.operands[0]->type.static_shape(), out = op.result()->type.static_shape();
  ShardingRule r;
  std::vector<int> fi(in.size(), -1), fo(out.size(), -1);
  size_t i = 0, o = 0;
  auto skip_ones = [&] {
    while (i < in.size() && in[i] == 1) ++i;
    while (o < out.size() && out[o] == 1) ++o;
  };
  skip_ones();
  while (i < in.size() && o < out.size()) {
    const size_t i0 = i, o0 = o;
    int64_t pi = in[i++], po = out[o++];
    while (pi != po) {
      if (pi < po && i < in.size())
        pi *= in[i++];
      else if (po < pi && o < out.size())
        po *= out[o++];
      else
        return std::nullopt;  // zero-size dims: nothing worth splitting
    }
    if (pi > 0) fi[i0] = fo[o0] = r.add_factor(std::gcd(in[i0], out[o0]));
    skip_ones();
  }
  r.operands = {fi};
  r.results = {fo};
  r.partial = "one";
  r.linear = {true};
  return r;
}

// broadcast_to: operand dims aligned to the right; new and expanded dims are factors of the
// result alone (each member computes its block of the broadcast).
Rule broadcast_to(const Op& op) {
  ShardingRule r = elementwise(op);
  r.partial = "one";
  r.linear = {true};
  return r;
}

Rule slice(const Op& op) {
  const Type& x = op.operands[0]->type;
  if (!x.has_static_shape()) return std::nullopt;
  auto bounds = slice_bounds(x, op.attrs);
  ShardingRule r;
  std::vector<int> in;
  for (size_t d = 0; d < bounds.size(); ++d) {
    bool whole = bounds[d][0] == 0 && bounds[d][1] == 1 && bounds[d][2] == x.shape[d].size;
    in.push_back(whole ? r.add_factor(x.shape[d].size) : -1);
  }
  r.operands = {in};
  r.results = {in};
  r.partial = "one";
  r.linear = {true};
  return r;
}

Rule pad(const Op& op) {
  const IntList& p = op.ints_attr("pad");
  ShardingRule r;
  std::vector<int> in;
  const auto& s = op.operands[0]->type.shape;
  for (size_t d = 0; d < s.size(); ++d)
    in.push_back(2 * d + 1 < p.size() && p[2 * d] == 0 && p[2 * d + 1] == 0 ? r.add_factor(size_of(s[d])) : -1);
  r.operands = {in};
  r.results = {in};
  return r;
}

Rule concat(const Op& op) {
  const int64_t rank = op.result()->type.rank();
  const int64_t axis = normalize_axis("concat", op.int_attr("axis"), rank);
  ShardingRule r;
  std::vector<int> f;
  for (int64_t d = 0; d < rank; ++d) f.push_back(d == axis ? -1 : r.add_factor(size_of(op.result()->type.shape[d])));
  r.operands = std::vector<std::vector<int>>(op.operands.size(), f);
  r.results = {f};
  return r;
}

// The last two dims are the matrix; leading dims are a batch.
Rule tril(const Op& op) {
  ShardingRule r;
  std::vector<int> f;
  const auto& s = op.result()->type.shape;
  for (size_t d = 0; d < s.size(); ++d) f.push_back(d + 2 < s.size() ? r.add_factor(size_of(s[d])) : -1);
  r.operands = {f};
  r.results = {f};
  return r;
}

// windows / overlap_add: the leading dims pass through; the window dims stay whole.
Rule window_op(const Op& op) {
  const auto &in = op.operands[0]->type.shape, &out = op.result()->type.shape;
  const size_t k = op.has_attr("window") ? op.ints_attr("window").size() : op.ints_attr("size").size();
  const size_t lead = op.name == "windows" ? in.size() - k : in.size() - 2 * k;
  ShardingRule r;
  std::vector<int> fin(in.size(), -1), fout(out.size(), -1);
  for (size_t d = 0; d < lead; ++d) fin[d] = fout[d] = r.add_factor(size_of(in[d]));
  r.operands = {fin};
  r.results = {fout};
  return r;
}

Rule one_hot(const Op& op) {
  ShardingRule r;
  std::vector<int> in;
  for (const Dim& d : op.operands[0]->type.shape) in.push_back(r.add_factor(size_of(d)));
  std::vector<int> out = in;
  out.push_back(-1);
  r.operands = {in};
  r.results = {out};
  return r;
}

// x[pre, V, post] indexed by idx[I] -> out[pre, I, post]: the table's axis stays whole.
Rule take(const Op& op) {
  const Type &x = op.operands[0]->type, &idx = op.operands[1]->type;
  const int64_t axis = normalize_axis("take", op.int_attr("axis", 0), x.rank());
  ShardingRule r;
  std::vector<int> fx, fi, fo;
  for (int64_t d = 0; d < axis; ++d) fx.push_back(r.add_factor(size_of(x.shape[size_t(d)])));
  fo = fx;
  fx.push_back(-1);
  for (const Dim& d : idx.shape) fi.push_back(r.add_factor(size_of(d)));
  fo.insert(fo.end(), fi.begin(), fi.end());
  for (int64_t d = axis + 1; d < x.rank(); ++d) {
    int f = r.add_factor(size_of(x.shape[size_t(d)]));
    fx.push_back(f);
    fo.push_back(f);
  }
  r.operands = {fx, fi};
  r.results = {fo};
  r.partial = "one";  // a pending sum of the table passes through, unless out-of-range reads give a fill value
  r.linear = {!op.has_attr("mode") || op.str_attr("mode") != "fill", false};
  return r;
}

// q [..., Sq, D], k [..., Skv, D], v [..., Skv, Dv] -> [..., Sq, Dv]: batch (and head) dims
// split together; queries split too unless causal (a query's mask depends on its global
// index); keys, values and D stay whole (each query needs every key).
Rule attention(const Op& op) {
  const auto &q = op.operands[0]->type.shape, &v = op.operands[2]->type.shape;
  const size_t r = q.size();
  ShardingRule rule;
  std::vector<int> fq, fk, fv, fo;
  for (size_t d = 0; d + 2 < r; ++d) {
    int f = rule.add_factor(size_of(q[d]));
    for (auto* dims : {&fq, &fk, &fv, &fo}) dims->push_back(f);
  }
  const int sq = op.bool_attr("causal", false) ? -1 : rule.add_factor(size_of(q[r - 2]));
  const int dv = rule.add_factor(size_of(v[r - 1]));
  fq.insert(fq.end(), {sq, -1});
  fk.insert(fk.end(), {-1, -1});
  fv.insert(fv.end(), {-1, dv});
  fo.insert(fo.end(), {sq, dv});
  rule.operands = {fq, fk, fv};
  rule.results = {fo};
  return rule;
}

}  // namespace

bool ShardingRule::reduced(int f) const {
  for (const auto& res : results)
    for (int g : res)
      if (g == f) return false;
  return true;
}

namespace {

// Rules of data-movement and contraction ops, by name.
const std::map<std::string, Rule (*)(const Op&)>& named_rules() {
  static const std::map<std::string, Rule (*)(const Op&)> rules = {{"matmul", matmul},
                                                                   {"einsum", einsum},
                                                                   {"transpose", transpose},
                                                                   {"reshape", reshape_like},
                                                                   {"expand_dims", reshape_like},
                                                                   {"squeeze", reshape_like},
                                                                   {"broadcast_to", broadcast_to},
                                                                   {"slice", slice},
                                                                   {"pad", pad},
                                                                   {"concat", concat},
                                                                   {"tril", tril},
                                                                   {"one_hot", one_hot},
                                                                   {"windows", window_op},
                                                                   {"overlap_add", window_op},
                                                                   {"take", take},
                                                                   {"attention", attention}};
  return rules;
}

bool has_rule(const OpInfo& info) {
  if (info.name == "rand_like" || info.name == "dropout") return false;  // values depend on the global index
  switch (info.cls) {
    case OpClass::ElementwiseUnary: return !info.decompose;  // softmax, norms: decomposed before partitioning
    case OpClass::ElementwiseBinary: return true;
    case OpClass::Reduction: return bool(info.vjp) || !info.decompose;  // pools: composites
    default: return named_rules().count(info.name) != 0;
  }
}

}  // namespace

bool has_sharding_rule(const std::string& op) {
  const OpInfo* info = lookup_op(op);
  return info && has_rule(*info);
}

std::optional<ShardingRule> sharding_rule(const Op& op) {
  const OpInfo* info = lookup_op(op.name);
  if (!info || op.region || op.results.size() != 1 || !op.result()->type.is_tensor() || !has_rule(*info))
    return std::nullopt;
  switch (info->cls) {
    case OpClass::ElementwiseUnary: return unary(op);
    case OpClass::ElementwiseBinary: return binary(op);
    case OpClass::Reduction: return reduction(op);
    default: return named_rules().at(op.name)(op);
  }
}

}  // namespace tessera::passes

namespace tessera::passes {
using namespace ir;
namespace {

bool splits(const ShardingRule& r, int f, const std::string& axis, const Mesh& mesh) {
  if (f < 0 || r.sizes[size_t(f)] <= 0 || r.sizes[size_t(f)] % mesh.size(axis) != 0) return false;
  return !r.reduced(f) || !r.reduce.empty();
}

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

bool subset(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (const auto& x : a)
    if (!contains(b, x)) return false;
  return true;
}

// Which operands pass their pending sums through, given the axes the result may have pending
// (`allowed`; null: any).
std::vector<bool> passing(const ShardingRule& r, const std::vector<Sharding>& ops,
                          const std::vector<std::string>* allowed) {
  std::vector<bool> pass(ops.size(), false);
  auto ok = [&](size_t i) {
    return i < r.linear.size() && r.linear[i] && !ops[i].partial.empty() && ops[i].reduce == "sum" &&
           (!allowed || subset(ops[i].partial, *allowed));
  };
  if (r.partial == "each") {
    bool same = !ops.empty();
    for (size_t i = 0; i < ops.size(); ++i) same = same && ok(i) && ops[i].partial == ops[0].partial;
    if (same) pass.assign(ops.size(), true);
  } else if (r.partial == "one") {
    size_t pending = 0;
    for (const Sharding& s : ops) pending += !s.partial.empty();
    for (size_t i = 0; i < ops.size(); ++i)
      if (ok(i) && (allowed || pending == 1)) {
        pass[i] = true;
        break;
      }
  }
  return pass;
}

}  // namespace

OpSplit split_from_operands(const ShardingRule& r, const std::vector<Sharding>& ops, const std::vector<int64_t>& bytes,
                            const Mesh& mesh, bool whole_reductions) {
  OpSplit s{std::vector<std::string>(r.sizes.size()), passing(r, ops, nullptr)};
  std::vector<std::string> used;
  for (size_t i = 0; i < ops.size(); ++i)
    if (s.pass[i]) used.insert(used.end(), ops[i].partial.begin(), ops[i].partial.end());
  std::vector<size_t> order(ops.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return bytes[a] > bytes[b]; });
  for (size_t i : order)
    for (size_t d = 0; d < ops[i].dims.size() && d < r.operands[i].size(); ++d) {
      const std::string& a = ops[i].dims[d];
      const int f = r.operands[i][d];
      if (a.empty() || contains(used, a) || !splits(r, f, a, mesh) || !s.axes[size_t(f)].empty()) continue;
      if (whole_reductions && r.reduced(f)) continue;
      s.axes[size_t(f)] = a;
      used.push_back(a);
    }
  return s;
}

OpSplit split_for_result(const ShardingRule& r, const std::vector<Sharding>& ops, const Sharding& result,
                         const Mesh& mesh) {
  OpSplit s{std::vector<std::string>(r.sizes.size()), passing(r, ops, &result.partial)};
  for (size_t d = 0; d < result.dims.size(); ++d) {
    if (result.dims[d].empty()) continue;
    const int f = r.results[0][d];
    if (f < 0) fail(ErrorCode::Internal, "spmd-partition: result dim " + std::to_string(d) + " cannot be split");
    s.axes[size_t(f)] = result.dims[d];
  }
  std::vector<std::string> left;
  for (const std::string& a : result.partial) {
    bool passed = false;
    for (size_t i = 0; i < ops.size(); ++i) passed = passed || (s.pass[i] && contains(ops[i].partial, a));
    if (!passed) left.push_back(a);
  }
  for (const std::string& a : left) {
    int best = -1;
    for (size_t f = 0; f < r.sizes.size(); ++f) {
      if (!r.reduced(int(f)) || r.reduce != result.reduce || !s.axes[f].empty() || !splits(r, int(f), a, mesh))
        continue;
      bool there = false;
      for (size_t i = 0; i < ops.size(); ++i)
        for (size_t d = 0; d < ops[i].dims.size() && d < r.operands[i].size(); ++d)
          there = there || (r.operands[i][d] == int(f) && ops[i].dims[d] == a);
      if (best < 0 || there) best = int(f);
      if (there) break;
    }
    if (best < 0) fail(ErrorCode::Internal, "spmd-partition: no reduced dim can leave a pending " + a);
    s.axes[size_t(best)] = a;
  }
  return s;
}

Sharding result_sharding(const ShardingRule& r, const OpSplit& s, const std::vector<Sharding>& ops, const Mesh& mesh) {
  Sharding out;
  for (int f : r.results[0]) out.dims.push_back(f < 0 ? std::string() : s.axes[size_t(f)]);
  std::vector<std::string> pending;
  for (size_t i = 0; i < ops.size(); ++i)
    if (s.pass[i]) pending.insert(pending.end(), ops[i].partial.begin(), ops[i].partial.end());
  for (size_t f = 0; f < r.sizes.size(); ++f)
    if (r.reduced(int(f)) && !s.axes[f].empty()) {
      pending.push_back(s.axes[f]);
      out.reduce = r.reduce;
    }
  for (const Mesh::Axis& a : mesh.axes)
    if (contains(pending, a.name)) out.partial.push_back(a.name);
  return out;
}

Sharding operand_sharding(const ShardingRule& r, const OpSplit& s, const std::vector<Sharding>& ops, size_t i) {
  Sharding out;
  for (int f : r.operands[i]) out.dims.push_back(f < 0 ? std::string() : s.axes[size_t(f)]);
  if (s.pass[i]) out.partial = ops[i].partial;
  return out;
}

}  // namespace tessera::passes
