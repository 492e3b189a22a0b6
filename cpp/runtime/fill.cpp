// Constant fills and ranges: values are produced on the host in parallel and placed by
// write_generated; uniform byte patterns (zeros, bool true, ...) become a single tsrMemset.
#include "runtime/fill.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include "common/half.hpp"
#include "runtime/strided.hpp"

namespace tessera {
namespace {

template <class T>
T saturate(double v) {
  if (std::isnan(v)) return T(0);
  // Compare in double against the bounds as doubles: INT64_MAX rounds up to 2^63, hence >=.
  if (v >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  if (v <= double(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
  return T(v);  // in range: truncation toward zero is defined
}

template <class T>
void store(void* dst, T v) {
  std::memcpy(dst, &v, sizeof v);
}

}  // namespace

void convert_scalar(DType dtype, double value, void* dst) {
  switch (dtype) {
    case DType::F64: return store(dst, value);
    case DType::F32: return store(dst, float(value));
    case DType::F16: return store(dst, double_to_half_bits(value));
    case DType::BF16: return store(dst, double_to_bf16_bits(value));
    case DType::I64: return store(dst, saturate<int64_t>(value));
    case DType::I32: return store(dst, saturate<int32_t>(value));
    case DType::I8: return store(dst, saturate<int8_t>(value));
    case DType::U8: return store(dst, saturate<uint8_t>(value));
    case DType::Bool: return store(dst, uint8_t(value != 0.0 ? 1 : 0));
  }
  fail(ErrorCode::Internal, "convert_scalar: unknown dtype");
}

void fill(Array& out, double value) {
  const size_t es = dtype_size(out.dtype);
  unsigned char pattern[8];
  convert_scalar(out.dtype, value, pattern);
  bool uniform = true;
  for (size_t i = 1; i < es; ++i) uniform = uniform && pattern[i] == pattern[0];
  if (uniform && out.is_contiguous() && !out.read_only()) {
    rt::check_in_bounds(out);
    check_status(tsrMemset(out.device().raw(), out.data(), pattern[0], out.nbytes(), nullptr), "tsrMemset");
    return;
  }
  rt::write_generated(out, [&](int64_t begin, int64_t end, void* dst) {
    auto* p = static_cast<unsigned char*>(dst);
    for (int64_t i = begin; i < end; ++i, p += es) std::memcpy(p, pattern, es);
  });
}

void arange(Array& out, double start, double step) {
  const DType dtype = out.dtype;
  const size_t es = dtype_size(dtype);
  rt::write_generated(out, [&](int64_t begin, int64_t end, void* dst) {
    auto* p = static_cast<unsigned char*>(dst);
    for (int64_t i = begin; i < end; ++i, p += es) convert_scalar(dtype, start + double(i) * step, p);
  });
}

}  // namespace tessera
