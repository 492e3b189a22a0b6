// The C++ op API, elementwise_unary ops: one function per registry op, appending it to its operands' function (tessera/function.hpp).
// Generated from the op registry by `python -m tessera._opgen --write .`; do not edit.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "tessera/function.hpp"

namespace tessera::ops {

// Elementwise |x| (integers wrap: abs(INT_MIN) = INT_MIN).
inline Value abs(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("abs", operands, attrs.text())[0];
}

// Elementwise arccosine (radians, in [0, pi]; NaN outside [-1, 1]).
inline Value acos(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("acos", operands, attrs.text())[0];
}

// Elementwise inverse hyperbolic cosine (NaN below 1).
inline Value acosh(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("acosh", operands, attrs.text())[0];
}

// Elementwise arcsine (radians; NaN outside [-1, 1]).
inline Value asin(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("asin", operands, attrs.text())[0];
}

// Elementwise inverse hyperbolic sine.
inline Value asinh(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("asinh", operands, attrs.text())[0];
}

// Elementwise arctangent (radians, in [-pi/2, pi/2]).
inline Value atan(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("atan", operands, attrs.text())[0];
}

// Elementwise inverse hyperbolic tangent (+-inf at +-1, NaN beyond).
inline Value atanh(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("atanh", operands, attrs.text())[0];
}

// (x - mean) / sqrt(var + eps) * weight + bias with mean and (biased) var over every axis but the channel axis: batch normalisation with the batch's statistics (training mode); weight and bias have shape [C], optional.
inline Value batch_norm(const Value& x, const std::optional<Value>& weight = std::nullopt, const std::optional<Value>& bias = std::nullopt, const int64_t& axis = 1, const double& eps = 1e-05) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("eps", eps);
  std::vector<Value> operands{x};
  if (weight) operands.push_back(*weight);
  if (bias && !weight) throw Error(TSR_ERROR_INVALID_ARGUMENT, "batch_norm: bias is given without weight");
  if (bias) operands.push_back(*bias);
  return detail::apply("batch_norm", operands, attrs.text())[0];
}

// Elementwise bitwise ~x of integers (logical not for bools).
inline Value bitwise_invert(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("bitwise_invert", operands, attrs.text())[0];
}

// Converts x to another dtype (floats to integers truncate toward zero; nonzero and NaN become true; out-of-range values are undefined).
inline Value cast(const Value& x, const std::string& dtype) {
  detail::Attrs attrs;
  attrs.add("dtype", dtype);
  std::vector<Value> operands{x};
  return detail::apply("cast", operands, attrs.text())[0];
}

// Elementwise smallest integer >= x (integers unchanged).
inline Value ceil(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("ceil", operands, attrs.text())[0];
}

// Elementwise min(max(x, min), max); either bound may be omitted; NaN propagates.
inline Value clamp(const Value& x, const std::optional<double>& min = std::nullopt, const std::optional<double>& max = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("min", min);
  attrs.add("max", max);
  std::vector<Value> operands{x};
  return detail::apply("clamp", operands, attrs.text())[0];
}

// Elementwise cosine (radians).
inline Value cos(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("cos", operands, attrs.text())[0];
}

// Elementwise hyperbolic cosine.
inline Value cosh(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("cosh", operands, attrs.text())[0];
}

// Training-mode dropout: keeps x where rand_like(x, seed, offset) >= p, scaled by 1/(1-p), and zeroes the rest. Reproducible: the same seed and offset give the same mask on every device; they are read at run time, so a new seed does not compile again.
inline Value dropout(const Value& x, const Value& seed, const std::optional<Value>& offset = std::nullopt, const double& p = 0.5) {
  detail::Attrs attrs;
  attrs.add("p", p);
  std::vector<Value> operands{x, seed};
  if (offset) operands.push_back(*offset);
  return detail::apply("dropout", operands, attrs.text())[0];
}

// Elementwise error function.
inline Value erf(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("erf", operands, attrs.text())[0];
}

// Elementwise e**x.
inline Value exp(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("exp", operands, attrs.text())[0];
}

// Elementwise 2**x (exact for integer x).
inline Value exp2(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("exp2", operands, attrs.text())[0];
}

// Elementwise e**x - 1, accurate for small x.
inline Value expm1(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("expm1", operands, attrs.text())[0];
}

// Elementwise largest integer <= x (integers unchanged).
inline Value floor(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("floor", operands, attrs.text())[0];
}

// Gaussian error linear unit x * Phi(x); approximate = "tanh" uses the tanh formula.
inline Value gelu(const Value& x, const std::string& approximate = "none") {
  detail::Attrs attrs;
  attrs.add("approximate", approximate);
  std::vector<Value> operands{x};
  return detail::apply("gelu", operands, attrs.text())[0];
}

// Normalisation of x [N, C, *spatial] over each group of C / num_groups channels (and the spatial axes) of each sample, then * weight + bias (shape [C], optional).
inline Value group_norm(const Value& x, const int64_t& num_groups, const std::optional<Value>& weight = std::nullopt, const std::optional<Value>& bias = std::nullopt, const double& eps = 1e-05) {
  detail::Attrs attrs;
  attrs.add("num_groups", num_groups);
  attrs.add("eps", eps);
  std::vector<Value> operands{x};
  if (weight) operands.push_back(*weight);
  if (bias && !weight) throw Error(TSR_ERROR_INVALID_ARGUMENT, "group_norm: bias is given without weight");
  if (bias) operands.push_back(*bias);
  return detail::apply("group_norm", operands, attrs.text())[0];
}

// Normalisation of x [N, C, *spatial] over the spatial axes of each sample and channel, then * weight + bias (shape [C], optional).
inline Value instance_norm(const Value& x, const std::optional<Value>& weight = std::nullopt, const std::optional<Value>& bias = std::nullopt, const double& eps = 1e-05) {
  detail::Attrs attrs;
  attrs.add("eps", eps);
  std::vector<Value> operands{x};
  if (weight) operands.push_back(*weight);
  if (bias && !weight) throw Error(TSR_ERROR_INVALID_ARGUMENT, "instance_norm: bias is given without weight");
  if (bias) operands.push_back(*bias);
  return detail::apply("instance_norm", operands, attrs.text())[0];
}

// Elementwise x is neither infinite nor NaN (bool; true for integers).
inline Value isfinite(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("isfinite", operands, attrs.text())[0];
}

// Elementwise x is +inf or -inf (bool; false for integers).
inline Value isinf(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("isinf", operands, attrs.text())[0];
}

// Elementwise x is NaN (bool; false for integers).
inline Value isnan(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("isnan", operands, attrs.text())[0];
}

// (x - mean) / sqrt(var + eps) * weight + bias along `axis` (biased variance, as in PyTorch); weight and bias, of shape [x.shape[axis]], are optional (bias needs weight).
inline Value layernorm(const Value& x, const std::optional<Value>& weight = std::nullopt, const std::optional<Value>& bias = std::nullopt, const int64_t& axis = -1, const double& eps = 1e-05) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("eps", eps);
  std::vector<Value> operands{x};
  if (weight) operands.push_back(*weight);
  if (bias && !weight) throw Error(TSR_ERROR_INVALID_ARGUMENT, "layernorm: bias is given without weight");
  if (bias) operands.push_back(*bias);
  return detail::apply("layernorm", operands, attrs.text())[0];
}

// Elementwise natural logarithm (log(0) = -inf, log(x < 0) = NaN).
inline Value log(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("log", operands, attrs.text())[0];
}

// Elementwise base-10 logarithm.
inline Value log10(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("log10", operands, attrs.text())[0];
}

// Elementwise log(1 + x), accurate for small x.
inline Value log1p(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("log1p", operands, attrs.text())[0];
}

// Elementwise base-2 logarithm (exact for powers of two).
inline Value log2(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("log2", operands, attrs.text())[0];
}

// log(softmax(x)) along `axis`, computed stably as x - logsumexp(x, axis).
inline Value log_softmax(const Value& x, const int64_t& axis = -1) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  std::vector<Value> operands{x};
  return detail::apply("log_softmax", operands, attrs.text())[0];
}

// Elementwise not x (zero is true); bool result.
inline Value logical_not(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("logical_not", operands, attrs.text())[0];
}

// Elementwise -x.
inline Value neg(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("neg", operands, attrs.text())[0];
}

// Uniform [0, 1) values of x's shape and float dtype, generated inside the kernel: element i equals element i + offset of tessera.rand(n, seed=seed, dtype=x.dtype). seed and offset are rank-0 integer tensors (Python ints become ones) read at run time, so new seeds reuse the compiled program. x's values are not read. Not differentiable (zero gradient).
inline Value rand_like(const Value& x, const Value& seed, const std::optional<Value>& offset = std::nullopt) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, seed};
  if (offset) operands.push_back(*offset);
  return detail::apply("rand_like", operands, attrs.text())[0];
}

// Elementwise max(x, 0).
inline Value relu(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("relu", operands, attrs.text())[0];
}

// Identity (value and derivative) that common-subexpression elimination leaves alone: tessera.checkpoint recomputes from it.
inline Value remat_barrier(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("remat_barrier", operands, attrs.text())[0];
}

// x / sqrt(mean(x^2, axis) + eps) * weight: RMS normalisation along `axis` (weight, of shape [x.shape[axis]], is optional).
inline Value rmsnorm(const Value& x, const std::optional<Value>& weight = std::nullopt, const int64_t& axis = -1, const double& eps = 1e-06) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  attrs.add("eps", eps);
  std::vector<Value> operands{x};
  if (weight) operands.push_back(*weight);
  return detail::apply("rmsnorm", operands, attrs.text())[0];
}

// Rotary position embedding of x [..., S, D] (D even): pair i of position p turns by p * base^(-2i/D). positions [S] or broadcasting to x's [..., S] (default 0..S-1). Computed in f32 or wider.
inline Value rope(const Value& x, const std::optional<Value>& positions = std::nullopt, const double& base = 10000.0, const bool& interleaved = false) {
  detail::Attrs attrs;
  attrs.add("base", base);
  attrs.add("interleaved", interleaved);
  std::vector<Value> operands{x};
  if (positions) operands.push_back(*positions);
  return detail::apply("rope", operands, attrs.text())[0];
}

// Elementwise nearest integer, halves to even as NumPy (integers unchanged).
inline Value round(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("round", operands, attrs.text())[0];
}

// Elementwise 1 / sqrt(x).
inline Value rsqrt(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("rsqrt", operands, attrs.text())[0];
}

// Elementwise logistic function 1 / (1 + e**-x).
inline Value sigmoid(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("sigmoid", operands, attrs.text())[0];
}

// Elementwise sign: -1, 0 or 1 (NaN stays NaN, -0 gives 0).
inline Value sign(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("sign", operands, attrs.text())[0];
}

// Elementwise sign bit of x (bool): true for -0.0 and negative NaNs too.
inline Value signbit(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("signbit", operands, attrs.text())[0];
}

// Elementwise x * sigmoid(x) (swish).
inline Value silu(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("silu", operands, attrs.text())[0];
}

// Elementwise sine (radians).
inline Value sin(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("sin", operands, attrs.text())[0];
}

// Elementwise hyperbolic sine.
inline Value sinh(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("sinh", operands, attrs.text())[0];
}

// exp(x - m) / sum(exp(x - m)) along `axis`, m the (finite) maximum along it.
inline Value softmax(const Value& x, const int64_t& axis = -1) {
  detail::Attrs attrs;
  attrs.add("axis", axis);
  std::vector<Value> operands{x};
  return detail::apply("softmax", operands, attrs.text())[0];
}

// Elementwise log(1 + e**x), computed without overflow.
inline Value softplus(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("softplus", operands, attrs.text())[0];
}

// Elementwise square root (correctly rounded; NaN below 0).
inline Value sqrt(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("sqrt", operands, attrs.text())[0];
}

// Identity in the forward pass; blocks gradients (its derivative is zero).
inline Value stop_gradient(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("stop_gradient", operands, attrs.text())[0];
}

// Elementwise tangent (radians): sin(x) / cos(x).
inline Value tan(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("tan", operands, attrs.text())[0];
}

// Elementwise hyperbolic tangent.
inline Value tanh(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("tanh", operands, attrs.text())[0];
}

// Elementwise integer part, rounding toward zero (integers unchanged).
inline Value trunc(const Value& x) {
  detail::Attrs attrs;
  std::vector<Value> operands{x};
  return detail::apply("trunc", operands, attrs.text())[0];
}

}  // namespace tessera::ops
