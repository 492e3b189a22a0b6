// The `dce` pass: removes pure ops none of whose results is used, inside regions too.
//
// An op is removable when the registry marks it pure and it has at least one result, none of
// them used (ops without results, such as `return` or stores, always stay; unknown ops count
// as impure). Blocks are walked backwards with use counts kept up to date, so a chain of dead
// ops goes in one sweep: removing a user can make its operands' definitions dead in turn.
#include <unordered_map>

#include "ir/registry.hpp"
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

using UseCounts = std::unordered_map<const Value*, int>;

void count(Block& b, UseCounts& uses, int delta) {
  walk(b, [&](Op& op) {
    for (Value* v : op.operands) uses[v] += delta;
  });
}

bool removable(const Op& op, const UseCounts& uses) {
  if (op.results.empty()) return false;
  const OpInfo* info = lookup_op(op.name);
  if (!info || !info->pure) return false;
  for (const auto& r : op.results) {
    auto it = uses.find(r.get());
    if (it != uses.end() && it->second > 0) return false;
  }
  return true;
}

void sweep(Block& b, UseCounts& uses) {
  for (auto it = b.ops.end(); it != b.ops.begin();) {
    --it;
    Op& op = **it;
    if (removable(op, uses)) {
      for (Value* v : op.operands) --uses[v];
      if (op.region) count(*op.region, uses, -1);
      it = b.ops.erase(it);
    } else if (op.region) {
      sweep(*op.region, uses);
    }
  }
}

}  // namespace

void dce(Module& m) {
  for (auto& f : m.funcs) {
    UseCounts uses;
    count(f->body, uses, +1);
    sweep(f->body, uses);
  }
}

}  // namespace tessera::passes
