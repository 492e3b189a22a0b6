// The compiler's stages, shared by compile() (compiler.cpp) and export (export.cpp).
#pragma once
#include <map>
#include <memory>
#include <string>

#include "backends/backend.hpp"
#include "ir/ir.hpp"
#include "runtime/array.hpp"

namespace tessera::compiler {

// The full target: `text` parsed, plus what the host (CPU name, SIMD width) or the device (its
// SM count: persistent grids, tiles and K splits fill the SMs) tells.
ir::Target build_target(const std::string& text, const Device* device);

struct Lowered {
  std::unique_ptr<ir::Module> module;  // Tile IR
  std::map<std::string, std::string> text;
};
// Graph IR text -> Tile IR, keeping each level's text. Knobs are tuned on `device` when
// autotuning is on (autotune.hpp); without a device only cached choices apply.
Lowered lower(const std::string& text, const ir::Target& target, const Device* device);

// Tile IR -> compiled kernels (counted by backend_compile_count).
backends::CompiledKernels run_backend(const ir::Module& tile_module, const ir::Target& spec, bool assembly = false);

}  // namespace tessera::compiler
