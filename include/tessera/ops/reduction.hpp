// The C++ op API, reduction ops: one function per registry op, appending it to a Builder's block.
// Generated from the op registry by `python -m tessera._opgen --write .`; do not edit.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/builder.hpp"

namespace tessera::ops {

// Mean over the windows that split each spatial dim of x [N, C, *S] into output_size parts (window o spans floor(o*S/out) .. ceil((o+1)*S/out) - 1), as torch.nn.functional.adaptive_avg_pool1d.
inline ir::Value* adaptive_avg_pool1d(ir::Builder& b, ir::Value* x, ir::Sizes output_size, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["output_size"] = output_size.value;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x};
  return b.value("adaptive_avg_pool1d", operands, attrs);
}

// Mean over the windows that split each spatial dim of x [N, C, *S] into output_size parts (window o spans floor(o*S/out) .. ceil((o+1)*S/out) - 1), as torch.nn.functional.adaptive_avg_pool2d.
inline ir::Value* adaptive_avg_pool2d(ir::Builder& b, ir::Value* x, ir::Sizes output_size, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["output_size"] = output_size.value;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x};
  return b.value("adaptive_avg_pool2d", operands, attrs);
}

// Mean over the windows that split each spatial dim of x [N, C, *S] into output_size parts (window o spans floor(o*S/out) .. ceil((o+1)*S/out) - 1), as torch.nn.functional.adaptive_avg_pool3d.
inline ir::Value* adaptive_avg_pool3d(ir::Builder& b, ir::Value* x, ir::Sizes output_size, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["output_size"] = output_size.value;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x};
  return b.value("adaptive_avg_pool3d", operands, attrs);
}

// Whether every element over `axis` (every axis when absent) is nonzero; bool result. Empty: true.
inline ir::Value* all(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt, bool keepdims = false) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  attrs["keepdims"] = keepdims;
  std::vector<ir::Value*> operands{x};
  return b.value("all", operands, attrs);
}

// Whether some element over `axis` (every axis when absent) is nonzero; bool result. Empty: false.
inline ir::Value* any(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt, bool keepdims = false) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  attrs["keepdims"] = keepdims;
  std::vector<ir::Value*> operands{x};
  return b.value("any", operands, attrs);
}

// Index (i64) of the maximum along `axis`: the first on ties; the first NaN wins, as in NumPy. Without an axis: rank-1 tensors only.
inline ir::Value* argmax(ir::Builder& b, ir::Value* x, std::optional<int64_t> axis = std::nullopt, bool keepdims = false) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = *axis;
  attrs["keepdims"] = keepdims;
  std::vector<ir::Value*> operands{x};
  return b.value("argmax", operands, attrs);
}

// Index (i64) of the minimum along `axis`: the first on ties; the first NaN wins, as in NumPy. Without an axis: rank-1 tensors only.
inline ir::Value* argmin(ir::Builder& b, ir::Value* x, std::optional<int64_t> axis = std::nullopt, bool keepdims = false) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = *axis;
  attrs["keepdims"] = keepdims;
  std::vector<ir::Value*> operands{x};
  return b.value("argmin", operands, attrs);
}

// Mean over sliding windows of x [N, C, *S], as torch.nn.functional.avg_pool1d (ceil_mode off).
inline ir::Value* avg_pool1d(ir::Builder& b, ir::Value* x, ir::Sizes kernel_size, std::optional<ir::Sizes> stride = std::nullopt, ir::Sizes padding = 0, bool count_include_pad = true, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["kernel_size"] = kernel_size.value;
  if (stride) attrs["stride"] = stride->value;
  attrs["padding"] = padding.value;
  attrs["count_include_pad"] = count_include_pad;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x};
  return b.value("avg_pool1d", operands, attrs);
}

// Mean over sliding windows of x [N, C, *S], as torch.nn.functional.avg_pool2d (ceil_mode off).
inline ir::Value* avg_pool2d(ir::Builder& b, ir::Value* x, ir::Sizes kernel_size, std::optional<ir::Sizes> stride = std::nullopt, ir::Sizes padding = 0, bool count_include_pad = true, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["kernel_size"] = kernel_size.value;
  if (stride) attrs["stride"] = stride->value;
  attrs["padding"] = padding.value;
  attrs["count_include_pad"] = count_include_pad;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x};
  return b.value("avg_pool2d", operands, attrs);
}

// Mean over sliding windows of x [N, C, *S], as torch.nn.functional.avg_pool3d (ceil_mode off).
inline ir::Value* avg_pool3d(ir::Builder& b, ir::Value* x, ir::Sizes kernel_size, std::optional<ir::Sizes> stride = std::nullopt, ir::Sizes padding = 0, bool count_include_pad = true, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["kernel_size"] = kernel_size.value;
  if (stride) attrs["stride"] = stride->value;
  attrs["padding"] = padding.value;
  attrs["count_include_pad"] = count_include_pad;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x};
  return b.value("avg_pool3d", operands, attrs);
}

// Binary cross-entropy of probabilities in [0, 1] against targets: -(y log p + (1 - y) log(1 - p)), each log clamped at -100 (PyTorch).
inline ir::Value* binary_cross_entropy(ir::Builder& b, ir::Value* probs, ir::Value* targets, std::string reduction = "mean") {
  ir::AttrMap attrs;
  attrs["reduction"] = reduction;
  std::vector<ir::Value*> operands{probs, targets};
  return b.value("binary_cross_entropy", operands, attrs);
}

// Binary cross-entropy of sigmoid(logits) against targets, computed stably from the logits: max(x, 0) - x y + log(1 + e^-|x|).
inline ir::Value* binary_cross_entropy_with_logits(ir::Builder& b, ir::Value* logits, ir::Value* targets, std::string reduction = "mean") {
  ir::AttrMap attrs;
  attrs["reduction"] = reduction;
  std::vector<ir::Value*> operands{logits, targets};
  return b.value("binary_cross_entropy_with_logits", operands, attrs);
}

// Softmax cross-entropy of logits [N, C] (float) against integer class labels [N]: -log_softmax(logits)[i, labels[i]], per row for reduction "none". With ignore_index (PyTorch's semantics), those rows are 0 and "mean" divides by the number of other rows.
inline ir::Value* cross_entropy(ir::Builder& b, ir::Value* logits, ir::Value* labels, std::string reduction = "mean", std::optional<int64_t> ignore_index = std::nullopt, std::optional<std::string> mode = std::nullopt) {
  ir::AttrMap attrs;
  attrs["reduction"] = reduction;
  if (ignore_index) attrs["ignore_index"] = *ignore_index;
  if (mode) attrs["mode"] = *mode;
  std::vector<ir::Value*> operands{logits, labels};
  return b.value("cross_entropy", operands, attrs);
}

// Kullback-Leibler divergence KL(targets || exp(log_probs)) per element: targets * (log targets - log_probs), 0 where targets = 0 (PyTorch's kl_div). reduction: "mean" (over every element), "sum", "batchmean" (the sum / the batch size, the true KL per sample) or "none".
inline ir::Value* kl_div(ir::Builder& b, ir::Value* log_probs, ir::Value* targets, std::string reduction = "mean", bool log_target = false) {
  ir::AttrMap attrs;
  attrs["reduction"] = reduction;
  attrs["log_target"] = log_target;
  std::vector<ir::Value*> operands{log_probs, targets};
  return b.value("kl_div", operands, attrs);
}

// log(sum(exp(x))) over `axis` (every axis when absent), computed stably as log(sum(exp(x - m))) + m with m the (finite) maximum. Floating-point inputs only.
inline ir::Value* logsumexp(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt, bool keepdims = false) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  attrs["keepdims"] = keepdims;
  std::vector<ir::Value*> operands{x};
  return b.value("logsumexp", operands, attrs);
}

// A norm of each matrix of x [..., m, n], as torch.linalg.matrix_norm; 16-bit floats computed in float32.
inline ir::Value* matrix_norm(ir::Builder& b, ir::Value* x, std::string ord = "fro", bool keepdims = false) {
  ir::AttrMap attrs;
  attrs["ord"] = ord;
  attrs["keepdims"] = keepdims;
  std::vector<ir::Value*> operands{x};
  return b.value("matrix_norm", operands, attrs);
}

// Maximum over `axis` (every axis when absent); NaN propagates. Empty: error.
inline ir::Value* max(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt, bool keepdims = false) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  attrs["keepdims"] = keepdims;
  std::vector<ir::Value*> operands{x};
  return b.value("max", operands, attrs);
}

// Maximum over sliding windows of x [N, C, *S], as torch.nn.functional.max_pool1d (padding counts as -inf).
inline ir::Value* max_pool1d(ir::Builder& b, ir::Value* x, ir::Sizes kernel_size, std::optional<ir::Sizes> stride = std::nullopt, ir::Sizes padding = 0, ir::Sizes dilation = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["kernel_size"] = kernel_size.value;
  if (stride) attrs["stride"] = stride->value;
  attrs["padding"] = padding.value;
  attrs["dilation"] = dilation.value;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x};
  return b.value("max_pool1d", operands, attrs);
}

// Maximum over sliding windows of x [N, C, *S], as torch.nn.functional.max_pool2d (padding counts as -inf).
inline ir::Value* max_pool2d(ir::Builder& b, ir::Value* x, ir::Sizes kernel_size, std::optional<ir::Sizes> stride = std::nullopt, ir::Sizes padding = 0, ir::Sizes dilation = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["kernel_size"] = kernel_size.value;
  if (stride) attrs["stride"] = stride->value;
  attrs["padding"] = padding.value;
  attrs["dilation"] = dilation.value;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x};
  return b.value("max_pool2d", operands, attrs);
}

// Maximum over sliding windows of x [N, C, *S], as torch.nn.functional.max_pool3d (padding counts as -inf).
inline ir::Value* max_pool3d(ir::Builder& b, ir::Value* x, ir::Sizes kernel_size, std::optional<ir::Sizes> stride = std::nullopt, ir::Sizes padding = 0, ir::Sizes dilation = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["kernel_size"] = kernel_size.value;
  if (stride) attrs["stride"] = stride->value;
  attrs["padding"] = padding.value;
  attrs["dilation"] = dilation.value;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x};
  return b.value("max_pool3d", operands, attrs);
}

// Arithmetic mean over `axis` (every axis when absent): sum times 1/n. Integer and bool inputs give f64, as in NumPy; an empty reduction gives NaN.
inline ir::Value* mean(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt, bool keepdims = false) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  attrs["keepdims"] = keepdims;
  std::vector<ir::Value*> operands{x};
  return b.value("mean", operands, attrs);
}

// Minimum over `axis` (every axis when absent); NaN propagates. Empty: error.
inline ir::Value* min(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt, bool keepdims = false) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  attrs["keepdims"] = keepdims;
  std::vector<ir::Value*> operands{x};
  return b.value("min", operands, attrs);
}

// Squared error (x - y)^2 (NumPy-broadcast), averaged, summed or kept per element.
inline ir::Value* mse(ir::Builder& b, ir::Value* x, ir::Value* y, std::string reduction = "mean") {
  ir::AttrMap attrs;
  attrs["reduction"] = reduction;
  std::vector<ir::Value*> operands{x, y};
  return b.value("mse", operands, attrs);
}

// Negative log-likelihood of log-probabilities [N, C] (float) against integer class labels [N]: -log_probs[i, labels[i]], per row for reduction "none". With ignore_index (PyTorch's semantics), those rows are 0 and "mean" divides by the number of other rows.
inline ir::Value* nll_loss(ir::Builder& b, ir::Value* log_probs, ir::Value* labels, std::string reduction = "mean", std::optional<int64_t> ignore_index = std::nullopt, std::optional<std::string> mode = std::nullopt) {
  ir::AttrMap attrs;
  attrs["reduction"] = reduction;
  if (ignore_index) attrs["ignore_index"] = *ignore_index;
  if (mode) attrs["mode"] = *mode;
  std::vector<ir::Value*> operands{log_probs, labels};
  return b.value("nll_loss", operands, attrs);
}

// Product over `axis` (every axis when absent). Integer and bool inputs give i64, as in NumPy; f16/bf16 accumulate in f32. Empty reductions give 1.
inline ir::Value* prod(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt, bool keepdims = false, std::optional<std::string> dtype = std::nullopt) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  attrs["keepdims"] = keepdims;
  if (dtype) attrs["dtype"] = *dtype;
  std::vector<ir::Value*> operands{x};
  return b.value("prod", operands, attrs);
}

// Standard deviation over `axis` (every axis when absent): sqrt(var(x)). Floating-point inputs only.
inline ir::Value* std(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt, bool keepdims = false, double correction = 0.0) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  attrs["keepdims"] = keepdims;
  attrs["correction"] = correction;
  std::vector<ir::Value*> operands{x};
  return b.value("std", operands, attrs);
}

// Sum over `axis` (every axis when absent). Integer and bool inputs give i64, as in NumPy; f16/bf16 accumulate in f32. Empty reductions give 0.
inline ir::Value* sum(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt, bool keepdims = false, std::optional<std::string> dtype = std::nullopt) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  attrs["keepdims"] = keepdims;
  if (dtype) attrs["dtype"] = *dtype;
  std::vector<ir::Value*> operands{x};
  return b.value("sum", operands, attrs);
}

// Variance over `axis` (every axis when absent), two-pass: sum((x - mean)^2) / (n - correction), in a fixed order (deterministic). Floating-point inputs only.
inline ir::Value* var(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt, bool keepdims = false, double correction = 0.0) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  attrs["keepdims"] = keepdims;
  attrs["correction"] = correction;
  std::vector<ir::Value*> operands{x};
  return b.value("var", operands, attrs);
}

// The p-norm of x over `axis` (every axis by default), (sum |x|^p)^(1/p), as torch.linalg.vector_norm; 16-bit floats computed in float32. Its gradient at 0 is not finite for p > 0 (as JAX's).
inline ir::Value* vector_norm(ir::Builder& b, ir::Value* x, double ord = 2.0, std::optional<ir::Axes> axis = std::nullopt, bool keepdims = false) {
  ir::AttrMap attrs;
  attrs["ord"] = ord;
  if (axis) attrs["axis"] = axis->value;
  attrs["keepdims"] = keepdims;
  std::vector<ir::Value*> operands{x};
  return b.value("vector_norm", operands, attrs);
}

}  // namespace tessera::ops
