// Tile IR ops. A kernel function runs once per program instance (one tile); values are
// scalars (uniform across the instance) or tiles (one element per lane). `arith.*` ops work
// on either and broadcast scalars to tiles; `tile.*` ops address memory, lanes and loops.
#include "ir/ops.hpp"

namespace tessera::ir {
namespace {

bool is_value_type(const Type& t) { return t.kind == TypeKind::Scalar || t.kind == TypeKind::Tile; }

// The lane count shared by the operands (0 when all are scalars).
int64_t common_lanes(const std::string& op, const std::vector<Type>& in) {
  int64_t lanes = 0;
  for (const Type& t : in) {
    if (!is_value_type(t)) fail(ErrorCode::Verify, op + ": operands must be scalars or tiles, got " + t.str());
    if (t.is_tile()) {
      int64_t n = t.shape[0].size;
      if (lanes && n != lanes) fail(ErrorCode::Shape, op + ": tiles of different lane counts");
      lanes = n;
    }
  }
  return lanes;
}

Type value_type(DType dt, int64_t lanes) { return lanes ? Type::tile(dt, lanes) : Type::scalar(dt); }

OpInfo arith(const std::string& name, int arity, const std::string& summary) {
  OpInfo info;
  info.name = "arith." + name;
  info.cls = OpClass::Tile;
  info.min_operands = info.max_operands = arity;
  info.summary = summary;
  std::string full = info.name;
  info.infer = [full](const std::vector<Type>& in, const AttrMap&) {
    int64_t lanes = common_lanes(full, in);
    for (const Type& t : in)
      if (t.dtype != in[0].dtype) fail(ErrorCode::DType, full + ": operand dtypes differ");
    return std::vector<Type>{value_type(in[0].dtype, lanes)};
  };
  return info;
}

OpInfo float_arith(const std::string& name) {
  OpInfo info = arith(name, 1, "Lane-wise " + name + " of a floating-point value.");
  std::string full = info.name;
  info.infer = [full](const std::vector<Type>& in, const AttrMap&) {
    int64_t lanes = common_lanes(full, in);
    if (!is_float(in[0].dtype)) fail(ErrorCode::DType, full + ": needs a floating-point operand, got " + in[0].str());
    return std::vector<Type>{value_type(in[0].dtype, lanes)};
  };
  return info;
}

OpInfo arith_cmp() {
  OpInfo info = arith("cmp", 2, "Compare two values with `pred` (lt, le, gt, ge, eq, ne); bool result.");
  info.attrs = {{"pred", "str", true, "lt | le | gt | ge | eq | ne"}};
  info.infer = [](const std::vector<Type>& in, const AttrMap& attrs) {
    int64_t lanes = common_lanes("arith.cmp", in);
    if (in[0].dtype != in[1].dtype) fail(ErrorCode::DType, "arith.cmp: operand dtypes differ");
    const std::string& p = std::get<std::string>(attrs.at("pred"));
    if (p != "lt" && p != "le" && p != "gt" && p != "ge" && p != "eq" && p != "ne")
      fail(ErrorCode::Verify, "arith.cmp: unknown predicate '" + p + "'");
    return std::vector<Type>{value_type(DType::Bool, lanes)};
  };
  return info;
}

OpInfo arith_select() {
  OpInfo info = arith("select", 3, "cond ? a : b, lane-wise.");
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    int64_t lanes = common_lanes("arith.select", in);
    if (in[0].dtype != DType::Bool) fail(ErrorCode::DType, "arith.select: condition must be bool");
    if (in[1].dtype != in[2].dtype) fail(ErrorCode::DType, "arith.select: branch dtypes differ");
    return std::vector<Type>{value_type(in[1].dtype, lanes)};
  };
  return info;
}

OpInfo arith_const() {
  OpInfo info;
  info.name = "arith.const";
  info.cls = OpClass::Tile;
  info.attrs = {{"value", "float", true, "the value"}, {"type", "type", true, "a scalar type"}};
  info.summary = "A scalar constant.";
  info.infer = [](const std::vector<Type>&, const AttrMap& attrs) {
    const Type& t = std::get<Type>(attrs.at("type"));
    if (t.kind != TypeKind::Scalar) fail(ErrorCode::Verify, "arith.const: type must be a scalar type");
    return std::vector<Type>{t};
  };
  return info;
}

OpInfo arith_cast() {
  OpInfo info;
  info.name = "arith.cast";
  info.cls = OpClass::Tile;
  info.min_operands = info.max_operands = 1;
  info.attrs = {{"to", "type", true, "the scalar type to convert to"}};
  info.summary = "Converts each value to another dtype (C-style rounding and truncation).";
  info.infer = [](const std::vector<Type>& in, const AttrMap& attrs) {
    int64_t lanes = common_lanes("arith.cast", in);
    return std::vector<Type>{value_type(std::get<Type>(attrs.at("to")).dtype, lanes)};
  };
  return info;
}

OpInfo tile_op(const std::string& name, int min_ops, int max_ops, std::vector<AttrSpec> attrs, InferFn infer,
               const std::string& summary) {
  OpInfo info;
  info.name = "tile." + name;
  info.cls = OpClass::Tile;
  info.min_operands = min_ops;
  info.max_operands = max_ops;
  info.attrs = std::move(attrs);
  info.infer = std::move(infer);
  info.summary = summary;
  return info;
}

void require_i64(const std::string& op, const Type& t, const char* what) {
  if (!is_value_type(t) || t.dtype != DType::I64)
    fail(ErrorCode::Verify, op + ": " + what + " must be i64, got " + t.str());
}

// The operands shared by the block-GEMM ops (tile.mma_sync, tile.wgmma_gemm, tile.fma_gemm):
// c, a, b pointers, each followed by an i64 offset and row stride, then rows, cols and k. With
// an epilogue region (gemm_epilogue_op) the block tile's origin z, m0, n0 follow, then the
// pointers of the kernel's other outputs.
void check_block_gemm_operands(const std::string& op, const std::vector<Type>& in) {
  static const char* names[] = {"c",   "c_off", "ldc",  "a", "a_off", "lda", "b", "b_off",
                                "ldb", "rows",  "cols", "k", "z",     "m0",  "n0"};
  if (in.size() != 12 && in.size() < 15)
    fail(ErrorCode::Verify, op + ": takes 12 operands, or 15 and more with an epilogue region (z, m0, n0, outputs)");
  for (size_t i = 0; i < in.size(); ++i) {
    bool ptr = (i % 3 == 0 && i < 9) || i >= 15;
    std::string name = i < 15 ? names[i] : "output " + std::to_string(i - 14);
    if (ptr ? in[i].kind != TypeKind::Ptr : in[i].kind != TypeKind::Scalar)
      fail(ErrorCode::Verify, op + ": " + name + " must be a " + (ptr ? "pointer" : "scalar") + ", got " + in[i].str());
    if (!ptr) require_i64(op, in[i], name.c_str());
  }
}

// Tensor-core GEMM ops: a and b both bf16 or both f16; c f32 or their dtype (without an
// epilogue: with one, the region's product argument is checked instead).
void check_tensor_core_dtypes(const std::string& op, const std::vector<Type>& in) {
  DType ab = in[3].dtype, c = in[0].dtype;
  if (in[6].dtype != ab || (ab != DType::BF16 && ab != DType::F16))
    fail(ErrorCode::DType, op + ": a and b must both be bf16 or both f16, got " + in[3].str() + " and " + in[6].str());
  if (in.size() == 12 && c != ab && c != DType::F32)
    fail(ErrorCode::DType, op + ": c must be f32 or the inputs' dtype, got " + in[0].str());
}

// The optional epilogue region of a block-GEMM op: element-wise ops form-kernels fused after a
// GPU matmul. Its arguments are one element of the product (f32 or the inputs' dtype) and its
// coordinates (flat batch index z, row, col of the whole product); it yields the value of each
// output there: c first, then the operands past n0, each in its pointer's dtype.
void verify_gemm_epilogue(const Op& op) {
  if (!op.region) {
    if (op.operands.size() != 12) fail(ErrorCode::Verify, op.name + ": operands past k need an epilogue region");
    return;
  }
  const Block& r = *op.region;
  DType ab = op.operands[3]->type.dtype;
  if (r.args.size() != 4 || r.args[0]->type.kind != TypeKind::Scalar ||
      (r.args[0]->type.dtype != DType::F32 && r.args[0]->type.dtype != ab))
    fail(ErrorCode::Verify, op.name +
                                ": the epilogue region takes (product: f32 or the inputs' dtype, z: i64, row: i64, "
                                "col: i64)");
  for (size_t i = 1; i < 4; ++i) require_i64(op.name, r.args[i]->type, "epilogue coordinates");
  std::vector<const Value*> outs = {op.operands[0]};
  for (size_t i = 15; i < op.operands.size(); ++i) outs.push_back(op.operands[i]);
  if (r.ops.empty() || r.ops.back()->name != "tile.yield" || r.ops.back()->operands.size() != outs.size())
    fail(ErrorCode::Verify, op.name + ": the epilogue region must end with tile.yield of one value per output (" +
                                std::to_string(outs.size()) + ")");
  for (size_t i = 0; i < outs.size(); ++i) {
    const Type& t = r.ops.back()->operands[i]->type;
    if (t.kind != TypeKind::Scalar || t.dtype != outs[i]->type.dtype)
      fail(ErrorCode::Verify, op.name + ": epilogue value #" + std::to_string(i) + " is " + t.str() +
                                  ", its output points to " + dtype_name(outs[i]->type.dtype));
  }
}

// A block-GEMM op with its optional epilogue region.
OpInfo gemm_epilogue_op(OpInfo info) {
  info.max_operands = -1;
  info.has_region = true;
  info.region_optional = true;
  info.verify_op = verify_gemm_epilogue;
  info.pure = false;
  return info;
}

// tile.mma_sync: a whole block-tile GEMM on NVIDIA tensor cores (emit_mma_sync.cpp). One op,
// not a set of shared-buffer/barrier/fragment ops, so Tile IR stays one readable line per
// block tile; the attributes are the schedule (block tile, warp grid, pipeline depth).
OpInfo mma_sync_op() {
  OpInfo info = tile_op(
      "mma_sync", 12, 12,
      {{"bm", "int", true, "rows of the block tile"},
       {"bn", "int", true, "columns of the block tile"},
       {"bk", "int", true, "depth of one pipeline stage"},
       {"warps_m", "int", true, "warps along the rows"},
       {"warps_n", "int", true, "warps along the columns"},
       {"stages", "int", true, "shared-memory pipeline stages (cp.async)"}},
      [](const std::vector<Type>& in, const AttrMap& a) {
        check_block_gemm_operands("tile.mma_sync", in);
        check_tensor_core_dtypes("tile.mma_sync", in);
        auto attr = [&](const char* k) { return std::get<int64_t>(a.at(k)); };
        int64_t bm = attr("bm"), bn = attr("bn"), bk = attr("bk"), wm = attr("warps_m"), wn = attr("warps_n");
        int64_t threads = 32 * wm * wn;
        // Each warp's sub-tile is whole m16 x n16 fragments; every thread copies whole 16-byte chunks.
        if (wm < 1 || wn < 1 || bm % (16 * wm) || bn % (16 * wn) || bk % 16 || attr("stages") < 2 ||
            (bm * bk / 8) % threads || (bk * bn / 8) % threads)
          fail(ErrorCode::Verify, "tile.mma_sync: unsupported tiling bm=" + std::to_string(bm) +
                                      " bn=" + std::to_string(bn) + " bk=" + std::to_string(bk) +
                                      " warps=" + std::to_string(wm) + "x" + std::to_string(wn));
        return std::vector<Type>{};
      },
      "Tensor-core block GEMM (NVIDIA sm_80+, mma.sync m16n8k16): C[c_off + i*ldc + j] = sum over p < k of "
      "A[a_off + i*lda + p] * B[b_off + p*ldb + j] in f32, rounded to C's dtype, for i < min(rows, bm) and "
      "j < min(cols, bn). A and B are staged through shared memory in `stages` bm x bk and bk x bn tiles; "
      "32*warps_m*warps_n threads (the kernel's lanes), each warp a (bm/warps_m) x (bn/warps_n) sub-tile. "
      "An epilogue region maps each element of the product to the outputs' values.");
  return gemm_epilogue_op(info);
}

// tile.wgmma_gemm: the Hopper (sm_90a) block-tile GEMM (kernels/wgmma_gemm.cpp), same operands as
// tile.mma_sync. bm/64 warpgroups each own 64 rows of the block tile and issue
// wgmma.mma_async m64n<bn>k16 with both operands read from 128-byte-swizzled shared memory.
OpInfo wgmma_gemm_op() {
  OpInfo info = tile_op(
      "wgmma_gemm", 12, 12,
      {{"bm", "int", true, "rows of the block tile (64 per warpgroup)"},
       {"bn", "int", true, "columns of the block tile (the wgmma N, a multiple of 64 up to 256)"},
       {"bk", "int", true, "depth of one pipeline stage (64: one 128-byte swizzle row)"},
       {"stages", "int", true, "shared-memory pipeline stages (at least 3)"},
       {"tma", "int", false,
        "1: a producer warpgroup copies with TMA (cp.async.bulk.tensor, mbarriers; the kernel's "
        "tensor_maps); 0 or absent: every thread copies with cp.async"},
       {"persistent", "int", false,
        "1 (with tma): compute every block tile of the rows x cols matrix, program "
        "instance i taking tiles i, i + grid, ... (offsets are the matrix's)"},
       {"staged_epilogue", "int", false,
        "1 (with tma and an epilogue region taking the product in the inputs' "
        "dtype): the consumers hand each tile's product to the producer "
        "warpgroup's other warps through shared memory, which run the epilogue "
        "while the consumers compute the next tile"},
       {"trans_a", "int", false,
        "1: A is stored transposed, element (i, p) at A[a_off + p*lda + i] (a [K, M] matrix read in "
        "64-column panels with the wgmma transpose bit)"},
       {"trans_b", "int", false,
        "1: B is stored transposed, element (p, j) at B[b_off + j*ldb + p] (an [N, K] matrix)"},
       {"epilogue_chunks", "int", false,
        "staged epilogue: chunks of the tile each epilogue thread computes before it stores any (default 1)"}},
      [](const std::vector<Type>& in, const AttrMap& a) {
        check_block_gemm_operands("tile.wgmma_gemm", in);
        check_tensor_core_dtypes("tile.wgmma_gemm", in);
        auto attr = [&](const char* k) { return std::get<int64_t>(a.at(k)); };
        int64_t bm = attr("bm"), bn = attr("bn"), bk = attr("bk"), stages = attr("stages");
        bool tma = a.count("tma") && std::get<int64_t>(a.at("tma")) != 0;
        // With tma, setmaxnreg gives each consumer thread 232 registers: two consumer warpgroups at most.
        if (bm < 64 || bm % 64 || bm > (tma ? 128 : 256) || bn < 64 || bn % 64 || bn > 256 || bk != 64 || stages < 3 ||
            stages > 8)
          fail(ErrorCode::Verify,
               "tile.wgmma_gemm: unsupported tiling bm=" + std::to_string(bm) + " bn=" + std::to_string(bn) +
                   " bk=" + std::to_string(bk) + " stages=" + std::to_string(stages) +
                   " (bm, bn: multiples of 64 up to 256, bm up to 128 with tma; bk = 64; 3 to 8 stages)");
        return std::vector<Type>{};
      },
      "Hopper tensor-core block GEMM (NVIDIA sm_90a, wgmma.mma_async): C[c_off + i*ldc + j] = sum over p < k of "
      "A[a_off + i*lda + p] * B[b_off + p*ldb + j] in f32, rounded to C's dtype, for i < min(rows, bm) and "
      "j < min(cols, bn). A and B are staged through `stages` 128-byte-swizzled shared-memory buffers (the "
      "kernel's dynamic shared memory); 128*bm/64 threads, one warpgroup per 64 rows, plus a producer warpgroup "
      "first with tma. An epilogue region maps each element of the product to the outputs' values.");
  info = gemm_epilogue_op(info);
  info.verify_op = [](const Op& op) {
    verify_gemm_epilogue(op);
    if (!op.int_attr("staged_epilogue", 0)) return;
    if (!op.int_attr("tma", 0) || !op.region || op.region->args[0]->type.dtype != op.operands[3]->type.dtype)
      fail(ErrorCode::Verify,
           "tile.wgmma_gemm: staged_epilogue needs tma and an epilogue region taking the product in "
           "the inputs' dtype");
  };
  return info;
}

// tile.fma_gemm: a whole block-tile f32 GEMM on CUDA cores (emit_fma_gemm.cpp): the same
// operands as tile.mma_sync, f32 in and out.
OpInfo fma_gemm_op() {
  OpInfo info = tile_op(
      "fma_gemm", 12, 12,
      {{"bm", "int", true, "rows of the block tile"},
       {"bn", "int", true, "columns of the block tile"},
       {"bk", "int", true, "depth of one shared-memory stage"},
       {"stages", "int", false, "shared-memory stages (slices in flight), default 2"},
       {"tf32", "int", false, "1: tensor cores (mma.sync m16n8k8) on inputs rounded to TF32 (sm_80+), default 0"}},
      [](const std::vector<Type>& in, const AttrMap& a) {
        check_block_gemm_operands("tile.fma_gemm", in);
        for (auto [i, name] : {std::pair<size_t, const char*>{0, "c"}, {3, "a"}, {6, "b"}})
          if (in[i].dtype != DType::F32 && (i > 0 || in.size() == 12))
            fail(ErrorCode::DType, std::string("tile.fma_gemm: ") + name + " must point to f32, got " + in[i].str());
        auto attr = [&](const char* k) { return std::get<int64_t>(a.at(k)); };
        int64_t bk = attr("bk"), stages = a.count("stages") ? attr("stages") : 2;
        if (attr("bm") != 128 || attr("bn") != 128 || (bk != 8 && bk != 16 && bk != 32))
          fail(ErrorCode::Verify, "tile.fma_gemm: supports 128 x 128 block tiles with bk 8, 16 or 32, got bm=" +
                                      std::to_string(attr("bm")) + " bn=" + std::to_string(attr("bn")) +
                                      " bk=" + std::to_string(bk));
        if (stages < 2 || stages > 8 || fma_gemm_shared_bytes(bk, stages) > 227 * 1024)
          fail(ErrorCode::Verify,
               "tile.fma_gemm: stages must be 2..8 and fit 227 KiB of shared memory, got " + std::to_string(stages));
        return std::vector<Type>{};
      },
      "f32 block GEMM on CUDA cores (NVIDIA): C[c_off + i*ldc + j] = sum over p < k of A[a_off + i*lda + p] * "
      "B[b_off + p*ldb + j] with f32 fma in order of p, for i < min(rows, bm) and j < min(cols, bn). 256 threads "
      "(the kernel's lanes), each an 8 x 8 register tile, or with tf32 = 1 eight warps of 4 x 4 TF32 mma.sync tiles "
      "(f32 sums of products of inputs rounded to TF32); A (transposed) and B are copied by cp.async into a ring of "
      "`stages` bk-deep slices in the kernel's dynamic shared memory (at least fma_gemm_shared_bytes). An epilogue "
      "region maps each element of the product to the outputs' values.");
  return gemm_epilogue_op(info);
}

// The operands of the flash-attention forward ops, named `names`: o, q, k and v pointers (all
// bf16 or all f16), i64 scalars, and optionally (the last two names) an f32 lse pointer and
// its i64 offset.
void check_flash_forward_operands(const std::string& op, const std::vector<Type>& in,
                                  const std::vector<const char*>& names) {
  const size_t n = names.size();
  if (in.size() == n - 1) fail(ErrorCode::Verify, op + ": lse needs lse_off too");
  if (in.size() == n && in[n - 2].dtype != DType::F32)
    fail(ErrorCode::DType, op + ": lse must point to f32, got " + in[n - 2].str());
  std::vector<Type> qkv;
  for (size_t i = 0; i < in.size(); ++i) {
    std::string name = names[i];
    bool ptr = name == "o" || name == "q" || name == "k" || name == "v" || name == "lse";
    if (ptr ? in[i].kind != TypeKind::Ptr : in[i].kind != TypeKind::Scalar)
      fail(ErrorCode::Verify, op + ": " + name + " must be a " + (ptr ? "pointer" : "scalar") + ", got " + in[i].str());
    if (!ptr) require_i64(op, in[i], names[i]);
    if (ptr && name != "lse") qkv.push_back(in[i]);
  }
  DType dt = qkv[0].dtype;
  if ((dt != DType::BF16 && dt != DType::F16) || qkv[1].dtype != dt || qkv[2].dtype != dt || qkv[3].dtype != dt)
    fail(ErrorCode::DType, op + ": o, q, k and v must all be bf16 or all f16, got " + qkv[0].str() + ", " +
                               qkv[1].str() + ", " + qkv[2].str() + ", " + qkv[3].str());
}

// tile.flash_attention: one block of query rows of flash attention on NVIDIA tensor cores
// (emit_flash_attention.cpp). Like tile.mma_sync, one op per program instance; the attributes
// are the schedule (query rows per block, key rows per streamed tile, warps).
OpInfo flash_attention_op() {
  OpInfo info = tile_op(
      "flash_attention", 10, 12,
      {{"head_dim", "int", true, "D, the head dim of q, k, v and o (64 or 128)"},
       {"block_m", "int", true, "query rows of the block (16 per warp)"},
       {"block_n", "int", true, "key rows per streamed K/V tile"},
       {"warps", "int", true, "warps of the block"},
       {"causal", "bool", true, "query row i sees key rows j <= i only"},
       {"scale", "float", true, "multiplies q . k before the softmax"},
       {"stages", "int", false,
        "K/V buffer pairs: 1 (K and V loads interleaved with the two products) or 2-4 (a pipeline)", "1"}},
      [](const std::vector<Type>& in, const AttrMap& a) {
        check_flash_forward_operands(
            "tile.flash_attention", in,
            {"o", "o_off", "q", "q_off", "k", "v", "kv_off", "rows", "m0", "s_kv", "lse", "lse_off"});
        auto attr = [&](const char* k) { return std::get<int64_t>(a.at(k)); };
        int64_t d = attr("head_dim"), bm = attr("block_m"), bn = attr("block_n"), w = attr("warps");
        int64_t stages = a.count("stages") ? std::get<int64_t>(a.at("stages")) : 1;
        int64_t chunks = 32 * w;  // 16-byte copies: every thread takes whole ones
        // Q staging (bm x d) and `stages` pairs of K and V tiles (bn x d each) share the shared memory:
        // static up to 48 KiB, dynamic (the kernel's `shared` attribute, Hopper's 227 KiB) above.
        if ((d != 64 && d != 128) || w < 1 || bm != 16 * w || bn % 16 || bn < 16 || (bm * d / 8) % chunks ||
            (bn * d / 8) % chunks || stages < 1 || stages > 4 || std::max(bm * d, 2 * stages * bn * d) * 2 > 227 * 1024)
          fail(ErrorCode::Verify, "tile.flash_attention: unsupported tiling head_dim=" + std::to_string(d) +
                                      " block_m=" + std::to_string(bm) + " block_n=" + std::to_string(bn) +
                                      " warps=" + std::to_string(w) + " stages=" + std::to_string(stages));
        return std::vector<Type>{};
      },
      "Flash attention for query rows m0 .. m0+min(rows, block_m)-1 of one head: o[o_off + i*D + j] = "
      "sum over n < s_kv of softmax_n(scale * q[q_off + i*D + :] . k[kv_off + n*D + :]) * v[kv_off + n*D + j] "
      "(n <= m0 + i when causal), with an online softmax over block_n-row K/V tiles streamed through shared "
      "memory; f32 accumulation, mma.sync m16n8k16; 32*warps threads, 16 query rows per warp. With lse (f32), "
      "also lse[lse_off + i] = log(sum over those n of e^(scale * q_i . k_n)).");
  info.pure = false;
  return info;
}

// tile.flash_attention_wgmma: the Hopper (sm_90a) forward (emit_flash_attention_wgmma.cpp), one
// block of 128 query rows of one head: a TMA producer warpgroup and two consumer warpgroups
// (64 rows each) on wgmma. q, k and v are read through the kernel's first three tensor maps
// ([heads, S, D], tilegen/attention.cpp), so the operands name the head and first row instead of
// element offsets.
OpInfo flash_attention_wgmma_op() {
  OpInfo info = tile_op(
      "flash_attention_wgmma", 9, 11,
      {{"head_dim", "int", true, "D, the head dim of q, k, v and o (64 or 128)"},
       {"block_m", "int", true, "query rows of the block (128: two consumer warpgroups of 64)"},
       {"block_n", "int", true, "key rows per streamed K/V tile (a multiple of 16 up to 256)"},
       {"stages", "int", true, "K/V tile buffers (1-4), each with its own full and empty mbarriers"},
       {"causal", "bool", true, "query row i sees key rows j <= i only"},
       {"scale", "float", true, "multiplies q . k before the softmax"},
       {"overlap", "int", false,
        "1: FlashAttention-3's intra-warpgroup pipelining (O += P V of tile j-1 runs during the softmax of tile j); "
        "0: one tile at a time",
        "1"},
       {"pingpong", "int", false,
        "1: the consumer warpgroups take turns to issue their wgmma (FlashAttention-3's warp scheduler barriers: "
        "named barriers 1 and 2), so one's softmax overlaps the other's products; 0: each issues when ready",
        "1"}},
      [](const std::vector<Type>& in, const AttrMap& a) {
        check_flash_forward_operands("tile.flash_attention_wgmma", in,
                                     {"o", "o_off", "q", "k", "v", "head", "m0", "rows", "s_kv", "lse", "lse_off"});
        auto attr = [&](const char* k) { return std::get<int64_t>(a.at(k)); };
        int64_t d = attr("head_dim"), bm = attr("block_m"), bn = attr("block_n"), stages = attr("stages");
        int64_t overlap = a.count("overlap") ? attr("overlap") : 1,
                pingpong = a.count("pingpong") ? attr("pingpong") : 1;
        if ((d != 64 && d != 128) || bm != 128 || bn < 16 || bn > 256 || bn % 16 || stages < 1 || stages > 4 ||
            (overlap != 0 && overlap != 1) || (pingpong != 0 && pingpong != 1) ||
            flash_attention_wgmma_shared_bytes(d, bm, bn, stages) > 227 * 1024)
          fail(ErrorCode::Verify, "tile.flash_attention_wgmma: unsupported tiling head_dim=" + std::to_string(d) +
                                      " block_m=" + std::to_string(bm) + " block_n=" + std::to_string(bn) +
                                      " stages=" + std::to_string(stages) + " overlap=" + std::to_string(overlap) +
                                      " pingpong=" + std::to_string(pingpong) +
                                      " (head_dim 64 or 128, block_m 128, block_n a multiple of 16 up to 256, 1 to 4 "
                                      "stages, overlap and pingpong 0 or 1, at most 227 KiB of shared memory)");
        return std::vector<Type>{};
      },
      "Flash attention for query rows m0 .. m0+min(rows, block_m)-1 of head `head`: o[o_off + i*D + j] = sum over "
      "n < s_kv of softmax_n(scale * q[head, m0 + i, :] . k[head, n, :]) * v[head, n, j] (n <= m0 + i when causal), "
      "with q, k and v read as [heads, S, D] through the kernel's first three tensor maps (TMA, 128-byte swizzle). "
      "384 threads: warpgroup 0 copies the Q block once and block_n-row K and V tiles into `stages` buffers; "
      "warpgroups 1 and 2 (64 rows each) compute S = Q K^T and O += P V with wgmma.mma_async (P from registers) "
      "and an online softmax, f32 accumulation. With lse (f32), also lse[lse_off + i] = log(sum over those n of "
      "e^(scale * q_i . k_n)). sm_90a only.");
  info.pure = false;
  return info;
}

// tile.flash_attention_bwd: dq of a block of query rows, or dk and dv of a block of key rows,
// of one head (emit_flash_attention_bwd.cpp). Outputs first (dk, dv for wrt = kv), then
// q, k, v, do, lse, delta, q_off, kv_off, r_off, own_rows, own0, stream_len.
OpInfo flash_attention_bwd_op() {
  OpInfo info = tile_op(
      "flash_attention_bwd", 13, 14,
      {{"head_dim", "int", true, "D, the head dim of q, k, v and do (64 or 128)"},
       {"block_own", "int", true, "rows of the block: queries (wrt q) or keys, 16 per warp"},
       {"block_stream", "int", true, "rows per streamed tile: keys (wrt q) or queries"},
       {"stages", "int", true, "streamed tile buffers (2-4)"},
       {"causal", "bool", true, "query row i sees key rows j <= i only"},
       {"scale", "float", true, "multiplies q . k before the softmax"},
       {"wrt", "str", true, "q, k, v or kv: the gradients written"}},
      [](const std::vector<Type>& in, const AttrMap& a) {
        const std::string& wrt = std::get<std::string>(a.at("wrt"));
        size_t n_out = wrt == "kv" ? 2 : 1;
        if ((wrt != "q" && wrt != "k" && wrt != "v" && wrt != "kv") || in.size() != n_out + 12)
          fail(ErrorCode::Verify,
               "tile.flash_attention_bwd: wrt must be q, k, v or kv, with 1 (2 for kv) outputs before 12 operands");
        static const char* names[] = {"q",     "k",      "v",     "do",       "lse",  "delta",
                                      "q_off", "kv_off", "r_off", "own_rows", "own0", "stream_len"};
        DType dt = in[0].dtype;
        for (size_t i = 0; i < in.size(); ++i) {
          std::string name = i < n_out ? "output" : names[i - n_out];
          bool ptr = i < n_out + 6;
          if (ptr ? in[i].kind != TypeKind::Ptr : in[i].kind != TypeKind::Scalar)
            fail(ErrorCode::Verify, "tile.flash_attention_bwd: " + name + " must be a " + (ptr ? "pointer" : "scalar") +
                                        ", got " + in[i].str());
          if (!ptr) require_i64("tile.flash_attention_bwd", in[i], name.c_str());
          DType want = i >= n_out + 4 && i < n_out + 6 ? DType::F32 : dt;
          if (ptr && in[i].dtype != want)
            fail(ErrorCode::DType,
                 "tile.flash_attention_bwd: " + name + " must point to " + dtype_name(want) + ", got " + in[i].str());
        }
        if (dt != DType::BF16 && dt != DType::F16)
          fail(ErrorCode::DType,
               "tile.flash_attention_bwd: q, k, v, do and the outputs must be bf16 or f16, got " + in[0].str());
        auto attr = [&](const char* k) { return std::get<int64_t>(a.at(k)); };
        int64_t d = attr("head_dim"), bo = attr("block_own"), bs = attr("block_stream"), stages = attr("stages");
        int64_t threads = 2 * bo;  // 16 rows per warp
        if ((d != 64 && d != 128) || bo < 16 || bo % 16 || bs < 16 || bs % 16 || stages < 2 || stages > 4 ||
            (bo * d / 8) % threads || (bs * d / 8) % threads || (2 * bo + 2 * stages * bs) * d * 2 > 227 * 1024)
          fail(ErrorCode::Verify, "tile.flash_attention_bwd: unsupported tiling head_dim=" + std::to_string(d) +
                                      " block_own=" + std::to_string(bo) + " block_stream=" + std::to_string(bs) +
                                      " stages=" + std::to_string(stages));
        return std::vector<Type>{};
      },
      "Flash attention backward for one head, given lse (attention_lse) and delta = rowsum(do * o) per query "
      "row (f32, at r_off + row). wrt q: dq for query rows own0 .. own0+min(own_rows, block_own)-1 (q, do, dq at "
      "q_off + i*D, k and v at kv_off, stream_len keys). wrt k/v/kv: dk and/or dv for key rows own0 .. (k, v, dk, "
      "dv at kv_off + i*D; q and do at q_off, stream_len queries). dq = scale * dS k, dk = scale * dS^T q, dv = "
      "P^T do with P = e^(scale * q k^T - lse) and dS = P * (do v^T - delta); f32 accumulation, mma.sync m16n8k16, "
      "2*block_own threads.");
  info.pure = false;
  return info;
}

// tile.flash_attention_bwd_wgmma: the Hopper (sm_90a) backward (emit_flash_attention_bwd_wgmma.cpp),
// one block of 128 own rows of one head: a TMA producer warpgroup and two consumer warpgroups.
// q, k, v and do are read through the kernel's four tensor maps ([heads, S, D]), so the
// operands name the head and first own row; outputs first (dk, dv for wrt = kv).
OpInfo flash_attention_bwd_wgmma_op() {
  OpInfo info = tile_op(
      "flash_attention_bwd_wgmma", 13, 14,
      {{"head_dim", "int", true, "D, the head dim of q, k, v and do (64 or 128)"},
       {"block_own", "int", true, "rows of the block (128: two consumer warpgroups of 64): queries (wrt q) or keys"},
       {"block_stream", "int", true, "rows per streamed tile (a multiple of 16 up to 256): keys (wrt q) or queries"},
       {"stages", "int", true, "streamed tile buffers (1-4), each with full and empty mbarriers"},
       {"causal", "bool", true, "query row i sees key rows j <= i only"},
       {"scale", "float", true, "multiplies q . k before the softmax"},
       {"wrt", "str", true, "q, k, v or kv: the gradients written"},
       {"overlap", "int", false,
        "1: the scores of tile j are computed while the products of tile j-1 run (the forward's intra-warpgroup "
        "pipelining); 0: one tile at a time",
        "0"}},
      [](const std::vector<Type>& in, const AttrMap& a) {
        const std::string& wrt = std::get<std::string>(a.at("wrt"));
        size_t n_out = wrt == "kv" ? 2 : 1;
        const std::string op = "tile.flash_attention_bwd_wgmma";
        if ((wrt != "q" && wrt != "k" && wrt != "v" && wrt != "kv") || in.size() != n_out + 12)
          fail(ErrorCode::Verify, op + ": wrt must be q, k, v or kv, with 1 (2 for kv) outputs before 12 operands");
        static const char* names[] = {"q",       "k",     "v",    "do",   "lse",      "delta",
                                      "out_off", "r_off", "head", "own0", "own_rows", "stream_len"};
        DType dt = in[0].dtype;
        for (size_t i = 0; i < in.size(); ++i) {
          std::string name = i < n_out ? "output" : names[i - n_out];
          bool ptr = i < n_out + 6;
          if (ptr ? in[i].kind != TypeKind::Ptr : in[i].kind != TypeKind::Scalar)
            fail(ErrorCode::Verify,
                 op + ": " + name + " must be a " + (ptr ? "pointer" : "scalar") + ", got " + in[i].str());
          if (!ptr) require_i64(op, in[i], name.c_str());
          DType want = i >= n_out + 4 && i < n_out + 6 ? DType::F32 : dt;
          if (ptr && in[i].dtype != want)
            fail(ErrorCode::DType, op + ": " + name + " must point to " + dtype_name(want) + ", got " + in[i].str());
        }
        if (dt != DType::BF16 && dt != DType::F16)
          fail(ErrorCode::DType, op + ": q, k, v, do and the outputs must be bf16 or f16, got " + in[0].str());
        auto attr = [&](const char* k) { return std::get<int64_t>(a.at(k)); };
        int64_t d = attr("head_dim"), bo = attr("block_own"), bs = attr("block_stream"), stages = attr("stages");
        int64_t overlap = a.count("overlap") ? attr("overlap") : 0;
        if ((d != 64 && d != 128) || bo != 128 || bs < 16 || bs > 256 || bs % 16 || stages < 1 || stages > 4 ||
            (overlap != 0 && overlap != 1) || flash_attention_bwd_wgmma_shared_bytes(d, bo, bs, stages) > 227 * 1024)
          fail(ErrorCode::Verify,
               op + ": unsupported tiling head_dim=" + std::to_string(d) + " block_own=" + std::to_string(bo) +
                   " block_stream=" + std::to_string(bs) + " stages=" + std::to_string(stages) +
                   " overlap=" + std::to_string(overlap) +
                   " (head_dim 64 or 128, block_own 128, block_stream a multiple of 16 up to 256, 1 to 4 "
                   "stages, overlap 0 or 1, at most 227 KiB of shared memory)");
        return std::vector<Type>{};
      },
      "Flash attention backward for one head on Hopper, given lse (attention_lse) and delta = rowsum(do * o) per "
      "query row (f32, at r_off + query). wrt q: dq for query rows own0 .. own0+min(own_rows, block_own)-1 of head "
      "`head`, over stream_len keys; wrt k/v/kv: dk and/or dv for key rows own0 .., over stream_len queries; "
      "outputs at out_off + i*D. q, k, v and do are read as [heads, S, D] through the kernel's four tensor maps "
      "(TMA). dq = scale * dS k, dk = scale * dS^T q, dv = P^T do with P = e^(scale * q k^T - lse) and dS = P * "
      "(do v^T - delta); wgmma.mma_async with f32 accumulation; 384 threads (a TMA producer warpgroup, two consumer "
      "warpgroups of 64 own rows). sm_90a only.");
  info.pure = false;
  return info;
}

void verify_for(const Op& op) {
  const Block& body = *op.region;
  size_t n_iter = op.operands.size() - 3;
  if (body.args.size() != n_iter + 1)
    fail(ErrorCode::Verify, "tile.for: region must take the induction variable and one value per iter arg");
  if (body.args[0]->type != Type::scalar(DType::I64))
    fail(ErrorCode::Verify, "tile.for: induction variable must be i64");
  for (size_t i = 0; i < n_iter; ++i)
    if (body.args[i + 1]->type != op.operands[i + 3]->type)
      fail(ErrorCode::Verify, "tile.for: region argument types must match the iter args");
  if (body.ops.empty() || body.ops.back()->name != "tile.yield")
    fail(ErrorCode::Verify, "tile.for: region must end with tile.yield");
  const Op& y = *body.ops.back();
  if (y.operands.size() != n_iter) fail(ErrorCode::Verify, "tile.for: tile.yield must yield one value per iter arg");
  for (size_t i = 0; i < n_iter; ++i)
    if (y.operands[i]->type != op.results[i]->type)
      fail(ErrorCode::Verify, "tile.for: yielded types must match the results");
}

}  // namespace

int64_t flash_attention_wgmma_shared_bytes(int64_t head_dim, int64_t block_m, int64_t block_n, int64_t stages) {
  return 1024 + (block_m + 2 * stages * block_n) * head_dim * 2 + 8 * (1 + 4 * stages);
}

int64_t flash_attention_bwd_wgmma_shared_bytes(int64_t head_dim, int64_t block_own, int64_t block_stream,
                                               int64_t stages) {
  return 1024 + (2 * block_own + 2 * stages * block_stream) * head_dim * 2 + stages * block_stream * 8 +
         8 * (1 + 5 * stages);
}

int64_t fma_gemm_shared_bytes(int64_t bk, int64_t stages) { return stages * bk * 2 * (128 + 8) * 4; }

WgmmaGemmSmem wgmma_gemm_smem(int64_t bm, int64_t bn, int64_t bk, int64_t stages, bool staged) {
  WgmmaGemmSmem s;
  s.a_stage = bm * bk * 2;
  s.b_stage = bk * bn * 2;
  s.b_start = stages * s.a_stage;
  s.c_start = s.b_start + stages * s.b_stage;
  s.c_row = bn * 2 + 16;
  s.barriers = s.c_start + (staged ? bm * s.c_row : 0);
  s.total = 1024 + s.barriers + 16 * stages + (staged ? 16 : 0);
  return s;
}

namespace {

// Lane-wise arithmetic: integer and float ops, compares, select, constants, casts.
void add_tile_arith_ops(std::vector<OpInfo>& out) {
  for (const char* n : {"add", "sub", "mul", "div", "rem", "max", "min", "and", "or"})
    out.push_back(arith(n, 2, std::string("Lane-wise ") + n + " (div on integers truncates; max/min propagate NaN)."));
  for (const char* n : {"xor", "pow", "copysign", "atan2"})
    out.push_back(
        arith(n, 2, std::string("Lane-wise ") + n + " (pow on integers wraps; negative exponents truncate)."));
  // Integer shifts (by 0..bits-1): shl, lshr which fills with zeros (for unsigned words in i64)
  // and ashr which copies the sign bit.
  for (const char* n : {"shl", "lshr", "ashr"})
    out.push_back(arith(n, 2, std::string("Lane-wise ") + n + " of integers."));
  for (const char* n : {"neg", "abs", "not"}) out.push_back(arith(n, 1, std::string("Lane-wise ") + n + "."));
  // Floating-point functions (math.cpp documents the accuracy of each).
  for (const char* n : {"exp", "expm1", "log", "log1p", "sqrt", "floor", "ceil", "round", "trunc", "sin", "cos", "tanh",
                        "erf", "erfc", "sigmoid", "atan", "log2", "log10", "exp2"})
    out.push_back(float_arith(n));
  out.push_back(arith_cmp());
  out.push_back(arith_select());
  out.push_back(arith_const());
  out.push_back(arith_cast());
}

// Program ids, ranges, loads, stores and reductions of tiles.
void add_tile_memory_ops(std::vector<OpInfo>& out) {
  out.push_back(tile_op(
      "program_id", 0, 0, {{"axis", "int", true, "grid axis 0, 1 or 2"}},
      [](const std::vector<Type>&, const AttrMap&) { return std::vector<Type>{Type::scalar(DType::I64)}; },
      "Index of this program instance along a grid axis."));
  out.push_back(tile_op(
      "arange", 0, 0, {{"lanes", "int", true, "number of lanes"}},
      [](const std::vector<Type>&, const AttrMap& a) {
        return std::vector<Type>{Type::tile(DType::I64, std::get<int64_t>(a.at("lanes")))};
      },
      "The lane index 0..lanes-1 of each lane."));
  out.push_back(tile_op(
      "splat", 1, 1, {{"lanes", "int", true, "number of lanes"}},
      [](const std::vector<Type>& in, const AttrMap& a) {
        if (in[0].kind != TypeKind::Scalar) fail(ErrorCode::Verify, "tile.splat: operand must be a scalar");
        return std::vector<Type>{Type::tile(in[0].dtype, std::get<int64_t>(a.at("lanes")))};
      },
      "A tile whose lanes all hold one scalar."));
  out.push_back(tile_op(
      "load", 2, 3, {{"other", "float", false, "value of masked-off lanes (default 0)"}},
      [](const std::vector<Type>& in, const AttrMap&) {
        if (in[0].kind != TypeKind::Ptr) fail(ErrorCode::Verify, "tile.load: first operand must be a pointer");
        require_i64("tile.load", in[1], "offsets");
        int64_t lanes = common_lanes("tile.load", {in.begin() + 1, in.end()});
        if (in.size() == 3 && in[2].dtype != DType::Bool) fail(ErrorCode::Verify, "tile.load: mask must be bool");
        return std::vector<Type>{value_type(in[0].dtype, lanes)};
      },
      "Loads ptr[offsets] (elements) where mask holds."));
  OpInfo store = tile_op(
      "store", 3, 4, {},
      [](const std::vector<Type>& in, const AttrMap&) {
        if (in[0].kind != TypeKind::Ptr) fail(ErrorCode::Verify, "tile.store: first operand must be a pointer");
        require_i64("tile.store", in[1], "offsets");
        common_lanes("tile.store", {in.begin() + 1, in.end()});
        if (in[2].dtype != in[0].dtype) fail(ErrorCode::DType, "tile.store: value dtype differs from the pointer's");
        if (in.size() == 4 && in[3].dtype != DType::Bool) fail(ErrorCode::Verify, "tile.store: mask must be bool");
        return std::vector<Type>{};
      },
      "Stores value to ptr[offsets] where mask holds; a scalar store is done once per instance.");
  store.pure = false;
  out.push_back(store);
  OpInfo barrier = tile_op(
      "barrier", 0, 0, {}, [](const std::vector<Type>&, const AttrMap&) { return std::vector<Type>{}; },
      "Every lane's stores before it are visible to every lane's loads after it: a block barrier on GPUs "
      "(lanes are threads there), nothing on the CPU (one program instance runs its lanes in order).");
  barrier.pure = false;
  out.push_back(barrier);
  out.push_back(tile_op(
      "reduce", 1, 2, {{"kind", "str", true, "sum | prod | max | min | argmax | argmin"}},
      [](const std::vector<Type>& in, const AttrMap& a) {
        if (!in[0].is_tile()) fail(ErrorCode::Verify, "tile.reduce: operand must be a tile");
        const std::string& k = std::get<std::string>(a.at("kind"));
        if (k == "argmax" || k == "argmin") {
          // (value, index) pairs: the best value and the smallest index holding it.
          if (in.size() != 2 || !in[1].is_tile() || in[1].dtype != DType::I64 || in[1].shape != in[0].shape)
            fail(ErrorCode::Verify, "tile.reduce: " + k + " takes a value tile and an i64 index tile");
          return std::vector<Type>{Type::scalar(in[0].dtype), Type::scalar(DType::I64)};
        }
        if (k != "sum" && k != "prod" && k != "max" && k != "min")
          fail(ErrorCode::Verify, "tile.reduce: unknown kind '" + k + "'");
        if (in.size() != 1) fail(ErrorCode::Verify, "tile.reduce: " + k + " takes one tile");
        return std::vector<Type>{Type::scalar(in[0].dtype)};
      },
      "Combines all lanes of a tile into one scalar, in a fixed order; argmax/argmin combine "
      "(value, index) pairs (a NaN wins, as in NumPy; ties go to the smaller index)."));
}

// Whole-kernel ops (micro-kernels, packs, GEMMs, flash attention) and loops.
void add_tile_kernel_ops(std::vector<OpInfo>& out) {
  OpInfo micro = tile_op(
      "microkernel", 11, 11,
      {{"mr", "int", true, "rows of the register tile (the A panel width)"},
       {"nr", "int", true, "columns of the register tile (the B panel width)"}},
      [](const std::vector<Type>& in, const AttrMap&) {
        static const char* names[] = {"c",     "c_off", "ldc",  "a",    "a_off",     "b",
                                      "b_off", "k",     "rows", "cols", "accumulate"};
        for (size_t i = 0; i < in.size(); ++i) {
          bool ptr = i == 0 || i == 3 || i == 5;
          if (ptr ? in[i].kind != TypeKind::Ptr : in[i].kind != TypeKind::Scalar)
            fail(ErrorCode::Verify, std::string("tile.microkernel: ") + names[i] + " must be a " +
                                        (ptr ? "pointer" : "scalar") + ", got " + in[i].str());
          if (!ptr && i != 10) require_i64("tile.microkernel", in[i], names[i]);
        }
        if (in[10].dtype != DType::Bool) fail(ErrorCode::Verify, "tile.microkernel: accumulate must be bool");
        if (in[0].dtype != in[3].dtype || in[0].dtype != in[5].dtype ||
            (in[0].dtype != DType::F32 && in[0].dtype != DType::F64))
          fail(ErrorCode::DType, "tile.microkernel: c, a and b must all be f32 or all f64");
        return std::vector<Type>{};
      },
      "The CPU GEMM's register-blocked micro-kernel (broadcast FMAs): C[c_off + i*ldc + j] = (accumulate ? C[..] : 0) "
      "+ sum over p < k of "
      "A[a_off + p*mr + i] * B[b_off + p*nr + j], for i < rows <= mr and j < cols <= nr (A and B are panels "
      "laid out by sched.pack). Runs once per program instance.");
  micro.pure = false;
  out.push_back(micro);
  OpInfo scratch = tile_op(
      "scratch", 0, 0, {{"type", "type", true, "element type (a scalar type)"}, {"size", "int", true, "elements"}},
      [](const std::vector<Type>&, const AttrMap& a) {
        const Type& t = std::get<Type>(a.at("type"));
        if (t.kind != TypeKind::Scalar) fail(ErrorCode::Verify, "tile.scratch: type must be a scalar type");
        if (std::get<int64_t>(a.at("size")) < 1) fail(ErrorCode::Verify, "tile.scratch: size must be >= 1");
        return std::vector<Type>{Type::ptr(t.dtype)};
      },
      "A buffer of `size` elements private to the program instance (CPU: on its stack), e.g. the "
      "block of C a matmul epilogue reads.");
  scratch.pure = false;  // two buffers are never the same buffer: CSE must keep both
  out.push_back(scratch);
  OpInfo pack = tile_op(
      "pack", 7, 7,
      {{"width", "int", true, "panel width"},
       {"axis", "int", true, "-2: rows of a left operand; -1: columns of a right one"}},
      [](const std::vector<Type>& in, const AttrMap&) {
        static const char* names[] = {"dst", "dst_off", "src", "src_off", "ld", "rows", "depth"};
        for (size_t i = 0; i < in.size(); ++i) {
          bool ptr = i == 0 || i == 2;
          if (ptr ? in[i].kind != TypeKind::Ptr : in[i].kind != TypeKind::Scalar)
            fail(ErrorCode::Verify, std::string("tile.pack: ") + names[i] + " must be a " +
                                        (ptr ? "pointer" : "scalar") + ", got " + in[i].str());
          if (!ptr) require_i64("tile.pack", in[i], names[i]);
        }
        if (in[0].dtype != in[2].dtype) fail(ErrorCode::DType, "tile.pack: dst and src dtypes differ");
        return std::vector<Type>{};
      },
      "Writes one panel of sched.pack: dst[dst_off + p*width + i] = i < rows ? src[src_off + (axis == -2 ? i*ld + p "
      ": p*ld + i)] : 0 for p < depth, i < width.");
  pack.pure = false;
  out.push_back(pack);
  out.push_back(mma_sync_op());
  out.push_back(fma_gemm_op());
  out.push_back(wgmma_gemm_op());
  out.push_back(flash_attention_op());
  out.push_back(flash_attention_wgmma_op());
  out.push_back(flash_attention_bwd_op());
  out.push_back(flash_attention_bwd_wgmma_op());
  OpInfo loop =
      tile_op("for", 3, -1, {}, nullptr, "for iv = lb; iv < ub; iv += step, carrying iter args through the region.");
  loop.has_region = true;
  loop.verify_op = [](const Op& op) {
    for (int i = 0; i < 3; ++i) require_i64("tile.for", op.operands[size_t(i)]->type, "bounds and step");
    verify_for(op);
  };
  out.push_back(loop);
  OpInfo yield = tile_op("yield", 0, -1, {}, nullptr, "Ends a tile.for region with the next iter values.");
  yield.pure = false;
  out.push_back(yield);
}

}  // namespace

void register_tile_ops(std::vector<OpInfo>& out) {
  add_tile_arith_ops(out);
  add_tile_memory_ops(out);
  add_tile_kernel_ops(out);
}

}  // namespace tessera::ir
