// Tile IR for matmul: one output tile per program instance, a lane per output element,
// accumulating over K in the compute dtype (the skeleton's untuned FMA loop).
#include "passes/tile_kernels.hpp"

namespace tessera::passes {
using namespace ir;

Grid emit_matmul_kernel(const Op& kernel, Function& fn) {
  Builder b(&fn.body, kernel.loc);
  const Op& mm = *kernel.region->ops.front();
  std::vector<int64_t> a_shape = mm.operands[0]->type.static_shape();
  std::vector<int64_t> b_shape = mm.operands[1]->type.static_shape();
  int64_t M = a_shape[0], K = a_shape[1], N = b_shape[1];
  const IntList& tile = kernel.ints_attr("tile");
  int64_t tm = tile[0], tn = tile[1], lanes = tm * tn;
  // Region args follow first use; map them back to the matmul's operand order.
  auto arg_index = [&](const Value* v) {
    for (size_t i = 0; i < kernel.region->args.size(); ++i)
      if (kernel.region->args[i].get() == v) return i;
    fail(ErrorCode::Internal, "matmul kernel operand is not a region argument");
  };
  Value* A = fn.body.args[arg_index(mm.operands[0])].get();
  Value* B = fn.body.args[arg_index(mm.operands[1])].get();
  Value* C = fn.body.args[kernel.region->args.size()].get();
  DType ct = compute_dtype(C->type.dtype);

  Value* lane = b.arange(lanes);
  Value* i = b.arith("add", b.arith("mul", b.program_id(1), b.i64(tm)), b.arith("div", lane, b.i64(tn)));
  Value* j = b.arith("add", b.arith("mul", b.program_id(0), b.i64(tn)), b.arith("rem", lane, b.i64(tn)));
  Value* mi = b.cmp("lt", i, b.i64(M));
  Value* mj = b.cmp("lt", j, b.i64(N));
  Value* a_row = b.arith("mul", i, b.i64(K));
  Value* acc = emit_for(b, b.i64(0), b.i64(K), b.i64(1), zero_tile(b, ct, lanes),
                        [&](Builder& ib, Value* k, Value* carried) {
                          Value* a = load(ib, A, ib.arith("add", a_row, k), mi);
                          Value* bv = load(ib, B, ib.arith("add", ib.arith("mul", k, ib.i64(N)), j), mj);
                          return ib.arith("add", carried, ib.arith("mul", a, bv));
                        });
  store(b, C, b.arith("add", b.arith("mul", i, b.i64(N)), j), acc, b.arith("and", mi, mj));
  return {ceil_div(N, tn), ceil_div(M, tm), 1};
}

}  // namespace tessera::passes
