// Runtime routines the CPU JIT provides to generated code (cpu_libcalls.cpp).
#pragma once
#include <utility>
#include <vector>

namespace tessera::backends {

// (symbol name, address) of the half/bfloat16 conversion routines.
std::vector<std::pair<const char*, void*>> half_conversion_libcalls();

}  // namespace tessera::backends
