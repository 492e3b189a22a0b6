// Tile IR for the flash-attention kernels (NVIDIA, bf16/f16, head dim 64 or 128): one
// tile.flash_attention (forward, and the lse when the kernel holds an attention_lse),
// tile.flash_attention_wgmma (the same on sm_90a: knob mma = "wgmma") or
// tile.flash_attention_bwd / tile.flash_attention_bwd_wgmma (an attention_grad kernel) per
// program instance, a block of rows of one (batch, head) pair.
// The kernel's tile knob is [query rows, K/V rows per streamed tile, K/V buffer stages (1 when
// absent)] (form-kernels: [128, 64, 3] at D = 128, [64, 64, 3] at D = 64; each warp takes 16
// query rows; wgmma: [128, 128, 2], 64 rows per consumer warpgroup; the backward's below). Grid axis 0 numbers the
// query blocks, last block first: with a causal mask the last blocks see the most keys, so the
// longest instances start first and the short ones fill in behind them. Axis 2 is the flat
// batch-and-heads index.
#include <algorithm>
#include <tuple>

#include "ir/target.hpp"
#include "tilegen/tilegen.hpp"

namespace tessera::tilegen {
using namespace ir;

namespace {

// The flash kernels' operands are the region's arguments; outputs follow the inputs, in the
// order of the kernel's sched.yield.
struct KernelArgs {
  const Op& kernel;
  Function& fn;
  Value* in(const Value* v) const {
    for (size_t i = 0; i < kernel.region->args.size(); ++i)
      if (kernel.region->args[i].get() == v) return fn.body.args[i].get();
    fail(ErrorCode::Internal, "attention kernel operand is not a region argument", kernel.loc.str());
  }
  Value* out(const Value* v) const {  // null when the value is not a kernel output
    const Op& y = *kernel.region->ops.back();
    for (size_t i = 0; i < y.operands.size(); ++i)
      if (y.operands[i] == v) return fn.body.args[kernel.region->args.size() + i].get();
    return nullptr;
  }
};

// The sizes of an attention op's operands: query and key rows, head dim, and the number of
// (batch, head) pairs (grid axis 2).
struct Dims {
  int64_t sq, skv, d, heads;
};

Dims dims_of(const Op& att, const Op& kernel) {
  std::vector<int64_t> q = att.operands[0]->type.static_shape(), k = att.operands[1]->type.static_shape();
  size_t r = q.size();
  int64_t heads = 1;
  for (size_t i = 0; i + 2 < r; ++i) heads *= q[i];
  if (heads > 65535)  // CUDA's grid z limit
    fail(ErrorCode::Compile,
         "attention: " + std::to_string(heads) +
             " (batch x heads) pairs exceed the GPU grid's limit of "
             "65535; split the call along the batch dims",
         kernel.loc.str());
  return {q[r - 2], k[r - 2], q[r - 1], heads};
}

int64_t arg_index(const Function& fn, const Value* v) {
  for (size_t i = 0; i < fn.body.args.size(); ++i)
    if (fn.body.args[i].get() == v) return int64_t(i);
  fail(ErrorCode::Internal, "attention kernel operand is not a kernel parameter");
}

// sm_90a (knob mma = "wgmma"): tile.flash_attention_wgmma on 384 threads (a TMA producer
// warpgroup, two consumer warpgroups). The launch gets the dynamic shared memory and three TMA
// descriptors, q, k and v each viewed as [heads, S, D] with a 64-column box (128 bytes, the
// swizzle's width) of tile[0] (q) or tile[1] (k, v) rows; rows past S read as zeros.
void set_wgmma_kernel_attrs(Function& fn, const Dims& n, const IntList& tile, DType dt, Value* Q, Value* K, Value* V) {
  const int64_t es = int64_t(dtype_size(dt));
  fn.attrs["block"] = IntList{384, 1, 1};
  fn.attrs["lanes"] = int64_t(384);
  fn.attrs["shared"] = flash_attention_wgmma_shared_bytes(n.d, tile[0], tile[1], tile[2]);
  IntList maps;
  for (auto [arg, rows, box] :
       {std::tuple<Value*, int64_t, int64_t>{Q, n.sq, tile[0]}, {K, n.skv, tile[1]}, {V, n.skv, tile[1]}}) {
    IntList m = {arg_index(fn, arg), es, n.d, rows, n.heads, n.d * es, rows * n.d * es, 64, box, 1, 128};
    maps.insert(maps.end(), m.begin(), m.end());
  }
  fn.attrs["tensor_maps"] = maps;
}

Grid emit_forward(const Op& kernel, const Op& att, const Op* lse_op, Function& fn) {
  KernelArgs io{kernel, fn};
  Value *Q = io.in(att.operands[0]), *K = io.in(att.operands[1]), *V = io.in(att.operands[2]);
  Value* O = io.out(att.result());
  Value* lse = lse_op ? io.out(lse_op->result()) : nullptr;
  if (!O) fail(ErrorCode::Internal, "attention kernel without its output", kernel.loc.str());
  const Dims n = dims_of(att, kernel);
  const int64_t sq = n.sq, d = n.d, skv = n.skv;
  const bool causal = att.bool_attr("causal", false);
  const bool wgmma = kernel.has_attr("mma") && kernel.str_attr("mma") == "wgmma";

  IntList tile = kernel.has_attr("tile") ? kernel.ints_attr("tile") : IntList{128, 64};
  if (wgmma ? tile.size() != 3 : (tile.size() < 2 || tile.size() > 3 || tile[0] < 16 || tile[0] % 16))
    fail(ErrorCode::Compile,
         std::string("attention kernel: tile must be [query rows") + (wgmma ? "" : " (a multiple of 16)") +
             ", key rows, K/V stages]",
         kernel.loc.str());
  const int64_t kBlockM = tile[0], kBlockN = tile[1], kWarps = kBlockM / 16, kStages = tile.size() > 2 ? tile[2] : 1;
  if (wgmma) {
    set_wgmma_kernel_attrs(fn, n, tile, att.operands[0]->type.dtype, Q, K, V);
  } else {
    // Above 48 KiB the kernel takes dynamic shared memory, sized at launch (rt.launch `shared`).
    int64_t smem = std::max(kBlockM * d, 2 * kStages * kBlockN * d) * 2;
    if (smem > 48 * 1024) fn.attrs["shared"] = smem;
    fn.attrs["block"] = IntList{32 * kWarps, 1, 1};
    fn.attrs["lanes"] = 32 * kWarps;
  }
  Builder b(&fn.body, kernel.loc);
  int64_t blocks = ceil_div(sq, kBlockM);
  Value* m0 = b.arith("mul", b.arith("sub", b.i64(blocks - 1), b.program_id(0)), b.i64(kBlockM));
  Value* z = b.program_id(2);
  Value* q_off = b.arith("add", b.arith("mul", z, b.i64(sq * d)), b.arith("mul", m0, b.i64(d)));
  Value* kv_off = wgmma ? nullptr : b.arith("mul", z, b.i64(skv * d));
  Value* rows = b.arith("sub", b.i64(sq), m0);
  std::vector<Value*> operands;
  AttrMap attrs = {{"head_dim", d},
                   {"block_m", kBlockM},
                   {"block_n", kBlockN},
                   {"causal", causal},
                   {"scale", attention_scale(att)},
                   {"stages", kStages}};
  if (wgmma) {  // q, k and v through the tensor maps: head z, rows from m0
    operands = {O, q_off, Q, K, V, z, m0, rows, b.i64(skv)};
    for (const char* knob : {"overlap", "pingpong"})
      if (kernel.has_attr(knob)) attrs[knob] = kernel.int_attr(knob);
  } else {
    operands = {O, q_off, Q, q_off, K, V, kv_off, rows, m0, b.i64(skv)};
    attrs["warps"] = kWarps;
  }
  if (lse) {
    operands.push_back(lse);
    operands.push_back(b.arith("add", b.arith("mul", z, b.i64(sq)), m0));
  }
  b.create(wgmma ? "tile.flash_attention_wgmma" : "tile.flash_attention", operands, attrs);
  return {blocks, 1, n.heads};
}

// attention_grad ops (dq alone, or dk and/or dv of one set of operands): one block of
// tile[0] own rows (queries for dq, keys for dk/dv) per program instance, tile[1] rows per
// streamed tile, tile[2] stages. dq's blocks go last first (causal: the longest first).
Grid emit_backward(const Op& kernel, Function& fn) {
  const Op* by_wrt[3] = {nullptr, nullptr, nullptr};
  for (const auto& op : kernel.region->ops)
    if (op->name == "attention_grad") {
      const std::string& w = op->str_attr("wrt");
      by_wrt[w == "q" ? 0 : w == "k" ? 1 : 2] = op.get();
    }
  const Op& g = *(by_wrt[0] ? by_wrt[0] : by_wrt[1] ? by_wrt[1] : by_wrt[2]);
  KernelArgs io{kernel, fn};
  std::vector<Value*> operands;
  std::string wrt = by_wrt[0] ? "q" : by_wrt[1] && by_wrt[2] ? "kv" : by_wrt[1] ? "k" : "v";
  for (const Op* o : by_wrt)
    if (o) operands.push_back(io.out(o->result()));
  for (size_t i = 0; i < 6; ++i) operands.push_back(io.in(g.operands[i]));
  const Dims n = dims_of(g, kernel);
  const int64_t sq = n.sq, d = n.d, skv = n.skv, heads = n.heads;
  IntList tile = kernel.ints_attr("tile");
  if (tile.size() != 3)
    fail(ErrorCode::Compile, "attention gradient kernel: tile must be [own rows, streamed rows, stages]",
         kernel.loc.str());
  const bool wgmma = kernel.has_attr("mma") && kernel.str_attr("mma") == "wgmma";
  bool by_query = wrt == "q";
  if (wgmma) {  // 384 threads; q, k, v and do through tensor maps, boxes of own or streamed rows
    fn.attrs["block"] = IntList{384, 1, 1};
    fn.attrs["lanes"] = int64_t(384);
    fn.attrs["shared"] = flash_attention_bwd_wgmma_shared_bytes(d, tile[0], tile[1], tile[2]);
    const int64_t es = int64_t(dtype_size(g.operands[0]->type.dtype));
    IntList maps;
    for (int i = 0; i < 4; ++i) {
      bool query_side = i == 0 || i == 3, own = query_side == by_query;
      int64_t rows = query_side ? sq : skv;
      IntList one = {arg_index(fn, io.in(g.operands[size_t(i)])),
                     es,
                     d,
                     rows,
                     heads,
                     d * es,
                     rows * d * es,
                     64,
                     own ? tile[0] : tile[1],
                     1,
                     128};
      maps.insert(maps.end(), one.begin(), one.end());
    }
    fn.attrs["tensor_maps"] = maps;
  } else {
    int64_t smem = (2 * tile[0] + 2 * tile[2] * tile[1]) * d * 2;
    if (smem > 48 * 1024) fn.attrs["shared"] = smem;
    fn.attrs["block"] = IntList{2 * tile[0], 1, 1};
    fn.attrs["lanes"] = 2 * tile[0];
  }
  Builder b(&fn.body, kernel.loc);
  int64_t own_len = by_query ? sq : skv, blocks = ceil_div(own_len, tile[0]);
  Value* block = by_query ? b.arith("sub", b.i64(blocks - 1), b.program_id(0)) : b.program_id(0);
  Value* own0 = b.arith("mul", block, b.i64(tile[0]));
  Value* z = b.program_id(2);
  AttrMap attrs = {{"head_dim", d},
                   {"block_own", tile[0]},
                   {"block_stream", tile[1]},
                   {"stages", tile[2]},
                   {"causal", g.bool_attr("causal", false)},
                   {"scale", attention_scale(g)},
                   {"wrt", wrt}};
  if (wgmma) {  // outputs at (z * own_len + own0) * D, lse and delta at z * sq + query
    if (kernel.has_attr("overlap")) attrs["overlap"] = kernel.int_attr("overlap");
    Value* out_off = b.arith("mul", b.arith("add", b.arith("mul", z, b.i64(own_len)), own0), b.i64(d));
    for (Value* v : {out_off, b.arith("mul", z, b.i64(sq)), z, own0, b.arith("sub", b.i64(own_len), own0),
                     b.i64(by_query ? skv : sq)})
      operands.push_back(v);
    b.create("tile.flash_attention_bwd_wgmma", operands, attrs);
    return {blocks, 1, heads};
  }
  Value* q_off = b.arith("mul", z, b.i64(sq * d));
  Value* kv_off = b.arith("mul", z, b.i64(skv * d));
  Value* r_off = b.arith("mul", z, b.i64(sq));
  Value* own_off = b.arith("mul", own0, b.i64(d));
  if (by_query) {
    q_off = b.arith("add", q_off, own_off);
    r_off = b.arith("add", r_off, own0);
  } else {
    kv_off = b.arith("add", kv_off, own_off);
  }
  for (Value* v : {q_off, kv_off, r_off, b.arith("sub", b.i64(own_len), own0), own0, b.i64(by_query ? skv : sq)})
    operands.push_back(v);
  b.create("tile.flash_attention_bwd", operands, attrs);
  return {blocks, 1, heads};
}

}  // namespace

void select_wgmma_attention(Module& m) {
  if (!Target::of(m).wgmma) return;
  for (auto& fn : m.funcs)
    for (auto& op : fn->body.ops) {
      if (op->name != "sched.kernel" || op->str_attr("kind") != "attention" || op->region->ops.empty()) continue;
      bool forward = false, dq = false;
      for (const auto& x : op->region->ops) {
        forward = forward || x->name == "attention";
        dq = dq || (x->name == "attention_grad" && x->str_attr("wrt") == "q");
      }
      op->attrs["mma"] = std::string("wgmma");
      op->attrs["lanes"] = int64_t(384);  // + the TMA producer warpgroup
      // The fastest measured on an H200 (bench/results/2026-12-03-h200-attention-bwd-wgmma.md).
      // Forward [query rows, key rows, stages]; backward [own rows, streamed rows, stages]: dq
      // pipelined (overlap), dk/dv one tile at a time (its accumulators leave no registers for two).
      op->attrs["tile"] = forward ? IntList{128, 128, 2} : dq ? IntList{128, 64, 4} : IntList{128, 64, 2};
      if (dq) op->attrs["overlap"] = int64_t(1);
    }
}

Grid emit_attention_kernel(const Op& kernel, Function& fn) {
  const Op *att = nullptr, *lse = nullptr;
  bool grad = false;
  for (const auto& op : kernel.region->ops) {
    if (op->name == "attention") att = op.get();
    if (op->name == "attention_lse") lse = op.get();
    grad = grad || op->name == "attention_grad";
  }
  if (grad) return emit_backward(kernel, fn);
  if (!att) fail(ErrorCode::Internal, "attention kernel without an attention op", kernel.loc.str());
  return emit_forward(kernel, *att, lse, fn);
}

}  // namespace tessera::tilegen
