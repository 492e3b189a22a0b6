// Creation helpers for the Python layer: constant fills and ranges, on any device and layout.
//
// Conversion of a double to each dtype (convert_scalar):
//   f64 exact; f32 rounded to nearest; f16/bf16 rounded to nearest-even directly from the
//   double (no double rounding), overflow to +-inf; integers: truncated toward zero and
//   saturated to the type's range, NaN -> 0; bool: value != 0 (NaN -> true).
#pragma once
#include "runtime/array.hpp"

namespace tessera {

// Writes `value` converted to `dtype` (dtype_size(dtype) bytes) at dst.
void convert_scalar(DType dtype, double value, void* dst);

// Every element of `out` (any strides, any device) becomes `value`.
void fill(Array& out, double value);

// Element with row-major logical index i becomes start + i * step (computed in double, then
// converted as above). Usually `out` is 1-D.
void arange(Array& out, double start, double step);

}  // namespace tessera
