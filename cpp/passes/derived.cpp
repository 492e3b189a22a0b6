// Functions added to a module by transforms (derived.hpp).
#include "passes/derived.hpp"

#include <algorithm>
#include <cstdio>

#include "ir/custom_vjp.hpp"
#include "ir/function_table.hpp"

namespace tessera::passes {
using namespace ir;

std::string adopt(Module& m, std::unique_ptr<Function> f, const std::string& base) {
  std::string name = content_name(*f, base);
  if (!m.find(name)) m.funcs.push_back(std::move(f));
  return name;
}

std::string add_function(Module& m, const std::string& base, const std::vector<Type>& params, const BuildBody& build) {
  auto f = std::make_unique<Function>();
  std::vector<Value*> args;
  for (const Type& t : params) args.push_back(f->body.add_arg(t));
  Builder b(&f->body);
  std::vector<Value*> results = build(b, args);
  for (Value* v : results) f->result_types.push_back(v->type);
  f->body.append(Op::make("return", results, {}));
  return adopt(m, std::move(f), base);
}

std::vector<Value*> call(Builder& b, const Module& m, const std::string& fn, const std::vector<Value*>& args) {
  return inline_call(*b.block(), b.block()->ops.end(), *m.find(fn), args);
}

}  // namespace tessera::passes
