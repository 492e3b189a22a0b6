// The C++ op API: one function per registry op, appending the op to a Builder's block.
// Generated from the op registry by `python -m tessera._opgen --write .`; do not edit.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/builder.hpp"

namespace tessera::ops {

// Elementwise |x| (integers wrap: abs(INT_MIN) = INT_MIN).
inline ir::Value* abs(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("abs", operands, attrs);
}

// Elementwise arccosine (radians, in [0, pi]; NaN outside [-1, 1]).
inline ir::Value* acos(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("acos", operands, attrs);
}

// Elementwise inverse hyperbolic cosine (NaN below 1).
inline ir::Value* acosh(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("acosh", operands, attrs);
}

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

// Elementwise x + y with NumPy broadcasting.
inline ir::Value* add(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("add", operands, attrs);
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

// Indices (i64) that sort x along `axis`, stable: equal values keep their order; NaN sorts as the largest value. O(n log^2 n) per row (a bitonic network); CPU only for now.
inline ir::Value* argsort(ir::Builder& b, ir::Value* x, int64_t axis = -1, bool descending = false) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["descending"] = descending;
  std::vector<ir::Value*> operands{x};
  return b.value("argsort", operands, attrs);
}

// Elementwise arcsine (radians; NaN outside [-1, 1]).
inline ir::Value* asin(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("asin", operands, attrs);
}

// Elementwise inverse hyperbolic sine.
inline ir::Value* asinh(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("asinh", operands, attrs);
}

// Elementwise arctangent (radians, in [-pi/2, pi/2]).
inline ir::Value* atan(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("atan", operands, attrs);
}

// Elementwise arctangent of y/x in the quadrant of (x, y), in [-pi, pi], with C99's special values.
inline ir::Value* atan2(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("atan2", operands, attrs);
}

// Elementwise inverse hyperbolic tangent (+-inf at +-1, NaN beyond).
inline ir::Value* atanh(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("atanh", operands, attrs);
}

// Scaled dot-product attention softmax(q @ k^T * scale) @ v over the last two dims of q [..., Sq, D], k [..., Skv, D] and v [..., Skv, Dv] (equal batch dims and dtypes): result [..., Sq, Dv]. NVIDIA bf16/f16 with D = Dv in {64, 128} runs a flash-attention kernel (memory O(S)); elsewhere it is computed as those ops (f16/bf16 in f32).
inline ir::Value* attention(ir::Builder& b, ir::Value* q, ir::Value* k, ir::Value* v, std::optional<double> scale = std::nullopt, bool causal = false) {
  ir::AttrMap attrs;
  if (scale) attrs["scale"] = *scale;
  attrs["causal"] = causal;
  std::vector<ir::Value*> operands{q, k, v};
  return b.value("attention", operands, attrs);
}

// One gradient of attention (FlashAttention-2's backward): dq, dk or dv (`wrt`) of o = softmax(q @ k^T * scale) @ v given dout, lse = attention_lse(q, k) and delta = sum(dout * o, -1) ([..., Sq] in the compute dtype: f32 for 16-bit q). Result: the type of that operand.
inline ir::Value* attention_grad(ir::Builder& b, ir::Value* q, ir::Value* k, ir::Value* v, ir::Value* dout, ir::Value* lse, ir::Value* delta, double scale, std::string wrt, bool causal = false) {
  ir::AttrMap attrs;
  attrs["scale"] = scale;
  attrs["causal"] = causal;
  attrs["wrt"] = wrt;
  std::vector<ir::Value*> operands{q, k, v, dout, lse, delta};
  return b.value("attention_grad", operands, attrs);
}

// The log-normaliser of attention's softmax per query row, in f32: lse[..., i] = log(sum over keys j of exp(scale * q[..., i, :] . k[..., j, :])) (j <= i when causal), f32 for 16-bit inputs. Part of attention's gradient; on NVIDIA the flash-attention forward kernel writes it.
inline ir::Value* attention_lse(ir::Builder& b, ir::Value* q, ir::Value* k, double scale, bool causal = false) {
  ir::AttrMap attrs;
  attrs["scale"] = scale;
  attrs["causal"] = causal;
  std::vector<ir::Value*> operands{q, k};
  return b.value("attention_lse", operands, attrs);
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

// (x - mean) / sqrt(var + eps) * weight + bias with mean and (biased) var over every axis but the channel axis: batch normalisation with the batch's statistics (training mode); weight and bias have shape [C], optional.
inline ir::Value* batch_norm(ir::Builder& b, ir::Value* x, ir::Value* weight = nullptr, ir::Value* bias = nullptr, int64_t axis = 1, double eps = 1e-05) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["eps"] = eps;
  std::vector<ir::Value*> operands{x};
  if (weight) operands.push_back(weight);
  if (bias) operands.push_back(bias);
  return b.value("batch_norm", operands, attrs);
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

// Elementwise bitwise x & y of integers (logical for bools).
inline ir::Value* bitwise_and(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("bitwise_and", operands, attrs);
}

// Elementwise bitwise ~x of integers (logical not for bools).
inline ir::Value* bitwise_invert(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("bitwise_invert", operands, attrs);
}

// Elementwise bitwise x | y of integers (logical for bools).
inline ir::Value* bitwise_or(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("bitwise_or", operands, attrs);
}

// Elementwise bitwise x ^ y of integers (logical for bools).
inline ir::Value* bitwise_xor(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("bitwise_xor", operands, attrs);
}

// Repeats size-1 and missing leading dims to a larger shape (NumPy broadcasting).
inline ir::Value* broadcast_to(ir::Builder& b, ir::Value* x, ir::IntList shape) {
  ir::AttrMap attrs;
  attrs["shape"] = shape;
  std::vector<ir::Value*> operands{x};
  return b.value("broadcast_to", operands, attrs);
}

// Converts x to another dtype (floats to integers truncate toward zero; nonzero and NaN become true; out-of-range values are undefined).
inline ir::Value* cast(ir::Builder& b, ir::Value* x, std::string dtype) {
  ir::AttrMap attrs;
  attrs["dtype"] = dtype;
  std::vector<ir::Value*> operands{x};
  return b.value("cast", operands, attrs);
}

// Elementwise smallest integer >= x (integers unchanged).
inline ir::Value* ceil(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("ceil", operands, attrs);
}

// Elementwise min(max(x, min), max); either bound may be omitted; NaN propagates.
inline ir::Value* clamp(ir::Builder& b, ir::Value* x, std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt) {
  ir::AttrMap attrs;
  if (min) attrs["min"] = *min;
  if (max) attrs["max"] = *max;
  std::vector<ir::Value*> operands{x};
  return b.value("clamp", operands, attrs);
}

// Joins tensors along an existing axis.
inline ir::Value* concat(ir::Builder& b, const std::vector<ir::Value*>& xs, int64_t axis = 0) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  return b.value("concat", xs, attrs);
}

// Convolution (cross-correlation, as torch.nn.functional.conv1d) of x [N, C_in, *S] with weight [C_out, C_in/groups, *K] and optional bias [C_out]: im2col (windows) and one GEMM per group.
inline ir::Value* conv1d(ir::Builder& b, ir::Value* x, ir::Value* weight, ir::Value* bias = nullptr, ir::Sizes stride = 1, ir::Padding padding = 0, ir::Sizes dilation = 1, int64_t groups = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["stride"] = stride.value;
  attrs["padding"] = padding.value;
  attrs["dilation"] = dilation.value;
  attrs["groups"] = groups;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x, weight};
  if (bias) operands.push_back(bias);
  return b.value("conv1d", operands, attrs);
}

// Convolution (cross-correlation, as torch.nn.functional.conv2d) of x [N, C_in, *S] with weight [C_out, C_in/groups, *K] and optional bias [C_out]: im2col (windows) and one GEMM per group.
inline ir::Value* conv2d(ir::Builder& b, ir::Value* x, ir::Value* weight, ir::Value* bias = nullptr, ir::Sizes stride = 1, ir::Padding padding = 0, ir::Sizes dilation = 1, int64_t groups = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["stride"] = stride.value;
  attrs["padding"] = padding.value;
  attrs["dilation"] = dilation.value;
  attrs["groups"] = groups;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x, weight};
  if (bias) operands.push_back(bias);
  return b.value("conv2d", operands, attrs);
}

// Convolution (cross-correlation, as torch.nn.functional.conv3d) of x [N, C_in, *S] with weight [C_out, C_in/groups, *K] and optional bias [C_out]: im2col (windows) and one GEMM per group.
inline ir::Value* conv3d(ir::Builder& b, ir::Value* x, ir::Value* weight, ir::Value* bias = nullptr, ir::Sizes stride = 1, ir::Padding padding = 0, ir::Sizes dilation = 1, int64_t groups = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["stride"] = stride.value;
  attrs["padding"] = padding.value;
  attrs["dilation"] = dilation.value;
  attrs["groups"] = groups;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x, weight};
  if (bias) operands.push_back(bias);
  return b.value("conv3d", operands, attrs);
}

// Transposed convolution (the gradient of conv1d w.r.t. its input) of x [N, C_in, *S] with weight [C_in, C_out/groups, *K] and optional bias [C_out], as torch.nn.functional.conv_transpose1d.
inline ir::Value* conv_transpose1d(ir::Builder& b, ir::Value* x, ir::Value* weight, ir::Value* bias = nullptr, ir::Sizes stride = 1, ir::Padding padding = 0, ir::Sizes output_padding = 0, ir::Sizes dilation = 1, int64_t groups = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["stride"] = stride.value;
  attrs["padding"] = padding.value;
  attrs["output_padding"] = output_padding.value;
  attrs["dilation"] = dilation.value;
  attrs["groups"] = groups;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x, weight};
  if (bias) operands.push_back(bias);
  return b.value("conv_transpose1d", operands, attrs);
}

// Transposed convolution (the gradient of conv2d w.r.t. its input) of x [N, C_in, *S] with weight [C_in, C_out/groups, *K] and optional bias [C_out], as torch.nn.functional.conv_transpose2d.
inline ir::Value* conv_transpose2d(ir::Builder& b, ir::Value* x, ir::Value* weight, ir::Value* bias = nullptr, ir::Sizes stride = 1, ir::Padding padding = 0, ir::Sizes output_padding = 0, ir::Sizes dilation = 1, int64_t groups = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["stride"] = stride.value;
  attrs["padding"] = padding.value;
  attrs["output_padding"] = output_padding.value;
  attrs["dilation"] = dilation.value;
  attrs["groups"] = groups;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x, weight};
  if (bias) operands.push_back(bias);
  return b.value("conv_transpose2d", operands, attrs);
}

// Transposed convolution (the gradient of conv3d w.r.t. its input) of x [N, C_in, *S] with weight [C_in, C_out/groups, *K] and optional bias [C_out], as torch.nn.functional.conv_transpose3d.
inline ir::Value* conv_transpose3d(ir::Builder& b, ir::Value* x, ir::Value* weight, ir::Value* bias = nullptr, ir::Sizes stride = 1, ir::Padding padding = 0, ir::Sizes output_padding = 0, ir::Sizes dilation = 1, int64_t groups = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["stride"] = stride.value;
  attrs["padding"] = padding.value;
  attrs["output_padding"] = output_padding.value;
  attrs["dilation"] = dilation.value;
  attrs["groups"] = groups;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x, weight};
  if (bias) operands.push_back(bias);
  return b.value("conv_transpose3d", operands, attrs);
}

// Elementwise |x| with the sign (bit) of y.
inline ir::Value* copysign(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("copysign", operands, attrs);
}

// Elementwise cosine (radians).
inline ir::Value* cos(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("cos", operands, attrs);
}

// Elementwise hyperbolic cosine.
inline ir::Value* cosh(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("cosh", operands, attrs);
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

// Elementwise true division x / y; integer operands give float32.
inline ir::Value* div(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("div", operands, attrs);
}

// Training-mode dropout: keeps x where rand_like(x, seed, offset) >= p, scaled by 1/(1-p), and zeroes the rest. Reproducible: the same seed and offset give the same mask on every device; they are read at run time, so a new seed does not compile again.
inline ir::Value* dropout(ir::Builder& b, ir::Value* x, ir::Value* seed, ir::Value* offset = nullptr, double p = 0.5) {
  ir::AttrMap attrs;
  attrs["p"] = p;
  std::vector<ir::Value*> operands{x, seed};
  if (offset) operands.push_back(offset);
  return b.value("dropout", operands, attrs);
}

// Einstein summation of one or more tensors (as numpy.einsum), built from sums, transposes, reshapes and batched matmuls; operands are contracted left to right.
inline ir::Value* einsum(ir::Builder& b, const std::vector<ir::Value*>& xs, std::string equation) {
  ir::AttrMap attrs;
  attrs["equation"] = equation;
  return b.value("einsum", xs, attrs);
}

// Rows of weight [V, ...] picked by integer indices: take(weight, indices, axis=0), shape indices.shape + weight.shape[1:] (gradient w.r.t. weight via take's VJP).
inline ir::Value* embedding(ir::Builder& b, ir::Value* indices, ir::Value* weight, std::optional<std::string> mode = std::nullopt) {
  ir::AttrMap attrs;
  if (mode) attrs["mode"] = *mode;
  std::vector<ir::Value*> operands{indices, weight};
  return b.value("embedding", operands, attrs);
}

// Elementwise x == y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline ir::Value* equal(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("equal", operands, attrs);
}

// Elementwise error function.
inline ir::Value* erf(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("erf", operands, attrs);
}

// Elementwise e**x.
inline ir::Value* exp(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("exp", operands, attrs);
}

// Elementwise 2**x (exact for integer x).
inline ir::Value* exp2(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("exp2", operands, attrs);
}

// Inserts a size-1 axis.
inline ir::Value* expand_dims(ir::Builder& b, ir::Value* x, int64_t axis) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  std::vector<ir::Value*> operands{x};
  return b.value("expand_dims", operands, attrs);
}

// Elementwise e**x - 1, accurate for small x.
inline ir::Value* expm1(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("expm1", operands, attrs);
}

// x with the order of elements reversed along `axis` (every axis when absent).
inline ir::Value* flip(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  std::vector<ir::Value*> operands{x};
  return b.value("flip", operands, attrs);
}

// Elementwise largest integer <= x (integers unchanged).
inline ir::Value* floor(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("floor", operands, attrs);
}

// Elementwise x // y, rounding toward -inf (Python); integer x // 0 is 0.
inline ir::Value* floor_divide(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("floor_divide", operands, attrs);
}

// Elementwise C fmod: x - trunc(x / y) * y, with the dividend's sign; integer fmod(x, 0) is 0.
inline ir::Value* fmod(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("fmod", operands, attrs);
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

// Gaussian error linear unit x * Phi(x); approximate = "tanh" uses the tanh formula.
inline ir::Value* gelu(ir::Builder& b, ir::Value* x, std::string approximate = "none") {
  ir::AttrMap attrs;
  attrs["approximate"] = approximate;
  std::vector<ir::Value*> operands{x};
  return b.value("gelu", operands, attrs);
}

// Elementwise x > y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline ir::Value* greater(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("greater", operands, attrs);
}

// Elementwise x >= y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline ir::Value* greater_equal(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("greater_equal", operands, attrs);
}

// Normalisation of x [N, C, *spatial] over each group of C / num_groups channels (and the spatial axes) of each sample, then * weight + bias (shape [C], optional).
inline ir::Value* group_norm(ir::Builder& b, ir::Value* x, int64_t num_groups, ir::Value* weight = nullptr, ir::Value* bias = nullptr, double eps = 1e-05) {
  ir::AttrMap attrs;
  attrs["num_groups"] = num_groups;
  attrs["eps"] = eps;
  std::vector<ir::Value*> operands{x};
  if (weight) operands.push_back(weight);
  if (bias) operands.push_back(bias);
  return b.value("group_norm", operands, attrs);
}

// Elementwise sqrt(x**2 + y**2) without overflow or underflow.
inline ir::Value* hypot(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("hypot", operands, attrs);
}

// Normalisation of x [N, C, *spatial] over the spatial axes of each sample and channel, then * weight + bias (shape [C], optional).
inline ir::Value* instance_norm(ir::Builder& b, ir::Value* x, ir::Value* weight = nullptr, ir::Value* bias = nullptr, double eps = 1e-05) {
  ir::AttrMap attrs;
  attrs["eps"] = eps;
  std::vector<ir::Value*> operands{x};
  if (weight) operands.push_back(weight);
  if (bias) operands.push_back(bias);
  return b.value("instance_norm", operands, attrs);
}

// Elementwise x is neither infinite nor NaN (bool; true for integers).
inline ir::Value* isfinite(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("isfinite", operands, attrs);
}

// Elementwise x is +inf or -inf (bool; false for integers).
inline ir::Value* isinf(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("isinf", operands, attrs);
}

// Elementwise x is NaN (bool; false for integers).
inline ir::Value* isnan(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("isnan", operands, attrs);
}

// Kullback-Leibler divergence KL(targets || exp(log_probs)) per element: targets * (log targets - log_probs), 0 where targets = 0 (PyTorch's kl_div). reduction: "mean" (over every element), "sum", "batchmean" (the sum / the batch size, the true KL per sample) or "none".
inline ir::Value* kl_div(ir::Builder& b, ir::Value* log_probs, ir::Value* targets, std::string reduction = "mean", bool log_target = false) {
  ir::AttrMap attrs;
  attrs["reduction"] = reduction;
  attrs["log_target"] = log_target;
  std::vector<ir::Value*> operands{log_probs, targets};
  return b.value("kl_div", operands, attrs);
}

// (x - mean) / sqrt(var + eps) * weight + bias along `axis` (biased variance, as in PyTorch); weight and bias, of shape [x.shape[axis]], are optional (bias needs weight).
inline ir::Value* layernorm(ir::Builder& b, ir::Value* x, ir::Value* weight = nullptr, ir::Value* bias = nullptr, int64_t axis = -1, double eps = 1e-05) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["eps"] = eps;
  std::vector<ir::Value*> operands{x};
  if (weight) operands.push_back(weight);
  if (bias) operands.push_back(bias);
  return b.value("layernorm", operands, attrs);
}

// Elementwise x << y of integers (0 when y is negative or >= the width).
inline ir::Value* left_shift(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("left_shift", operands, attrs);
}

// Elementwise x < y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline ir::Value* less(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("less", operands, attrs);
}

// Elementwise x <= y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline ir::Value* less_equal(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("less_equal", operands, attrs);
}

// Elementwise natural logarithm (log(0) = -inf, log(x < 0) = NaN).
inline ir::Value* log(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("log", operands, attrs);
}

// Elementwise base-10 logarithm.
inline ir::Value* log10(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("log10", operands, attrs);
}

// Elementwise log(1 + x), accurate for small x.
inline ir::Value* log1p(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("log1p", operands, attrs);
}

// Elementwise base-2 logarithm (exact for powers of two).
inline ir::Value* log2(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("log2", operands, attrs);
}

// log(softmax(x)) along `axis`, computed stably as x - logsumexp(x, axis).
inline ir::Value* log_softmax(ir::Builder& b, ir::Value* x, int64_t axis = -1) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  std::vector<ir::Value*> operands{x};
  return b.value("log_softmax", operands, attrs);
}

// Elementwise log(exp(x) + exp(y)), computed stably.
inline ir::Value* logaddexp(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("logaddexp", operands, attrs);
}

// Elementwise x and y (nonzero is true); bool result.
inline ir::Value* logical_and(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("logical_and", operands, attrs);
}

// Elementwise not x (zero is true); bool result.
inline ir::Value* logical_not(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("logical_not", operands, attrs);
}

// Elementwise x or y (nonzero is true); bool result.
inline ir::Value* logical_or(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("logical_or", operands, attrs);
}

// Elementwise x xor y (nonzero is true); bool result.
inline ir::Value* logical_xor(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("logical_xor", operands, attrs);
}

// log(sum(exp(x))) over `axis` (every axis when absent), computed stably as log(sum(exp(x - m))) + m with m the (finite) maximum. Floating-point inputs only.
inline ir::Value* logsumexp(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt, bool keepdims = false) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  attrs["keepdims"] = keepdims;
  std::vector<ir::Value*> operands{x};
  return b.value("logsumexp", operands, attrs);
}

// Matrix product with NumPy semantics: [...,M,K] @ [...,K,N] -> [...,M,N] with broadcast batch dims; a 1-D left operand is a row vector and a 1-D right operand a column vector (their dim is dropped from the result). Operands of different dtypes promote. Accumulates in the compute dtype; K = 0 gives zeros.
inline ir::Value* matmul(ir::Builder& b, ir::Value* x, ir::Value* y, std::string precision = "highest") {
  ir::AttrMap attrs;
  attrs["precision"] = precision;
  std::vector<ir::Value*> operands{x, y};
  return b.value("matmul", operands, attrs);
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

// Elementwise max(x, y) with NumPy broadcasting; NaN propagates.
inline ir::Value* maximum(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("maximum", operands, attrs);
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

// Elementwise min(x, y) with NumPy broadcasting; NaN propagates.
inline ir::Value* minimum(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("minimum", operands, attrs);
}

// Squared error (x - y)^2 (NumPy-broadcast), averaged, summed or kept per element.
inline ir::Value* mse(ir::Builder& b, ir::Value* x, ir::Value* y, std::string reduction = "mean") {
  ir::AttrMap attrs;
  attrs["reduction"] = reduction;
  std::vector<ir::Value*> operands{x, y};
  return b.value("mse", operands, attrs);
}

// Elementwise x * y with NumPy broadcasting.
inline ir::Value* mul(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("mul", operands, attrs);
}

// Elementwise -x.
inline ir::Value* neg(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("neg", operands, attrs);
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

// Elementwise x != y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline ir::Value* not_equal(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("not_equal", operands, attrs);
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

// Elementwise x ** y (C99 special values; integers wrap, negative integer exponents truncate).
inline ir::Value* pow(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("pow", operands, attrs);
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

// Uniform [0, 1) values of x's shape and float dtype, generated inside the kernel: element i equals element i + offset of tessera.rand(n, seed=seed, dtype=x.dtype). seed and offset are rank-0 integer tensors (Python ints become ones) read at run time, so new seeds reuse the compiled program. x's values are not read. Not differentiable (zero gradient).
inline ir::Value* rand_like(ir::Builder& b, ir::Value* x, ir::Value* seed, ir::Value* offset = nullptr) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, seed};
  if (offset) operands.push_back(offset);
  return b.value("rand_like", operands, attrs);
}

// Elementwise max(x, 0).
inline ir::Value* relu(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("relu", operands, attrs);
}

// Elementwise x % y with the divisor's sign (Python, NumPy's mod); integer x % 0 is 0.
inline ir::Value* remainder(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("remainder", operands, attrs);
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

// Elementwise x >> y of integers, arithmetic for signed types (by the width or more: 0, or -1 for negative x).
inline ir::Value* right_shift(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("right_shift", operands, attrs);
}

// x / sqrt(mean(x^2, axis) + eps) * weight: RMS normalisation along `axis` (weight, of shape [x.shape[axis]], is optional).
inline ir::Value* rmsnorm(ir::Builder& b, ir::Value* x, ir::Value* weight = nullptr, int64_t axis = -1, double eps = 1e-06) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["eps"] = eps;
  std::vector<ir::Value*> operands{x};
  if (weight) operands.push_back(weight);
  return b.value("rmsnorm", operands, attrs);
}

// x with elements shifted along `axis` cyclically (NumPy's roll): element i goes to (i + shift) mod n.
inline ir::Value* roll(ir::Builder& b, ir::Value* x, ir::IntList shift, std::optional<ir::Axes> axis = std::nullopt) {
  ir::AttrMap attrs;
  attrs["shift"] = shift;
  if (axis) attrs["axis"] = axis->value;
  std::vector<ir::Value*> operands{x};
  return b.value("roll", operands, attrs);
}

// Rotary position embedding of x [..., S, D] (D even): pair i of position p turns by p * base^(-2i/D). positions [S] or broadcasting to x's [..., S] (default 0..S-1). Computed in f32 or wider.
inline ir::Value* rope(ir::Builder& b, ir::Value* x, ir::Value* positions = nullptr, double base = 10000.0, bool interleaved = false) {
  ir::AttrMap attrs;
  attrs["base"] = base;
  attrs["interleaved"] = interleaved;
  std::vector<ir::Value*> operands{x};
  if (positions) operands.push_back(positions);
  return b.value("rope", operands, attrs);
}

// Elementwise nearest integer, halves to even as NumPy (integers unchanged).
inline ir::Value* round(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("round", operands, attrs);
}

// Elementwise 1 / sqrt(x).
inline ir::Value* rsqrt(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("rsqrt", operands, attrs);
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

// Sampled dense-dense product: values[j] = (mat1 @ mat2)[rows[j], cols[j]] for mat1 [M, K], mat2 [K, N], computed only at those entries.
inline ir::Value* sddmm(ir::Builder& b, ir::Value* rows, ir::Value* cols, ir::Value* mat1, ir::Value* mat2) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{rows, cols, mat1, mat2};
  return b.value("sddmm", operands, attrs);
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

// Elementwise logistic function 1 / (1 + e**-x).
inline ir::Value* sigmoid(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("sigmoid", operands, attrs);
}

// Elementwise sign: -1, 0 or 1 (NaN stays NaN, -0 gives 0).
inline ir::Value* sign(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("sign", operands, attrs);
}

// Elementwise sign bit of x (bool): true for -0.0 and negative NaNs too.
inline ir::Value* signbit(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("signbit", operands, attrs);
}

// Elementwise x * sigmoid(x) (swish).
inline ir::Value* silu(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("silu", operands, attrs);
}

// Elementwise sine (radians).
inline ir::Value* sin(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("sin", operands, attrs);
}

// Elementwise hyperbolic sine.
inline ir::Value* sinh(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("sinh", operands, attrs);
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

// exp(x - m) / sum(exp(x - m)) along `axis`, m the (finite) maximum along it.
inline ir::Value* softmax(ir::Builder& b, ir::Value* x, int64_t axis = -1) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  std::vector<ir::Value*> operands{x};
  return b.value("softmax", operands, attrs);
}

// Elementwise log(1 + e**x), computed without overflow.
inline ir::Value* softplus(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("softplus", operands, attrs);
}

// x sorted along `axis` (stable; NaN largest): gather(x, argsort(x)), so the gradient flows back to where each value came from.
inline ir::Value* sort(ir::Builder& b, ir::Value* x, int64_t axis = -1, bool descending = false) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  attrs["descending"] = descending;
  std::vector<ir::Value*> operands{x};
  return b.value("sort", operands, attrs);
}

// The sparse matrix [M, K] with entries values[j] at (rows[j], cols[j]) (COO; duplicates add) times dense [K, N]: [M, N]. Differentiable w.r.t. values and dense.
inline ir::Value* spmm_coo(ir::Builder& b, ir::Value* rows, ir::Value* cols, ir::Value* values, ir::Value* dense, int64_t num_rows) {
  ir::AttrMap attrs;
  attrs["num_rows"] = num_rows;
  std::vector<ir::Value*> operands{rows, cols, values, dense};
  return b.value("spmm_coo", operands, attrs);
}

// The sparse matrix [M, K] in CSR form (row i's entries are values[indptr[i]:indptr[i+1]] in columns indices[...]) times dense [K, N]: [M, N], M = len(indptr) - 1.
inline ir::Value* spmm_csr(ir::Builder& b, ir::Value* indptr, ir::Value* indices, ir::Value* values, ir::Value* dense) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{indptr, indices, values, dense};
  return b.value("spmm_csr", operands, attrs);
}

// Elementwise square root (correctly rounded; NaN below 0).
inline ir::Value* sqrt(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("sqrt", operands, attrs);
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

// Standard deviation over `axis` (every axis when absent): sqrt(var(x)). Floating-point inputs only.
inline ir::Value* std(ir::Builder& b, ir::Value* x, std::optional<ir::Axes> axis = std::nullopt, bool keepdims = false, double correction = 0.0) {
  ir::AttrMap attrs;
  if (axis) attrs["axis"] = axis->value;
  attrs["keepdims"] = keepdims;
  attrs["correction"] = correction;
  std::vector<ir::Value*> operands{x};
  return b.value("std", operands, attrs);
}

// Identity in the forward pass; blocks gradients (its derivative is zero).
inline ir::Value* stop_gradient(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("stop_gradient", operands, attrs);
}

// Elementwise x - y with NumPy broadcasting.
inline ir::Value* sub(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("sub", operands, attrs);
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

// x indexed along `axis` by an integer tensor: shape x[:axis] + indices + x[axis+1:] (negative indices count from the end; out-of-range ones follow `mode`, clamped by default).
inline ir::Value* take(ir::Builder& b, ir::Value* x, ir::Value* indices, int64_t axis = 0, std::optional<std::string> mode = std::nullopt, std::optional<double> fill_value = std::nullopt) {
  ir::AttrMap attrs;
  attrs["axis"] = axis;
  if (mode) attrs["mode"] = *mode;
  if (fill_value) attrs["fill_value"] = *fill_value;
  std::vector<ir::Value*> operands{x, indices};
  return b.value("take", operands, attrs);
}

// Elementwise tangent (radians): sin(x) / cos(x).
inline ir::Value* tan(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("tan", operands, attrs);
}

// Elementwise hyperbolic tangent.
inline ir::Value* tanh(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("tanh", operands, attrs);
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

// Elementwise integer part, rounding toward zero (integers unchanged).
inline ir::Value* trunc(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("trunc", operands, attrs);
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

// The distinct values of x (flattened), sorted, in a tensor of static length `size` (as jax.numpy.unique(size=)); NaNs count as one value, sorted last. CPU only (sort, scatter).
inline ir::Value* unique(ir::Builder& b, ir::Value* x, int64_t size, double fill_value = 0.0) {
  ir::AttrMap attrs;
  attrs["size"] = size;
  attrs["fill_value"] = fill_value;
  std::vector<ir::Value*> operands{x};
  return b.value("unique", operands, attrs);
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

// Elementwise cond ? x : y (cond nonzero is true); x and y promote; all three broadcast.
inline ir::Value* where(ir::Builder& b, ir::Value* cond, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{cond, x, y};
  return b.value("where", operands, attrs);
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
