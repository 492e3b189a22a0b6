// The C++ op API, data_movement ops: one function per registry op, appending it to its operands' function (tessera/function.hpp).
// Generated from the op registry by `python -m tessera._opgen --write .`; do not edit.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "tessera/function.hpp"

namespace tessera::ops {

// Indices (i64) that sort x along `axis`, stable: equal values keep their order; NaN sorts as the largest value. O(n log^2 n) per row (a bitonic network).
inline Value argsort(const Value& x, const int64_t& axis = -1, const bool& descending = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("descending", descending);
  std::vector<Value> operands{x};
  return detail::apply("argsort", operands, attrs.text())[0];
}

// Repeats size-1 and missing leading dims to a larger shape (NumPy broadcasting).
inline Value broadcast_to(const Value& x, const std::vector<int64_t>& shape) {
  detail::Attrs attrs;
  attrs.add("shape", shape);
  std::vector<Value> operands{x};
  return detail::apply("broadcast_to", operands, attrs.text())[0];
}

// Joins tensors along an existing axis.
inline Value concat(const std::vector<Value>& xs, const int64_t& axis = 0) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  return detail::apply("concat", xs, attrs.text())[0];
}

// Index (i64) of the running maximum (its first occurrence; a NaN wins, as in argmax) along `axis`: element i combines elements 0..i (reverse: i..n-1).
inline Value cumargmax(const Value& x, const int64_t& axis, const bool& reverse = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("reverse", reverse);
  std::vector<Value> operands{x};
  return detail::apply("cumargmax", operands, attrs.text())[0];
}

// Index (i64) of the running minimum (its first occurrence; a NaN wins, as in argmin) along `axis`: element i combines elements 0..i (reverse: i..n-1).
inline Value cumargmin(const Value& x, const int64_t& axis, const bool& reverse = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("reverse", reverse);
  std::vector<Value> operands{x};
  return detail::apply("cumargmin", operands, attrs.text())[0];
}

// Running maximum (NaN propagates) along `axis`: element i combines elements 0..i (reverse: i..n-1).
inline Value cummax(const Value& x, const int64_t& axis, const bool& reverse = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("reverse", reverse);
  std::vector<Value> operands{x};
  return detail::apply("cummax", operands, attrs.text())[0];
}

// Running minimum (NaN propagates) along `axis`: element i combines elements 0..i (reverse: i..n-1).
inline Value cummin(const Value& x, const int64_t& axis, const bool& reverse = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("reverse", reverse);
  std::vector<Value> operands{x};
  return detail::apply("cummin", operands, attrs.text())[0];
}

// Running product along `axis`: element i combines elements 0..i (reverse: i..n-1).
inline Value cumprod(const Value& x, const int64_t& axis, const bool& reverse = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("reverse", reverse);
  std::vector<Value> operands{x};
  return detail::apply("cumprod", operands, attrs.text())[0];
}

// Running sum along `axis`: element i combines elements 0..i (reverse: i..n-1).
inline Value cumsum(const Value& x, const int64_t& axis, const bool& reverse = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("reverse", reverse);
  std::vector<Value> operands{x};
  return detail::apply("cumsum", operands, attrs.text())[0];
}

// Rows of weight [V, ...] picked by integer indices: take(weight, indices, axis=0), shape indices.shape + weight.shape[1:] (gradient w.r.t. weight via take's VJP).
inline Value embedding(const Value& indices, const Value& weight, const std::optional<std::string>& mode = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("mode", mode);
  std::vector<Value> operands{indices, weight};
  return detail::apply("embedding", operands, attrs.text())[0];
}

// Inserts a size-1 axis.
inline Value expand_dims(const Value& x, const int64_t& axis) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  std::vector<Value> operands{x};
  return detail::apply("expand_dims", operands, attrs.text())[0];
}

// x with the order of elements reversed along `axis` (every axis when absent).
inline Value flip(const Value& x, const Axes& axis = {}) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  std::vector<Value> operands{x};
  return detail::apply("flip", operands, attrs.text())[0];
}

// Columns x [N, C*prod(K), L] added back into [N, C, *output_size] where unfold took them (overlapping elements sum), as torch.nn.functional.fold.
inline Value fold(const Value& x, const Sizes& output_size, const Sizes& kernel_size, const Sizes& dilation = 1, const Sizes& padding = 0, const Sizes& stride = 1) {
  detail::Attrs attrs;
  attrs.add("output_size", output_size);
  attrs.add("kernel_size", kernel_size);
  attrs.add("dilation", dilation);
  attrs.add("padding", padding);
  attrs.add("stride", stride);
  std::vector<Value> operands{x};
  return detail::apply("fold", operands, attrs.text())[0];
}

// out[i][j] = x[indices[i][j]][j] for axis 0 (torch.gather); shape of indices.
inline Value gather(const Value& x, const Value& indices, const int64_t& axis, const std::optional<std::string>& mode = std::nullopt, const std::optional<double>& fill_value = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("mode", mode);
  attrs.add("fill_value", fill_value);
  std::vector<Value> operands{x, indices};
  return detail::apply("gather", operands, attrs.text())[0];
}

// Expert outputs y [E, C, D] brought back to the tokens: [T, D], the sum over each token's K slots (as moe_dispatch assigned them for expert_ids [T, K]) weighted by weights [T, K]; a dropped slot adds nothing.
inline Value moe_combine(const Value& y, const Value& expert_ids, const Value& weights, const int64_t& capacity) {
  detail::Attrs attrs;
  attrs.add("capacity", capacity);
  std::vector<Value> operands{y, expert_ids, weights};
  return detail::apply("moe_combine", operands, attrs.text())[0];
}

// Tokens x [T, D] sent to their experts: [E, C, D], each token's row in the next free slot of each expert in expert_ids [T, K] (token order); tokens past an expert's capacity C are dropped there, unused slots are zero.
inline Value moe_dispatch(const Value& x, const Value& expert_ids, const int64_t& num_experts, const int64_t& capacity) {
  detail::Attrs attrs;
  attrs.add("num_experts", num_experts);
  attrs.add("capacity", capacity);
  std::vector<Value> operands{x, expert_ids};
  return detail::apply("moe_dispatch", operands, attrs.text())[0];
}

// A new last axis with 1 at each index and 0 elsewhere (out-of-range indices give zeros).
inline Value one_hot(const Value& indices, const int64_t& num_classes, const std::string& dtype = "i64") {
  detail::Attrs attrs;
  attrs.add("num_classes", num_classes);
  attrs.add("dtype", dtype);
  std::vector<Value> operands{indices};
  return detail::apply("one_hot", operands, attrs.text())[0];
}

// The adjoint of windows (col2im): x [..., K1..Kk, O1..Ok] -> [..., S1..Sk] with k = len(size), each window element added at the position windows reads it from (elements in the padding are dropped).
inline Value overlap_add(const Value& x, const std::vector<int64_t>& size, const std::vector<int64_t>& stride = std::vector<int64_t>{}, const std::vector<int64_t>& dilation = std::vector<int64_t>{}, const std::vector<int64_t>& padding = std::vector<int64_t>{}) {
  detail::Attrs attrs;
  attrs.add("size", size);
  attrs.add("stride", stride);
  attrs.add("dilation", dilation);
  attrs.add("padding", padding);
  std::vector<Value> operands{x};
  return detail::apply("overlap_add", operands, attrs.text())[0];
}

// Surrounds x with a constant.
inline Value pad(const Value& x, const std::vector<int64_t>& pad, const double& value = 0.0) {
  detail::Attrs attrs;
  attrs.add("pad", pad);
  attrs.add("value", value);
  std::vector<Value> operands{x};
  return detail::apply("pad", operands, attrs.text())[0];
}

// Each element of x repeated `repeats` times in a row along `axis` (NumPy's repeat).
inline Value repeat(const Value& x, const int64_t& repeats, const std::optional<int64_t>& axis = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("repeats", repeats);
  attrs.add("axis", axis);
  std::vector<Value> operands{x};
  return detail::apply("repeat", operands, attrs.text())[0];
}

// The elements in row-major order, viewed with a new shape of the same size.
inline Value reshape(const Value& x, const std::vector<int64_t>& shape) {
  detail::Attrs attrs;
  attrs.add("shape", shape);
  std::vector<Value> operands{x};
  return detail::apply("reshape", operands, attrs.text())[0];
}

// x with elements shifted along `axis` cyclically (NumPy's roll): element i goes to (i + shift) mod n.
inline Value roll(const Value& x, const std::vector<int64_t>& shift, const Axes& axis = {}) {
  detail::Attrs attrs;
  attrs.add("shift", shift);
  attrs.add("axis", axis);
  std::vector<Value> operands{x};
  return detail::apply("roll", operands, attrs.text())[0];
}

// A copy of x with out[indices[i][j]][j] = src[i][j] for axis 0 (torch.scatter), or combined with it by `reduce`; updates apply in order, so with "set" the last one wins.
inline Value scatter(const Value& x, const Value& indices, const Value& src, const int64_t& axis, const std::string& reduce = "set", const std::optional<std::string>& mode = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("reduce", reduce);
  attrs.add("mode", mode);
  std::vector<Value> operands{x, indices, src};
  return detail::apply("scatter", operands, attrs.text())[0];
}

// A copy of x with out[indices[i][j]][j] += src[i][j] for axis 0 (torch.scatter_add).
inline Value scatter_add(const Value& x, const Value& indices, const Value& src, const int64_t& axis, const std::optional<std::string>& mode = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("mode", mode);
  std::vector<Value> operands{x, indices, src};
  return detail::apply("scatter_add", operands, attrs.text())[0];
}

// Insertion points (i64) of values into sorted_sequence along its last axis, as numpy.searchsorted (NaN sorts last): sorted_sequence [M] with values of any shape, or [..., M] with values [..., V] (the same leading dims). A binary search: ceil(log2(M + 1)) gathers per value.
inline Value searchsorted(const Value& sorted_sequence, const Value& values, const std::string& side = "left") {
  detail::Attrs attrs;
  attrs.add("side", side);
  std::vector<Value> operands{sorted_sequence, values};
  return detail::apply("searchsorted", operands, attrs.text())[0];
}

// Maxima (-inf, or the dtype's lowest integer, for an empty segment) of the rows of data [N, ...] grouped by segment_ids [N]: result [num_segments, ...]. Gradient shared evenly between tied rows. Ids need not be sorted.
inline Value segment_max(const Value& data, const Value& segment_ids, const int64_t& num_segments, const std::optional<std::string>& mode = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("num_segments", num_segments);
  attrs.add("mode", mode);
  std::vector<Value> operands{data, segment_ids};
  return detail::apply("segment_max", operands, attrs.text())[0];
}

// Means (0 for an empty segment) of the rows of data [N, ...] grouped by segment_ids [N]: result [num_segments, ...]. Ids need not be sorted.
inline Value segment_mean(const Value& data, const Value& segment_ids, const int64_t& num_segments, const std::optional<std::string>& mode = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("num_segments", num_segments);
  attrs.add("mode", mode);
  std::vector<Value> operands{data, segment_ids};
  return detail::apply("segment_mean", operands, attrs.text())[0];
}

// Minima (+inf, or the dtype's highest integer (2^63 - 1024 for int64), for an empty segment) of the rows of data [N, ...] grouped by segment_ids [N]: result [num_segments, ...]. Gradient shared evenly between tied rows. Ids need not be sorted.
inline Value segment_min(const Value& data, const Value& segment_ids, const int64_t& num_segments, const std::optional<std::string>& mode = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("num_segments", num_segments);
  attrs.add("mode", mode);
  std::vector<Value> operands{data, segment_ids};
  return detail::apply("segment_min", operands, attrs.text())[0];
}

// Sums of the rows of data [N, ...] grouped by segment_ids [N]: result [num_segments, ...]. Ids need not be sorted.
inline Value segment_sum(const Value& data, const Value& segment_ids, const int64_t& num_segments, const std::optional<std::string>& mode = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("num_segments", num_segments);
  attrs.add("mode", mode);
  std::vector<Value> operands{data, segment_ids};
  return detail::apply("segment_sum", operands, attrs.text())[0];
}

// x, split over the mesh as `sharding` (tessera.dist.with_sharding_constraint).
inline Value sharding_constraint(const Value& x, const std::string& sharding) {
  detail::Attrs attrs;
  attrs.add("sharding", sharding);
  std::vector<Value> operands{x};
  return detail::apply("sharding_constraint", operands, attrs.text())[0];
}

// x[start:stop:step] on the leading dims, with Python's slice rules.
inline Value slice(const Value& x, const std::vector<int64_t>& start, const std::vector<int64_t>& stop, const std::vector<int64_t>& step = std::vector<int64_t>{}) {
  detail::Attrs attrs;
  attrs.add("start", start);
  attrs.add("stop", stop);
  attrs.add("step", step);
  std::vector<Value> operands{x};
  return detail::apply("slice", operands, attrs.text())[0];
}

// x with the elements of x[start:stop:step] replaced by v (broadcast to that region, converted to x's dtype): the functional form of x[...] = v for basic indices.
inline Value slice_update(const Value& x, const Value& v, const std::vector<int64_t>& start, const std::vector<int64_t>& stop, const std::vector<int64_t>& step = std::vector<int64_t>{}) {
  detail::Attrs attrs;
  attrs.add("start", start);
  attrs.add("stop", stop);
  attrs.add("step", step);
  std::vector<Value> operands{x, v};
  return detail::apply("slice_update", operands, attrs.text())[0];
}

// x sorted along `axis` (stable; NaN largest): gather(x, argsort(x)), so the gradient flows back to where each value came from.
inline Value sort(const Value& x, const int64_t& axis = -1, const bool& descending = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("descending", descending);
  std::vector<Value> operands{x};
  return detail::apply("sort", operands, attrs.text())[0];
}

// Removes size-1 axes.
inline Value squeeze(const Value& x, const std::vector<int64_t>& axes = std::vector<int64_t>{}) {
  detail::Attrs attrs;
  attrs.add("axes", axes);
  std::vector<Value> operands{x};
  return detail::apply("squeeze", operands, attrs.text())[0];
}

// Joins tensors of one shape along a new axis.
inline Value stack(const std::vector<Value>& xs, const int64_t& axis = 0) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  return detail::apply("stack", xs, attrs.text())[0];
}

// x indexed along `axis` by an integer tensor: shape x[:axis] + indices + x[axis+1:] (negative indices count from the end; out-of-range ones follow `mode`, clamped by default).
inline Value take(const Value& x, const Value& indices, const int64_t& axis = 0, const std::optional<std::string>& mode = std::nullopt, const std::optional<double>& fill_value = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("mode", mode);
  attrs.add("fill_value", fill_value);
  std::vector<Value> operands{x, indices};
  return detail::apply("take", operands, attrs.text())[0];
}

// x repeated as a whole `reps[i]` times along axis i (NumPy's tile: short reps apply to the last axes, long reps add leading axes).
inline Value tile(const Value& x, const std::vector<int64_t>& reps) {
  detail::Attrs attrs;
  attrs.add("reps", reps);
  std::vector<Value> operands{x};
  return detail::apply("tile", operands, attrs.text())[0];
}

// Permutes the axes.
inline Value transpose(const Value& x, const std::vector<int64_t>& perm = std::vector<int64_t>{}) {
  detail::Attrs attrs;
  attrs.add("perm", perm);
  std::vector<Value> operands{x};
  return detail::apply("transpose", operands, attrs.text())[0];
}

// The lower triangle of the last two dims of x (rank >= 2), as torch.tril: x[..., i, j] where j - i <= diagonal, else `value` (e.g. -inf for a causal attention mask).
inline Value tril(const Value& x, const int64_t& diagonal = 0, const double& value = 0.0) {
  detail::Attrs attrs;
  attrs.add("diagonal", diagonal);
  attrs.add("value", value);
  std::vector<Value> operands{x};
  return detail::apply("tril", operands, attrs.text())[0];
}

// The upper triangle of the last two dims of x (rank >= 2), as torch.triu: x[..., i, j] where j - i >= diagonal, else `value`.
inline Value triu(const Value& x, const int64_t& diagonal = 0, const double& value = 0.0) {
  detail::Attrs attrs;
  attrs.add("diagonal", diagonal);
  attrs.add("value", value);
  std::vector<Value> operands{x};
  return detail::apply("triu", operands, attrs.text())[0];
}

// Sliding windows of x [N, C, *S] as columns [N, C*prod(K), L] (L windows), as torch.nn.functional.unfold; `windows` gives the same values unflattened.
inline Value unfold(const Value& x, const Sizes& kernel_size, const Sizes& dilation = 1, const Sizes& padding = 0, const Sizes& stride = 1) {
  detail::Attrs attrs;
  attrs.add("kernel_size", kernel_size);
  attrs.add("dilation", dilation);
  attrs.add("padding", padding);
  attrs.add("stride", stride);
  std::vector<Value> operands{x};
  return detail::apply("unfold", operands, attrs.text())[0];
}

// The distinct values of x (flattened), sorted, in a tensor of static length `size` (as jax.numpy.unique(size=)); NaNs count as one value, sorted last.
inline Value unique(const Value& x, const int64_t& size, const double& fill_value = 0.0) {
  detail::Attrs attrs;
  attrs.add("size", size);
  attrs.add("fill_value", fill_value);
  std::vector<Value> operands{x};
  return detail::apply("unique", operands, attrs.text())[0];
}

// Sliding windows of the trailing k = len(window) dims (im2col): x [..., S1..Sk] -> [..., K1..Kk, O1..Ok], element (w, o) being x at o*stride + w*dilation - pad_lo (`value` in the padding), O = floor((S + lo + hi - dilation*(K-1) - 1) / stride) + 1.
inline Value windows(const Value& x, const std::vector<int64_t>& window, const std::vector<int64_t>& stride = std::vector<int64_t>{}, const std::vector<int64_t>& dilation = std::vector<int64_t>{}, const std::vector<int64_t>& padding = std::vector<int64_t>{}, const double& value = 0.0) {
  detail::Attrs attrs;
  attrs.add("window", window);
  attrs.add("stride", stride);
  attrs.add("dilation", dilation);
  attrs.add("padding", padding);
  attrs.add("value", value);
  std::vector<Value> operands{x};
  return detail::apply("windows", operands, attrs.text())[0];
}

}  // namespace tessera::ops
