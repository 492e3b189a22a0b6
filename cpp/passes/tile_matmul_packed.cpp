// Tile IR for sched.packed_matmul (CPU): one program instance computes an mc x nc block of C
// from the packed panels of A ([..., M/mr, K, mr]) and B ([..., N/nr, K, nr]) with the tile.mma
// micro-kernel, in the loop order that keeps data in cache:
//
//   for kb in 0..K by kc            one pass over a kc-deep slice (C accumulates across passes)
//     for jr in 0..nc by nr         a kc x nr panel of B stays in L1 ...
//       for ir in 0..mc by mr       ... while the instance's mc x kc block of A streams from L2
//         tile.mma C[ir.., jr..] (+)= A panel . B panel
//
// Edges (M, N not multiples of mr, nr) are the micro-kernel's rows/cols operands; the panels
// are zero-padded, so the product itself never needs a mask. The order of K is fixed, so the
// result is the same bits for any number of threads.
#include "passes/tile_kernels.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

// A counted tile.for without carried values.
template <class Body>
void emit_loop(Builder& b, Value* lb, Value* ub, Value* step, Body body) {
  Op* loop = b.create_typed("tile.for", {lb, ub, step}, {});
  Block* region = loop->add_region();
  Value* iv = region->add_arg(Type::scalar(DType::I64));
  Builder inner(region, loop->loc);
  body(inner, iv);
  inner.create_typed("tile.yield", {}, {});
}

}  // namespace

Grid emit_packed_matmul_kernel(const Op& kernel, const Op& mm, Function& fn) {
  Builder b(&fn.body, kernel.loc);
  std::vector<int64_t> pa = mm.operands[0]->type.static_shape(), pb = mm.operands[1]->type.static_shape();
  int64_t mr = pa.back(), nr = pb.back(), K = pa[pa.size() - 2];
  int64_t M = mm.int_attr("m"), N = mm.int_attr("n");
  int64_t mc = mm.int_attr("mc"), nc = mm.int_attr("nc"), kc = mm.int_attr("kc");
  std::vector<int64_t> a_batch(pa.begin(), pa.end() - 3), b_batch(pb.begin(), pb.end() - 3);
  std::vector<int64_t> out_shape = mm.result()->type.static_shape();
  std::vector<int64_t> batch(out_shape.begin(), out_shape.end() - 2);
  int64_t n_batch = 1;
  for (int64_t d : batch) n_batch *= d;

  auto arg_of = [&](const Value* v) -> Value* {
    for (size_t i = 0; i < kernel.region->args.size(); ++i)
      if (kernel.region->args[i].get() == v) return fn.body.args[i].get();
    fail(ErrorCode::Internal, "packed matmul operand is not a kernel input", kernel.loc.str());
  };
  Value* A = arg_of(mm.operands[0]);
  Value* B = arg_of(mm.operands[1]);
  Value* C = fn.body.args[kernel.region->args.size()].get();

  Value* z = b.program_id(2);
  Value* a_base = b.arith("mul", broadcast_offset(b, z, a_batch, batch), b.i64(pa[pa.size() - 3] * K * mr));
  Value* b_base = b.arith("mul", broadcast_offset(b, z, b_batch, batch), b.i64(pb[pb.size() - 3] * K * nr));
  Value* c_base = b.arith("mul", z, b.i64(M * N));
  Value* n0 = b.arith("mul", b.program_id(0), b.i64(nc));
  Value* m0 = b.arith("mul", b.program_id(1), b.i64(mc));
  Value* n_end = b.arith("min", b.i64(nc), b.arith("sub", b.i64(N), n0));
  Value* m_end = b.arith("min", b.i64(mc), b.arith("sub", b.i64(M), m0));
  emit_loop(b, b.i64(0), b.i64(K), b.i64(kc), [&](Builder& kb_b, Value* kb) {
    Value* kk = kb_b.arith("min", kb_b.i64(kc), kb_b.arith("sub", kb_b.i64(K), kb));
    Value* accumulate = kb_b.cmp("gt", kb, kb_b.i64(0));
    emit_loop(kb_b, kb_b.i64(0), n_end, kb_b.i64(nr), [&](Builder& jb, Value* jr) {
      Value* col = jb.arith("add", n0, jr);
      Value* cols = jb.arith("min", jb.i64(nr), jb.arith("sub", n_end, jr));
      Value* panel_b = jb.arith("add", jb.arith("mul", jb.arith("div", col, jb.i64(nr)), jb.i64(K)), kb);
      Value* b_off = jb.arith("add", b_base, jb.arith("mul", panel_b, jb.i64(nr)));
      emit_loop(jb, jb.i64(0), m_end, jb.i64(mr), [&](Builder& ib, Value* ir) {
        Value* row = ib.arith("add", m0, ir);
        Value* rows = ib.arith("min", ib.i64(mr), ib.arith("sub", m_end, ir));
        Value* panel_a = ib.arith("add", ib.arith("mul", ib.arith("div", row, ib.i64(mr)), ib.i64(K)), kb);
        Value* a_off = ib.arith("add", a_base, ib.arith("mul", panel_a, ib.i64(mr)));
        Value* c_off = ib.arith("add", c_base, ib.arith("add", ib.arith("mul", row, ib.i64(N)), col));
        ib.create("tile.mma", {C, c_off, ib.i64(N), A, a_off, B, b_off, kk, rows, cols, accumulate},
                  {{"mr", mr}, {"nr", nr}});
      });
    });
  });
  return {ceil_div(N, nc), ceil_div(M, mc), n_batch};
}

}  // namespace tessera::passes
