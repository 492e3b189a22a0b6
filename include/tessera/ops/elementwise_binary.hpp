// The C++ op API, elementwise_binary ops: one function per registry op, appending it to its operands' function (tessera/function.hpp).
// Generated from the op registry by `python -m tessera._opgen --write .`; do not edit.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "tessera/function.hpp"

namespace tessera::ops {

// Elementwise x + y with NumPy broadcasting.
inline Value add(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("add", operands, attrs.text())[0];
}

// Elementwise arctangent of y/x in the quadrant of (x, y), in [-pi, pi], with C99's special values.
inline Value atan2(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("atan2", operands, attrs.text())[0];
}

// Elementwise bitwise x & y of integers (logical for bools).
inline Value bitwise_and(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("bitwise_and", operands, attrs.text())[0];
}

// Elementwise bitwise x | y of integers (logical for bools).
inline Value bitwise_or(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("bitwise_or", operands, attrs.text())[0];
}

// Elementwise bitwise x ^ y of integers (logical for bools).
inline Value bitwise_xor(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("bitwise_xor", operands, attrs.text())[0];
}

// Elementwise |x| with the sign (bit) of y.
inline Value copysign(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("copysign", operands, attrs.text())[0];
}

// Elementwise true division x / y; integer operands give float32.
inline Value div(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("div", operands, attrs.text())[0];
}

// Elementwise x == y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline Value equal(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("equal", operands, attrs.text())[0];
}

// Elementwise x // y, rounding toward -inf (Python); integer x // 0 is 0.
inline Value floor_divide(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("floor_divide", operands, attrs.text())[0];
}

// Elementwise C fmod: x - trunc(x / y) * y, with the dividend's sign; integer fmod(x, 0) is 0.
inline Value fmod(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("fmod", operands, attrs.text())[0];
}

// Elementwise x > y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline Value greater(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("greater", operands, attrs.text())[0];
}

// Elementwise x >= y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline Value greater_equal(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("greater_equal", operands, attrs.text())[0];
}

// Elementwise sqrt(x**2 + y**2) without overflow or underflow.
inline Value hypot(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("hypot", operands, attrs.text())[0];
}

// Elementwise x << y of integers (0 when y is negative or >= the width).
inline Value left_shift(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("left_shift", operands, attrs.text())[0];
}

// Elementwise x < y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline Value less(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("less", operands, attrs.text())[0];
}

// Elementwise x <= y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline Value less_equal(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("less_equal", operands, attrs.text())[0];
}

// Elementwise log(exp(x) + exp(y)), computed stably.
inline Value logaddexp(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("logaddexp", operands, attrs.text())[0];
}

// Elementwise x and y (nonzero is true); bool result.
inline Value logical_and(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("logical_and", operands, attrs.text())[0];
}

// Elementwise x or y (nonzero is true); bool result.
inline Value logical_or(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("logical_or", operands, attrs.text())[0];
}

// Elementwise x xor y (nonzero is true); bool result.
inline Value logical_xor(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("logical_xor", operands, attrs.text())[0];
}

// Elementwise max(x, y) with NumPy broadcasting; NaN propagates.
inline Value maximum(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("maximum", operands, attrs.text())[0];
}

// Elementwise min(x, y) with NumPy broadcasting; NaN propagates.
inline Value minimum(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("minimum", operands, attrs.text())[0];
}

// Elementwise x * y with NumPy broadcasting.
inline Value mul(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("mul", operands, attrs.text())[0];
}

// Elementwise x != y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline Value not_equal(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("not_equal", operands, attrs.text())[0];
}

// Elementwise x ** y (C99 special values; integers wrap, negative integer exponents truncate).
inline Value pow(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("pow", operands, attrs.text())[0];
}

// Elementwise x % y with the divisor's sign (Python, NumPy's mod); integer x % 0 is 0.
inline Value remainder(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("remainder", operands, attrs.text())[0];
}

// Elementwise x >> y of integers, arithmetic for signed types (by the width or more: 0, or -1 for negative x).
inline Value right_shift(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("right_shift", operands, attrs.text())[0];
}

// Elementwise x - y with NumPy broadcasting.
inline Value sub(const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, y};
  return detail::apply("sub", operands, attrs.text())[0];
}

// Elementwise cond ? x : y (cond nonzero is true); x and y promote; all three broadcast.
inline Value where(const Value& cond, const Value& x, const Value& y) {
  detail::Attrs attrs;
  std::vector<Value> operands{cond, x, y};
  return detail::apply("where", operands, attrs.text())[0];
}

}  // namespace tessera::ops
