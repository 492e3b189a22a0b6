// The C++ op API, reduction ops: one function per registry op, appending it to its operands' function (tessera/function.hpp).
// Generated from the op registry by `python -m tessera._opgen --write .`; do not edit.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "tessera/function.hpp"

namespace tessera::ops {

// Mean over the windows that split each spatial dim of x [N, C, *S] into output_size parts (window o spans floor(o*S/out) .. ceil((o+1)*S/out) - 1), as torch.nn.functional.adaptive_avg_pool1d.
inline Value adaptive_avg_pool1d(const Value& x, const Sizes& output_size, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("output_size", output_size);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x};
  return detail::apply("adaptive_avg_pool1d", operands, attrs.text())[0];
}

// Mean over the windows that split each spatial dim of x [N, C, *S] into output_size parts (window o spans floor(o*S/out) .. ceil((o+1)*S/out) - 1), as torch.nn.functional.adaptive_avg_pool2d.
inline Value adaptive_avg_pool2d(const Value& x, const Sizes& output_size, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("output_size", output_size);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x};
  return detail::apply("adaptive_avg_pool2d", operands, attrs.text())[0];
}

// Mean over the windows that split each spatial dim of x [N, C, *S] into output_size parts (window o spans floor(o*S/out) .. ceil((o+1)*S/out) - 1), as torch.nn.functional.adaptive_avg_pool3d.
inline Value adaptive_avg_pool3d(const Value& x, const Sizes& output_size, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("output_size", output_size);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x};
  return detail::apply("adaptive_avg_pool3d", operands, attrs.text())[0];
}

// Whether every element over `axis` (every axis when absent) is nonzero; bool result. Empty: true.
inline Value all(const Value& x, const Axes& axis = {}, const bool& keepdims = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("keepdims", keepdims);
  std::vector<Value> operands{x};
  return detail::apply("all", operands, attrs.text())[0];
}

// Whether some element over `axis` (every axis when absent) is nonzero; bool result. Empty: false.
inline Value any(const Value& x, const Axes& axis = {}, const bool& keepdims = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("keepdims", keepdims);
  std::vector<Value> operands{x};
  return detail::apply("any", operands, attrs.text())[0];
}

// Index (i64) of the maximum along `axis`: the first on ties; the first NaN wins, as in NumPy. Without an axis: rank-1 tensors only.
inline Value argmax(const Value& x, const std::optional<int64_t>& axis = std::nullopt, const bool& keepdims = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("keepdims", keepdims);
  std::vector<Value> operands{x};
  return detail::apply("argmax", operands, attrs.text())[0];
}

// Index (i64) of the minimum along `axis`: the first on ties; the first NaN wins, as in NumPy. Without an axis: rank-1 tensors only.
inline Value argmin(const Value& x, const std::optional<int64_t>& axis = std::nullopt, const bool& keepdims = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("keepdims", keepdims);
  std::vector<Value> operands{x};
  return detail::apply("argmin", operands, attrs.text())[0];
}

// Mean over sliding windows of x [N, C, *S], as torch.nn.functional.avg_pool1d (ceil_mode off).
inline Value avg_pool1d(const Value& x, const Sizes& kernel_size, const Sizes& stride = {}, const Sizes& padding = 0, const bool& count_include_pad = true, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("kernel_size", kernel_size);
  attrs.add("stride", stride);
  attrs.add("padding", padding);
  attrs.add("count_include_pad", count_include_pad);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x};
  return detail::apply("avg_pool1d", operands, attrs.text())[0];
}

// Mean over sliding windows of x [N, C, *S], as torch.nn.functional.avg_pool2d (ceil_mode off).
inline Value avg_pool2d(const Value& x, const Sizes& kernel_size, const Sizes& stride = {}, const Sizes& padding = 0, const bool& count_include_pad = true, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("kernel_size", kernel_size);
  attrs.add("stride", stride);
  attrs.add("padding", padding);
  attrs.add("count_include_pad", count_include_pad);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x};
  return detail::apply("avg_pool2d", operands, attrs.text())[0];
}

// Mean over sliding windows of x [N, C, *S], as torch.nn.functional.avg_pool3d (ceil_mode off).
inline Value avg_pool3d(const Value& x, const Sizes& kernel_size, const Sizes& stride = {}, const Sizes& padding = 0, const bool& count_include_pad = true, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("kernel_size", kernel_size);
  attrs.add("stride", stride);
  attrs.add("padding", padding);
  attrs.add("count_include_pad", count_include_pad);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x};
  return detail::apply("avg_pool3d", operands, attrs.text())[0];
}

// Binary cross-entropy of probabilities in [0, 1] against targets: -(y log p + (1 - y) log(1 - p)), each log clamped at -100 (PyTorch).
inline Value binary_cross_entropy(const Value& probs, const Value& targets, const std::string& reduction = "mean") {
  detail::Attrs attrs;
  attrs.add("reduction", reduction);
  std::vector<Value> operands{probs, targets};
  return detail::apply("binary_cross_entropy", operands, attrs.text())[0];
}

// Binary cross-entropy of sigmoid(logits) against targets, computed stably from the logits: max(x, 0) - x y + log(1 + e^-|x|).
inline Value binary_cross_entropy_with_logits(const Value& logits, const Value& targets, const std::string& reduction = "mean") {
  detail::Attrs attrs;
  attrs.add("reduction", reduction);
  std::vector<Value> operands{logits, targets};
  return detail::apply("binary_cross_entropy_with_logits", operands, attrs.text())[0];
}

// Softmax cross-entropy of logits [N, C] (float) against integer class labels [N]: -log_softmax(logits)[i, labels[i]], per row for reduction "none". With ignore_index (PyTorch's semantics), those rows are 0 and "mean" divides by the number of other rows.
inline Value cross_entropy(const Value& logits, const Value& labels, const std::string& reduction = "mean", const std::optional<int64_t>& ignore_index = std::nullopt, const std::optional<std::string>& mode = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("reduction", reduction);
  attrs.add("ignore_index", ignore_index);
  attrs.add("mode", mode);
  std::vector<Value> operands{logits, labels};
  return detail::apply("cross_entropy", operands, attrs.text())[0];
}

// Kullback-Leibler divergence KL(targets || exp(log_probs)) per element: targets * (log targets - log_probs), 0 where targets = 0 (PyTorch's kl_div). reduction: "mean" (over every element), "sum", "batchmean" (the sum / the batch size, the true KL per sample) or "none".
inline Value kl_div(const Value& log_probs, const Value& targets, const std::string& reduction = "mean", const bool& log_target = false) {
  detail::Attrs attrs;
  attrs.add("reduction", reduction);
  attrs.add("log_target", log_target);
  std::vector<Value> operands{log_probs, targets};
  return detail::apply("kl_div", operands, attrs.text())[0];
}

// log(sum(exp(x))) over `axis` (every axis when absent), computed stably as log(sum(exp(x - m))) + m with m the (finite) maximum. Floating-point inputs only.
inline Value logsumexp(const Value& x, const Axes& axis = {}, const bool& keepdims = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("keepdims", keepdims);
  std::vector<Value> operands{x};
  return detail::apply("logsumexp", operands, attrs.text())[0];
}

// A norm of each matrix of x [..., m, n], as torch.linalg.matrix_norm; 16-bit floats computed in float32.
inline Value matrix_norm(const Value& x, const std::string& ord = "fro", const bool& keepdims = false) {
  detail::Attrs attrs;
  attrs.add("ord", ord);
  attrs.add("keepdims", keepdims);
  std::vector<Value> operands{x};
  return detail::apply("matrix_norm", operands, attrs.text())[0];
}

// Maximum over `axis` (every axis when absent); NaN propagates. Empty: error.
inline Value max(const Value& x, const Axes& axis = {}, const bool& keepdims = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("keepdims", keepdims);
  std::vector<Value> operands{x};
  return detail::apply("max", operands, attrs.text())[0];
}

// Maximum over sliding windows of x [N, C, *S], as torch.nn.functional.max_pool1d (padding counts as -inf).
inline Value max_pool1d(const Value& x, const Sizes& kernel_size, const Sizes& stride = {}, const Sizes& padding = 0, const Sizes& dilation = 1, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("kernel_size", kernel_size);
  attrs.add("stride", stride);
  attrs.add("padding", padding);
  attrs.add("dilation", dilation);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x};
  return detail::apply("max_pool1d", operands, attrs.text())[0];
}

// Maximum over sliding windows of x [N, C, *S], as torch.nn.functional.max_pool2d (padding counts as -inf).
inline Value max_pool2d(const Value& x, const Sizes& kernel_size, const Sizes& stride = {}, const Sizes& padding = 0, const Sizes& dilation = 1, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("kernel_size", kernel_size);
  attrs.add("stride", stride);
  attrs.add("padding", padding);
  attrs.add("dilation", dilation);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x};
  return detail::apply("max_pool2d", operands, attrs.text())[0];
}

// Maximum over sliding windows of x [N, C, *S], as torch.nn.functional.max_pool3d (padding counts as -inf).
inline Value max_pool3d(const Value& x, const Sizes& kernel_size, const Sizes& stride = {}, const Sizes& padding = 0, const Sizes& dilation = 1, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("kernel_size", kernel_size);
  attrs.add("stride", stride);
  attrs.add("padding", padding);
  attrs.add("dilation", dilation);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x};
  return detail::apply("max_pool3d", operands, attrs.text())[0];
}

// Arithmetic mean over `axis` (every axis when absent): sum times 1/n. Integer and bool inputs give f64, as in NumPy; an empty reduction gives NaN.
inline Value mean(const Value& x, const Axes& axis = {}, const bool& keepdims = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("keepdims", keepdims);
  std::vector<Value> operands{x};
  return detail::apply("mean", operands, attrs.text())[0];
}

// Minimum over `axis` (every axis when absent); NaN propagates. Empty: error.
inline Value min(const Value& x, const Axes& axis = {}, const bool& keepdims = false) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("keepdims", keepdims);
  std::vector<Value> operands{x};
  return detail::apply("min", operands, attrs.text())[0];
}

// Squared error (x - y)^2 (NumPy-broadcast), averaged, summed or kept per element.
inline Value mse(const Value& x, const Value& y, const std::string& reduction = "mean") {
  detail::Attrs attrs;
  attrs.add("reduction", reduction);
  std::vector<Value> operands{x, y};
  return detail::apply("mse", operands, attrs.text())[0];
}

// Negative log-likelihood of log-probabilities [N, C] (float) against integer class labels [N]: -log_probs[i, labels[i]], per row for reduction "none". With ignore_index (PyTorch's semantics), those rows are 0 and "mean" divides by the number of other rows.
inline Value nll_loss(const Value& log_probs, const Value& labels, const std::string& reduction = "mean", const std::optional<int64_t>& ignore_index = std::nullopt, const std::optional<std::string>& mode = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("reduction", reduction);
  attrs.add("ignore_index", ignore_index);
  attrs.add("mode", mode);
  std::vector<Value> operands{log_probs, labels};
  return detail::apply("nll_loss", operands, attrs.text())[0];
}

// Product over `axis` (every axis when absent). Integer and bool inputs give i64, as in NumPy; f16/bf16 accumulate in f32. Empty reductions give 1.
inline Value prod(const Value& x, const Axes& axis = {}, const bool& keepdims = false, const std::optional<std::string>& dtype = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("keepdims", keepdims);
  attrs.add("dtype", dtype);
  std::vector<Value> operands{x};
  return detail::apply("prod", operands, attrs.text())[0];
}

// Standard deviation over `axis` (every axis when absent): sqrt(var(x)). Floating-point inputs only.
inline Value std(const Value& x, const Axes& axis = {}, const bool& keepdims = false, const double& correction = 0.0) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("keepdims", keepdims);
  attrs.add("correction", correction);
  std::vector<Value> operands{x};
  return detail::apply("std", operands, attrs.text())[0];
}

// Sum over `axis` (every axis when absent). Integer and bool inputs give i64, as in NumPy; f16/bf16 accumulate in f32. Empty reductions give 0.
inline Value sum(const Value& x, const Axes& axis = {}, const bool& keepdims = false, const std::optional<std::string>& dtype = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("keepdims", keepdims);
  attrs.add("dtype", dtype);
  std::vector<Value> operands{x};
  return detail::apply("sum", operands, attrs.text())[0];
}

// Variance over `axis` (every axis when absent), two-pass: sum((x - mean)^2) / (n - correction), in a fixed order (deterministic). Floating-point inputs only.
inline Value var(const Value& x, const Axes& axis = {}, const bool& keepdims = false, const double& correction = 0.0) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("keepdims", keepdims);
  attrs.add("correction", correction);
  std::vector<Value> operands{x};
  return detail::apply("var", operands, attrs.text())[0];
}

// The p-norm of x over `axis` (every axis by default), (sum |x|^p)^(1/p), as torch.linalg.vector_norm; 16-bit floats computed in float32. Its gradient at 0 is not finite for p > 0 (as JAX's).
inline Value vector_norm(const Value& x, const double& ord = 2.0, const Axes& axis = {}, const bool& keepdims = false) {
  detail::Attrs attrs;
  attrs.add("ord", ord);
  attrs.add("axis", axis);
  attrs.add("keepdims", keepdims);
  std::vector<Value> operands{x};
  return detail::apply("vector_norm", operands, attrs.text())[0];
}

}  // namespace tessera::ops
