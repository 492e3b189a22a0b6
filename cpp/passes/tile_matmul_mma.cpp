// Tile IR for a bf16/f16 matmul on NVIDIA tensor cores: one tile.mma_sync per program
// instance, computing a bm x bn block of C (128 x 128 from form-kernels) with 8 warps (2 x 4,
// each a 64 x 32 sub-tile) over bk-deep K slices staged through a 3-stage cp.async pipeline in
// shared memory (3 x 16 KiB at bk = 32: the 48 KiB of static shared memory a kernel may have).
//
// Block tiles are numbered along grid axis 0 in groups of kGroupM block rows: consecutive
// instances share B's column panels while they sweep a few rows of A, so the panels are
// still in L2 when the next instances read them.
#include "passes/tile_matmul_mma.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

constexpr int64_t kWarpsM = 2, kWarpsN = 4, kStages = 3, kGroupM = 8;

}  // namespace

BlockTileOrigin block_tile_origin(Builder& b, std::array<int64_t, 3> mnk, std::array<int64_t, 2> block,
                                  const std::vector<int64_t>& a_batch, const std::vector<int64_t>& b_batch,
                                  const std::vector<int64_t>& batch) {
  auto [M, N, K] = mnk;
  auto [kBm, kBn] = block;
  int64_t tiles_m = ceil_div(M, kBm), tiles_n = ceil_div(N, kBn);
  // Grouped order: tile t -> (row tm, column tn) within groups of kGroupM block rows.
  Value* t = b.program_id(0);
  Value* per_group = b.i64(kGroupM * tiles_n);
  Value* first_m = b.arith("mul", b.arith("div", t, per_group), b.i64(kGroupM));
  Value* group_rows = b.arith("min", b.arith("sub", b.i64(tiles_m), first_m), b.i64(kGroupM));
  Value* local = b.arith("rem", t, per_group);
  Value* m0 = b.arith("mul", b.arith("add", first_m, b.arith("rem", local, group_rows)), b.i64(kBm));
  Value* n0 = b.arith("mul", b.arith("div", local, group_rows), b.i64(kBn));

  Value* z = b.program_id(2);
  BlockTileOrigin at;
  at.a_off = b.arith("add", b.arith("mul", broadcast_offset(b, z, a_batch, batch), b.i64(M * K)), b.arith("mul", m0, b.i64(K)));
  at.b_off = b.arith("add", b.arith("mul", broadcast_offset(b, z, b_batch, batch), b.i64(K * N)), n0);
  at.c_off = b.arith("add", b.arith("mul", z, b.i64(M * N)), b.arith("add", b.arith("mul", m0, b.i64(N)), n0));
  at.rows = b.arith("sub", b.i64(M), m0);
  at.cols = b.arith("sub", b.i64(N), n0);
  return at;
}

Grid emit_mma_sync_matmul(Function& fn, Value* A, Value* B, Value* C, std::array<int64_t, 3> mnk,
                          std::array<int64_t, 3> block_tile, const std::vector<int64_t>& a_batch, const std::vector<int64_t>& b_batch,
                          const std::vector<int64_t>& batch, const Location& loc) {
  Builder b(&fn.body, loc);
  auto [M, N, K] = mnk;
  auto [kBm, kBn, kBk] = block_tile;
  int64_t threads = 32 * kWarpsM * kWarpsN;
  fn.attrs["block"] = IntList{threads, 1, 1};
  fn.attrs["lanes"] = threads;
  int64_t n_batch = 1;
  for (int64_t d : batch) n_batch *= d;
  BlockTileOrigin at = block_tile_origin(b, mnk, {kBm, kBn}, a_batch, b_batch, batch);
  b.create("tile.mma_sync", {C, at.c_off, b.i64(N), A, at.a_off, b.i64(K), B, at.b_off, b.i64(N), at.rows, at.cols, b.i64(K)},
           {{"bm", kBm}, {"bn", kBn}, {"bk", kBk}, {"warps_m", kWarpsM}, {"warps_n", kWarpsN}, {"stages", kStages}});
  return {ceil_div(M, kBm) * ceil_div(N, kBn), 1, n_batch};
}

}  // namespace tessera::passes
