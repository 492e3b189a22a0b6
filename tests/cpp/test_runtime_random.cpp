// Tests of Tessera's numerics helpers: f16/bf16 conversion (common/half.hpp) and the
// counter-based Philox random generators (runtime/random.hpp): known answers, the documented
// element mapping, reproducibility independent of size, layout and device, and moments.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/half.hpp"
#include "runtime/array.hpp"
#include "runtime/random.hpp"

#include "runtime_array_check.hpp"

using namespace tessera;

// ---- tests ----

static void test_half_conversions() {
  CHECK(double_to_half_bits(1.0) == 0x3C00);
  CHECK(double_to_half_bits(-2.0) == 0xC000);
  CHECK(double_to_half_bits(65504.0) == 0x7BFF);
  CHECK(double_to_half_bits(65519.99) == 0x7BFF);
  CHECK(double_to_half_bits(65520.0) == 0x7C00);  // the tie rounds to even: infinity
  CHECK(double_to_half_bits(1.0 / 3.0) == 0x3555);
  CHECK(double_to_half_bits(std::ldexp(1.0, -24)) == 0x0001);
  CHECK(double_to_half_bits(std::ldexp(1.0, -25)) == 0x0000);        // tie to even
  CHECK(double_to_half_bits(std::ldexp(3.0, -25)) == 0x0002);        // tie to even, upward
  CHECK(double_to_half_bits(std::ldexp(1023.5, -24)) == 0x0400);     // rounds into the normals
  CHECK(double_to_half_bits(1.0 + std::ldexp(1.0, -11)) == 0x3C00);  // tie to even
  CHECK(double_to_half_bits(-0.0) == 0x8000);
  CHECK(double_to_half_bits(INFINITY) == 0x7C00);
  const uint16_t nan_half = double_to_half_bits(NAN);
  CHECK((nan_half & 0x7C00) == 0x7C00 && (nan_half & 0x3FF) != 0);
  CHECK(double_to_bf16_bits(1.0) == 0x3F80);
  CHECK(double_to_bf16_bits(1.0 / 3.0) == 0x3EAB);
  CHECK(double_to_bf16_bits(1.0 + std::ldexp(1.0, -8)) == 0x3F80);  // tie to even
  CHECK(double_to_bf16_bits(1e39) == 0x7F80);
  CHECK(float_to_bf16_bits(3.0f) == 0x4040);
  CHECK(half_bits_to_float(0x3555) == 0.333251953125f);
  CHECK(bf16_bits_to_float(0x3EAB) == 0.333984375f);
  // Every bit pattern decodes and re-encodes to itself (NaNs stay NaN).
  int bad = 0;
  for (uint32_t b = 0; b < 65536; ++b) {
    const float h = half_bits_to_float(uint16_t(b)), f = bf16_bits_to_float(uint16_t(b));
    if (std::isnan(h) ? !std::isnan(half_bits_to_float(float_to_half_bits(h))) : float_to_half_bits(h) != b) ++bad;
    if (std::isnan(f) ? !std::isnan(bf16_bits_to_float(float_to_bf16_bits(f))) : float_to_bf16_bits(f) != b) ++bad;
  }
  CHECK(bad == 0);
}

static void test_philox_known_answers() {
  // Random123's kat_vectors for philox4x32_10.
  using W = std::array<uint32_t, 4>;
  CHECK((philox4x32_10({0, 0, 0, 0}, {0, 0}) == W{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  CHECK((philox4x32_10({~0u, ~0u, ~0u, ~0u}, {~0u, ~0u}) == W{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  CHECK((philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}) ==
         W{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
  // The documented element mapping, spot-checked for f32 and f64.
  const uint64_t seed = 0x123456789abcdefULL;
  Array f = Array::empty(kCpu, DType::F32, {20000});
  rand_uniform(f, seed);
  Array d = Array::empty(kCpu, DType::F64, {20000});
  rand_uniform(d, seed);
  for (int64_t i : {0, 1, 2, 3, 4, 5, 12345, 19999}) {
    const uint64_t c = uint64_t(i) / 4;
    const auto x = philox4x32_10({uint32_t(c), uint32_t(c >> 32), 0, 0}, {uint32_t(seed), uint32_t(seed >> 32)});
    CHECK(at<float>(f, i) == float(double(x[i % 4] >> 8) * 0x1p-24));
    const uint64_t c2 = uint64_t(i) / 2;
    const auto y = philox4x32_10({uint32_t(c2), uint32_t(c2 >> 32), 0, 0}, {uint32_t(seed), uint32_t(seed >> 32)});
    const int j = int(i % 2);
    CHECK(at<double>(d, i) == double(((uint64_t(y[2 * j]) << 32 | y[2 * j + 1]) >> 11)) * 0x1p-53);
  }
}

static void test_rand_reproducible() {
  for (DType t : {DType::F64, DType::F32, DType::F16, DType::BF16}) {
    for (bool normal : {false, true}) {
      auto gen = [&](int64_t n, uint64_t seed) {
        Array a = Array::empty(kCpu, t, {n});
        normal ? rand_normal(a, seed) : rand_uniform(a, seed);
        return a;
      };
      const Array small = gen(10, 42), big = gen(1000, 42), again = gen(1000, 42), other = gen(1000, 43);
      const size_t es = dtype_size(t);
      CHECK(std::memcmp(small.data(), big.data(), 10 * es) == 0);  // element i depends on (seed, i) only
      CHECK(std::memcmp(big.data(), again.data(), 1000 * es) == 0);
      CHECK(std::memcmp(big.data(), other.data(), 1000 * es) != 0);
      // A strided view gets the same value per logical index as a dense array.
      Array dense2 = gen(6, 7);
      Array base = Array::empty(kCpu, t, {12});
      Array view = base;
      view.shape = {6};
      view.strides = {2};
      normal ? rand_normal(view, 7) : rand_uniform(view, 7);
      CHECK(std::memcmp(view.to(kCpu).data(), dense2.data(), 6 * es) == 0);
      if (have_cuda()) {
        Array g = Array::empty(Device{TSR_DEVICE_CUDA, 0}, t, {1000});
        normal ? rand_normal(g, 42) : rand_uniform(g, 42);
        CHECK(std::memcmp(g.to(kCpu).data(), big.data(), 1000 * es) == 0);
      }
    }
  }
  // Uniform values lie in [0, 1) for every float dtype.
  const int64_t n = 200000;
  Array h = Array::empty(kCpu, DType::F16, {n}), b = Array::empty(kCpu, DType::BF16, {n});
  Array f = Array::empty(kCpu, DType::F32, {n}), d = Array::empty(kCpu, DType::F64, {n});
  rand_uniform(h, 1);
  rand_uniform(b, 1);
  rand_uniform(f, 1);
  rand_uniform(d, 1);
  bool in_range = true;
  double fsum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double vs[] = {half_bits_to_float(at<uint16_t>(h, i)), bf16_bits_to_float(at<uint16_t>(b, i)),
                         at<float>(f, i), at<double>(d, i)};
    for (double v : vs) in_range = in_range && v >= 0.0 && v < 1.0;
    fsum += at<float>(f, i);
  }
  CHECK(in_range);
  CHECK(std::fabs(fsum / double(n) - 0.5) < 0.01);
  Array i32 = Array::empty(kCpu, DType::I32, {4});
  CHECK_THROWS(rand_uniform(i32, 1), ErrorCode::DType, "i32");
  CHECK_THROWS(rand_normal(i32, 1), ErrorCode::DType, "float dtype");
}

static void test_randn_moments() {
  const int64_t n = 1000000;
  for (DType t : {DType::F32, DType::F64, DType::F16}) {
    Array a = Array::empty(kCpu, t, {n});
    rand_normal(a, 2024);
    double sum = 0, sq = 0;
    int64_t beyond4 = 0;
    bool finite = true;
    for (int64_t i = 0; i < n; ++i) {
      const double v = t == DType::F32   ? at<float>(a, i)
                       : t == DType::F64 ? at<double>(a, i)
                                         : half_bits_to_float(at<uint16_t>(a, i));
      finite = finite && std::isfinite(v);
      sum += v;
      sq += v * v;
      beyond4 += std::fabs(v) > 4.0;
    }
    const double mean = sum / double(n), sd = std::sqrt(sq / double(n) - mean * mean);
    std::printf("  randn %s: mean %.5f, std %.5f, |x| > 4: %lld\n", dtype_name(t), mean, sd, (long long)beyond4);
    CHECK(finite);
    CHECK(std::fabs(mean) < 0.01);
    CHECK(std::fabs(sd - 1.0) < 0.01);
    CHECK(beyond4 > 20 && beyond4 < 150);  // expected about 63
  }
}

int main() {
  const Test tests[] = {
      {"half_conversions", test_half_conversions},
      {"philox_known_answers", test_philox_known_answers},
      {"rand_reproducible", test_rand_reproducible},
      {"randn_moments", test_randn_moments},
  };
  return run_tests(tests);
}
