// Host-side movement of strided array elements: the gather/scatter behind Array::to, and the
// "produce values on the host, then place them in any Array" path used by fill and random.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/array.hpp"

namespace tessera::rt {

// Byte range [lo, hi) touched by a strided view, relative to its first element (lo <= 0 when
// some stride is negative). {0, 0} for an empty view.
struct Extent {
  int64_t lo = 0, hi = 0;
};
Extent byte_extent(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, size_t elem);

// Copies every element of `shape` from one strided host layout to another; strides count
// elements; dst and src point at element (0, ..., 0). Runs over the worker pool.
void copy_strided(void* dst, const int64_t* dst_strides, const void* src, const int64_t* src_strides,
                  const std::vector<int64_t>& shape, size_t elem);

// Throws ErrorCode::Value unless the view lies inside its storage.
void check_in_bounds(const Array& a);

// Fills `out` (any device, any strides) with generated values: gen(begin, end, dst) writes the
// elements with row-major logical indices [begin, end) contiguously at dst. Chunks of at least
// `grain` elements run in parallel. CUDA arrays are produced on the host and copied over.
using Generator = std::function<void(int64_t begin, int64_t end, void* dst)>;
void write_generated(Array& out, const Generator& gen, int64_t grain = 1 << 14);

}  // namespace tessera::rt
