// Tile IR generators, one per Schedule IR kernel kind (elementwise.cpp, reduce.cpp, rowwise.cpp,
// matmul*.cpp, pack.cpp, scatter.cpp, sort.cpp, scan.cpp, linalg.cpp, attention.cpp in cpp/tilegen/), and the helpers
// they share (common.cpp). lower-to-tile (a pass) calls them. Each fills the body of an empty kernel function (whose
// parameters are the kernel's input pointers, then its output pointers) and returns the launch grid.
#pragma once
#include <array>

#include "ir/builder.hpp"
#include "ir/ops.hpp"

namespace tessera::tilegen {

using Grid = std::array<int64_t, 3>;

// Shared helpers (common.cpp).
int64_t ceil_div(int64_t a, int64_t b);
// Lowers one Graph IR elementwise op applied to already-loaded values (scalars or tiles).
ir::Value* emit_elementwise_op(ir::Builder& b, const ir::Op& op, const std::vector<ir::Value*>& args);
// Element offset into an input of shape `in` broadcast to `out`, for flat output index `idx`.
ir::Value* broadcast_offset(ir::Builder& b, ir::Value* idx, const std::vector<int64_t>& in,
                            const std::vector<int64_t>& out);
// Masked load widened to the compute dtype; masks apply only to tile offsets.
ir::Value* load(ir::Builder& b, ir::Value* ptr, ir::Value* offset, ir::Value* mask);
// Store rounded to the pointer's dtype.
void store(ir::Builder& b, ir::Value* ptr, ir::Value* offset, ir::Value* value, ir::Value* mask);
ir::Value* zero_tile(ir::Builder& b, DType t, int64_t lanes);
// The contraction of a matmul sched.kernel (after the constants its epilogue uses, if any).
const ir::Op& kernel_matmul(const ir::Op& kernel);

// Emits a counted tile.for with one carried value; `body` maps (builder, iv, carried) -> next.
template <class Body>
ir::Value* emit_for(ir::Builder& b, ir::Value* lb, ir::Value* ub, ir::Value* step, ir::Value* init, Body body) {
  ir::Op* loop = b.create_typed("tile.for", {lb, ub, step, init}, {init->type});
  ir::Block* region = loop->add_region();
  ir::Value* iv = region->add_arg(ir::Type::scalar(DType::I64));
  ir::Value* carried = region->add_arg(init->type);
  ir::Builder inner(region, loop->loc);
  ir::Value* next = body(inner, iv, carried);
  inner.create_typed("tile.yield", {next}, {});
  return loop->result();
}

// for i in [lo, hi) (scalar bounds): body(builder, i).
template <class Body>
void for_each(ir::Builder& b, ir::Value* lo, ir::Value* hi, Body body) {
  ir::Op* loop = b.create_typed("tile.for", {lo, hi, b.i64(1)}, {});
  ir::Block* region = loop->add_region();
  ir::Value* i = region->add_arg(ir::Type::scalar(DType::I64));
  ir::Builder inner(region, loop->loc);
  body(inner, i);
  inner.create_typed("tile.yield", {}, {});
}

// for j in [lo, hi) by tiles of `lanes` with no carried values: body(builder, j's tile,
// j < hi) gets the lanes' indices and which of them are in range.
template <class Body>
void for_lanes(ir::Builder& b, ir::Value* lo, ir::Value* hi, int64_t lanes, Body body) {
  ir::Op* loop = b.create_typed("tile.for", {lo, hi, b.i64(lanes)}, {});
  ir::Block* region = loop->add_region();
  ir::Value* k = region->add_arg(ir::Type::scalar(DType::I64));
  ir::Builder inner(region, loop->loc);
  ir::Value* j = inner.arith("add", inner.arange(lanes), k);
  body(inner, j, inner.cmp("lt", j, hi));
  inner.create_typed("tile.yield", {}, {});
}

// for_lanes over [0, n).
template <class Body>
void for_tiles(ir::Builder& b, int64_t n, int64_t lanes, Body body) {
  for_lanes(b, b.i64(0), b.i64(n), lanes, body);
}

// Reduction helpers (reduce.cpp). A lane's state: the value, plus its index for
// argmax/argmin. The identity is 0, 1, -inf/+inf or the integer extremes; fold combines an
// element (x at index idx) into a state with the same rule as tile.reduce.
struct ReduceState {
  ir::Value* v;
  ir::Value* i = nullptr;
};
ir::Value* reduce_identity(ir::Builder& b, const std::string& kind, DType t);
ReduceState reduce_fold(ir::Builder& b, const std::string& kind, ReduceState s, ir::Value* x, ir::Value* idx);

Grid emit_elementwise_kernel(const ir::Op& kernel, ir::Function& fn);
// Row-wise kernels (rowwise.cpp): one program instance per row of the reductions'
// operand shape; reductions over the row, then the row's element-wise outputs.
Grid emit_rowwise_kernel(const ir::Op& kernel, ir::Function& fn);
Grid emit_reduce_kernel(const ir::Op& kernel, ir::Function& fn);
Grid emit_matmul_kernel(const ir::Op& kernel, ir::Function& fn);
// CPU: sched.packed_matmul `mm` (the kernel's op) through the tile.microkernel micro-kernel.
Grid emit_packed_matmul_kernel(const ir::Op& kernel, const ir::Op& mm, ir::Function& fn);
// CPU: a kernel that only packs one input (select-pack-kernels), one panel per instance.
Grid emit_pack_kernel(const ir::Op& kernel, ir::Function& fn);
Grid emit_scatter_kernel(const ir::Op& kernel, ir::Function& fn);  // CPU only: lanes add in order
// argsort (sort.cpp): one row per program instance, a bitonic network over index pairs.
Grid emit_sort_kernel(const ir::Op& kernel, ir::Function& fn);
// cumsum, cumprod, cummax, ... (scan.cpp): a lane per row walks the scanned axis.
Grid emit_scan_kernel(const ir::Op& kernel, ir::Function& fn);
// The linear-algebra kernels (linalg.cpp, linalg_orthogonal.cpp): one matrix per program
// instance, lanes along its rows, barriers between phases on GPUs.
Grid emit_linalg_kernel(const ir::Op& kernel, ir::Function& fn);
bool is_linalg_kernel(const std::string& name);
// NVIDIA: one tile.flash_attention per block of query rows (attention.cpp).
Grid emit_attention_kernel(const ir::Op& kernel, ir::Function& fn);
// form-kernels on sm_90a (module attribute arch): attention forward kernels take the Hopper
// flash kernel (knob mma = "wgmma", tile [128, 128, 2], 384 lanes; attention.cpp).
void select_wgmma_attention(ir::Module& m);

}  // namespace tessera::tilegen
