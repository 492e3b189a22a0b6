// The C++ op API, elementwise_binary ops: one function per registry op, appending it to a Builder's block.
// Generated from the op registry by `python -m tessera._opgen --write .`; do not edit.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/builder.hpp"

namespace tessera::ops {

// Elementwise x + y with NumPy broadcasting.
inline ir::Value* add(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("add", operands, attrs);
}

// Elementwise arctangent of y/x in the quadrant of (x, y), in [-pi, pi], with C99's special values.
inline ir::Value* atan2(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("atan2", operands, attrs);
}

// Elementwise bitwise x & y of integers (logical for bools).
inline ir::Value* bitwise_and(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("bitwise_and", operands, attrs);
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

// Elementwise |x| with the sign (bit) of y.
inline ir::Value* copysign(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("copysign", operands, attrs);
}

// Elementwise true division x / y; integer operands give float32.
inline ir::Value* div(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("div", operands, attrs);
}

// Elementwise x == y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline ir::Value* equal(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("equal", operands, attrs);
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

// Elementwise sqrt(x**2 + y**2) without overflow or underflow.
inline ir::Value* hypot(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("hypot", operands, attrs);
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

// Elementwise max(x, y) with NumPy broadcasting; NaN propagates.
inline ir::Value* maximum(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("maximum", operands, attrs);
}

// Elementwise min(x, y) with NumPy broadcasting; NaN propagates.
inline ir::Value* minimum(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("minimum", operands, attrs);
}

// Elementwise x * y with NumPy broadcasting.
inline ir::Value* mul(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("mul", operands, attrs);
}

// Elementwise x != y (bool result), compared in the promoted dtype; NaN compares unequal to everything.
inline ir::Value* not_equal(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("not_equal", operands, attrs);
}

// Elementwise x ** y (C99 special values; integers wrap, negative integer exponents truncate).
inline ir::Value* pow(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("pow", operands, attrs);
}

// Elementwise x % y with the divisor's sign (Python, NumPy's mod); integer x % 0 is 0.
inline ir::Value* remainder(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("remainder", operands, attrs);
}

// Elementwise x >> y of integers, arithmetic for signed types (by the width or more: 0, or -1 for negative x).
inline ir::Value* right_shift(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("right_shift", operands, attrs);
}

// Elementwise x - y with NumPy broadcasting.
inline ir::Value* sub(ir::Builder& b, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, y};
  return b.value("sub", operands, attrs);
}

// Elementwise cond ? x : y (cond nonzero is true); x and y promote; all three broadcast.
inline ir::Value* where(ir::Builder& b, ir::Value* cond, ir::Value* x, ir::Value* y) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{cond, x, y};
  return b.value("where", operands, attrs);
}

}  // namespace tessera::ops
