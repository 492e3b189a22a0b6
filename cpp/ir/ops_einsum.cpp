// einsum: a composite of sums, transposes, reshapes and batched matmuls.
//
// Operands are contracted left to right, two at a time. Before each step a label that no later
// operand and not the output needs is summed away in the operand that alone holds it; then the
// pair becomes one matmul [batch, M, K] @ [batch, K, N] (batch: labels of both that are kept,
// K: labels of both that are not, M/N: labels of one side). matmul keeps the contraction in one
// reduction kernel instead of materialising the full outer product, and every piece already
// has a derivative rule.
#include <algorithm>
#include <cctype>
#include <map>

#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

struct Equation {
  std::vector<std::string> inputs;
  std::string output;
};

bool has(const std::string& s, char c) { return s.find(c) != std::string::npos; }

Equation parse(const std::string& text, size_t n_operands) {
  std::string eq;
  for (char c : text)
    if (c != ' ') eq += c;
  if (eq.find("...") != std::string::npos) fail(ErrorCode::Value, "einsum: ellipsis ('...') is not supported yet: '" + text + "'");
  Equation e;
  size_t arrow = eq.find("->");
  std::string lhs = arrow == std::string::npos ? eq : eq.substr(0, arrow);
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    e.inputs.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (arrow != std::string::npos) {
    e.output = eq.substr(arrow + 2);
  } else {  // NumPy's implicit output: the labels used once, in alphabetical order
    std::map<char, int> count;
    for (const auto& t : e.inputs)
      for (char c : t) ++count[c];
    for (auto [c, n] : count)
      if (n == 1) e.output += c;
  }
  auto check_term = [&](const std::string& t, const char* what) {
    for (size_t i = 0; i < t.size(); ++i) {
      if (!std::isalpha(static_cast<unsigned char>(t[i])))
        fail(ErrorCode::Value, "einsum: bad character '" + std::string(1, t[i]) + "' in '" + text + "' (labels are letters)");
      if (t.find(t[i], i + 1) != std::string::npos)
        fail(ErrorCode::Value, std::string("einsum: label '") + t[i] + "' repeats in " + what + " '" + t +
                                   "' of '" + text + "' (diagonals are not supported yet)");
    }
  };
  for (const auto& t : e.inputs) check_term(t, "operand");
  check_term(e.output, "output");
  if (e.inputs.size() != n_operands)
    fail(ErrorCode::Value, "einsum: '" + text + "' has " + std::to_string(e.inputs.size()) + " operand terms for " +
                               std::to_string(n_operands) + " operands");
  for (char c : e.output)
    if (std::none_of(e.inputs.begin(), e.inputs.end(), [&](const std::string& t) { return has(t, c); }))
      fail(ErrorCode::Value, std::string("einsum: output label '") + c + "' is in no operand of '" + text + "'");
  return e;
}

// Each label's size, checked across operands.
std::map<char, Dim> label_dims(const Equation& e, const std::vector<Type>& in, const std::string& text) {
  std::map<char, Dim> dims;
  for (size_t k = 0; k < in.size(); ++k) {
    if (size_t(in[k].rank()) != e.inputs[k].size())
      fail(ErrorCode::Shape, "einsum: term '" + e.inputs[k] + "' of '" + text + "' has " +
                                 std::to_string(e.inputs[k].size()) + " labels for " + in[k].str());
    for (size_t d = 0; d < e.inputs[k].size(); ++d) {
      char c = e.inputs[k][d];
      auto [it, fresh] = dims.emplace(c, in[k].shape[d]);
      if (!fresh && it->second != in[k].shape[d])
        fail(ErrorCode::Shape, std::string("einsum: label '") + c + "' has sizes " + std::to_string(it->second.size) +
                                   " and " + std::to_string(in[k].shape[d].size) + " in '" + text + "'");
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
  info.attrs = {{"equation", "str", true, "NumPy subscripts, e.g. \"bij,bjk->bik\" (no '...' or repeated labels yet)"}};
  info.summary = "Einstein summation of one or more tensors (as numpy.einsum), built from sums, transposes, "
                 "reshapes and batched matmuls; operands are contracted left to right.";
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    const std::string& text = std::get<std::string>(a.at("equation"));
    for (const Type& t : in) require_tensor("einsum", t);
    Equation e = parse(text, in.size());
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
    for (Value* v : op.operands) types.push_back(v->type);
    Equation e = parse(text, types.size());
    Lowering l{b, label_dims(e, types, text)};
    DType dt = op.result()->type.dtype;
    auto term = [&](size_t k) {
      Value* v = op.operands[k];
      if (v->type.dtype != dt) v = b.value("cast", {v}, {{"dtype", std::string(dtype_name(dt))}});
      return Term{v, e.inputs[k]};
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
