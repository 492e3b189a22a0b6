// Target selection: parses target names and dispatches to the per-target backend.
#include "backends/backend.hpp"

#include "backends/llvm/codegen.hpp"

namespace tessera::backends {

TargetSpec TargetSpec::parse(const std::string& text) {
  TargetSpec t;
  auto colon = text.find(':');
  t.kind = text.substr(0, colon);
  t.arch = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (t.kind == "cpu") {
    if (t.arch.empty() || t.arch == "host") t.arch = host_cpu_name();
  } else if (t.kind == "nvptx") {
    if (t.arch.empty()) t.arch = "sm_90";
  } else if (t.kind == "amdgpu") {
    if (t.arch.empty()) t.arch = "gfx942";
  } else if (t.kind == "spirv") {
    if (t.arch.empty()) t.arch = "vulkan";
  } else {
    fail(ErrorCode::Compile, "unknown target '" + text + "' (known: cpu, nvptx[:sm_XX], amdgpu[:gfxXXX], spirv[:vulkan])");
  }
  return t;
}

CompiledKernels compile_kernels(const ir::Module& tile_module, const TargetSpec& target) {
  if (target.kind == "cpu") return compile_cpu(tile_module, target);
  if (target.kind == "nvptx") return compile_nvptx(tile_module, target);
  if (target.kind == "amdgpu") return compile_amdgpu(tile_module, target);
  if (target.kind == "spirv") return compile_spirv(tile_module, target);
  fail(ErrorCode::Compile, "unknown target kind '" + target.kind + "'");
}

}  // namespace tessera::backends
