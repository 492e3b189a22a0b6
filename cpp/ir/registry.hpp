// The op registry: the single source of truth about every op at every IR level.
//
// Each op is registered once with its operand counts, attributes and a rule that computes its
// result types from its operand types and attributes (and so checks them). The verifier, the
// Python tracer (via tessera._C.infer_op), the lowerings and the generated docs all read it.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "ir/ir.hpp"

namespace tessera::ir {

class Builder;

enum class OpClass {
  ElementwiseUnary,   // one tensor in, same shape out
  ElementwiseBinary,  // two tensors in, broadcast shape out
  Reduction,          // reduce over `axis`
  Contraction,        // matmul
  DataMovement,       // reshape, transpose, slice, concat, gather, ...: elements move, values do not
  Structural,         // return, sched.*, rt.*
  Tile,               // tile.* ops inside kernels
  Collective,         // all_reduce, all_gather, ...: host steps that talk to the other members of a group
};

struct AttrSpec {
  std::string name;
  std::string kind;  // "int", "float", "bool", "str", "ints", "type"
  bool required = true;
  std::string doc;
  std::string default_value;  // optional attrs: the default in IR attribute syntax ("-1", "false")
};

// Emits "the element of a value at given coordinates" inside a fused kernel. Movement ops'
// `lower_at` read their operands through it at mapped coordinates; tilegen/value_emitter.cpp
// implements it. Coordinates are i64 scalars or tiles, one per dim of the value.
class ValueAt {
 public:
  using Coords = std::vector<Value*>;
  virtual ~ValueAt() = default;
  virtual Builder& builder() = 0;
  virtual Value* at(Value* v, const Coords& c) = 0;  // element of `v` (compute dtype) at `c`
  // i64 arithmetic that folds constants and shares repeated expressions, so coordinates built
  // along different paths (c+1+1 and c+2) are the same Value and memoisation finds them.
  virtual Value* i64(int64_t v) = 0;
  virtual Value* arith(const std::string& op, Value* a, Value* b) = 0;
  virtual Value* flatten(const Coords& c, const std::vector<int64_t>& shape) = 0;  // row-major index
  virtual Coords unflatten(Value* flat, const std::vector<int64_t>& shape) = 0;
};

// Computes result types; throws tessera::Error (Shape / DType / Value) with a message that
// names the op and both shapes. The caller adds the source location.
using InferFn = std::function<std::vector<Type>(const std::vector<Type>& operands, const AttrMap& attrs)>;

struct OpInfo {
  std::string name;
  OpClass cls = OpClass::Structural;
  int min_operands = 0;
  int max_operands = 0;  // -1: variadic
  std::vector<AttrSpec> attrs;
  std::vector<std::string> operand_names;    // for generated APIs: {"x", "y"}; variadic: {"xs"}
  InferFn infer;                             // null: result types are taken as written (checked by `verify_op`)
  std::function<void(const Op&)> verify_op;  // optional extra structural checks
  bool has_region = false;
  bool region_optional = false;  // with has_region: the op may also come without one
  bool pure = true;              // no side effects: may be CSE'd / removed when unused
  std::string summary;
  // Non-empty: why the op does not run on GPU targets yet (its kernel, or one its decomposition
  // needs, is CPU-only). Shown in docs/ops.md; lower-to-tile raises the error itself.
  std::string cpu_only;
  // Composites whose JVP rule covers every form the op takes: forward-mode autodiff uses the
  // rule instead of differentiating the decomposition (linear algebra). Reverse mode keeps
  // every composite with a VJP rule.
  bool jvp_covers_composite = false;
  // Elementwise primitives: Tile IR computing one element of the result from one element of
  // each operand (scalars or tiles, already widened to the compute dtype; see
  // compute_dtype). Used by every kernel that fuses the op.
  std::function<Value*(Builder&, const Op&, const std::vector<Value*>&)> lower_elementwise;
  // Data-movement ops: the element of the result at coordinates `c`, read from the operands
  // at mapped coordinates (transpose permutes, slice scales and shifts, ...).
  std::function<Value*(ValueAt&, const Op&, const ValueAt::Coords& c)> lower_at;
  // Reverse mode: given the op (already copied into the gradient function, so its operands
  // and result are usable) and the cotangent of its result, builds the cotangent of each
  // operand (null where there is none: integer operands, stop_gradient). Set in derivatives.cpp.
  std::function<std::vector<Value*>(Builder&, const Op&, Value* cotangent)> vjp;
  // Forward mode: given the op and the tangent of each operand (null = zero), builds the
  // tangent of its result (null = zero).
  std::function<Value*(Builder&, const Op&, const std::vector<Value*>& tangents)> jvp;
  // Batching (vmap): the op on operands of which those with batched[i] carry a leading batch
  // dim of size `batch`; returns the result with the batch dim leading. Set in batching.cpp.
  std::function<Value*(Builder&, const Op&, const std::vector<Value*>& operands, const std::vector<bool>& batched,
                       int64_t batch)>
      batch;
  // Composite ops: builds the op from other Graph IR ops with `b` and returns the values that
  // replace its results, or {} when this instance is already primitive (the `decompose` pass).
  std::function<std::vector<Value*>(Builder&, const Op&)> decompose;
};

// Arithmetic on f16/bf16 data runs in f32 (loads widen, stores round once), as in PyTorch.
inline DType compute_dtype(DType storage) {
  return storage == DType::F16 || storage == DType::BF16 ? DType::F32 : storage;
}

const OpInfo* lookup_op(const std::string& name);
// all_reduce, all_gather, ... (ops_collective.cpp): host steps that talk to a group's other members.
bool is_collective(const Op& op);
std::vector<const OpInfo*> all_ops();

// Checks operand count and attributes, then runs `infer` (if any) and compares with the op's
// result types. Throws tessera::Error(ErrorCode::Verify or the infer rule's code).
void check_op(const Op& op);
// The result types of op `name` on operands of types `in`, for ops built one at a time (the
// Python tracer, the C++ API): the operand count and attributes checked, then the type rule.
// Throws ErrorCode::Value for an op without a rule or a wrong count, else as check_op.
std::vector<Type> infer_types(const std::string& name, const std::vector<Type>& in, const AttrMap& attrs);

}  // namespace tessera::ir
