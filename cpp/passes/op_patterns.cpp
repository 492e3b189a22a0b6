// Op shapes several passes look for (lowering.hpp).
#include "passes/lowering.hpp"

namespace tessera::passes {
using namespace ir;

bool swaps_last_two(const Op& op) {
  if (op.name != "transpose" || op.results.size() != 1) return false;
  int64_t r = op.result()->type.rank();
  if (r < 2) return false;
  if (!op.attrs.count("perm") || op.ints_attr("perm").empty()) return r == 2;  // default: reversed dims
  const IntList& perm = op.ints_attr("perm");
  if (int64_t(perm.size()) != r) return false;
  for (int64_t d = 0; d < r; ++d)
    if (perm[size_t(d)] != (d < r - 2 ? d : d == r - 2 ? r - 1 : r - 2)) return false;
  return true;
}

bool keeps_row_major_order(const Op& op) {
  return op.name == "reshape" || op.name == "squeeze" || op.name == "expand_dims";
}

}  // namespace tessera::passes
