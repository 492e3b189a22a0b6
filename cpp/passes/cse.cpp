// The `cse` pass: merges identical pure ops.
//
// Two ops are identical when they have the same name, operands, attributes and result types
// and no region; the later one's results are replaced by the earlier one's and it is removed.
// The table of available ops is scoped: a region sees the ops of the blocks around it (defined
// before the region's op), and what a region defines is forgotten when it ends. Only ops the
// registry marks pure with at least one result take part (unknown ops count as impure).
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/registry.hpp"
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

class Cse {
 public:
  void block(Block& b) {
    std::vector<std::string> scope;
    for (auto it = b.ops.begin(); it != b.ops.end();) {
      Op& op = **it;
      for (Value*& v : op.operands) v = resolve(v);
      if (op.region) {
        block(*op.region);
        ++it;
        continue;
      }
      if (!candidate(op)) {
        ++it;
        continue;
      }
      std::string k = key(op);
      auto found = available_.find(k);
      if (found == available_.end()) {
        available_.emplace(k, &op);
        scope.push_back(std::move(k));
        ++it;
        continue;
      }
      for (size_t i = 0; i < op.results.size(); ++i) replaced_[op.results[i].get()] = found->second->result(int(i));
      it = b.ops.erase(it);
    }
    for (const auto& k : scope) available_.erase(k);
  }

 private:
  std::unordered_map<std::string, Op*> available_;
  std::unordered_map<const Value*, Value*> replaced_;

  Value* resolve(Value* v) const {
    auto it = replaced_.find(v);
    return it == replaced_.end() ? v : it->second;
  }

  static bool candidate(const Op& op) {
    if (op.results.empty() || op.region) return false;
    const OpInfo* info = lookup_op(op.name);
    return info && info->pure;
  }

  // Name, operand identities, attributes and result types, unambiguously joined (names and
  // attribute values print without the separators used here, strings are quoted).
  static std::string key(const Op& op) {
    std::string k = op.name + "(";
    for (const Value* v : op.operands) k += std::to_string(reinterpret_cast<uintptr_t>(v)) + ",";
    k += "){";
    for (const auto& [name, value] : op.attrs) k += attr_str(Attr(name)) + "=" + attr_str(value) + ",";
    k += "}:";
    for (const auto& r : op.results) k += r->type.str() + ";";
    return k;
  }
};

}  // namespace

void cse(Module& m) {
  for (auto& f : m.funcs) Cse().block(f->body);
}

}  // namespace tessera::passes
