// vmap as a Graph IR transform (vmap.cpp).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "ir/ir.hpp"

namespace tessera::passes {

// The module's first function f(x...) -> (y...) vectorised over a batch of `batch` examples:
// argument i carries the batch at dim in_axes[i] (-1: not batched, the same for every example);
// every result carries it at dim 0.
std::unique_ptr<ir::Module> vmap_transform(const ir::Module& m, const std::vector<int>& in_axes, int64_t batch);

}  // namespace tessera::passes
