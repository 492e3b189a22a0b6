// The control-flow ops scan, while_loop and cond (control_flow.hpp): registry entries and the
// module-level check of their functions' types.
#include "ir/control_flow.hpp"
#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

std::vector<Type> types_of(const std::vector<Value*>& vs, size_t begin, size_t end) {
  std::vector<Type> out;
  for (size_t i = begin; i < end; ++i) out.push_back(vs[i]->type);
  return out;
}

std::vector<Type> params_of(const Function& f) {
  std::vector<Type> out;
  for (const auto& a : f.body.args) out.push_back(a->type);
  return out;
}

std::string list(const std::vector<Type>& ts) {
  std::string s = "(";
  for (size_t i = 0; i < ts.size(); ++i) s += (i ? ", " : "") + ts[i].str();
  return s + ")";
}

void expect(const Op& op, const Function& f, const char* what, const std::vector<Type>& got,
            const std::vector<Type>& want) {
  if (got != want)
    fail(ErrorCode::Verify,
         op.name + ": function @" + f.name + " " + what + " " + list(got) + ", expected " + list(want), op.loc.str());
}

int64_t count_attr(const Op& op, const char* key, size_t most) {
  int64_t n = op.int_attr(key);
  if (n < 0 || size_t(n) > most)
    fail(ErrorCode::Verify,
         op.name + ": " + key + " = " + std::to_string(n) + " does not fit its " + std::to_string(most) + " operands",
         op.loc.str());
  return n;
}

void check_scan(const Module& m, const Op& op) {
  size_t a = size_t(count_attr(op, "n_carry", op.operands.size()));
  size_t b = size_t(count_attr(op, "n_xs", op.operands.size() - a));
  int64_t length = op.int_attr("length");
  std::vector<Type> params = types_of(op.operands, 0, a);
  for (size_t i = a; i < a + b; ++i) {
    const Type& x = op.operands[i]->type;
    if (x.rank() < 1 || x.shape[0] != Dim::of(length))
      fail(ErrorCode::Verify,
           "scan: xs operand " + x.str() + " must have length " + std::to_string(length) + " along axis 0",
           op.loc.str());
    params.push_back(Type::tensor(x.dtype, std::vector<Dim>(x.shape.begin() + 1, x.shape.end())));
  }
  std::vector<Type> k = types_of(op.operands, a + b, op.operands.size());
  params.insert(params.end(), k.begin(), k.end());
  const Function& body = control_callee(m, op, "body");
  expect(op, body, "takes", params_of(body), params);
  std::vector<Type> results = types_of(op.operands, 0, a);
  std::vector<Type> ys(body.result_types.begin() + long(std::min(a, body.result_types.size())),
                       body.result_types.end());
  results.insert(results.end(), ys.begin(), ys.end());
  expect(op, body, "returns", body.result_types, results);
  std::vector<Type> want = types_of(op.operands, 0, a);
  for (const Type& y : ys) {
    std::vector<Dim> s{Dim::of(length)};
    s.insert(s.end(), y.shape.begin(), y.shape.end());
    want.push_back(Type::tensor(y.dtype, s));
  }
  std::vector<Type> got;
  for (const auto& r : op.results) got.push_back(r->type);
  if (got != want) fail(ErrorCode::Verify, "scan: results " + list(got) + " should be " + list(want), op.loc.str());
}

void check_while(const Module& m, const Op& op) {
  size_t a = size_t(count_attr(op, "n_carry", op.operands.size()));
  std::vector<Type> params = types_of(op.operands, 0, op.operands.size());
  std::vector<Type> carry = types_of(op.operands, 0, a);
  const Function& c = control_callee(m, op, "cond");
  expect(op, c, "takes", params_of(c), params);
  expect(op, c, "returns", c.result_types, {Type::tensor(DType::Bool, std::vector<Dim>{})});
  const Function& body = control_callee(m, op, "body");
  expect(op, body, "takes", params_of(body), params);
  expect(op, body, "returns", body.result_types, carry);
  std::vector<Type> got;
  for (const auto& r : op.results) got.push_back(r->type);
  if (got != carry)
    fail(ErrorCode::Verify, "while_loop: results " + list(got) + " should be " + list(carry), op.loc.str());
}

void check_cond(const Module& m, const Op& op) {
  if (op.operands.empty() || op.operands[0]->type != Type::tensor(DType::Bool, std::vector<Dim>{}))
    fail(ErrorCode::Verify, "cond: the first operand must be a rank-0 bool tensor", op.loc.str());
  std::vector<Type> params = types_of(op.operands, 1, op.operands.size());
  std::vector<Type> results;
  for (const auto& r : op.results) results.push_back(r->type);
  for (const char* role : {"then", "else"}) {
    const Function& f = control_callee(m, op, role);
    expect(op, f, "takes", params_of(f), params);
    expect(op, f, "returns", f.result_types, results);
  }
}

OpInfo control(const std::string& name, std::vector<AttrSpec> attrs, const std::string& summary) {
  OpInfo info;
  info.name = name;
  info.cls = OpClass::Structural;  // made by tessera.scan / while_loop / cond, not called as ops
  info.min_operands = name == "cond" ? 1 : 0;
  info.max_operands = -1;
  info.attrs = std::move(attrs);
  info.summary = summary;
  return info;
}

}  // namespace

bool is_control_flow(const Op& op) { return op.name == "scan" || op.name == "while_loop" || op.name == "cond"; }

std::vector<std::string> callee_roles(const Op& op) {
  if (op.name == "scan") return {"body"};
  if (op.name == "while_loop") return {"cond", "body"};
  if (op.name == "cond") return {"then", "else"};
  return {};
}

const Function& control_callee(const Module& m, const Op& op, const std::string& role) {
  const std::string& name = op.str_attr(role);
  const Function* f = m.find(name);
  if (!f)
    fail(ErrorCode::Verify, op.name + ": its " + role + " function @" + name + " is not in the module", op.loc.str());
  return *f;
}

void verify_control_flow(const Module& m) {
  for (const auto& f : m.funcs)
    walk(f->body, [&](Op& op) {
      if (op.name == "scan")
        check_scan(m, op);
      else if (op.name == "while_loop")
        check_while(m, op);
      else if (op.name == "cond")
        check_cond(m, op);
    });
}

void register_control_ops(std::vector<OpInfo>& out) {
  out.push_back(control("scan",
                        {{"body", "str", true, "the step function: (carry..., x..., k...) -> (carry..., y...)"},
                         {"length", "int", true, "the number of steps (axis 0 of every xs)"},
                         {"n_carry", "int", true, "how many operands are carries"},
                         {"n_xs", "int", true, "how many operands after the carries are scanned over axis 0"},
                         {"reverse", "bool", false, "steps from the last slice to the first", "false"}},
                        "Runs `body` over slices of xs, threading the carries: the final carries and the stacked ys."));
  out.push_back(control("while_loop",
                        {{"cond", "str", true, "the test: (carry..., k...) -> (bool[])"},
                         {"body", "str", true, "the step: (carry..., k...) -> (carry...)"},
                         {"n_carry", "int", true, "how many operands are carries"}},
                        "Runs `body` on the carries while `cond` holds; the final carries."));
  out.push_back(control(
      "cond",
      {{"then", "str", true, "(x...) -> (r...) when pred holds"}, {"else", "str", true, "(x...) -> (r...) otherwise"}},
      "Calls `then` or `else` on the operands after the rank-0 bool pred."));
}

}  // namespace tessera::ir
