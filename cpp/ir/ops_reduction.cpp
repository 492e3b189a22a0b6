// Reduction Graph IR ops.
#include "ir/op_rules.hpp"

namespace tessera::ir {

void register_reduction_ops(std::vector<OpInfo>& out) {
  out.push_back(reduction_op("sum", "Sum over one axis."));
}

}  // namespace tessera::ir
