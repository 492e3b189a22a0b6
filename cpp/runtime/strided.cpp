// Strided host copies: rows along the last dimension are the unit of work (memcpy when both
// sides are dense there), and the odometer over the outer dimensions restarts per chunk.
#include "runtime/strided.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "runtime/thread_pool.hpp"

namespace tessera::rt {

Extent byte_extent(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, size_t elem) {
  Extent e;
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] == 0) return e;
  const auto es = int64_t(elem);
  e.hi = es;
  for (size_t d = 0; d < shape.size(); ++d) {
    const int64_t span = (shape[d] - 1) * strides[d] * es;
    (span < 0 ? e.lo : e.hi) += span;
  }
  return e;
}

namespace {

void copy_row(char* dst, int64_t dst_stride, const char* src, int64_t src_stride, int64_t n, size_t elem) {
  if (dst_stride == 1 && src_stride == 1) {
    std::memcpy(dst, src, size_t(n) * elem);
    return;
  }
  const int64_t ds = dst_stride * int64_t(elem), ss = src_stride * int64_t(elem);
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * ds, src + i * ss, elem);
}

}  // namespace

void copy_strided(void* dst, const int64_t* dst_strides, const void* src, const int64_t* src_strides,
                  const std::vector<int64_t>& shape, size_t elem) {
  const size_t nd = shape.size();
  for (int64_t d : shape)
    if (d == 0) return;
  if (nd == 0) {  // a scalar
    std::memcpy(dst, src, elem);
    return;
  }
  const int64_t inner = shape[nd - 1];
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < nd; ++d) rows *= shape[d];
  const auto es = int64_t(elem);
  parallel_for(
      rows,
      [&](int64_t begin, int64_t end) {
        // Multi-index of row `begin` over the outer dimensions.
        std::vector<int64_t> idx(nd > 1 ? nd - 1 : 0);
        int64_t rest = begin;
        for (size_t d = nd - 1; d-- > 0;) {
          idx[d] = rest % shape[d];
          rest /= shape[d];
        }
        for (int64_t r = begin; r < end; ++r) {
          int64_t doff = 0, soff = 0;
          for (size_t d = 0; d + 1 < nd; ++d) {
            doff += idx[d] * dst_strides[d];
            soff += idx[d] * src_strides[d];
          }
          copy_row(static_cast<char*>(dst) + doff * es, dst_strides[nd - 1], static_cast<const char*>(src) + soff * es,
                   src_strides[nd - 1], inner, elem);
          for (size_t d = nd - 1; d-- > 0;) {  // advance the odometer
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
          }
        }
      },
      std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(inner, 1)));
}

void check_in_bounds(const Array& a) {
  if (a.strides.size() != a.shape.size())
    fail(ErrorCode::Value, "array has " + std::to_string(a.shape.size()) + " dimensions but " +
                               std::to_string(a.strides.size()) + " strides");
  const Extent e = byte_extent(a.shape, a.strides, dtype_size(a.dtype));
  if (e.hi == e.lo) return;
  const int64_t first = int64_t(a.offset_bytes) + e.lo, last = int64_t(a.offset_bytes) + e.hi;
  if (first < 0 || last > int64_t(a.storage->bytes()))
    fail(ErrorCode::Value, "array view reaches outside its storage (bytes [" + std::to_string(first) + ", " +
                               std::to_string(last) + ") of " + std::to_string(a.storage->bytes()) + ")");
}

void write_generated(Array& out, const Generator& gen, int64_t grain) {
  check_in_bounds(out);
  if (out.read_only()) fail(ErrorCode::Value, "cannot write to a read-only array");
  const int64_t n = out.numel();
  if (n == 0) return;
  const size_t es = dtype_size(out.dtype);
  const Device dev = out.device();
  if (dev.type == TSR_DEVICE_CPU && out.is_contiguous()) {
    auto* base = static_cast<char*>(out.data());
    parallel_for(n, [&](int64_t b, int64_t e) { gen(b, e, base + b * int64_t(es)); }, grain);
    return;
  }
  std::unique_ptr<char[]> values(new char[size_t(n) * es]);
  parallel_for(n, [&](int64_t b, int64_t e) { gen(b, e, values.get() + b * int64_t(es)); }, grain);
  const auto dense = Array::contiguous_strides(out.shape);
  const tsrDevice cpu{TSR_DEVICE_CPU, 0};
  if (dev.type == TSR_DEVICE_CPU) {
    copy_strided(out.data(), out.strides.data(), values.get(), dense.data(), out.shape, es);
  } else if (out.is_contiguous()) {
    check_status(tsrMemcpy(out.data(), dev.raw(), values.get(), cpu, size_t(n) * es, nullptr), "tsrMemcpy");
  } else {
    // A strided device view: read the bytes it spans, scatter into them on the host, write back.
    const Extent e = byte_extent(out.shape, out.strides, es);
    std::unique_ptr<char[]> span(new char[size_t(e.hi - e.lo)]);
    char* first = static_cast<char*>(out.data()) + e.lo;
    check_status(tsrMemcpy(span.get(), cpu, first, dev.raw(), size_t(e.hi - e.lo), nullptr), "tsrMemcpy");
    copy_strided(span.get() - e.lo, out.strides.data(), values.get(), dense.data(), out.shape, es);
    check_status(tsrMemcpy(first, dev.raw(), span.get(), cpu, size_t(e.hi - e.lo), nullptr), "tsrMemcpy");
  }
}

}  // namespace tessera::rt
