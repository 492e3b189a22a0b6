// Graph IR -> Graph IR with Schedule IR ops, CPU targets only: each floating-point matmul
// becomes sched.packed_matmul(sched.pack(a), sched.pack(b)) (ops_packed.cpp).
//
// Why: a fast CPU GEMM streams both operands through a register-blocked micro-kernel
// (tile.mma) from contiguous panels. Packing is a data-movement op, so form-kernels fuses it
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
#include "ir/pass_manager.hpp"
#include "passes/lowering.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

struct Blocking {
  int64_t mr, nr, mc, nc, kc;
};

Blocking choose_blocking(DType dt, int64_t simd_bits, int64_t m, int64_t n) {
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
  // Small products: shrink the blocks so there are at least a few instances per core.
  k.mc = std::min(k.mc, std::max<int64_t>(k.mr, (m + k.mr - 1) / k.mr * k.mr));
  k.nc = std::min(k.nc, std::max<int64_t>(k.nr, (n + k.nr - 1) / k.nr * k.nr));
  return k;
}

int64_t simd_bits_of(const Module& m) {
  auto it = m.attrs.find("simd_bits");
  return it == m.attrs.end() ? 256 : std::get<int64_t>(it->second);
}

bool packable(const Op& op) {
  if (op.name != "matmul") return false;
  const Type& r = op.result()->type;
  if (!is_float(r.dtype) || !r.has_static_shape()) return false;
  for (Value* v : op.operands)
    if (!v->type.has_static_shape() || v->type.numel() == 0) return false;  // K = 0 gives zeros: keep the plain kernel
  return r.numel() > 0;
}

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
  Blocking k = choose_blocking(ct, simd_bits, m, n);
  Value* pa = b.value("sched.pack", {a}, {{"axis", int64_t(-2)}, {"width", k.mr}});
  Value* pb = b.value("sched.pack", {bm}, {{"axis", int64_t(-1)}, {"width", k.nr}});
  Value* c = b.value("sched.packed_matmul", {pa, pb},
                     {{"m", m}, {"n", n}, {"mc", k.mc}, {"nc", k.nc}, {"kc", k.kc}});
  if (c->type.shape != mm.result()->type.shape)
    c = b.value("reshape", {c}, {{"shape", mm.result()->type.static_shape()}});
  if (ct != storage) c = b.value("cast", {c}, {{"dtype", std::string(dtype_name(storage))}});
  for (auto& p : scratch.ops) body.insert(it, std::move(p));
  replace_all_uses(body, mm.result(), c);
}

}  // namespace

void pack_matmul(Module& m) {
  if (target_is_gpu(module_target(m))) return;
  int64_t simd_bits = simd_bits_of(m);
  for (auto& fn : m.funcs) {
    if (fn->attrs.count("kernel")) continue;
    Block& body = fn->body;
    for (auto it = body.ops.begin(); it != body.ops.end();) {
      if (!packable(**it)) { ++it; continue; }
      rewrite(body, it, simd_bits);
      it = body.ops.erase(it);
    }
  }
}

}  // namespace tessera::passes

TESSERA_REGISTER_PASS(pack_matmul, "pack-matmul",
                      "CPU: matmul -> sched.packed_matmul of sched.pack'ed panels, with cache-block knobs",
                      tessera::passes::pack_matmul);
