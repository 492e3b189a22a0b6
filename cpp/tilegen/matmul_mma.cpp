// Tile IR for a bf16/f16 matmul on NVIDIA tensor cores: one coarse GEMM op per program
// instance computing a bm x bn block of C.
//   - tile.mma_sync (sm_80+): 128 x 128 from form-kernels, 8 warps (2 x 4, each a 64 x 32
//     sub-tile) over bk = 32 K slices in a 3-stage cp.async pipeline (3 x 16 KiB: the 48 KiB
//     of static shared memory a kernel may have).
//   - tile.wgmma_gemm (sm_90a, mma knob "wgmma"): one warpgroup per 64 rows issuing
//     wgmma.mma_async; its stages live in dynamic shared memory (the kernel's `shared` attribute,
//     which the launch passes on).
//
// Block tiles are numbered along grid axis 0 in groups of kGroupM block rows: consecutive
// instances share B's column panels while they sweep a few rows of A, so the panels are
// still in L2 when the next instances read them.
#include "tilegen/matmul_mma.hpp"
#include "ir/target.hpp"
#include "tilegen/value_emitter.hpp"

namespace tessera::tilegen {
using namespace ir;
namespace {

constexpr int64_t kWarpsM = 2, kWarpsN = 4, kStages = 3, kGroupM = 8;
constexpr int64_t kSharedLimit = 227 * 1024;  // dynamic shared memory per block on sm_90

}  // namespace

BlockOrigin block_origin(Builder& b, std::array<int64_t, 3> mnk, int64_t bm, int64_t bn) {
  int64_t tiles_m = ceil_div(mnk[0], bm), tiles_n = ceil_div(mnk[1], bn);
  // Grouped order: tile t -> (row tm, column tn) within groups of kGroupM block rows.
  Value* t = b.program_id(0);
  Value* per_group = b.i64(kGroupM * tiles_n);
  Value* first_m = b.arith("mul", b.arith("div", t, per_group), b.i64(kGroupM));
  Value* group_rows = b.arith("min", b.arith("sub", b.i64(tiles_m), first_m), b.i64(kGroupM));
  Value* local = b.arith("rem", t, per_group);
  Value* m0 = b.arith("mul", b.arith("add", first_m, b.arith("rem", local, group_rows)), b.i64(bm));
  Value* n0 = b.arith("mul", b.arith("div", local, group_rows), b.i64(bn));
  return {b.program_id(2), m0, n0};
}

std::vector<Value*> block_operands(Builder& b, const BlockOrigin& at, Value* A, Value* B, Value* C,
                                   std::array<int64_t, 3> mnk, const std::vector<int64_t>& a_batch,
                                   const std::vector<int64_t>& b_batch, const std::vector<int64_t>& batch,
                                   Transposed stored) {
  auto [M, N, K] = mnk;
  auto [z, m0, n0] = at;
  // The block's first element of each operand: row m0 of A (column m0 when stored [K, M]),
  // column n0 of B (row n0 when stored [N, K]).
  Value* a_off = b.arith("add", b.arith("mul", broadcast_offset(b, z, a_batch, batch), b.i64(M * K)),
                         stored.a ? m0 : b.arith("mul", m0, b.i64(K)));
  Value* b_off = b.arith("add", b.arith("mul", broadcast_offset(b, z, b_batch, batch), b.i64(K * N)),
                         stored.b ? b.arith("mul", n0, b.i64(K)) : n0);
  Value* c_off = b.arith("add", b.arith("mul", z, b.i64(M * N)), b.arith("add", b.arith("mul", m0, b.i64(N)), n0));
  Value* rows = b.arith("sub", b.i64(M), m0);
  Value* cols = b.arith("sub", b.i64(N), n0);
  return {C,    c_off, b.i64(N), A, a_off, b.i64(stored.a ? M : K), B, b_off, b.i64(stored.b ? K : N),
          rows, cols,  b.i64(K)};
}

void attach_epilogue(Function& fn, Op* gemm, const GemmEpilogue* epi, const BlockOrigin& at, bool rounded) {
  if (!epi) return;
  const Block& kr = *epi->kernel.region;
  const Op& yield = *kr.ops.back();
  gemm->operands.insert(gemm->operands.end(), {at.z, at.m0, at.n0});
  for (size_t i = 1; i < yield.operands.size(); ++i) gemm->operands.push_back(fn.body.args[kr.args.size() + i].get());
  Block* region = gemm->add_region();
  // The product in f32 (the accumulators), not rounded to its dtype: values inside a fused
  // kernel stay in the compute dtype, as in every other fused kernel. The staged epilogue
  // stores it to shared memory in its own dtype, as the unfused kernels would.
  DType pt = epi->mm.result()->type.dtype;
  Value* product = region->add_arg(Type::scalar(rounded ? pt : compute_dtype(pt)), "p");
  Value* z = region->add_arg(Type::scalar(DType::I64), "z");
  Value* row = region->add_arg(Type::scalar(DType::I64), "row");
  Value* col = region->add_arg(Type::scalar(DType::I64), "col");
  Builder rb(region, gemm->loc);
  // The GEMM asks for elements at clamped coordinates only, so the loads need no mask.
  ValueEmitter e(rb, kr, fn, nullptr);
  ValueAt::Coords coords;
  if (epi->fold_rows > 0) {  // row r of the folded matrix is row r % M of batch element r / M
    coords = e.unflatten(rb.arith("div", row, rb.i64(epi->fold_rows)), epi->batch);
    row = rb.arith("rem", row, rb.i64(epi->fold_rows));
  } else {
    coords = e.unflatten(z, epi->batch);
  }
  coords.push_back(row);
  coords.push_back(col);
  e.bind(epi->mm.result(), rb.cast(product, compute_dtype(pt)));
  std::vector<Value*> values;
  for (size_t i = 0; i < yield.operands.size(); ++i)
    values.push_back(rb.cast(e.at(yield.operands[i], coords), fn.body.args[kr.args.size() + i]->type.dtype));
  rb.create_typed("tile.yield", values, {});
  erase_dead_ops(*region);
}

Grid grid_of(std::array<int64_t, 3> mnk, int64_t bm, int64_t bn, const std::vector<int64_t>& batch) {
  int64_t n_batch = 1;
  for (int64_t d : batch) n_batch *= d;
  return {ceil_div(mnk[0], bm) * ceil_div(mnk[1], bn), 1, n_batch};
}

Grid emit_mma_sync_matmul(Function& fn, Value* A, Value* B, Value* C, std::array<int64_t, 3> mnk,
                          std::array<int64_t, 3> block_tile, const std::vector<int64_t>& a_batch,
                          const std::vector<int64_t>& b_batch, const std::vector<int64_t>& batch,
                          const GemmEpilogue* epi, const Location& loc) {
  Builder b(&fn.body, loc);
  auto [kBm, kBn, kBk] = block_tile;
  int64_t threads = 32 * kWarpsM * kWarpsN;
  fn.attrs["block"] = IntList{threads, 1, 1};
  fn.attrs["lanes"] = threads;
  BlockOrigin at = block_origin(b, mnk, kBm, kBn);
  Op* gemm = b.create(
      "tile.mma_sync", block_operands(b, at, A, B, C, mnk, a_batch, b_batch, batch),
      {{"bm", kBm}, {"bn", kBn}, {"bk", kBk}, {"warps_m", kWarpsM}, {"warps_n", kWarpsN}, {"stages", kStages}});
  attach_epilogue(fn, gemm, epi, at);
  return grid_of(mnk, kBm, kBn, batch);
}

// As many stages as fit in shared memory (wgmma_gemm_smem), at most 6.
int64_t wgmma_stages(int64_t bm, int64_t bn, int64_t bk, bool staged) {
  int64_t stages = 1;
  while (stages < 6 && wgmma_gemm_smem(bm, bn, bk, stages + 1, staged).total <= kSharedLimit) ++stages;
  return stages;
}

// Whether the epilogue reads an input as large as the product (a residual, a saved activation).
bool reads_full_input(const GemmEpilogue& epi) {
  int64_t n = epi.mm.result()->type.numel();
  bool after = false;  // the ops after the product: its epilogue
  for (const auto& op : epi.kernel.region->ops) {
    if (after)
      for (const Value* v : op->operands)
        if (v->owner == epi.kernel.region.get() && v->type.numel() >= n) return true;
    after = after || op.get() == &epi.mm;
  }
  return false;
}

// The staged epilogue (three warps run the epilogue of one tile from shared memory while the
// consumers compute the next) pays when the K loop is long enough to hide it and its loads are
// few. Measured on an H100 at 8192 rows (bench/results/2026-12-07-h100-gpt-block.md): in the
// consumers' registers, bias + gelu at K = 1024 took 142 us against 236 staged; a residual at
// K = 4096 103 against 108 (148 with one chunk in flight a thread); gelu's derivative from the
// saved activation 448 against 537. Staged: bias + gelu at 4096^3 (1.10x cuBLAS,
// bench/results/2026-11-25-h100-wgmma.md).
bool stage_epilogue(const GemmEpilogue& epi, int64_t K) { return K >= 4096 && !reads_full_input(epi); }

Grid emit_wgmma_matmul(Function& fn, Value* A, Value* B, Value* C, std::array<int64_t, 3> mnk,
                       std::array<int64_t, 3> block_tile, const std::vector<int64_t>& a_batch,
                       const std::vector<int64_t>& b_batch, const std::vector<int64_t>& batch, const WgmmaKnobs& knobs,
                       const GemmEpilogue* epi, const Location& loc) {
  Builder b(&fn.body, loc);
  const bool tma = knobs.tma;
  const int64_t persistent = knobs.persistent;
  const Transposed stored = knobs.stored;
  auto [bm, bn, bk] = block_tile;
  auto [M, N, K] = mnk;
  // TMA: a producer warpgroup before the bm/64 consumer warpgroups; the runtime encodes one
  // descriptor for A, viewed as [batch * M, K] (rows past M belong to C rows that are never
  // stored), and one for B as [batch, K, N] (rows past K must read as zeros). Stored
  // transposed, A is [batch, K, M] (loaded as B is) and B is [batch * N, K] (loaded as A is).
  int64_t threads = 128 * (bm / 64 + int64_t(tma));
  Grid grid = grid_of(mnk, bm, bn, batch);
  bool persistent_grid = tma && persistent > 0 && grid[2] == 1 && grid[0] > persistent;
  // Staged epilogue (persistent, a 16-bit product): the producer warpgroup's spare warps run
  // the epilogue of one tile from shared memory while the consumers compute the next.
  DType pt = epi ? epi->mm.result()->type.dtype : DType::F32;
  bool staged = persistent_grid && epi && (pt == DType::BF16 || pt == DType::F16) &&
                (knobs.staged < 0 ? stage_epilogue(*epi, K) : knobs.staged != 0);
  int64_t stages = wgmma_stages(bm, bn, bk, staged);
  fn.attrs["block"] = IntList{threads, 1, 1};
  fn.attrs["lanes"] = threads;
  fn.attrs["shared"] = wgmma_gemm_smem(bm, bn, bk, stages, staged).total;
  AttrMap attrs = {{"bm", bm}, {"bn", bn}, {"bk", bk}, {"stages", stages}, {"tma", int64_t(tma)}};
  if (staged) attrs["staged_epilogue"] = int64_t(1);
  if (staged && knobs.epilogue_chunks > 1) attrs["epilogue_chunks"] = knobs.epilogue_chunks;
  if (stored.a) attrs["trans_a"] = int64_t(1);
  if (stored.b) attrs["trans_b"] = int64_t(1);
  if (tma) {
    auto arg_of = [&](Value* v) {
      for (size_t i = 0; i < fn.body.args.size(); ++i)
        if (fn.body.args[i].get() == v) return int64_t(i);
      fail(ErrorCode::Internal, "wgmma: the matmul operand is not a kernel parameter");
    };
    int64_t na = 1, nb = 1, es = int64_t(dtype_size(A->type.dtype));
    for (int64_t d : a_batch) na *= d;
    for (int64_t d : b_batch) nb *= d;
    IntList a_map = stored.a ? IntList{arg_of(A), es, M, K, na, M * es, K * M * es, 64, 64, 1, 128}
                             : IntList{arg_of(A), es, K, na * M, 1, K * es, na * M * K * es, 64, bm, 1, 128};
    IntList b_map = stored.b ? IntList{arg_of(B), es, K, nb * N, 1, K * es, nb * N * K * es, 64, bn, 1, 128}
                             : IntList{arg_of(B), es, N, K, nb, N * es, K * N * es, 64, 64, 1, 128};
    a_map.insert(a_map.end(), b_map.begin(), b_map.end());
    fn.attrs["tensor_maps"] = a_map;
  }
  if (persistent_grid) {
    // Persistent: `persistent` program instances stride over all block tiles of the matrix, so
    // a tile's epilogue overlaps the producer's copies for the next one. Measured on an H100
    // (bench/results/2026-11-25-h100-wgmma.md): +1.5% and +3% at 4096^3 in two runs, -2% at
    // 6144^3, -4% and +4% at 8192^3 (cuBLAS's own time spread as much between runs), and +1.3%
    // at 8192^3 under Nsight Compute's fixed clocks: a small gain at best, within the noise.
    attrs["persistent"] = int64_t(1);
    Op* gemm = b.create("tile.wgmma_gemm",
                        {C, b.i64(0), b.i64(N), A, b.i64(0), b.i64(stored.a ? M : K), B, b.i64(0),
                         b.i64(stored.b ? K : N), b.i64(M), b.i64(N), b.i64(K)},
                        attrs);
    attach_epilogue(fn, gemm, epi, {b.i64(0), b.i64(0), b.i64(0)}, staged);  // each tile adds its own origin
    return {persistent, 1, 1};
  }
  BlockOrigin at = block_origin(b, mnk, bm, bn);
  Op* gemm = b.create("tile.wgmma_gemm", block_operands(b, at, A, B, C, mnk, a_batch, b_batch, batch, stored), attrs);
  attach_epilogue(fn, gemm, epi, at, staged);
  return grid;
}

namespace {

int64_t batch_count(const std::vector<int64_t>& out_shape) {
  int64_t n = 1;
  for (size_t i = 0; i + 2 < out_shape.size(); ++i) n *= out_shape[i];
  return n;
}

// The largest block tile of 128 x 256, 128 x 128, 64 x 128, 64 x 64 that still gives about one
// tile an SM (90% of them); the smallest when none does. Measured on an H200 (bf16,
// bench/results/2026-12-03-h200-launch.md): 1024^3 10.0 us at 64 x 128 against 16.8 at 128 x 256
// (32 tiles), 128 x 8192 x 8192 46.8 against 81.2 us; 2048^3 keeps 128 x 256 (128 tiles, 27.1 us
// against 28.8 at 128 x 128). bm is 64 when M <= 64; bn at most N rounded up to 64.
std::pair<int64_t, int64_t> wgmma_block_tile(int64_t M, int64_t N, int64_t batch, int64_t sm_count) {
  const std::pair<int64_t, int64_t> order[] = {{128, 256}, {128, 128}, {64, 128}, {64, 64}};
  const int64_t n_cap = std::min<int64_t>(256, ceil_div(N, 64) * 64);
  std::pair<int64_t, int64_t> pick{};
  for (auto [bm, bn] : order) {
    if (M <= 64) bm = 64;
    bn = std::min(bn, n_cap);
    pick = {bm, bn};
    if (batch * ceil_div(M, bm) * ceil_div(N, bn) * 10 >= sm_count * 9) break;
  }
  return pick;
}

}  // namespace

// sm_90a: bf16/f16 matmul kernels whose rows of A and B are whole 16-byte chunks (K and N
// multiples of 8 elements) take wgmma; others keep mma.sync, whose element copies handle
// any stride. The block tile shrinks to the matrix where it is small.
void select_wgmma_kernels(Module& m) {
  Target target = Target::of(m);
  if (!target.wgmma) return;
  int64_t sm_count = target.sm_count;
  for (auto& fn : m.funcs)
    for (auto& op : fn->body.ops) {
      if (op->name != "sched.kernel" || op->str_attr("kind") != "matmul" || !op->attrs.count("tile") ||
          op->ints_attr("tile").size() != 3)
        continue;
      const Op& mm = kernel_matmul(*op);
      DType in = mm.operands[0]->type.dtype;
      if (in != DType::BF16 && in != DType::F16) continue;  // f32 keeps tile.fma_gemm (select_f32_gemm_kernels)
      std::vector<int64_t> a = mm.operands[0]->type.static_shape(), bs = mm.operands[1]->type.static_shape();
      if (a.size() < 2 || bs.size() < 2) continue;  // matrix-vector products stay on mma.sync
      int64_t M = a[a.size() - 2], K = a.back(), N = bs.back();
      if (K % 8 || N % 8) continue;
      auto [bm, bn] = wgmma_block_tile(M, N, batch_count(mm.result()->type.static_shape()), sm_count);
      op->attrs["tile"] = IntList{bm, bn, 64};
      op->attrs["lanes"] = 128 * (bm / 64 + 1);  // + the TMA producer warpgroup
      op->attrs["mma"] = std::string("wgmma");
      op->attrs["persistent"] = sm_count;  // used when there are more block tiles than SMs
    }
}

}  // namespace tessera::tilegen
