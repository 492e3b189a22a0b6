// Graph IR -> Graph IR: a long reduction over the innermost axis becomes two, so that many
// program instances share it and no lane adds up more than a few elements in a row.
//
// A row of R > kBlock elements would otherwise be one program instance's work (one core, or
// one GPU block). The row is padded with the reduction's identity to P * B elements (P =
// ceil(R / kBlock) blocks of B = ceil(R / P)), reshaped to [..., P, B] and reduced over each
// block, then the P partial results are reduced. P and B depend on the shape only, so the
// order of every combine is fixed, whatever the number of threads. form-kernels fuses the pad
// and reshape (index arithmetic) and any element-wise prologue into the first reduction's
// kernel, and the epilogue into the second's. f16/bf16 inputs are reduced in f32 and rounded
// once at the end, like the unsplit reduction. argmax/argmin are not split (their indices
// would need offsets).
//
// GPUs, reductions over one other axis (column sums: bias and normalization-weight gradients):
// the kernel runs a lane per output element walking the axis, coalesced across the inner dims.
// With few outputs (1024 bias gradients over 8192 rows) that is a handful of blocks for the
// whole GPU. The axis of R > 2 kColBlock elements is cut the same way into P blocks of at most
// kColBlock: [..., R, inner] -> [..., P, B, inner], reduced over B (P times as many lanes), then
// over P.
#include <cmath>
#include <optional>

#include "ir/builder.hpp"
#include "ir/ops.hpp"
#include "ir/target.hpp"
#include "passes/passes.hpp"
#include "passes/row_fusion.hpp"

namespace tessera::passes {
using namespace ir;

namespace {

// Elements per block: with CPU kernels of 1024 lanes, 16 per lane before the pairwise
// combine (as accurate as NumPy's pairwise sum); on GPUs, 16 per thread of a 1024-thread block.
constexpr int64_t kBlock = 16384;
// Column reductions: rows a lane adds up in the first pass; split only below this many outputs.
constexpr int64_t kColBlock = 64, kColOutputs = int64_t(1) << 16;

// The pad value that leaves the reduction unchanged, if a double holds it exactly.
std::optional<double> identity(const std::string& kind, DType t) {
  if (kind == "sum") return 0.0;
  if (kind == "prod") return 1.0;
  bool max = kind == "max";
  if (is_float(t)) return max ? -INFINITY : INFINITY;
  switch (t) {
    case DType::I8: return max ? -128.0 : 127.0;
    case DType::U8: return max ? 0.0 : 255.0;
    case DType::I32: return max ? -2147483648.0 : 2147483647.0;
    case DType::I64:
      if (max) return -9223372036854775808.0;
      return std::nullopt;  // 2^63 - 1 is not a double
    default: return std::nullopt;
  }
}

// The axis `op` reduces when it splits (its row, or on GPUs a long column with few outputs).
std::optional<int64_t> split_axis(const Op& op, bool gpu) {
  if (op.name != "sum" && op.name != "prod" && op.name != "max" && op.name != "min") return std::nullopt;
  if (is_row_reduction(op))
    return op.operands[0]->type.static_shape().back() > kBlock ? std::optional<int64_t>(-1) : std::nullopt;
  const Type& in = op.operands[0]->type;
  if (!gpu || op.operands.size() != 1 || !op.has_attr("axis") ||
      !std::holds_alternative<int64_t>(op.attrs.at("axis")) || !in.has_static_shape() || in.rank() < 2)
    return std::nullopt;
  int64_t axis = normalize_axis(op.name, op.int_attr("axis"), in.rank()), r = in.shape[size_t(axis)].size;
  if (r <= 2 * kColBlock || in.numel() / r >= kColOutputs) return std::nullopt;
  return axis;
}

// The replacement of `op` reducing `axis` (-1: the innermost) built into `b`, or null when it
// cannot be split.
Value* split(Builder& b, const Op& op, int64_t axis) {
  Value* x = op.operands[0];
  std::vector<int64_t> shape = x->type.static_shape();
  bool row = axis < 0;
  size_t at = row ? shape.size() - 1 : size_t(axis);
  int64_t block = row ? kBlock : kColBlock;
  int64_t r = shape[at], p = (r + block - 1) / block, blk = (r + p - 1) / p;
  DType dt = x->type.dtype;
  if (p * blk != r) {
    std::optional<double> fill = identity(op.name, dt);
    if (!fill) return nullptr;
    IntList widths(2 * shape.size(), 0);
    widths[2 * at + 1] = p * blk - r;
    x = b.value("pad", {x}, {{"pad", widths}, {"value", *fill}});
  }
  if (is_float(dt) && compute_dtype(dt) != dt)
    x = b.value("cast", {x}, {{"dtype", std::string(dtype_name(compute_dtype(dt)))}});
  IntList blocks(shape.begin(), shape.begin() + long(at));
  blocks.push_back(p);
  blocks.push_back(blk);
  blocks.insert(blocks.end(), shape.begin() + long(at) + 1, shape.end());
  x = b.value("reshape", {x}, {{"shape", blocks}});
  AttrMap partial_attrs = op.attrs, final_attrs = op.attrs;
  partial_attrs["axis"] = row ? int64_t(-1) : int64_t(at) + 1;
  partial_attrs["keepdims"] = false;
  final_attrs["axis"] = row ? int64_t(-1) : int64_t(at);
  Value* partials = b.value(op.name, {x}, partial_attrs);
  Value* result = b.value(op.name, {partials}, final_attrs);
  DType want = op.result()->type.dtype;
  if (result->type.dtype != want) result = b.value("cast", {result}, {{"dtype", std::string(dtype_name(want))}});
  return result;
}

void split_function(Function& fn, bool gpu) {
  Block& body = fn.body;
  for (auto it = body.ops.begin(); it != body.ops.end(); ++it) {
    Op& op = **it;
    std::optional<int64_t> axis = split_axis(op, gpu);
    if (!axis) continue;
    Block scratch;
    Builder b(&scratch, op.loc);
    Value* repl = split(b, op, *axis);
    if (!repl) continue;
    if (repl->type != op.result()->type)
      fail(ErrorCode::Internal, "split-reductions: built " + repl->type.str() + " for " + op.result()->type.str(),
           op.loc.str());
    for (auto& p : scratch.ops) body.insert(it, std::move(p));
    replace_all_uses(body, op.result(), repl);
    it = std::prev(body.ops.erase(it));
  }
}

}  // namespace

void split_reductions(Module& m) {
  bool gpu = Target::of(m).gpu();
  for (auto& fn : m.funcs)
    if (!fn->attrs.count("kernel")) split_function(*fn, gpu);
}

}  // namespace tessera::passes
