// The epilogue of the NVIDIA block-GEMM ops (tile.mma_sync, tile.wgmma_gemm, tile.fma_gemm):
// which outputs a block tile is stored to, and each output's value at one element of the
// product. Without an epilogue region the only output is c and its value the product; with
// one, the region (element-wise ops form-kernels fused after the matmul) runs on the element
// in registers, so a bias, activation, residual or cast costs no pass over memory.
#include "backends/llvm/tile_to_llvm.hpp"

namespace tessera::backends {

using llvm::Value;

std::vector<KernelEmitter::GemmOutput> KernelEmitter::gemm_outputs(const ir::Op& op, const std::vector<Value*>& args) {
  std::vector<GemmOutput> outs = {{args[0], op.operands[0]->type.dtype}};
  for (size_t i = 15; i < args.size(); ++i) outs.push_back({args[i], op.operands[i]->type.dtype});
  return outs;
}

std::vector<Value*> KernelEmitter::gemm_epilogue(const ir::Op& op, const std::vector<Value*>& args, Value* acc, Value* row,
                                                 Value* col, Value* rows, Value* cols, Value* m0, Value* n0) {
  if (!op.region) return {convert(acc, DType::F32, op.operands[0]->type.dtype)};
  const ir::Block& region = *op.region;
  // Elements past the matrix edge are computed but never stored: clamp their coordinates so
  // the region's loads (a bias, a residual) stay inside their buffers.
  llvm::Type* i64 = b_.getInt64Ty();
  auto clamp = [&](Value* v, Value* n) {
    return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b_.CreateSExtOrTrunc(v, i64), b_.CreateSub(n, b_.getInt64(1)));
  };
  Value* r = b_.CreateAdd(args[13], clamp(row, rows));
  Value* c = b_.CreateAdd(args[14], clamp(col, cols));
  if (m0) r = b_.CreateAdd(r, m0);
  if (n0) c = b_.CreateAdd(c, n0);
  values_[region.args[0].get()] = convert(acc, DType::F32, region.args[0]->type.dtype);
  values_[region.args[1].get()] = args[12];
  values_[region.args[2].get()] = r;
  values_[region.args[3].get()] = c;
  threads_block(region);
  std::vector<Value*> out;
  for (const ir::Value* v : region.ops.back()->operands) out.push_back(scalar(v));
  return out;
}

}  // namespace tessera::backends
