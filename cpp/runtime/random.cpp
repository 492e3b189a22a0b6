// Philox4x32-10 and the element mappings documented in random.hpp. Each chunk keeps the last
// Philox block it computed, so consecutive elements share one block evaluation.
#include "runtime/random.hpp"

#include <cmath>
#include <cstring>

#include "common/half.hpp"
#include "runtime/strided.hpp"

namespace tessera {
namespace {

constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // key schedule (Weyl) increments
constexpr double kTwoPi = 6.283185307179586476925286766559;

inline double u24(uint32_t w) { return double(w >> 8) * 0x1p-24; }
inline double u53(uint32_t a, uint32_t b) { return double(((uint64_t(a) << 32) | b) >> 11) * 0x1p-53; }

// Block c's four words for a seed, caching the last block.
class Blocks {
 public:
  explicit Blocks(uint64_t seed) : key_{uint32_t(seed), uint32_t(seed >> 32)} {}
  const std::array<uint32_t, 4>& at(uint64_t c) {
    if (!valid_ || c != c_) {
      words_ = philox4x32_10({uint32_t(c), uint32_t(c >> 32), 0, 0}, key_);
      c_ = c;
      valid_ = true;
    }
    return words_;
  }

 private:
  std::array<uint32_t, 2> key_;
  std::array<uint32_t, 4> words_{};
  uint64_t c_ = 0;
  bool valid_ = false;
};

void require_float(const Array& out, const char* what) {
  if (!is_float(out.dtype))
    fail(ErrorCode::DType,
         std::string(what) + " needs a float dtype (f64, f32, f16, bf16), got " + dtype_name(out.dtype));
}

template <class T>
void put(void* dst, int64_t k, T v) {
  std::memcpy(static_cast<char*>(dst) + k * int64_t(sizeof(T)), &v, sizeof v);
}

double box_muller(double u1, double u2, bool cosine) {
  const double r = std::sqrt(-2.0 * std::log(u1));
  return r * (cosine ? std::cos(kTwoPi * u2) : std::sin(kTwoPi * u2));
}

}  // namespace

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> x, std::array<uint32_t, 2> key) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key[0] += kW0;
      key[1] += kW1;
    }
    const uint64_t p0 = uint64_t(kM0) * x[0], p1 = uint64_t(kM1) * x[2];
    x = {uint32_t(p1 >> 32) ^ x[1] ^ key[0], uint32_t(p1), uint32_t(p0 >> 32) ^ x[3] ^ key[1], uint32_t(p0)};
  }
  return x;
}

void rand_uniform(Array& out, uint64_t seed) {
  require_float(out, "rand");
  const DType dtype = out.dtype;
  rt::write_generated(out, [&](int64_t begin, int64_t end, void* dst) {
    Blocks blocks(seed);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t k = i - begin;
      if (dtype == DType::F64) {
        const auto& x = blocks.at(uint64_t(i) / 2);
        const int j = int(i % 2);
        put(dst, k, u53(x[2 * j], x[2 * j + 1]));
        continue;
      }
      const uint32_t w = blocks.at(uint64_t(i) / 4)[i % 4];
      if (dtype == DType::F32)
        put(dst, k, float(u24(w)));
      else if (dtype == DType::F16)
        put(dst, k, double_to_half_bits(double(w >> 21) * 0x1p-11));
      else
        put(dst, k, double_to_bf16_bits(double(w >> 24) * 0x1p-8));
    }
  });
}

void rand_normal(Array& out, uint64_t seed) {
  require_float(out, "randn");
  const DType dtype = out.dtype;
  rt::write_generated(out, [&](int64_t begin, int64_t end, void* dst) {
    Blocks blocks(seed);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t k = i - begin;
      const bool cosine = i % 2 == 0;
      if (dtype == DType::F64) {
        const auto& x = blocks.at(uint64_t(i) / 2);
        put(dst, k, box_muller(u53(x[0], x[1]) + 0x1p-53, u53(x[2], x[3]), cosine));
        continue;
      }
      const auto& x = blocks.at(uint64_t(i) / 4);
      const int p = int(i % 4) / 2;
      const double z = box_muller(u24(x[2 * p]) + 0x1p-24, u24(x[2 * p + 1]), cosine);
      if (dtype == DType::F32)
        put(dst, k, float(z));
      else if (dtype == DType::F16)
        put(dst, k, double_to_half_bits(z));
      else
        put(dst, k, double_to_bf16_bits(z));
    }
  });
}

}  // namespace tessera
