// IEEE binary16 (f16) and bfloat16 (bf16) conversions, shared by the runtime and the compiler.
// Encoding rounds to nearest, ties to even, directly from double: a double -> float -> half
// chain can round twice and miss the nearest half for values such as fill(1/3).
// Decoding is exact (every f16/bf16 value is a float).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace tessera {
namespace half_detail {

// Rounds d to a 16-bit binary float with kMant stored mantissa bits and kExp exponent bits.
// rint() gives ties-to-even under the default rounding mode; the ldexp scalings are exact.
template <int kMant, int kExp>
inline uint16_t encode(double d) {
  constexpr int kBias = (1 << (kExp - 1)) - 1;
  constexpr int kEmin = 1 - kBias;  // exponent of the smallest normal
  constexpr uint32_t kInf = uint32_t((1 << kExp) - 1) << kMant;
  const uint32_t sign = std::signbit(d) ? (1u << (kMant + kExp)) : 0u;
  if (std::isnan(d)) return uint16_t(sign | kInf | (1u << (kMant - 1)));  // quiet NaN
  const double a = std::fabs(d);
  if (std::isinf(a)) return uint16_t(sign | kInf);
  if (a < std::ldexp(1.0, kEmin)) {
    // Subnormal: a multiple of 2^(kEmin - kMant). m == 2^kMant is exactly the smallest normal's
    // encoding, so rounding up across the boundary needs no special case.
    const double m = std::rint(std::ldexp(a, kMant - kEmin));
    return uint16_t(sign | uint32_t(m));
  }
  int e = 0;
  std::frexp(a, &e);
  e -= 1;                                          // a = 1.f * 2^e
  double m = std::rint(std::ldexp(a, kMant - e));  // in [2^kMant, 2^(kMant+1)]
  if (m >= std::ldexp(1.0, kMant + 1)) {           // rounded up to the next power of two
    m = std::ldexp(1.0, kMant);
    ++e;
  }
  const int field = e + kBias;
  if (field >= (1 << kExp) - 1) return uint16_t(sign | kInf);  // overflow rounds to infinity
  return uint16_t(sign | (uint32_t(field) << kMant) | (uint32_t(m) - (1u << kMant)));
}

template <int kMant, int kExp>
inline float decode(uint16_t h) {
  constexpr int kBias = (1 << (kExp - 1)) - 1;
  const bool neg = (h >> (kMant + kExp)) & 1;
  const int field = (h >> kMant) & ((1 << kExp) - 1);
  const uint32_t mant = h & ((1u << kMant) - 1);
  float v;
  if (field == (1 << kExp) - 1)
    v = mant ? std::nanf("") : INFINITY;
  else if (field == 0)
    v = std::ldexp(float(mant), 1 - kBias - kMant);
  else
    v = std::ldexp(float(mant | (1u << kMant)), field - kBias - kMant);
  return neg ? -v : v;
}

}  // namespace half_detail

inline uint16_t double_to_half_bits(double d) { return half_detail::encode<10, 5>(d); }
inline uint16_t float_to_half_bits(float f) { return half_detail::encode<10, 5>(f); }
inline float half_bits_to_float(uint16_t h) { return half_detail::decode<10, 5>(h); }

inline uint16_t double_to_bf16_bits(double d) { return half_detail::encode<7, 8>(d); }
inline uint16_t float_to_bf16_bits(float f) { return half_detail::encode<7, 8>(f); }
// bf16 is the top half of a float: decoding is a shift.
inline float bf16_bits_to_float(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace tessera
