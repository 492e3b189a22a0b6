// Tile IR for matmul: one output tile per program instance, a lane per output element,
// accumulating over K in the compute dtype (the skeleton's untuned FMA loop). Grid axis z is
// the flat index into the broadcast batch dims; each operand reads its own batch element
// through broadcast_offset. 1-D operands are a [1,K] row and a [K,1] column.
// A three-entry tile knob [bm, bn, bk] (NVIDIA, bf16/f16) selects the tensor-core kernel
// instead (tilegen/matmul_mma.cpp), and for f32 the CUDA-core block GEMM (tilegen/matmul_simt.cpp).
#include <optional>

#include "tilegen/matmul_mma.hpp"
#include "tilegen/tilegen.hpp"

namespace tessera::tilegen {
using namespace ir;

Grid emit_matmul_kernel(const Op& kernel, Function& fn) {
  for (const auto& op : kernel.region->ops)  // after the constants its epilogue uses, if any
    if (op->name == "sched.packed_matmul") return emit_packed_matmul_kernel(kernel, *op, fn);
  const Op& mm = kernel_matmul(kernel);
  Builder b(&fn.body, kernel.loc);
  std::vector<int64_t> a_shape = mm.operands[0]->type.static_shape();
  std::vector<int64_t> b_shape = mm.operands[1]->type.static_shape();
  if (a_shape.size() == 1) a_shape.insert(a_shape.begin(), 1);
  if (b_shape.size() == 1) b_shape.push_back(1);
  int64_t M = a_shape[a_shape.size() - 2], K = a_shape.back(), N = b_shape.back();
  std::vector<int64_t> a_batch(a_shape.begin(), a_shape.end() - 2), b_batch(b_shape.begin(), b_shape.end() - 2);
  // The batch dims of the result: everything but its matrix (or vector) dims.
  std::vector<int64_t> out_shape = mm.result()->type.static_shape();
  size_t matrix_dims = size_t(mm.operands[0]->type.rank() >= 2) + size_t(mm.operands[1]->type.rank() >= 2);
  std::vector<int64_t> batch(out_shape.begin(), out_shape.end() - int64_t(matrix_dims));
  int64_t n_batch = 1;
  for (int64_t d : batch) n_batch *= d;

  const IntList& tile = kernel.ints_attr("tile");
  int64_t tm = tile[0], tn = tile[1], lanes = tm * tn;
  // Region args follow first use; map them back to the matmul's operand order.
  auto arg_index = [&](const Value* v) {
    for (size_t i = 0; i < kernel.region->args.size(); ++i)
      if (kernel.region->args[i].get() == v) return i;
    fail(ErrorCode::Internal, "matmul kernel operand is not a region argument");
  };
  // An operand that absorb-transposes left as transpose(reshape*(arg)) is read from arg in its
  // stored layout (the reshapes move no data).
  Transposed stored;
  auto stored_arg = [&](const Value* v, bool& transposed) {
    if (v->def && v->def->name == "transpose") transposed = true, v = v->def->operands[0];
    while (v->def && (v->def->name == "reshape" || v->def->name == "squeeze" || v->def->name == "expand_dims"))
      v = v->def->operands[0];
    return fn.body.args[arg_index(v)].get();
  };
  Value* A = stored_arg(mm.operands[0], stored.a);
  Value* B = stored_arg(mm.operands[1], stored.b);
  Value* C = fn.body.args[kernel.region->args.size()].get();
  DType ct = compute_dtype(C->type.dtype);
  // Element-wise ops after the product (GPU block GEMMs only; form-kernels decides).
  const Op& yield = *kernel.region->ops.back();
  std::optional<GemmEpilogue> epi;
  if (yield.operands.size() != 1 || yield.operands[0] != mm.result()) {
    if (tile.size() != 3)
      fail(ErrorCode::Internal, "matmul kernel with an epilogue but no block GEMM tile", kernel.loc.str());
    epi.emplace(GemmEpilogue{kernel, mm, batch});
  }
  const GemmEpilogue* ep = epi ? &*epi : nullptr;
  bool wgmma = tile.size() == 3 && kernel.attrs.count("mma") && kernel.str_attr("mma") == "wgmma";
  if ((stored.a || stored.b) && !wgmma)
    fail(ErrorCode::Internal, "matmul kernel: only wgmma kernels read transposed operands (absorb-transposes)",
         kernel.loc.str());
  if (tile.size() == 3 && mm.operands[0]->type.dtype == DType::F32)  // [128, 128, bk]: NVIDIA f32 (form-kernels)
    return emit_fma_gemm_matmul(fn, A, B, C, {M, N, K}, tile[2], kernel.int_attr("stages", 2),
                                kernel.attrs.count("mma") && kernel.str_attr("mma") == "tf32", a_batch, b_batch, batch,
                                ep, kernel.loc);
  // A batch of A against one B (a layer applied to [B, S, D] activations) is one GEMM of
  // batch * M rows, A and C being contiguous: one grid of block tiles (persistent) instead of
  // one per batch element. Not for A stored transposed ([batch, K, M] is not [batch * M, K]).
  bool fold = wgmma && !batch.empty() && b_batch.empty() && a_batch == batch && !stored.a &&
              mm.operands[0]->type.rank() >= 2 && mm.operands[1]->type.rank() >= 2;
  if (fold) {
    if (epi) epi->fold_rows = M;
    M *= n_batch;
    a_batch.clear();
    batch.clear();
  }
  if (wgmma)  // sm_90a
    return emit_wgmma_matmul(fn, A, B, C, {M, N, K}, {tile[0], tile[1], tile[2]}, a_batch, b_batch, batch,
                             {kernel.int_attr("tma", 1) != 0, kernel.int_attr("persistent", 0),
                              kernel.int_attr("staged_epilogue", -1), kernel.int_attr("epilogue_chunks", 1), stored},
                             ep, kernel.loc);
  if (tile.size() == 3)  // [bm, bn, bk]: the tensor-core kernel (form-kernels chose it for the dtypes)
    return emit_mma_sync_matmul(fn, A, B, C, {M, N, K}, {tile[0], tile[1], tile[2]}, a_batch, b_batch, batch, ep,
                                kernel.loc);

  Value* z = b.program_id(2);
  Value* a_base = b.arith("mul", broadcast_offset(b, z, a_batch, batch), b.i64(M * K));
  Value* b_base = b.arith("mul", broadcast_offset(b, z, b_batch, batch), b.i64(K * N));
  Value* c_base = b.arith("mul", z, b.i64(M * N));
  Value* lane = b.arange(lanes);
  Value* i = b.arith("add", b.arith("mul", b.program_id(1), b.i64(tm)), b.arith("div", lane, b.i64(tn)));
  Value* j = b.arith("add", b.arith("mul", b.program_id(0), b.i64(tn)), b.arith("rem", lane, b.i64(tn)));
  Value* mi = b.cmp("lt", i, b.i64(M));
  Value* mj = b.cmp("lt", j, b.i64(N));
  Value* a_row = b.arith("add", a_base, b.arith("mul", i, b.i64(K)));
  Value* b_col = b.arith("add", b_base, j);
  Value* acc =
      emit_for(b, b.i64(0), b.i64(K), b.i64(1), zero_tile(b, ct, lanes), [&](Builder& ib, Value* k, Value* carried) {
        Value* a = ib.cast(load(ib, A, ib.arith("add", a_row, k), mi), ct);
        Value* bv = ib.cast(load(ib, B, ib.arith("add", ib.arith("mul", k, ib.i64(N)), b_col), mj), ct);
        return ib.arith("add", carried, ib.arith("mul", a, bv));
      });
  Value* c_off = b.arith("add", c_base, b.arith("add", b.arith("mul", i, b.i64(N)), j));
  store(b, C, c_off, acc, b.arith("and", mi, mj));
  return {ceil_div(N, tn), ceil_div(M, tm), n_batch};
}

}  // namespace tessera::tilegen
