// Segment reductions and sparse products (issue 18), composites of scatter_add / scatter /
// take / gather, so their gradients (w.r.t. the data, the sparse values and the dense operands)
// come from those primitives:
//   segment_sum/mean/max/min(data [N, ...], ids [N])  ->  [num_segments, ...]
//   spmm_coo(rows, cols, values, dense)  sparse [M, K] (COO) times dense [K, N]
//   spmm_csr(indptr, indices, values, dense)  the same from CSR (row ids expanded from indptr)
//   sddmm(rows, cols, mat1, mat2)  (mat1 @ mat2) sampled at (rows, cols)
//   bsmm(blocks, block_rows, block_cols, dense)  block-sparse [Mb*bm, Kb*bk] times dense
// Segment ids out of range are an error when the program runs (mode "error", the default) or
// dropped (mode "fill"); ids need not be sorted. The scatters run on the CPU for now.
#include <cmath>

#include "ir/composite.hpp"

namespace tessera::ir {
namespace {

using namespace composite;
using Shape = std::vector<int64_t>;

const AttrSpec kSegments{"num_segments", "int", true, "the number of segments (rows of the result)"};
const AttrSpec kSegmentMode{"mode", "str", false,
                            "ids outside [0, num_segments): \"error\" (raised when the program runs) or \"fill\" "
                            "(dropped)",
                            "\"error\""};

std::string segment_mode(const std::string& op, const AttrMap& a) {
  std::string m = a.count("mode") ? std::get<std::string>(a.at("mode")) : "error";
  if (m != "error" && m != "fill")
    fail(ErrorCode::Value, op + ": mode must be \"error\" or \"fill\", got \"" + m + "\"");
  return m;
}

void require_ids(const std::string& op, const char* what, const Type& ids, const Type& data) {
  require_tensor(op, ids);
  if (ids.rank() == 1 && !ids.shape[0].is_static()) symbolic_dim_error(op, ids, 0, "the entry count must be static");
  if (is_float(ids.dtype) || ids.dtype == DType::Bool)
    fail(ErrorCode::DType, op + ": " + what + " must be integers, got " + ids.str());
  if (ids.rank() != 1 || data.rank() < 1 || ids.shape[0] != data.shape[0])
    fail(ErrorCode::Shape, op + ": " + what + " " + ids.str() + " must be 1-D with one entry per row of " + data.str());
}

Type segment_type(const std::string& op, const std::vector<Type>& in, const AttrMap& a) {
  require_tensor(op, in[0]);
  require_ids(op, "segment_ids", in[1], in[0]);
  segment_mode(op, a);
  int64_t s = std::get<int64_t>(a.at("num_segments"));
  if (s < 0) fail(ErrorCode::Value, op + ": num_segments must be >= 0, got " + std::to_string(s));
  if (in[0].dtype == DType::Bool) fail(ErrorCode::DType, op + ": not defined for bool data");
  for (size_t d = 0; d < in[0].shape.size(); ++d)
    if (!in[0].shape[d].is_static()) symbolic_dim_error(op, in[0], d, "segment ops need every size");
  std::vector<Dim> shape = in[0].shape;
  shape[0] = Dim::of(s);
  return Type::tensor(in[0].dtype, shape);
}

// ids [N] as indices of data's shape [N, ...] (scatter_add takes one index per element).
Value* ids_like(Builder& b, Value* ids, const Type& data) {
  Shape one(size_t(data.rank()), 1);
  one[0] = data.shape[0].size;
  return b.value("broadcast_to", {reshape_to(b, ids, Type::tensor(ids->type.dtype, one))},
                 {{"shape", data.static_shape()}});
}

// The value an empty max (min) segment keeps: -inf (+inf), or the integer extremes.
double identity(DType t, bool max) {
  if (is_float(t)) return max ? -INFINITY : INFINITY;
  switch (t) {
    case DType::I8: return max ? -128.0 : 127.0;
    case DType::U8: return max ? 0.0 : 255.0;
    case DType::I32: return max ? -2147483648.0 : 2147483647.0;
    default: return max ? -9223372036854775808.0 : 9223372036854774784.0;  // the largest double below 2^63
  }
}

Value* segment_sum_of(Builder& b, Value* data, Value* ids, const Type& out, const std::string& mode) {
  return b.value("scatter_add", {b.graph_constant(out, 0.0), ids_like(b, ids, data->type), data},
                 {{"axis", int64_t(0)}, {"mode", mode}});
}

OpInfo segment(const std::string& kind) {
  std::string name = "segment_" + kind;
  std::string what = kind == "sum"    ? "Sums"
                     : kind == "mean" ? "Means (0 for an empty segment)"
                     : kind == "max"
                         ? "Maxima (-inf, or the dtype's lowest integer, for an empty segment)"
                         : "Minima (+inf, or the dtype's highest integer (2^63 - 1024 for int64), for an empty "
                           "segment)";
  OpInfo info = make(name, OpClass::DataMovement, {"data", "segment_ids"}, {kSegments, kSegmentMode},
                     what + " of the rows of data [N, ...] grouped by segment_ids [N]: result [num_segments, ...]. " +
                         (kind == "max" || kind == "min" ? "Gradient shared evenly between tied rows. " : "") +
                         "Ids need not be sorted.");
  info.cpu_only = kBuiltOnScatter;
  info.infer = [name, kind](const std::vector<Type>& in, const AttrMap& a) {
    Type t = segment_type(name, in, a);
    if (kind == "mean" && !is_float(t.dtype)) t.dtype = DType::F64;  // as mean
    return std::vector<Type>{t};
  };
  info.decompose = [name, kind](Builder& b, const Op& op) -> std::vector<Value*> {
    const Type& out = op.result()->type;
    const std::string mode = segment_mode(name, op.attrs);
    Value *data = cast_to(b, op.operands[0], out.dtype), *ids = op.operands[1];
    if (kind == "sum") return {segment_sum_of(b, data, ids, out, mode)};
    if (kind == "mean") {
      Value* ones = b.graph_constant(Type::tensor(out.dtype, data->type.shape), 1.0);
      Value* count = segment_sum_of(b, ones, ids, out, mode);
      return {op2(b, "div", segment_sum_of(b, data, ids, out, mode),
                  op2(b, "maximum", count, b.graph_constant(out.dtype, 1.0)))};
    }
    // max / min: the extremum computed without a derivative, plus a zero-valued sum that carries
    // the gradient to the rows that attain it (shared between ties), as max's own rule does.
    Value* idx = ids_like(b, ids, data->type);
    AttrMap sa{{"axis", int64_t(0)}, {"mode", mode}, {"reduce", kind}};
    Value* init = b.graph_constant(out, identity(out.dtype, kind == "max"));
    Value* fixed = b.value("stop_gradient", {data});  // no tangents into the scatter, no cotangent out of it
    Value* m = b.value("stop_gradient", {b.value("scatter", {init, idx, fixed}, sa)});
    if (!is_float(out.dtype)) return {m};
    AttrMap ga{{"axis", int64_t(0)}, {"mode", std::string("clip")}};  // dropped ids' rows add nothing
    Value* hit = cast_to(b, op2(b, "equal", data, b.value("gather", {m, idx}, ga)), out.dtype);
    Value* ties = b.value("gather", {segment_sum_of(b, hit, ids, out, mode), idx}, ga);
    Value* share = op2(b, "div", hit, op2(b, "maximum", ties, b.graph_constant(out.dtype, 1.0)));
    // data - data is 0 with data's derivative, except at +-inf (NaN): there the carrier is 0.
    Value* finite = b.value("isfinite", {data});
    Value* zero = b.value("where", {finite, op2(b, "sub", data, fixed), b.graph_constant(out.dtype, 0.0)});
    return {op2(b, "add", m, segment_sum_of(b, op2(b, "mul", share, zero), ids, out, mode))};
  };
  return info;
}

// ---- sparse products ----

void require_dense(const std::string& op, const char* what, const Type& t, const Type& values) {
  require_tensor(op, t);
  require_float(op, t);
  if (t.rank() != 2 || !t.has_static_shape())
    fail(ErrorCode::Shape, op + ": " + what + " must be a matrix with static sizes, got " + t.str());
  if (t.dtype != values.dtype)
    fail(ErrorCode::DType, op + ": " + what + " " + t.str() + " must have the dtype of " + values.str());
}

// Rows (of the sparse matrix) times `dense` rows picked by cols, summed per row: [M, N].
Value* spmm(Builder& b, Value* rows, Value* cols, Value* values, Value* dense, const Type& out) {
  Value* picked = b.value("take", {dense, cols}, {{"axis", int64_t(0)}, {"mode", std::string("error")}});
  Value* scaled = op2(b, "mul", picked, b.value("expand_dims", {values}, {{"axis", int64_t(1)}}));
  return segment_sum_of(b, scaled, rows, out, "error");
}

OpInfo spmm_coo() {
  OpInfo info = make("spmm_coo", OpClass::Contraction, {"rows", "cols", "values", "dense"},
                     {{"num_rows", "int", true, "M, the sparse matrix's row count"}},
                     "The sparse matrix [M, K] with entries values[j] at (rows[j], cols[j]) (COO; duplicates add) "
                     "times dense [K, N]: [M, N]. Differentiable w.r.t. values and dense.");
  info.cpu_only = kBuiltOnScatter;
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("spmm_coo", in[2]);
    if (in[2].rank() != 1) fail(ErrorCode::Shape, "spmm_coo: values must be 1-D, got " + in[2].str());
    require_ids("spmm_coo", "rows", in[0], in[2]);
    require_ids("spmm_coo", "cols", in[1], in[2]);
    require_dense("spmm_coo", "dense", in[3], in[2]);
    int64_t m = std::get<int64_t>(a.at("num_rows"));
    if (m < 0) fail(ErrorCode::Value, "spmm_coo: num_rows must be >= 0, got " + std::to_string(m));
    return std::vector<Type>{Type::tensor(in[2].dtype, Shape{m, in[3].shape[1].size})};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    return {spmm(b, op.operands[0], op.operands[1], op.operands[2], op.operands[3], op.result()->type)};
  };
  return info;
}

OpInfo spmm_csr() {
  OpInfo info = make("spmm_csr", OpClass::Contraction, {"indptr", "indices", "values", "dense"}, {},
                     "The sparse matrix [M, K] in CSR form (row i's entries are values[indptr[i]:indptr[i+1]] in "
                     "columns indices[...]) times dense [K, N]: [M, N], M = len(indptr) - 1.");
  info.cpu_only = kBuiltOnScatter;
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    require_tensor("spmm_csr", in[2]);
    if (in[2].rank() != 1) fail(ErrorCode::Shape, "spmm_csr: values must be 1-D, got " + in[2].str());
    require_ids("spmm_csr", "indices", in[1], in[2]);
    require_tensor("spmm_csr", in[0]);
    if (in[0].rank() != 1 || !in[0].shape[0].is_static() || in[0].shape[0].size < 1 || is_float(in[0].dtype))
      fail(is_float(in[0].dtype) ? ErrorCode::DType : ErrorCode::Shape,
           "spmm_csr: indptr must be 1-D integers of length M + 1, got " + in[0].str());
    require_dense("spmm_csr", "dense", in[3], in[2]);
    return std::vector<Type>{Type::tensor(in[2].dtype, Shape{in[0].shape[0].size - 1, in[3].shape[1].size})};
  };
  // Row ids: 1 at each row's first entry (indptr[1..M-1]; empty rows stack up, entries past the
  // end are dropped), summed cumulatively.
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* indptr = cast_to(b, op.operands[0], DType::I64);
    const int64_t m = op.operands[0]->type.shape[0].size - 1, nnz = op.operands[2]->type.shape[0].size;
    Value* starts = b.value("slice", {indptr}, {{"start", IntList{1}}, {"stop", IntList{std::max<int64_t>(m, 1)}}});
    Type marks = Type::tensor(DType::I64, Shape{nnz});
    Value* ones = b.graph_constant(starts->type, 1.0);
    Value* firsts = b.value("scatter_add", {b.graph_constant(marks, 0.0), starts, ones},
                            {{"axis", int64_t(0)}, {"mode", std::string("fill")}});
    Value* rows = b.value("cumsum", {firsts}, {{"axis", int64_t(0)}});
    return {spmm(b, rows, op.operands[1], op.operands[2], op.operands[3], op.result()->type)};
  };
  return info;
}

OpInfo sddmm() {
  OpInfo info = make("sddmm", OpClass::Contraction, {"rows", "cols", "mat1", "mat2"}, {},
                     "Sampled dense-dense product: values[j] = (mat1 @ mat2)[rows[j], cols[j]] for mat1 [M, K], "
                     "mat2 [K, N], computed only at those entries.");
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    require_dense("sddmm", "mat1", in[2], in[2]);
    require_dense("sddmm", "mat2", in[3], in[2]);
    if (in[2].shape[1] != in[3].shape[0])
      fail(ErrorCode::Shape, "sddmm: mat1 " + in[2].str() + " and mat2 " + in[3].str() + " do not chain (K differs)");
    require_ids("sddmm", "rows", in[0], in[0]);
    require_ids("sddmm", "cols", in[1], in[0]);
    return std::vector<Type>{Type::tensor(in[2].dtype, in[0].shape)};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    AttrMap ta{{"axis", int64_t(0)}, {"mode", std::string("error")}};
    Value* ar = b.value("take", {op.operands[2], op.operands[0]}, ta);                          // [nnz, K]
    Value* bc = b.value("take", {b.value("transpose", {op.operands[3]}), op.operands[1]}, ta);  // [nnz, K]
    return {b.value("sum", {op2(b, "mul", ar, bc)}, {{"axis", int64_t(1)}})};
  };
  return info;
}

// Block-sparse times dense: blocks [nnzb, bm, bk] at block rows/cols, dense [Kb * bk, N].
// Each block multiplies its dense row-block (a batched matmul over the nonzero blocks, so every
// product is a dense bm x bk x N GEMM), and the products add up per block row.
OpInfo bsmm() {
  OpInfo info = make("bsmm", OpClass::Contraction, {"blocks", "block_rows", "block_cols", "dense"},
                     {{"num_block_rows", "int", true, "Mb: the sparse matrix has Mb * bm rows"}},
                     "Block-sparse matrix [Mb * bm, Kb * bk] (nonzero blocks [nnzb, bm, bk] at (block_rows[j], "
                     "block_cols[j]); duplicates add) times dense [Kb * bk, N]: [Mb * bm, N]. Differentiable w.r.t. "
                     "the blocks and dense.");
  info.cpu_only = kBuiltOnScatter;
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_tensor("bsmm", in[0]);
    require_float("bsmm", in[0]);
    if (in[0].rank() != 3 || !in[0].has_static_shape())
      fail(ErrorCode::Shape, "bsmm: blocks must be [nnzb, bm, bk] with static sizes, got " + in[0].str());
    require_ids("bsmm", "block_rows", in[1], in[0]);
    require_ids("bsmm", "block_cols", in[2], in[0]);
    require_dense("bsmm", "dense", in[3], in[0]);
    int64_t bk = in[0].shape[2].size, k = in[3].shape[0].size;
    if (bk == 0 || k % bk)
      fail(ErrorCode::Shape, "bsmm: dense " + in[3].str() + " must have a whole number of " + std::to_string(bk) +
                                 "-row blocks (blocks " + in[0].str() + ")");
    int64_t mb = std::get<int64_t>(a.at("num_block_rows"));
    if (mb < 0) fail(ErrorCode::Value, "bsmm: num_block_rows must be >= 0, got " + std::to_string(mb));
    return std::vector<Type>{Type::tensor(in[0].dtype, Shape{mb * in[0].shape[1].size, in[3].shape[1].size})};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value *blocks = op.operands[0], *dense = op.operands[3];
    int64_t bm = blocks->type.shape[1].size, bk = blocks->type.shape[2].size;
    int64_t k = dense->type.shape[0].size, n = dense->type.shape[1].size, mb = op.int_attr("num_block_rows");
    DType dt = blocks->type.dtype;
    Value* row_blocks = reshape_to(b, dense, Type::tensor(dt, Shape{k / bk, bk, n}));
    Value* picked =
        b.value("take", {row_blocks, op.operands[2]}, {{"axis", int64_t(0)}, {"mode", std::string("error")}});
    Value* products = b.value("matmul", {blocks, picked});  // [nnzb, bm, N]
    Type summed = Type::tensor(dt, Shape{mb, bm, n});
    return {reshape_to(b, segment_sum_of(b, products, op.operands[1], summed, "error"), op.result()->type)};
  };
  return info;
}

}  // namespace

void register_segment_ops(std::vector<OpInfo>& out) {
  for (const char* kind : {"sum", "mean", "max", "min"}) out.push_back(segment(kind));
  out.push_back(spmm_coo());
  out.push_back(spmm_csr());
  out.push_back(sddmm());
  out.push_back(bsmm());
}

}  // namespace tessera::ir
