// The C++ op API, elementwise_unary ops: one function per registry op, appending it to a Builder's block.
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

// Elementwise inverse hyperbolic tangent (+-inf at +-1, NaN beyond).
inline ir::Value* atanh(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("atanh", operands, attrs);
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

// Elementwise bitwise ~x of integers (logical not for bools).
inline ir::Value* bitwise_invert(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("bitwise_invert", operands, attrs);
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

// Training-mode dropout: keeps x where rand_like(x, seed, offset) >= p, scaled by 1/(1-p), and zeroes the rest. Reproducible: the same seed and offset give the same mask on every device; they are read at run time, so a new seed does not compile again.
inline ir::Value* dropout(ir::Builder& b, ir::Value* x, ir::Value* seed, ir::Value* offset = nullptr, double p = 0.5) {
  ir::AttrMap attrs;
  attrs["p"] = p;
  std::vector<ir::Value*> operands{x, seed};
  if (offset) operands.push_back(offset);
  return b.value("dropout", operands, attrs);
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

// Elementwise e**x - 1, accurate for small x.
inline ir::Value* expm1(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("expm1", operands, attrs);
}

// Elementwise largest integer <= x (integers unchanged).
inline ir::Value* floor(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("floor", operands, attrs);
}

// Gaussian error linear unit x * Phi(x); approximate = "tanh" uses the tanh formula.
inline ir::Value* gelu(ir::Builder& b, ir::Value* x, std::string approximate = "none") {
  ir::AttrMap attrs;
  attrs["approximate"] = approximate;
  std::vector<ir::Value*> operands{x};
  return b.value("gelu", operands, attrs);
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

// Elementwise not x (zero is true); bool result.
inline ir::Value* logical_not(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("logical_not", operands, attrs);
}

// Elementwise -x.
inline ir::Value* neg(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("neg", operands, attrs);
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

// Identity (value and derivative) that common-subexpression elimination leaves alone: tessera.checkpoint recomputes from it.
inline ir::Value* remat_barrier(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("remat_barrier", operands, attrs);
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

// Elementwise square root (correctly rounded; NaN below 0).
inline ir::Value* sqrt(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("sqrt", operands, attrs);
}

// Identity in the forward pass; blocks gradients (its derivative is zero).
inline ir::Value* stop_gradient(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("stop_gradient", operands, attrs);
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

// Elementwise integer part, rounding toward zero (integers unchanged).
inline ir::Value* trunc(ir::Builder& b, ir::Value* x) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x};
  return b.value("trunc", operands, attrs);
}

}  // namespace tessera::ops
