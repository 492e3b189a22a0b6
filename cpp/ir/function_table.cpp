// The table of named functions (function_table.hpp).
#include "ir/function_table.hpp"

#include <cstdio>
#include <map>
#include <mutex>
#include <set>

#include "ir/control_flow.hpp"

namespace tessera::ir {
namespace {

struct Table {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<Module>> funcs;  // name -> a module holding just that function
};

Table& table() {
  static Table* t = new Table;  // never destroyed: modules may be built while the process exits
  return *t;
}

void keep(const Function& f) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  if (t.funcs.count(f.name)) return;
  auto holder = std::make_unique<Module>();
  holder->add_copy(f);
  t.funcs.emplace(f.name, std::move(holder));
}

void collect_calls(const Block& b, std::set<std::string>& out) {
  for (const auto& op : b.ops) {
    for (const std::string& name : called_functions(*op)) out.insert(name);
    if (op->region) collect_calls(*op->region, out);
  }
}

}  // namespace

std::vector<std::string> called_functions(const Op& op) {
  std::vector<std::string> roles;
  if (op.name == "custom_vjp")
    roles = {"fn", "fwd", "bwd"};
  else if (is_control_flow(op))
    roles = callee_roles(op);
  std::vector<std::string> out;
  for (const std::string& r : roles) {
    auto it = op.attrs.find(r);
    if (it != op.attrs.end())
      if (const auto* name = std::get_if<std::string>(&it->second)) out.push_back(*name);
  }
  return out;
}

std::string content_name(Function& f, const std::string& base) {
  f.name = "";
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the text without the name or locations
  for (char c : print(f, false)) h = (h ^ uint8_t(c)) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  f.name = base.substr(0, std::min<size_t>(base.size(), 40)) + "_" + std::string(hex, 12);
  return f.name;
}

std::string define_function(std::unique_ptr<Function> f, const std::string& base) {
  std::string name = content_name(*f, base);
  keep(*f);
  return name;
}

void register_functions(const Module& m) {
  for (size_t i = 1; i < m.funcs.size(); ++i) keep(*m.funcs[i]);
}

void link_functions(Module& m) {
  std::set<std::string> wanted;
  for (const auto& f : m.funcs) collect_calls(f->body, wanted);
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mu);
  while (true) {
    std::string missing;
    for (const std::string& name : wanted)
      if (!m.find(name)) {
        missing = name;
        break;
      }
    if (missing.empty()) return;
    auto it = t.funcs.find(missing);
    if (it == t.funcs.end())
      fail(ErrorCode::Value, "the program calls function @" + missing + ", which no trace or transform defined");
    Function* copy = m.add_copy(*it->second->funcs.front());
    collect_calls(copy->body, wanted);
  }
}

}  // namespace tessera::ir
