// Mixture-of-experts token routing (issue 18), composites of one_hot, cumsum, take and
// scatter_add, so their gradients (w.r.t. the tokens, the expert outputs and the gate weights)
// come from those primitives:
//   moe_dispatch(x [T, D], expert_ids [T, K]) -> [E, C, D]: each token's row copied to the
//       next free slot of each of its K experts, in token order; slots past the capacity C
//       drop the token (it gets nothing from that expert), unused slots are zero
//   moe_combine(y [E, C, D], expert_ids [T, K], weights [T, K]) -> [T, D]: each token's
//       slots read back and summed with its gate weights (a dropped slot gives 0)
// The same ids give the same slots in both, so combine(f(dispatch(x))) is the routed layer.
#include "ir/composite.hpp"

namespace tessera::ir {
namespace {

using namespace composite;
using Shape = std::vector<int64_t>;

const AttrSpec kExperts{"num_experts", "int", true, "E, the number of experts"};
const AttrSpec kCapacity{"capacity", "int", true, "C, the slots per expert"};

void check_ids(const std::string& op, const Type& ids, int64_t tokens) {
  require_tensor(op, ids);
  if (is_float(ids.dtype) || ids.dtype == DType::Bool)
    fail(ErrorCode::DType, op + ": expert_ids must be integers, got " + ids.str());
  if (ids.rank() != 2 || !ids.has_static_shape() || ids.shape[0].size != tokens)
    fail(ErrorCode::Shape,
         op + ": expert_ids must be [T, K] with T = " + std::to_string(tokens) + ", got " + ids.str());
}

std::pair<int64_t, int64_t> experts_and_capacity(const std::string& op, const AttrMap& a) {
  int64_t e = std::get<int64_t>(a.at("num_experts")), c = std::get<int64_t>(a.at("capacity"));
  if (e < 1 || c < 0)
    fail(ErrorCode::Value,
         op + ": num_experts must be >= 1 and capacity >= 0, got " + std::to_string(e) + " and " + std::to_string(c));
  return {e, c};
}

// The flat slot (expert * C + position) of each of the T*K (token, choice) pairs, token-major;
// E * C (out of range: dropped) where the expert is full or the id is not in [0, E).
Value* slots(Builder& b, Value* ids, int64_t e, int64_t c) {
  int64_t n = ids->type.numel();
  Value* flat = cast_to(b, reshape_to(b, ids, Type::tensor(ids->type.dtype, Shape{n})), DType::I64);
  Value* hot = b.value("one_hot", {flat}, {{"num_classes", e}, {"dtype", std::string("i64")}});  // [n, E]
  Value* taken = b.value("cumsum", {hot}, {{"axis", int64_t(0)}});  // slots used so far, this one included
  Value* pos = op2(b, "sub", b.value("sum", {op2(b, "mul", taken, hot)}, {{"axis", int64_t(1)}}),
                   b.graph_constant(DType::I64, 1.0));
  Value* valid = op2(b, "logical_and", op2(b, "greater_equal", flat, b.graph_constant(DType::I64, 0.0)),
                     op2(b, "less", flat, b.graph_constant(DType::I64, double(e))));
  Value* keep = op2(b, "logical_and", valid, op2(b, "less", pos, b.graph_constant(DType::I64, double(c))));
  Value* dest = op2(b, "add", op2(b, "mul", flat, b.graph_constant(DType::I64, double(c))), pos);
  return b.value("where", {keep, dest, b.graph_constant(DType::I64, double(e * c))});
}

// Token t of each (token, choice) pair: [0, 0, .., 1, 1, ..] (K each).
Value* token_of_pair(Builder& b, int64_t t, int64_t k) {
  Value* i = b.value("iota", {}, {{"type", Type::tensor(DType::I64, Shape{t * k})}, {"axis", int64_t(0)}});
  return op2(b, "floor_divide", i, b.graph_constant(DType::I64, double(std::max<int64_t>(k, 1))));
}

OpInfo dispatch() {
  OpInfo info = make("moe_dispatch", OpClass::DataMovement, {"x", "expert_ids"}, {kExperts, kCapacity},
                     "Tokens x [T, D] sent to their experts: [E, C, D], each token's row in the next free slot of "
                     "each expert in expert_ids [T, K] (token order); tokens past an expert's capacity C are "
                     "dropped there, unused slots are zero.");
  info.cpu_only = kBuiltOnScatter;
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("moe_dispatch", in[0]);
    if (in[0].rank() != 2 || !in[0].has_static_shape())
      fail(ErrorCode::Shape, "moe_dispatch: x must be [T, D] with static sizes, got " + in[0].str());
    check_ids("moe_dispatch", in[1], in[0].shape[0].size);
    auto [e, c] = experts_and_capacity("moe_dispatch", a);
    return std::vector<Type>{Type::tensor(in[0].dtype, Shape{e, c, in[0].shape[1].size})};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value *x = op.operands[0], *ids = op.operands[1];
    auto [e, c] = experts_and_capacity("moe_dispatch", op.attrs);
    int64_t t = x->type.shape[0].size, k = ids->type.shape[1].size, d = x->type.shape[1].size;
    Value* rows = b.value("take", {x, token_of_pair(b, t, k)}, {{"axis", int64_t(0)}});  // [T*K, D]
    Value* dest = reshape_to(b, slots(b, ids, e, c), Type::tensor(DType::I64, Shape{t * k, 1}));
    Value* idx = b.value("broadcast_to", {dest}, {{"shape", IntList{t * k, d}}});
    Value* out =
        b.value("scatter_add", {b.graph_constant(Type::tensor(x->type.dtype, Shape{e * c, d}), 0.0), idx, rows},
                {{"axis", int64_t(0)}, {"mode", std::string("fill")}});
    return {reshape_to(b, out, op.result()->type)};
  };
  return info;
}

OpInfo combine() {
  OpInfo info = make("moe_combine", OpClass::DataMovement, {"y", "expert_ids", "weights"}, {kCapacity},
                     "Expert outputs y [E, C, D] brought back to the tokens: [T, D], the sum over each token's K "
                     "slots (as moe_dispatch assigned them for expert_ids [T, K]) weighted by weights [T, K]; a "
                     "dropped slot adds nothing.");
  info.cpu_only = kBuiltOnScatter;
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("moe_combine", in[0]);
    if (in[0].rank() != 3 || !in[0].has_static_shape())
      fail(ErrorCode::Shape, "moe_combine: y must be [E, C, D] with static sizes, got " + in[0].str());
    require_tensor("moe_combine", in[2]);
    check_ids("moe_combine", in[1], in[2].rank() ? in[2].shape[0].size : -1);
    if (in[2].shape != in[1].shape)
      fail(ErrorCode::Shape, "moe_combine: weights " + in[2].str() + " must match expert_ids " + in[1].str());
    int64_t c = std::get<int64_t>(a.at("capacity"));
    if (c != in[0].shape[1].size)
      fail(ErrorCode::Shape, "moe_combine: capacity " + std::to_string(c) + " must be y's dim 1, got " + in[0].str());
    return std::vector<Type>{
        Type::tensor(promote_types(in[0].dtype, in[2].dtype), Shape{in[1].shape[0].size, in[0].shape[2].size})};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value *y = op.operands[0], *ids = op.operands[1];
    const Type& out = op.result()->type;
    int64_t e = y->type.shape[0].size, c = y->type.shape[1].size, d = y->type.shape[2].size;
    int64_t t = ids->type.shape[0].size, k = ids->type.shape[1].size;
    Value* flat = reshape_to(b, cast_to(b, y, out.dtype), Type::tensor(out.dtype, Shape{e * c, d}));
    Value* rows = b.value("take", {flat, slots(b, ids, e, c)},
                          {{"axis", int64_t(0)}, {"mode", std::string("fill")}, {"fill_value", 0.0}});  // [T*K, D]
    Value* w = reshape_to(b, cast_to(b, op.operands[2], out.dtype), Type::tensor(out.dtype, Shape{t * k, 1}));
    Value* weighted = reshape_to(b, op2(b, "mul", rows, w), Type::tensor(out.dtype, Shape{t, k, d}));
    return {b.value("sum", {weighted}, {{"axis", int64_t(1)}})};
  };
  return info;
}

}  // namespace

void register_moe_ops(std::vector<OpInfo>& out) {
  out.push_back(dispatch());
  out.push_back(combine());
}

}  // namespace tessera::ir
