// Tile IR for the flash-attention kernel (NVIDIA, bf16/f16, head dim 64 or 128): one
// tile.flash_attention per program instance, a block of query rows of one (batch, head) pair.
// The kernel's tile knob is [query rows, K/V rows per streamed tile, K/V buffer stages (1 when
// absent)] (form-kernels: [128, 64]); each warp takes 16 query rows. Grid axis 0 numbers the query blocks, last block first: with a causal mask the
// last blocks see the most keys, so the longest instances start first and the short ones
// fill in behind them. Axis 2 is the flat batch-and-heads index.
#include <algorithm>

#include "passes/tile_kernels.hpp"

namespace tessera::passes {
using namespace ir;
Grid emit_attention_kernel(const Op& kernel, Function& fn) {
  const Op* att = nullptr;
  for (const auto& op : kernel.region->ops)
    if (op->name == "attention") att = op.get();
  if (!att) fail(ErrorCode::Internal, "attention kernel without an attention op", kernel.loc.str());
  auto arg_index = [&](const Value* v) {
    for (size_t i = 0; i < kernel.region->args.size(); ++i)
      if (kernel.region->args[i].get() == v) return i;
    fail(ErrorCode::Internal, "attention kernel operand is not a region argument", kernel.loc.str());
  };
  Value* Q = fn.body.args[arg_index(att->operands[0])].get();
  Value* K = fn.body.args[arg_index(att->operands[1])].get();
  Value* V = fn.body.args[arg_index(att->operands[2])].get();
  Value* O = fn.body.args[kernel.region->args.size()].get();
  std::vector<int64_t> q_shape = att->operands[0]->type.static_shape();
  std::vector<int64_t> k_shape = att->operands[1]->type.static_shape();
  size_t r = q_shape.size();
  int64_t sq = q_shape[r - 2], d = q_shape[r - 1], skv = k_shape[r - 2], heads = 1;
  for (size_t i = 0; i + 2 < r; ++i) heads *= q_shape[i];
  bool causal = att->has_attr("causal") && std::get<bool>(att->attrs.at("causal"));
  if (heads > 65535)  // CUDA's grid z limit
    fail(ErrorCode::Compile, "attention: " + std::to_string(heads) + " (batch x heads) pairs exceed the GPU grid's limit of "
                             "65535; split the call along the batch dims", kernel.loc.str());

  IntList tile = kernel.has_attr("tile") ? kernel.ints_attr("tile") : IntList{128, 64};
  if (tile.size() < 2 || tile.size() > 3 || tile[0] < 16 || tile[0] % 16)
    fail(ErrorCode::Compile, "attention kernel: tile must be [query rows (a multiple of 16), key rows, K/V stages]",
         kernel.loc.str());
  const int64_t kBlockM = tile[0], kBlockN = tile[1], kWarps = kBlockM / 16, kStages = tile.size() > 2 ? tile[2] : 1;
  // Above 48 KiB the kernel takes dynamic shared memory, sized at launch (rt.launch `shared`).
  int64_t smem = std::max(kBlockM * d, 2 * kStages * kBlockN * d) * 2;
  if (smem > 48 * 1024) fn.attrs["shared"] = smem;
  Builder b(&fn.body, kernel.loc);
  fn.attrs["block"] = IntList{32 * kWarps, 1, 1};
  fn.attrs["lanes"] = 32 * kWarps;
  int64_t blocks = ceil_div(sq, kBlockM);
  Value* m0 = b.arith("mul", b.arith("sub", b.i64(blocks - 1), b.program_id(0)), b.i64(kBlockM));
  Value* z = b.program_id(2);
  Value* q_off = b.arith("add", b.arith("mul", z, b.i64(sq * d)), b.arith("mul", m0, b.i64(d)));
  Value* kv_off = b.arith("mul", z, b.i64(skv * d));
  b.create("tile.flash_attention", {O, q_off, Q, q_off, K, V, kv_off, b.arith("sub", b.i64(sq), m0), m0, b.i64(skv)},
           {{"head_dim", d}, {"block_m", kBlockM}, {"block_n", kBlockN}, {"warps", kWarps}, {"causal", causal},
            {"scale", attention_scale(*att)}, {"stages", kStages}});
  return {blocks, 1, heads};
}

}  // namespace tessera::passes
