// Ops that exist for differentiation.
#include "ir/op_rules.hpp"

namespace tessera::ir {

void register_autodiff_ops(std::vector<OpInfo>& out) {
  OpInfo stop = unary_op("stop_gradient", false,
                         "Identity in the forward pass; blocks gradients (its derivative is zero).");
  stop.operand_names = {"x"};
  stop.lower_elementwise = [](Builder&, const Op&, const std::vector<Value*>& a) { return a[0]; };
  out.push_back(stop);
}

}  // namespace tessera::ir
