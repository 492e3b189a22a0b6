// Graph IR -> Graph IR with Schedule IR ops, CPU targets only: each floating-point matmul
// becomes sched.packed_matmul(sched.pack(a), sched.pack(b)) (ops_packed.cpp).
//
// Why: a fast CPU GEMM streams both operands through a register-blocked micro-kernel
// (tile.microkernel) from contiguous panels. Packing is a data-movement op, so form-kernels fuses it
// with the operand's producers (a transpose, a cast, an activation) into one pass over the
// operand, run in parallel before the product; the product kernel then reads only panels.
//
// Knobs: the micro-kernel's register tile (mr x nr) follows the host's SIMD width (module
// attribute simd_bits, set by the compiler; 256 when absent); the cache blocks mc x nc x kc
// keep a kc x nr panel of B in L1 and an mc x kc block of A in L2 while a program instance
// computes its mc x nc block of C.
#include <algorithm>

#include "ir/builder.hpp"
#include "ir/ops.hpp"
#include "ir/target.hpp"
#include "passes/lowering.hpp"
#include "passes/passes.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

struct Blocking {
  int64_t mr, nr, mc, nc, kc;
};

// Block size for `parts` balanced blocks of `extent`, in whole units (register tiles).
int64_t balanced_block(int64_t extent, int64_t unit, int64_t parts) {
  int64_t units = (extent + unit - 1) / unit;
  return (units + parts - 1) / parts * unit;
}

Blocking choose_blocking(DType dt, int64_t simd_bits, int64_t m, int64_t n, int64_t k_depth) {
  int64_t vec = simd_bits / (dt == DType::F64 ? 64 : 32);  // elements per SIMD register
  // Two vectors of columns by mr rows of accumulators: 12 of 16 registers on AVX2, 28 of 32
  // on AVX-512 (whose wider vectors also take 14 rows).
  bool avx512 = simd_bits >= 512;
  Blocking k{avx512 ? 14 : 6, 2 * vec, 0, 0, 0};
  // AVX2 (measured on Zen 3, 2 threads, 512^3 to 2048^3): 192 x 128 blocks of C with kc = 384
  // beat 96 x 256 x 256 by 3-8%. AVX-512 keeps the smaller blocks its wider tile suggests.
  k.kc = (avx512 ? 256 : 384) / (dt == DType::F64 ? 2 : 1);
  k.mc = k.mr * (avx512 ? 8 : 32);
  k.nc = k.nr * (avx512 ? 16 : 8);
  // Instances (mc x nc blocks of C) run on the worker pool: split C into at least one per 2
  // MFLOP, up to 8 (a few per core on small machines), halving the dimension with more
  // register tiles per block, and balance the blocks (256 rows as 128 + 128, not 112 + 112 + 32).
  int64_t units_m = (m + k.mr - 1) / k.mr, units_n = (n + k.nr - 1) / k.nr;
  int64_t parts_m = (units_m * k.mr + k.mc - 1) / k.mc, parts_n = (units_n * k.nr + k.nc - 1) / k.nc;
  double flops = 2.0 * double(m) * double(n) * double(k_depth);
  int64_t want = std::clamp<int64_t>(int64_t(flops / 2e6), 1, 8);
  while (parts_m * parts_n < want) {
    bool n_wider = units_n * parts_m >= units_m * parts_n;  // units_n / parts_n >= units_m / parts_m
    if (n_wider && parts_n < units_n)
      parts_n *= 2;
    else if (parts_m < units_m)
      parts_m *= 2;
    else if (parts_n < units_n)
      parts_n *= 2;
    else
      break;
  }
  k.mc = balanced_block(m, k.mr, std::min(parts_m, units_m));
  k.nc = balanced_block(n, k.nr, std::min(parts_n, units_n));
  return k;
}

bool packable(const Op& op) {
  if (op.name != "matmul") return false;
  const Type& r = op.result()->type;
  if (!is_float(r.dtype) || !r.has_static_shape()) return false;
  for (Value* v : op.operands)
    if (!v->type.has_static_shape() || v->type.numel() == 0) return false;  // K = 0 gives zeros: keep the plain kernel
  return r.numel() > 0;
}

// The input of a transpose that swaps only the last two dims, or null. Packing a panel of
// rows of x^T is packing a panel of columns of x (and the reverse), so the pack reads x itself
// instead of a transposed copy (or a gather through the transpose's index map).
Value* untransposed(Value* v) { return v->def && swaps_last_two(*v->def) ? v->def->operands[0] : nullptr; }

// Rewrites one matmul in place: the new ops go before it, its uses move to the replacement.
void rewrite(Block& body, std::list<std::unique_ptr<Op>>::iterator it, int64_t simd_bits) {
  Op& mm = **it;
  Block scratch;
  Builder b(&scratch, mm.loc);
  DType storage = mm.result()->type.dtype, ct = compute_dtype(storage);
  auto prepare = [&](Value* v, bool left) {
    if (v->type.rank() == 1)  // a vector is a [1,K] row on the left, a [K,1] column on the right
      v = b.value("reshape", {v}, {{"shape", left ? IntList{1, v->type.numel()} : IntList{v->type.numel(), 1}}});
    return ct == storage ? v : b.value("cast", {v}, {{"dtype", std::string(dtype_name(ct))}});
  };
  Value* a = prepare(mm.operands[0], true);
  Value* bm = prepare(mm.operands[1], false);
  int64_t m = a->type.shape[size_t(a->type.rank() - 2)].size, n = bm->type.shape.back().size;
  Blocking k = choose_blocking(ct, simd_bits, m, n, a->type.shape.back().size);
  // Rows of the left operand (axis -2), columns of the right one (axis -1), each read through
  // a transpose that feeds it, if any, by packing along the other axis.
  auto pack = [&](Value* v, int64_t axis, int64_t width) {
    Value* x = ct == storage ? untransposed(v) : nullptr;
    if (x) return b.value("sched.pack", {x}, {{"axis", axis == -2 ? int64_t(-1) : int64_t(-2)}, {"width", width}});
    return b.value("sched.pack", {v}, {{"axis", axis}, {"width", width}});
  };
  Value* pa = pack(a, -2, k.mr);
  Value* pb = pack(bm, -1, k.nr);
  Value* c = b.value("sched.packed_matmul", {pa, pb}, {{"m", m}, {"n", n}, {"mc", k.mc}, {"nc", k.nc}, {"kc", k.kc}});
  if (c->type.shape != mm.result()->type.shape)
    c = b.value("reshape", {c}, {{"shape", mm.result()->type.static_shape()}});
  if (ct != storage) c = b.value("cast", {c}, {{"dtype", std::string(dtype_name(storage))}});
  for (auto& p : scratch.ops) body.insert(it, std::move(p));
  replace_all_uses(body, mm.result(), c);
}

}  // namespace

void pack_matmul(Module& m) {
  Target target = Target::of(m);
  if (target.gpu()) return;
  int64_t simd_bits = target.simd_bits;
  for (auto& fn : m.funcs) {
    if (fn->attrs.count("kernel")) continue;
    Block& body = fn->body;
    for (auto it = body.ops.begin(); it != body.ops.end();) {
      if (!packable(**it)) {
        ++it;
        continue;
      }
      rewrite(body, it, simd_bits);
      it = body.ops.erase(it);
    }
  }
}

}  // namespace tessera::passes
