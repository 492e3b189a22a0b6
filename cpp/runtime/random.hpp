// Counter-based random numbers: element i of an array depends only on (seed, i), so results
// do not depend on the array's size, layout, device or thread count, and a GPU kernel can
// reproduce them. i is the row-major logical index of the element in out.shape.
//
// Generator: Philox4x32-10 (Salmon et al., SC'11; Random123's constants and round order),
//   key     = {seed & 0xffffffff, seed >> 32}
//   counter = {c & 0xffffffff, c >> 32, 0, 0} for a 64-bit block number c,
//   giving four 32-bit words x[0..3] per block.
// Let U24(w) = (w >> 8) * 2^-24 and U53(a, b) = (((uint64)a << 32 | b) >> 11) * 2^-53.
//
// rand_uniform, values in [0, 1):
//   f32:  c = i / 4, value = U24(x[i % 4])
//   f16:  c = i / 4, value = (x[i % 4] >> 21) * 2^-11   (exact in f16; never rounds up to 1)
//   bf16: c = i / 4, value = (x[i % 4] >> 24) * 2^-8    (exact in bf16)
//   f64:  c = i / 2, j = i % 2, value = U53(x[2j], x[2j + 1])
// rand_normal, standard normal by Box-Muller (computed in double, rounded once to the dtype):
//   f32, f16, bf16: c = i / 4, p = (i % 4) / 2,
//        u1 = U24(x[2p]) + 2^-24 (in (0, 1]), u2 = U24(x[2p + 1])
//   f64: c = i / 2, u1 = U53(x[0], x[1]) + 2^-53, u2 = U53(x[2], x[3])
//   value = sqrt(-2 ln u1) * (i even ? cos(2 pi u2) : sin(2 pi u2))
// Uniform values are bit-exact on any platform; normals match to the accuracy of log/sin/cos.
#pragma once
#include <array>
#include <cstdint>

#include "runtime/array.hpp"

namespace tessera {

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

// Float dtypes only (f64, f32, f16, bf16); others throw ErrorCode::DType. CUDA arrays are
// generated on the host and copied (a device-side generator is planned).
void rand_uniform(Array& out, uint64_t seed);
void rand_normal(Array& out, uint64_t seed);

}  // namespace tessera
