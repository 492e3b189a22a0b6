// Tile IR for sched.packed_matmul (CPU): one program instance computes an mc x nc block of C
// from the packed panels of A ([..., M/mr, K, mr]) and B ([..., N/nr, K, nr]) with the tile.microkernel
// micro-kernel, in the loop order that keeps data in cache:
//
//   for kb in 0..K by kc            one pass over a kc-deep slice (C accumulates across passes)
//     for jr in 0..nc by nr         a kc x nr panel of B stays in L1 ...
//       for ir in 0..mc by mr       ... while the instance's mc x kc block of A streams from L2
//         tile.microkernel C[ir.., jr..] (+)= A panel . B panel
//
// Edges (M, N not multiples of mr, nr) are the micro-kernel's rows/cols operands; the panels
// are zero-padded, so the product itself never needs a mask. The order of K is fixed, so the
// result is the same bits for any number of threads.
//
// Element-wise ops that form-kernels fused after the product (bias, activation, residual,
// cast) run as an epilogue: the instance accumulates its block of C in a tile.scratch buffer,
// then computes the kernel's outputs from it a row at a time, through the value emitter.
#include "tilegen/tilegen.hpp"
#include "tilegen/value_emitter.hpp"

namespace tessera::tilegen {
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
  const Op& yield = *kernel.region->ops.back();
  // The product alone goes straight to the output; with an epilogue (bias, activation, ...)
  // it accumulates in a per-instance block of C that the epilogue then reads while in cache.
  bool epilogue = yield.operands.size() != 1 || yield.operands[0] != mm.result();

  Value* z = b.program_id(2);
  Value* a_base = b.arith("mul", broadcast_offset(b, z, a_batch, batch), b.i64(pa[pa.size() - 3] * K * mr));
  Value* b_base = b.arith("mul", broadcast_offset(b, z, b_batch, batch), b.i64(pb[pb.size() - 3] * K * nr));
  Value* n0 = b.arith("mul", b.program_id(0), b.i64(nc));
  Value* m0 = b.arith("mul", b.program_id(1), b.i64(mc));
  Value* n_end = b.arith("min", b.i64(nc), b.arith("sub", b.i64(N), n0));
  Value* m_end = b.arith("min", b.i64(mc), b.arith("sub", b.i64(M), m0));
  Value *C, *c_block, *ldc;
  if (epilogue) {
    C = b.value("tile.scratch", {}, {{"type", Type::scalar(mm.result()->type.dtype)}, {"size", mc * nc}});
    c_block = b.i64(0);
    ldc = b.i64(nc);
  } else {
    C = fn.body.args[kernel.region->args.size()].get();
    c_block = b.arith("add", b.arith("mul", z, b.i64(M * N)), b.arith("add", b.arith("mul", m0, b.i64(N)), n0));
    ldc = b.i64(N);
  }
  emit_loop(b, b.i64(0), b.i64(K), b.i64(kc), [&](Builder& kb_b, Value* kb) {
    Value* kk = kb_b.arith("min", kb_b.i64(kc), kb_b.arith("sub", kb_b.i64(K), kb));
    Value* accumulate = kb_b.cmp("gt", kb, kb_b.i64(0));
    emit_loop(kb_b, kb_b.i64(0), n_end, kb_b.i64(nr), [&](Builder& jb, Value* jr) {
      Value* cols = jb.arith("min", jb.i64(nr), jb.arith("sub", n_end, jr));
      Value* panel_b =
          jb.arith("add", jb.arith("mul", jb.arith("div", jb.arith("add", n0, jr), jb.i64(nr)), jb.i64(K)), kb);
      Value* b_off = jb.arith("add", b_base, jb.arith("mul", panel_b, jb.i64(nr)));
      emit_loop(jb, jb.i64(0), m_end, jb.i64(mr), [&](Builder& ib, Value* ir) {
        Value* rows = ib.arith("min", ib.i64(mr), ib.arith("sub", m_end, ir));
        Value* panel_a =
            ib.arith("add", ib.arith("mul", ib.arith("div", ib.arith("add", m0, ir), ib.i64(mr)), ib.i64(K)), kb);
        Value* a_off = ib.arith("add", a_base, ib.arith("mul", panel_a, ib.i64(mr)));
        Value* c_off = ib.arith("add", c_block, ib.arith("add", ib.arith("mul", ir, ldc), jr));
        ib.create("tile.microkernel", {C, c_off, ldc, A, a_off, B, b_off, kk, rows, cols, accumulate},
                  {{"mr", mr}, {"nr", nr}});
      });
    });
  });
  if (epilogue) {
    // One lane per column of the block, a row at a time: the region's outputs at (row, col),
    // with the product read back from the block of C.
    fn.attrs["lanes"] = nc;
    emit_loop(b, b.i64(0), m_end, b.i64(1), [&](Builder& rb, Value* r) {
      Value* lane = rb.arange(nc);
      Value* mask = rb.cmp("lt", lane, n_end);
      ValueEmitter e(rb, *kernel.region, fn, mask);
      ValueAt::Coords coords = e.unflatten(z, batch);
      coords.push_back(rb.arith("add", m0, r));
      coords.push_back(rb.arith("add", n0, lane));
      Value* product = rb.value("tile.load", {C, rb.arith("add", rb.arith("mul", r, rb.i64(nc)), lane), mask});
      e.bind(mm.result(), product);
      for (size_t i = 0; i < yield.operands.size(); ++i) {
        Value* v = e.at(yield.operands[i], coords);
        if (!v->type.is_tile()) v = rb.splat(v, nc);
        store(rb, fn.body.args[kernel.region->args.size() + i].get(), e.flatten(coords, out_shape), v, mask);
      }
    });
  }
  erase_dead_ops(fn.body);
  return {ceil_div(N, nc), ceil_div(M, mc), n_batch};
}

}  // namespace tessera::tilegen
