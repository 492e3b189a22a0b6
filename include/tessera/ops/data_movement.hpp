// The C++ op API, data_movement ops: one function per registry op, appending it to a Builder's block.
// Generated from the op registry by `python -m tessera._opgen --write .`; do not edit.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/builder.hpp"

namespace tessera::ops {

// Indices (i64) that sort x along `axis`, stable: equal values keep their order; NaN sorts as the largest value. O(n log^2 n) per row (a bitonic network).
inline ir::Value* argsort(ir::Builder& b, ir::Value* x, int64_t axis = -1, bool descending = false) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["descending"] = descending;
  std::vector<ir::Value*> operands{x};
  return b.value("argsort", operands, attrs);
}

// Repeats size-1 and missing leading dims to a larger shape (NumPy broadcasting).
inline ir::Value* broadcast_to(ir::Builder& b, ir::Value* x, ir::IntList shape) {
  ir::AttrMap attrs;
  attrs["shape"] = shape;
  std::vector<ir::Value*> operands{x};
  return b.value("broadcast_to", operands, attrs);
}

// Joins tensors along an existing axis.
inline ir::Value* concat(ir::Builder& b, const std::vector<ir::Value*>& xs, int64_t axis = 0) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  return b.value("concat", xs, attrs);
}

// Index (i64) of the running maximum (its first occurrence; a NaN wins, as in argmax) along `axis`: element i combines elements 0..i (reverse: i..n-1).
inline ir::Value* cumargmax(ir::Builder& b, ir::Value* x, int64_t axis, bool reverse = false) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["reverse"] = reverse;
  std::vector<ir::Value*> operands{x};
  return b.value("cumargmax", operands, attrs);
}

// Index (i64) of the running minimum (its first occurrence; a NaN wins, as in argmin) along `axis`: element i combines elements 0..i (reverse: i..n-1).
inline ir::Value* cumargmin(ir::Builder& b, ir::Value* x, int64_t axis, bool reverse = false) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["reverse"] = reverse;
  std::vector<ir::Value*> operands{x};
  return b.value("cumargmin", operands, attrs);
}

// Running maximum (NaN propagates) along `axis`: element i combines elements 0..i (reverse: i..n-1).
inline ir::Value* cummax(ir::Builder& b, ir::Value* x, int64_t axis, bool reverse = false) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["reverse"] = reverse;
  std::vector<ir::Value*> operands{x};
  return b.value("cummax", operands, attrs);
}

// Running minimum (NaN propagates) along `axis`: element i combines elements 0..i (reverse: i..n-1).
inline ir::Value* cummin(ir::Builder& b, ir::Value* x, int64_t axis, bool reverse = false) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["reverse"] = reverse;
  std::vector<ir::Value*> operands{x};
  return b.value("cummin", operands, attrs);
}

// Running product along `axis`: element i combines elements 0..i (reverse: i..n-1).
inline ir::Value* cumprod(ir::Builder& b, ir::Value* x, int64_t axis, bool reverse = false) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["reverse"] = reverse;
  std::vector<ir::Value*> operands{x};
  return b.value("cumprod", operands, attrs);
}

// Running sum along `axis`: element i combines elements 0..i (reverse: i..n-1).
inline ir::Value* cumsum(ir::Builder& b, ir::Value* x, int64_t axis, bool reverse = false) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["reverse"] = reverse;
  std::vector<ir::Value*> operands{x};
  return b.value("cumsum", operands, attrs);
}

// Rows of weight [V, ...] picked by integer indices: take(weight, indices, axis=0), shape indices.shape + weight.shape[1:] (gradient w.r.t. weight via take's VJP).
inline ir::Value* embedding(ir::Builder& b, ir::Value* indices, ir::Value* weight, std::optional<std::string> mode = std::nullopt) {
  ir::AttrMap attrs;
  if (mode) attrs["mode"] = *mode;
  std::vector<ir::Value*> operands{indices, weight};
  return b.value("embedding", operands, attrs);
}

// Inserts a size-1 axis.
inline ir::Value* expand_dims(ir::Builder& b, ir::Value* x, int64_t axis) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  std::vector<ir::Value*> operands{x};
  return b.value("expand_dims", operands, attrs);
}

// x with the order of elements reversed along `axis` (every axis when absent).
inline ir::Value* flip(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  std::vector<ir::Value*> operands{x};
  return b.value("flip", operands, attrs);
}

// Columns x [N, C*prod(K), L] added back into [N, C, *output_size] where unfold took them (overlapping elements sum), as torch.nn.functional.fold.
inline ir::Value* fold(ir::Builder& b, ir::Value* x, ir::Sizes output_size, ir::Sizes kernel_size, ir::Sizes dilation = 1, ir::Sizes padding = 0, ir::Sizes stride = 1) {
  ir::AttrMap attrs;
  attrs["output_size"] = output_size.value;
  attrs["kernel_size"] = kernel_size.value;
  attrs["dilation"] = dilation.value;
  attrs["padding"] = padding.value;
  attrs["stride"] = stride.value;
  std::vector<ir::Value*> operands{x};
  return b.value("fold", operands, attrs);
}

// out[i][j] = x[indices[i][j]][j] for axis 0 (torch.gather); shape of indices.
inline ir::Value* gather(ir::Builder& b, ir::Value* x, ir::Value* indices, int64_t axis, std::optional<std::string> mode = std::nullopt, std::optional<double> fill_value = std::nullopt) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  if (mode) attrs["mode"] = *mode;
  if (fill_value) attrs["fill_value"] = *fill_value;
  std::vector<ir::Value*> operands{x, indices};
  return b.value("gather", operands, attrs);
}

// Expert outputs y [E, C, D] brought back to the tokens: [T, D], the sum over each token's K slots (as moe_dispatch assigned them for expert_ids [T, K]) weighted by weights [T, K]; a dropped slot adds nothing.
inline ir::Value* moe_combine(ir::Builder& b, ir::Value* y, ir::Value* expert_ids, ir::Value* weights, int64_t capacity) {
  ir::AttrMap attrs;
  attrs["capacity"] = capacity;
  std::vector<ir::Value*> operands{y, expert_ids, weights};
  return b.value("moe_combine", operands, attrs);
}

// Tokens x [T, D] sent to their experts: [E, C, D], each token's row in the next free slot of each expert in expert_ids [T, K] (token order); tokens past an expert's capacity C are dropped there, unused slots are zero.
inline ir::Value* moe_dispatch(ir::Builder& b, ir::Value* x, ir::Value* expert_ids, int64_t num_experts, int64_t capacity) {
  ir::AttrMap attrs;
  attrs["num_experts"] = num_experts;
  attrs["capacity"] = capacity;
  std::vector<ir::Value*> operands{x, expert_ids};
  return b.value("moe_dispatch", operands, attrs);
}

// A new last axis with 1 at each index and 0 elsewhere (out-of-range indices give zeros).
inline ir::Value* one_hot(ir::Builder& b, ir::Value* indices, int64_t num_classes, std::string dtype = "i64") {
  ir::AttrMap attrs;
  attrs["num_classes"] = num_classes;
  attrs["dtype"] = dtype;
  std::vector<ir::Value*> operands{indices};
  return b.value("one_hot", operands, attrs);
}

// The adjoint of windows (col2im): x [..., K1..Kk, O1..Ok] -> [..., S1..Sk] with k = len(size), each window element added at the position windows reads it from (elements in the padding are dropped).
inline ir::Value* overlap_add(ir::Builder& b, ir::Value* x, ir::IntList size, ir::IntList stride = ir::IntList{}, ir::IntList dilation = ir::IntList{}, ir::IntList padding = ir::IntList{}) {
  ir::AttrMap attrs;
  attrs["size"] = size;
  attrs["stride"] = stride;
  attrs["dilation"] = dilation;
  attrs["padding"] = padding;
  std::vector<ir::Value*> operands{x};
  return b.value("overlap_add", operands, attrs);
}

// Surrounds x with a constant.
inline ir::Value* pad(ir::Builder& b, ir::Value* x, ir::IntList pad, double value = 0.0) {
  ir::AttrMap attrs;
  attrs["pad"] = pad;
  attrs["value"] = value;
  std::vector<ir::Value*> operands{x};
  return b.value("pad", operands, attrs);
}

// Each element of x repeated `repeats` times in a row along `axis` (NumPy's repeat).
inline ir::Value* repeat(ir::Builder& b, ir::Value* x, int64_t repeats, std::optional<int64_t> axis = std::nullopt) {
  ir::AttrMap attrs;
  attrs["repeats"] = repeats;
  if (axis) attrs["axis"] = *axis;
  std::vector<ir::Value*> operands{x};
  return b.value("repeat", operands, attrs);
}

// The elements in row-major order, viewed with a new shape of the same size.
inline ir::Value* reshape(ir::Builder& b, ir::Value* x, ir::IntList shape) {
  ir::AttrMap attrs;
  attrs["shape"] = shape;
  std::vector<ir::Value*> operands{x};
  return b.value("reshape", operands, attrs);
}

// x with elements shifted along `axis` cyclically (NumPy's roll): element i goes to (i + shift) mod n.
inline ir::Value* roll(ir::Builder& b, ir::Value* x, ir::IntList shift, std::optional<ir::Axes> axis = std::nullopt) {
  ir::AttrMap attrs;
  attrs["shift"] = shift;
  if (axis) attrs["axis"] = axis->value;
  std::vector<ir::Value*> operands{x};
  return b.value("roll", operands, attrs);
}

// A copy of x with out[indices[i][j]][j] = src[i][j] for axis 0 (torch.scatter), or combined with it by `reduce`; updates apply in order, so with "set" the last one wins.
inline ir::Value* scatter(ir::Builder& b, ir::Value* x, ir::Value* indices, ir::Value* src, int64_t axis, std::string reduce = "set", std::optional<std::string> mode = std::nullopt) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["reduce"] = reduce;
  if (mode) attrs["mode"] = *mode;
  std::vector<ir::Value*> operands{x, indices, src};
  return b.value("scatter", operands, attrs);
}

// A copy of x with out[indices[i][j]][j] += src[i][j] for axis 0 (torch.scatter_add).
inline ir::Value* scatter_add(ir::Builder& b, ir::Value* x, ir::Value* indices, ir::Value* src, int64_t axis, std::optional<std::string> mode = std::nullopt) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  if (mode) attrs["mode"] = *mode;
  std::vector<ir::Value*> operands{x, indices, src};
  return b.value("scatter_add", operands, attrs);
}

// Insertion points (i64) of values into sorted_sequence along its last axis, as numpy.searchsorted (NaN sorts last): sorted_sequence [M] with values of any shape, or [..., M] with values [..., V] (the same leading dims). A binary search: ceil(log2(M + 1)) gathers per value.
inline ir::Value* searchsorted(ir::Builder& b, ir::Value* sorted_sequence, ir::Value* values, std::string side = "left") {
  ir::AttrMap attrs;
  attrs["side"] = side;
  std::vector<ir::Value*> operands{sorted_sequence, values};
  return b.value("searchsorted", operands, attrs);
}

// Maxima (-inf, or the dtype's lowest integer, for an empty segment) of the rows of data [N, ...] grouped by segment_ids [N]: result [num_segments, ...]. Gradient shared evenly between tied rows. Ids need not be sorted.
inline ir::Value* segment_max(ir::Builder& b, ir::Value* data, ir::Value* segment_ids, int64_t num_segments, std::optional<std::string> mode = std::nullopt) {
  ir::AttrMap attrs;
  attrs["num_segments"] = num_segments;
  if (mode) attrs["mode"] = *mode;
  std::vector<ir::Value*> operands{data, segment_ids};
  return b.value("segment_max", operands, attrs);
}

// Means (0 for an empty segment) of the rows of data [N, ...] grouped by segment_ids [N]: result [num_segments, ...]. Ids need not be sorted.
inline ir::Value* segment_mean(ir::Builder& b, ir::Value* data, ir::Value* segment_ids, int64_t num_segments, std::optional<std::string> mode = std::nullopt) {
  ir::AttrMap attrs;
  attrs["num_segments"] = num_segments;
  if (mode) attrs["mode"] = *mode;
  std::vector<ir::Value*> operands{data, segment_ids};
  return b.value("segment_mean", operands, attrs);
}

// Minima (+inf, or the dtype's highest integer (2^63 - 1024 for int64), for an empty segment) of the rows of data [N, ...] grouped by segment_ids [N]: result [num_segments, ...]. Gradient shared evenly between tied rows. Ids need not be sorted.
inline ir::Value* segment_min(ir::Builder& b, ir::Value* data, ir::Value* segment_ids, int64_t num_segments, std::optional<std::string> mode = std::nullopt) {
  ir::AttrMap attrs;
  attrs["num_segments"] = num_segments;
  if (mode) attrs["mode"] = *mode;
  std::vector<ir::Value*> operands{data, segment_ids};
  return b.value("segment_min", operands, attrs);
}

// Sums of the rows of data [N, ...] grouped by segment_ids [N]: result [num_segments, ...]. Ids need not be sorted.
inline ir::Value* segment_sum(ir::Builder& b, ir::Value* data, ir::Value* segment_ids, int64_t num_segments, std::optional<std::string> mode = std::nullopt) {
  ir::AttrMap attrs;
  attrs["num_segments"] = num_segments;
  if (mode) attrs["mode"] = *mode;
  std::vector<ir::Value*> operands{data, segment_ids};
  return b.value("segment_sum", operands, attrs);
}

// x, split over the mesh as `sharding` (tessera.dist.with_sharding_constraint).
inline ir::Value* sharding_constraint(ir::Builder& b, ir::Value* x, std::string sharding) {
  ir::AttrMap attrs;
  attrs["sharding"] = sharding;
  std::vector<ir::Value*> operands{x};
  return b.value("sharding_constraint", operands, attrs);
}

// x[start:stop:step] on the leading dims, with Python's slice rules.
inline ir::Value* slice(ir::Builder& b, ir::Value* x, ir::IntList start, ir::IntList stop, ir::IntList step = ir::IntList{}) {
  ir::AttrMap attrs;
  attrs["start"] = start;
  attrs["stop"] = stop;
  attrs["step"] = step;
  std::vector<ir::Value*> operands{x};
  return b.value("slice", operands, attrs);
}

// x with the elements of x[start:stop:step] replaced by v (broadcast to that region, converted to x's dtype): the functional form of x[...] = v for basic indices.
inline ir::Value* slice_update(ir::Builder& b, ir::Value* x, ir::Value* v, ir::IntList start, ir::IntList stop, ir::IntList step = ir::IntList{}) {
  ir::AttrMap attrs;
  attrs["start"] = start;
  attrs["stop"] = stop;
  attrs["step"] = step;
  std::vector<ir::Value*> operands{x, v};
  return b.value("slice_update", operands, attrs);
}

// x sorted along `axis` (stable; NaN largest): gather(x, argsort(x)), so the gradient flows back to where each value came from.
inline ir::Value* sort(ir::Builder& b, ir::Value* x, int64_t axis = -1, bool descending = false) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["descending"] = descending;
  std::vector<ir::Value*> operands{x};
  return b.value("sort", operands, attrs);
}

// Removes size-1 axes.
inline ir::Value* squeeze(ir::Builder& b, ir::Value* x, ir::IntList axes = ir::IntList{}) {
  ir::AttrMap attrs;
  attrs["axes"] = axes;
  std::vector<ir::Value*> operands{x};
  return b.value("squeeze", operands, attrs);
}

// Joins tensors of one shape along a new axis.
inline ir::Value* stack(ir::Builder& b, const std::vector<ir::Value*>& xs, int64_t axis = 0) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  return b.value("stack", xs, attrs);
}

// x indexed along `axis` by an integer tensor: shape x[:axis] + indices + x[axis+1:] (negative indices count from the end; out-of-range ones follow `mode`, clamped by default).
inline ir::Value* take(ir::Builder& b, ir::Value* x, ir::Value* indices, int64_t axis = 0, std::optional<std::string> mode = std::nullopt, std::optional<double> fill_value = std::nullopt) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  if (mode) attrs["mode"] = *mode;
  if (fill_value) attrs["fill_value"] = *fill_value;
  std::vector<ir::Value*> operands{x, indices};
  return b.value("take", operands, attrs);
}

// x repeated as a whole `reps[i]` times along axis i (NumPy's tile: short reps apply to the last axes, long reps add leading axes).
inline ir::Value* tile(ir::Builder& b, ir::Value* x, ir::IntList reps) {
  ir::AttrMap attrs;
  attrs["reps"] = reps;
  std::vector<ir::Value*> operands{x};
  return b.value("tile", operands, attrs);
}

// Permutes the axes.
inline ir::Value* transpose(ir::Builder& b, ir::Value* x, ir::IntList perm = ir::IntList{}) {
  ir::AttrMap attrs;
  attrs["perm"] = perm;
  std::vector<ir::Value*> operands{x};
  return b.value("transpose", operands, attrs);
}

// The lower triangle of the last two dims of x (rank >= 2), as torch.tril: x[..., i, j] where j - i <= diagonal, else `value` (e.g. -inf for a causal attention mask).
inline ir::Value* tril(ir::Builder& b, ir::Value* x, int64_t diagonal = 0, double value = 0.0) {
  ir::AttrMap attrs;
  attrs["diagonal"] = diagonal;
  attrs["value"] = value;
  std::vector<ir::Value*> operands{x};
  return b.value("tril", operands, attrs);
}

// The upper triangle of the last two dims of x (rank >= 2), as torch.triu: x[..., i, j] where j - i >= diagonal, else `value`.
inline ir::Value* triu(ir::Builder& b, ir::Value* x, int64_t diagonal = 0, double value = 0.0) {
  ir::AttrMap attrs;
  attrs["diagonal"] = diagonal;
  attrs["value"] = value;
  std::vector<ir::Value*> operands{x};
  return b.value("triu", operands, attrs);
}

// Sliding windows of x [N, C, *S] as columns [N, C*prod(K), L] (L windows), as torch.nn.functional.unfold; `windows` gives the same values unflattened.
inline ir::Value* unfold(ir::Builder& b, ir::Value* x, ir::Sizes kernel_size, ir::Sizes dilation = 1, ir::Sizes padding = 0, ir::Sizes stride = 1) {
  ir::AttrMap attrs;
  attrs["kernel_size"] = kernel_size.value;
  attrs["dilation"] = dilation.value;
  attrs["padding"] = padding.value;
  attrs["stride"] = stride.value;
  std::vector<ir::Value*> operands{x};
  return b.value("unfold", operands, attrs);
}

// The distinct values of x (flattened), sorted, in a tensor of static length `size` (as jax.numpy.unique(size=)); NaNs count as one value, sorted last.
inline ir::Value* unique(ir::Builder& b, ir::Value* x, int64_t size, double fill_value = 0.0) {
  ir::AttrMap attrs;
  attrs["size"] = size;
  attrs["fill_value"] = fill_value;
  std::vector<ir::Value*> operands{x};
  return b.value("unique", operands, attrs);
}

// Sliding windows of the trailing k = len(window) dims (im2col): x [..., S1..Sk] -> [..., K1..Kk, O1..Ok], element (w, o) being x at o*stride + w*dilation - pad_lo (`value` in the padding), O = floor((S + lo + hi - dilation*(K-1) - 1) / stride) + 1.
inline ir::Value* windows(ir::Builder& b, ir::Value* x, ir::IntList window, ir::IntList stride = ir::IntList{}, ir::IntList dilation = ir::IntList{}, ir::IntList padding = ir::IntList{}, double value = 0.0) {
  ir::AttrMap attrs;
  attrs["window"] = window;
  attrs["stride"] = stride;
  attrs["dilation"] = dilation;
  attrs["padding"] = padding;
  attrs["value"] = value;
  std::vector<ir::Value*> operands{x};
  return b.value("windows", operands, attrs);
}

}  // namespace tessera::ops
