// Sliding windows over the trailing k dims of a tensor: the geometry shared by the two
// primitives `windows` (im2col) and `overlap_add` (its adjoint, col2im) in ops_windows.cpp, and
// by the convolution and pooling composites built from them (ops_conv.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ir/ir.hpp"

namespace tessera::ir {

struct WindowGeometry {
  std::vector<int64_t> in;        // the k spatial sizes read
  std::vector<int64_t> window;    // K: elements per window along each dim
  std::vector<int64_t> stride;    // between window starts
  std::vector<int64_t> dilation;  // between a window's elements
  std::vector<int64_t> padding;   // [lo0, hi0, lo1, hi1, ...]; negative crops
  std::vector<int64_t> out;       // O: windows along each dim

  size_t k() const { return window.size(); }
  // Input coordinate of window element w in window o along dim i (may lie in the padding).
  int64_t source(size_t i, int64_t o, int64_t w) const { return o * stride[i] + w * dilation[i] - padding[2 * i]; }
};

// Checks the sizes (window, stride, dilation >= 1; k of each; 2k paddings) and computes `out`:
// floor((in + lo + hi - dilation (K - 1) - 1) / stride) + 1 per dim. Errors name `op`.
WindowGeometry window_geometry(const std::string& op, std::vector<int64_t> in, std::vector<int64_t> window,
                               std::vector<int64_t> stride, std::vector<int64_t> dilation,
                               std::vector<int64_t> padding);

// The geometry that a `windows` or `overlap_add` op's attributes describe: `in` is the size the
// windows are read from (windows: x's trailing dims; overlap_add: its `size`), `window` the
// window dims (windows: its attribute; overlap_add: read from its operand's shape).
WindowGeometry geometry_of(const std::string& op, const std::vector<int64_t>& in, const std::vector<int64_t>& window,
                           const AttrMap& attrs);

// The attributes of a windows / overlap_add op with this geometry (`value`: windows' fill).
AttrMap window_attrs(const WindowGeometry& g, bool with_window);

}  // namespace tessera::ir
