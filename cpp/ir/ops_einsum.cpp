// einsum: a composite of sums, transposes, reshapes and batched matmuls.
//
// Operands are contracted left to right, two at a time. Before each step a label that no later
// operand and not the output needs is summed away in the operand that alone holds it; then the
// pair becomes one matmul [batch, M, K] @ [batch, K, N] (batch: labels of both that are kept,
// K: labels of both that are not, M/N: labels of one side). matmul keeps the contraction in one
// reduction kernel instead of materialising the full outer product, and every piece already
// has a derivative rule. A label repeated in one operand takes its diagonal first (slices of
// a flattened view); '...' stands for NumPy-broadcast dims, and size-1 dims broadcast.
#include <algorithm>
#include <cctype>
#include <map>

#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

struct Equation {
  std::vector<std::string> inputs;  // per operand: one label per dim, ellipses expanded
  std::string output;
};

bool has(const std::string& s, char c) { return s.find(c) != std::string::npos; }

// The dims an ellipsis stands for get labels that are not letters, so they never clash with
// the user's: the k-th dim of the broadcast ellipsis block (right-aligned across operands).
char ellipsis_label(size_t k) { return char(1 + k); }
bool is_ellipsis_label(char c) { return !std::isalpha(static_cast<unsigned char>(c)); }
std::string label_str(char c) {
  return is_ellipsis_label(c) ? "'...' dim " + std::to_string(int(c) - 1) : "label '" + std::string(1, c) + "'";
}

// Checks one term ("ij", "...ij", "i...") and returns its letters and whether it has "...".
std::pair<std::string, bool> split_term(const std::string& t, const std::string& text) {
  std::string letters;
  bool ellipsis = false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t.compare(i, 3, "...") == 0) {
      if (ellipsis) fail(ErrorCode::Value, "einsum: term '" + t + "' of '" + text + "' has two ellipses");
      ellipsis = true;
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(t[i]))) {
      letters += t[i];
    } else {
      fail(ErrorCode::Value, "einsum: bad character '" + std::string(1, t[i]) + "' in '" + text +
                                 "' (labels are letters, and '...' stands for broadcast dims)");
    }
  }
  return {letters, ellipsis};
}

// `t` with its ellipsis replaced by the last `n` of `total` ellipsis labels.
std::string expand(const std::string& t, size_t n, size_t total) {
  std::string block;
  for (size_t k = total - n; k < total; ++k) block += ellipsis_label(k);
  size_t at = t.find("...");
  return at == std::string::npos ? t : t.substr(0, at) + block + t.substr(at + 3);
}

Equation parse(const std::string& text, const std::vector<Type>& in) {
  std::string eq;
  for (char c : text)
    if (c != ' ') eq += c;
  size_t arrow = eq.find("->");
  std::string lhs = arrow == std::string::npos ? eq : eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != in.size())
    fail(ErrorCode::Value, "einsum: '" + text + "' has " + std::to_string(terms.size()) + " operand terms for " +
                               std::to_string(in.size()) + " operands");
  std::vector<size_t> ellipsis_rank(terms.size(), 0);
  size_t total = 0;
  for (size_t k = 0; k < terms.size(); ++k) {
    auto [letters, ellipsis] = split_term(terms[k], text);
    size_t rank = size_t(in[k].rank());
    if (ellipsis ? letters.size() > rank : letters.size() != rank)
      fail(ErrorCode::Shape, "einsum: term '" + terms[k] + "' of '" + text + "' has " + std::to_string(letters.size()) +
                                 " labels for " + in[k].str());
    ellipsis_rank[k] = rank - letters.size();
    total = std::max(total, ellipsis_rank[k]);
  }
  Equation e;
  for (size_t k = 0; k < terms.size(); ++k) e.inputs.push_back(expand(terms[k], ellipsis_rank[k], total));
  if (arrow != std::string::npos) {
    std::string out = eq.substr(arrow + 2);
    auto [letters, ellipsis] = split_term(out, text);
    if (!ellipsis && total > 0)
      fail(ErrorCode::Value, "einsum: the operands of '" + text + "' have '...' dims but the output has no '...'");
    e.output = expand(out, total, total);
    for (size_t i = 0; i < letters.size(); ++i)
      if (letters.find(letters[i], i + 1) != std::string::npos)
        fail(ErrorCode::Value,
             std::string("einsum: label '") + letters[i] + "' repeats in the output of '" + text + "'");
  } else {  // NumPy's implicit output: the '...' dims, then the labels used once, alphabetically
    std::map<char, int> count;
    for (const auto& t : e.inputs)
      for (char c : t) ++count[c];
    e.output = expand("...", total, total);
    for (auto [c, n] : count)
      if (n == 1 && !is_ellipsis_label(c)) e.output += c;
  }
  for (char c : e.output)
    if (std::none_of(e.inputs.begin(), e.inputs.end(), [&](const std::string& t) { return has(t, c); }))
      fail(ErrorCode::Value, std::string("einsum: output label '") + c + "' is in no operand of '" + text + "'");
  return e;
}

// Each label's size. A label repeated in one operand (a diagonal) needs equal sizes there;
// across operands, size 1 broadcasts as in NumPy.
std::map<char, Dim> label_dims(const Equation& e, const std::vector<Type>& in, const std::string& text) {
  std::map<char, Dim> dims;
  for (size_t k = 0; k < in.size(); ++k) {
    std::map<char, Dim> own;
    for (size_t d = 0; d < e.inputs[k].size(); ++d) {
      char c = e.inputs[k][d];
      const Dim& n = in[k].shape[d];
      auto [it, fresh] = own.emplace(c, n);
      if (!fresh && it->second != n)
        fail(ErrorCode::Shape, "einsum: " + label_str(c) + " repeats in term " + std::to_string(k) + " of '" + text +
                                   "' with sizes " + dim_text(it->second) + " and " + dim_text(n) +
                                   " (a diagonal needs equal sizes) for " + in[k].str());
    }
    for (auto [c, n] : own) {
      auto [it, fresh] = dims.emplace(c, n);
      if (fresh || it->second == n || n == Dim::of(1)) continue;
      if (it->second == Dim::of(1)) {
        it->second = n;
        continue;
      }
      fail(ErrorCode::Shape, "einsum: " + label_str(c) + " has sizes " + dim_text(it->second) + " and " + dim_text(n) +
                                 " in '" + text + "'");
    }
  }
  return dims;
}

struct Term {
  Value* v;
  std::string labels;
};

struct Lowering {
  Builder& b;
  std::map<char, Dim> dims;

  int64_t size(const std::string& labels) {
    int64_t n = 1;
    for (char c : labels) n *= dims.at(c).size;
    return n;
  }
  IntList shape(const std::string& labels) {
    IntList s;
    for (char c : labels) s.push_back(dims.at(c).size);
    return s;
  }
  Value* reshape(Value* v, const IntList& s) {
    if (v->type.static_shape() == s) return v;
    return b.value("reshape", {v}, {{"shape", s}});
  }
  // `t` with its axes in the order of `labels` (a permutation of t.labels).
  Value* arrange(const Term& t, const std::string& labels) {
    IntList perm;
    for (char c : labels) perm.push_back(int64_t(t.labels.find(c)));
    bool identity = true;
    for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == int64_t(i);
    return identity ? t.v : b.value("transpose", {t.v}, {{"perm", perm}});
  }
  // A label repeated in `t` (x[i, i]) becomes one axis holding the diagonal: both axes move
  // last, flatten to n*n elements, and a slice with step n+1 takes the diagonal. All data
  // movement, so it fuses and its gradient scatters back through the slice's rule.
  Term diagonals(Term t) {
    for (size_t p = 0; p < t.labels.size(); ++p) {
      size_t q = t.labels.find(t.labels[p], p + 1);
      if (q == std::string::npos) continue;
      IntList in = t.v->type.static_shape(), perm, flat;
      std::string rest;
      for (size_t d = 0; d < t.labels.size(); ++d)
        if (d != p && d != q) perm.push_back(int64_t(d)), flat.push_back(in[d]), rest += t.labels[d];
      perm.push_back(int64_t(p)), perm.push_back(int64_t(q));
      int64_t n = in[p];
      flat.push_back(n * n);
      Value* v = b.value("transpose", {t.v}, {{"perm", perm}});
      v = reshape(v, flat);
      IntList start(flat.size(), 0), stop = flat, step(flat.size(), 1);
      step.back() = n + 1;
      v = b.value("slice", {v}, {{"start", start}, {"stop", stop}, {"step", step}});
      t = {v, rest + t.labels[p]};
      p = size_t(-1);  // look again from the start: a label may repeat more than twice
    }
    return t;
  }
  // Drops the size-1 axes that broadcast against a larger size of the same label elsewhere:
  // the label then belongs to the other operand alone.
  Term unbroadcast(Term t) {
    IntList in = t.v->type.static_shape(), keep_shape;
    std::string kept;
    for (size_t d = 0; d < t.labels.size(); ++d)
      if (in[d] != 1 || dims.at(t.labels[d]).size == 1) keep_shape.push_back(in[d]), kept += t.labels[d];
    if (kept.size() == t.labels.size()) return t;
    return {reshape(t.v, keep_shape), kept};
  }
  // Sums away the labels of `t` not in `keep`, last axis first.
  Term sum_unneeded(Term t, const std::string& keep) {
    for (size_t d = t.labels.size(); d-- > 0;)
      if (!has(keep, t.labels[d])) {
        t.v = b.value("sum", {t.v}, {{"axis", int64_t(d)}, {"dtype", std::string(dtype_name(t.v->type.dtype))}});
        t.labels.erase(d, 1);
      }
    return t;
  }
  Term contract(Term x, Term y, const std::string& keep) {
    x = sum_unneeded(x, keep + y.labels);
    y = sum_unneeded(y, keep + x.labels);
    std::string batch, k, m, n;
    for (char c : x.labels) (has(y.labels, c) ? (has(keep, c) ? batch : k) : m) += c;
    for (char c : y.labels)
      if (!has(x.labels, c)) n += c;
    IntList xs{size(m), size(k)}, ys{size(k), size(n)};
    if (!batch.empty()) xs.insert(xs.begin(), size(batch)), ys.insert(ys.begin(), size(batch));
    Value* xm = reshape(arrange(x, batch + m + k), xs);
    Value* ym = reshape(arrange(y, batch + k + n), ys);
    Value* r = b.value("matmul", {xm, ym});
    return {reshape(r, shape(batch + m + n)), batch + m + n};
  }
};

DType result_dtype(const std::vector<Type>& in) {
  DType dt = in[0].dtype;
  for (const Type& t : in) dt = promote_types(dt, t.dtype);
  return dt;
}

OpInfo einsum() {
  OpInfo info;
  info.name = "einsum";
  info.cls = OpClass::Contraction;
  info.min_operands = 1;
  info.max_operands = -1;
  info.operand_names = {"xs"};
  info.attrs = {{"equation", "str", true,
                 "NumPy subscripts, e.g. \"bij,bjk->bik\", \"...ij,...jk->...ik\" or \"ii->i\" (a diagonal)"}};
  info.summary =
      "Einstein summation of one or more tensors (as numpy.einsum), built from sums, transposes, "
      "reshapes and batched matmuls; operands are contracted left to right.";
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    const std::string& text = std::get<std::string>(a.at("equation"));
    for (const Type& t : in) require_tensor("einsum", t);
    Equation e = parse(text, in);
    auto dims = label_dims(e, in, text);
    std::vector<Dim> out;
    for (char c : e.output) out.push_back(dims.at(c));
    DType dt = result_dtype(in);
    if (dt == DType::Bool) fail(ErrorCode::DType, "einsum: not defined for bool tensors");
    return std::vector<Type>{Type::tensor(dt, out)};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    const std::string& text = op.str_attr("equation");
    std::vector<Type> types;
    for (Value* v : op.operands) {
      types.push_back(v->type);
      for (size_t d = 0; d < v->type.shape.size(); ++d)  // (after specialisation it always is)
        if (!v->type.shape[d].is_static()) symbolic_dim_error("einsum", v->type, d, "its expansion reshapes by sizes");
    }
    Equation e = parse(text, types);
    Lowering l{b, label_dims(e, types, text)};
    DType dt = op.result()->type.dtype;
    auto term = [&](size_t k) {
      Value* v = op.operands[k];
      if (v->type.dtype != dt) v = b.value("cast", {v}, {{"dtype", std::string(dtype_name(dt))}});
      return l.unbroadcast(l.diagonals(Term{v, e.inputs[k]}));
    };
    Term acc = term(0);
    for (size_t k = 1; k < types.size(); ++k) {
      std::string keep = e.output;
      for (size_t j = k + 1; j < types.size(); ++j) keep += e.inputs[j];
      acc = l.contract(acc, term(k), keep);
    }
    acc = l.sum_unneeded(acc, e.output);
    return {l.arrange(acc, e.output)};
  };
  return info;
}

}  // namespace

void register_einsum_ops(std::vector<OpInfo>& out) { out.push_back(einsum()); }

}  // namespace tessera::ir
