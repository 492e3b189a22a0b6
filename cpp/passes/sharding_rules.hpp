// How each Graph IR primitive can be split over a mesh, as a factor rule (Shardy's OpShardingRule,
// GSPMD's per-op cases in one form): every dim of every operand and result names the factor it
// iterates, and splitting a factor over a mesh axis splits every dim that names it. A factor
// that appears in operands only is reduced: splitting it leaves each member a term of a pending
// reduction (`reduce`). A dim the op needs whole (a concat axis, a size-1 broadcast dim, a
// reshape's minor dims) names no factor (-1). Used by propagate-sharding and spmd-partition.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/ir.hpp"

namespace tessera::passes {

struct ShardingRule {
  std::vector<int64_t> sizes;              // per factor (-1: symbolic, never split)
  std::vector<std::vector<int>> operands;  // per operand, per dim: factor or -1
  std::vector<std::vector<int>> results;   // per result, per dim
  std::string reduce;                      // pending reduction of split reduced factors; "" = never split them
  // Pending sums on operands that may pass through to the result: "each" (every operand has the
  // same pending sum: add, sub), "one" (at most one operand has one, the op is linear in it:
  // mul, matmul; `linear` says which operands may), "" (none: resolved first).
  std::string partial;
  std::vector<bool> linear;  // per operand, for partial == "one" / "each"

  int add_factor(int64_t size) {
    sizes.push_back(size);
    return int(sizes.size()) - 1;
  }
  bool reduced(int f) const;  // in no result
};

// The op's rule, or nullopt for ops computed whole on every member (operands replicated): ops
// with regions, random numbers, ops whose split needs global offsets (argmax, iota-like), and
// anything without a rule yet.
std::optional<ShardingRule> sharding_rule(const ir::Op& op);
// Whether op `name` has a rule (composites: none, their primitives do; docs/ops.md's table).
bool has_sharding_rule(const std::string& name);

}  // namespace tessera::passes

namespace tessera::ir {
struct Mesh;
struct Sharding;
}  // namespace tessera::ir

namespace tessera::passes {

// How one op runs on the mesh: the axis splitting each factor ("" none) and which operands
// keep their pending sums (passed through to the result).
struct OpSplit {
  std::vector<std::string> axes;  // per factor
  std::vector<bool> pass;         // per operand
};

// Forward propagation: the split that keeps as much of the operands' shardings as the rule
// allows, larger operands first (a conflict reshards the smaller one: fewer bytes move).
// `bytes` is each operand's size. `whole_reductions` (deterministic mode): reduced factors are
// never split, so reductions run over whole rows on one member, in the single-device order.
OpSplit split_from_operands(const ShardingRule& r, const std::vector<ir::Sharding>& operands,
                            const std::vector<int64_t>& bytes, const ir::Mesh& mesh, bool whole_reductions);
// Partitioning: the split that gives `result` (its dims name the result factors' axes; its
// pending axes come from operands passing theirs through, else from reduced factors, preferring
// one whose operand dims are already split on that axis).
OpSplit split_for_result(const ShardingRule& r, const std::vector<ir::Sharding>& operands, const ir::Sharding& result,
                         const ir::Mesh& mesh);
// What the split makes of result 0, and what it needs of operand i.
ir::Sharding result_sharding(const ShardingRule& r, const OpSplit& s, const std::vector<ir::Sharding>& operands,
                             const ir::Mesh& mesh);
ir::Sharding operand_sharding(const ShardingRule& r, const OpSplit& s, const std::vector<ir::Sharding>& operands,
                              size_t i);

}  // namespace tessera::passes
