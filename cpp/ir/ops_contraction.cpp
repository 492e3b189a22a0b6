// Contraction Graph IR ops.
#include "ir/op_rules.hpp"

namespace tessera::ir {
namespace {

OpInfo matmul() {
  OpInfo info;
  info.name = "matmul";
  info.cls = OpClass::Contraction;
  info.min_operands = info.max_operands = 2;
  info.operand_names = {"x", "y"};
  info.summary =
      "Matrix product with NumPy semantics: [...,M,K] @ [...,K,N] -> [...,M,N] with broadcast batch "
      "dims; a 1-D left operand is a row vector and a 1-D right operand a column vector (their "
      "dim is dropped from the result). Operands of different dtypes promote. Accumulates in the "
      "compute dtype; K = 0 gives zeros.";
  info.attrs = {{"precision", "str", false,
                 "\"highest\" (f32 products of f32 operands) or \"tf32\": f32 operands may be rounded to TF32 "
                 "(10-bit mantissa) for tensor cores where the target has them (NVIDIA sm_80+), about 1e-3 "
                 "relative error; other dtypes and targets ignore it",
                 "\"highest\""}};
  info.infer = [](const std::vector<Type>& in, const AttrMap& attrs) {
    auto p = attrs.find("precision");
    if (p != attrs.end()) {
      const std::string& v = std::get<std::string>(p->second);
      if (v != "highest" && v != "tf32")
        fail(ErrorCode::Value, "matmul: precision must be \"highest\" or \"tf32\", got \"" + v + "\"");
    }
    const Type &a = in[0], &b = in[1];
    require_tensor("matmul", a);
    require_tensor("matmul", b);
    if (a.rank() == 0 || b.rank() == 0)
      fail(ErrorCode::Shape, "matmul: operands must have rank >= 1, got " + a.str() + " @ " + b.str());
    DType dt = promote_types(a.dtype, b.dtype);
    if (dt == DType::Bool) fail(ErrorCode::DType, "matmul: not defined for bool tensors");
    const Dim& ka = a.shape.back();
    const Dim& kb = b.rank() == 1 ? b.shape[0] : b.shape[b.shape.size() - 2];
    if (ka != kb) fail(ErrorCode::Shape, "matmul: inner dims differ: " + a.str() + " @ " + b.str());
    Type a_batch =
        Type::tensor(a.dtype, std::vector<Dim>(a.shape.begin(), a.shape.end() - std::min<int64_t>(a.rank(), 2)));
    Type b_batch =
        Type::tensor(b.dtype, std::vector<Dim>(b.shape.begin(), b.shape.end() - std::min<int64_t>(b.rank(), 2)));
    std::vector<Dim> out = broadcast_shapes("matmul", a_batch, b_batch);
    if (a.rank() >= 2) out.push_back(a.shape[a.shape.size() - 2]);
    if (b.rank() >= 2) out.push_back(b.shape.back());
    return std::vector<Type>{Type::tensor(dt, out)};
  };
  // Operands of different dtypes are converted to the promoted one first (docs/dtype_promotion.md).
  info.decompose = [](Builder& bld, const Op& op) -> std::vector<Value*> {
    DType dt = op.result()->type.dtype;
    if (op.operands[0]->type.dtype == dt && op.operands[1]->type.dtype == dt) return {};
    std::vector<Value*> xs;
    for (Value* v : op.operands)
      xs.push_back(v->type.dtype == dt ? v : bld.value("cast", {v}, {{"dtype", std::string(dtype_name(dt))}}));
    return {bld.value("matmul", xs, op.attrs)};
  };
  return info;
}

}  // namespace

void register_contraction_ops(std::vector<OpInfo>& out) { out.push_back(matmul()); }

}  // namespace tessera::ir
