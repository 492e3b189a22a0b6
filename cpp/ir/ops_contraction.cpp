// Contraction Graph IR ops.
#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

OpInfo matmul() {
  OpInfo info;
  info.name = "matmul";
  info.cls = OpClass::Contraction;
  info.min_operands = info.max_operands = 2;
  info.summary = "Matrix product of [M,K] and [K,N] tensors.";
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    const Type &a = in[0], &b = in[1];
    require_tensor("matmul", a);
    require_tensor("matmul", b);
    if (a.rank() != 2 || b.rank() != 2)
      fail(ErrorCode::Shape, "matmul: expects two rank-2 tensors (batched matmul comes with the operator "
                             "library), got " + a.str() + " @ " + b.str());
    if (a.dtype != b.dtype)
      fail(ErrorCode::DType, "matmul: dtypes differ: " + a.str() + " @ " + b.str());
    require_float("matmul", a);
    if (a.shape[1] != b.shape[0])
      fail(ErrorCode::Shape, "matmul: inner dims differ: " + a.str() + " @ " + b.str());
    return std::vector<Type>{Type::tensor(a.dtype, {a.shape[0], b.shape[1]})};
  };
  return info;
}

}  // namespace

void register_contraction_ops(std::vector<OpInfo>& out) { out.push_back(matmul()); }

}  // namespace tessera::ir
