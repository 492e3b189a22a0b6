// Helpers shared by the Tile IR generators.
#include "tilegen/tilegen.hpp"

namespace tessera::tilegen {
using namespace ir;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Lowers one Graph IR elementwise op applied to already-loaded values (scalars or tiles).
Value* emit_elementwise_op(Builder& b, const Op& op, const std::vector<Value*>& args) {
  const OpInfo* info = lookup_op(op.name);
  if (!info || !info->lower_elementwise)
    fail(ErrorCode::Compile, "no Tile IR lowering for elementwise op '" + op.name + "'", op.loc.str());
  return info->lower_elementwise(b, op, args);
}

// Element offset into an input of shape `in` broadcast to `out`, for flat output index `idx`.
Value* broadcast_offset(Builder& b, Value* idx, const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  if (in == out) return idx;
  int64_t in_numel = 1;
  for (int64_t d : in) in_numel *= d;
  if (in_numel == 1) return b.i64(0);
  size_t lead = out.size() - in.size();
  Value* off = nullptr;
  int64_t out_stride = 1, in_stride = 1;
  for (size_t d = out.size(); d-- > 0;) {
    bool real = d >= lead && in[d - lead] != 1;  // broadcast dims contribute nothing
    if (real) {
      Value* coord = b.arith("div", idx, b.i64(out_stride));
      if (d > 0) coord = b.arith("rem", coord, b.i64(out[d]));
      Value* term = in_stride == 1 ? coord : b.arith("mul", coord, b.i64(in_stride));
      off = off ? b.arith("add", off, term) : term;
      in_stride *= in[d - lead];
    }
    out_stride *= out[d];
  }
  return off ? off : b.i64(0);
}

Value* load(Builder& b, Value* ptr, Value* offset, Value* mask) {
  std::vector<Value*> ops = {ptr, offset};
  if (mask && offset->type.is_tile()) ops.push_back(mask);
  Value* v = b.value("tile.load", ops);
  return b.cast(v, compute_dtype(v->type.dtype));
}

void store(Builder& b, Value* ptr, Value* offset, Value* value, Value* mask) {
  value = b.cast(value, ptr->type.dtype);
  std::vector<Value*> ops = {ptr, offset, value};
  if (mask) ops.push_back(mask);
  b.create("tile.store", ops);
}

Value* zero_tile(Builder& b, DType t, int64_t lanes) { return b.splat(b.constant(t, 0.0), lanes); }

const Op& kernel_matmul(const Op& kernel) {
  for (const auto& op : kernel.region->ops) {
    const OpInfo* info = lookup_op(op->name);
    if (info && info->cls == OpClass::Contraction) return *op;
  }
  fail(ErrorCode::Internal, "matmul kernel without a contraction", kernel.loc.str());
}

}  // namespace tessera::tilegen
