// Dispatches a Tile IR module to the code generator of its target.
#include "backends/backend.hpp"

#include "backends/llvm/codegen.hpp"

namespace tessera::backends {

CompiledKernels compile_kernels(const ir::Module& tile_module, const ir::Target& target, bool assembly) {
  switch (target.kind) {
    case ir::TargetKind::Cpu: return compile_cpu(tile_module, target, assembly);
    case ir::TargetKind::Nvptx: return compile_nvptx(tile_module, target);
    case ir::TargetKind::Amdgpu: return compile_amdgpu(tile_module, target);
    case ir::TargetKind::Spirv: return compile_spirv(tile_module, target);
  }
  fail(ErrorCode::Compile, std::string("unknown target kind ") + target.kind_name());
}

}  // namespace tessera::backends
