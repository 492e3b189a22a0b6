// AMD GPU backend: one work-item per lane, amdgpu_kernel functions with global (addrspace 1)
// buffers, compiled by LLVM's AMDGPU target to an object and linked by lld into a code object
// (HSACO) that HIP's module loader accepts.
#include <cstdio>
#include <fstream>
#include <optional>

#include <llvm/IR/IntrinsicsAMDGPU.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Program.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include "backends/llvm/codegen.hpp"

namespace tessera::backends {
namespace {

class AmdgpuHooks : public TargetHooks {
 public:
  bool lanes_are_threads() const override { return true; }

  llvm::Function* begin_kernel(llvm::Module& m, const ir::Function& fn, llvm::IRBuilder<>& b,
                               std::vector<llvm::Value*>& buffers) override {
    llvm::Function* f = declare_pointer_kernel(m, fn, b, buffers, 1, llvm::CallingConv::AMDGPU_KERNEL);
    f->addFnAttr("amdgpu-flat-work-group-size", "1," + std::to_string(kernel_block_size(fn)));
    return f;
  }

  llvm::Value* program_id(llvm::IRBuilder<>& b, int axis) override {
    static const llvm::Intrinsic::ID ids[] = {llvm::Intrinsic::amdgcn_workgroup_id_x,
                                              llvm::Intrinsic::amdgcn_workgroup_id_y,
                                              llvm::Intrinsic::amdgcn_workgroup_id_z};
    return read_index(b, ids[axis]);
  }

  llvm::Value* thread_id(llvm::IRBuilder<>& b) override { return read_index(b, llvm::Intrinsic::amdgcn_workitem_id_x); }

  void barrier(llvm::IRBuilder<>& b) override {
    auto scope = b.getContext().getOrInsertSyncScopeID("workgroup");
    b.CreateFence(llvm::AtomicOrdering::Release, scope);
    b.CreateIntrinsic(llvm::Intrinsic::amdgcn_s_barrier, llvm::ArrayRef<llvm::Type*>(), llvm::ArrayRef<llvm::Value*>());
    b.CreateFence(llvm::AtomicOrdering::Acquire, scope);
  }
};

// Links an AMDGPU object into a shared code object with the ld.lld program. lld is not linked
// into Tessera: its library pulls every LLVM target and LTO into the extension, for a step
// only this target needs. TESSERA_LD_LLD names the program; else PATH and LLVM 22's folder.
std::string find_ld_lld() {
  if (const char* env = std::getenv("TESSERA_LD_LLD")) return env;
  for (const char* name : {"ld.lld-22", "ld.lld"})
    if (auto p = llvm::sys::findProgramByName(name)) return *p;
  if (llvm::sys::fs::can_execute("/usr/lib/llvm-22/bin/ld.lld")) return "/usr/lib/llvm-22/bin/ld.lld";
  fail(ErrorCode::Compile,
       "amdgpu: linking a code object needs ld.lld (Debian: apt install lld-22; or set "
       "TESSERA_LD_LLD), and none was found");
}

std::string link_hsaco(const std::string& object) {
  std::string lld = find_ld_lld();
  llvm::SmallString<128> in, out, log;
  if (llvm::sys::fs::createTemporaryFile("tessera-amdgpu", "o", in) ||
      llvm::sys::fs::createTemporaryFile("tessera-amdgpu", "hsaco", out) ||
      llvm::sys::fs::createTemporaryFile("tessera-amdgpu", "log", log))
    fail(ErrorCode::Compile, "amdgpu: cannot create temporary files for linking");
  { std::ofstream(in.c_str(), std::ios::binary).write(object.data(), std::streamsize(object.size())); }
  llvm::StringRef args[] = {lld, "-shared", in, "-o", out};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log), llvm::StringRef(log)};
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(lld, args, std::nullopt, redirects, 60, 0, &error);
  std::ifstream f(out.c_str(), std::ios::binary);
  std::string hsaco((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::ifstream lf(log.c_str());
  std::string messages((std::istreambuf_iterator<char>(lf)), std::istreambuf_iterator<char>());
  for (const char* p : {in.c_str(), out.c_str(), log.c_str()}) std::remove(p);
  if (rc != 0 || hsaco.empty())
    fail(ErrorCode::Compile, "amdgpu: " + lld + " failed to link the code object: " + error + messages);
  return hsaco;
}

}  // namespace

CompiledKernels compile_amdgpu(const ir::Module& tile_module, const ir::Target& target) {
  auto tm = make_target_machine("amdgcn-amd-amdhsa", target.arch, "");
  llvm::LLVMContext ctx;
  AmdgpuHooks hooks;
  auto m = build_llvm_module(tile_module, ctx, hooks, *tm);
  optimize_module(*m, *tm);
  CompiledKernels out;
  out.target = target;
  out.kernel_names = kernel_names(tile_module);
  out.llvm_ir = module_to_string(*m);
  // Codegen may change the module and cache state in the target machine: each emission gets
  // its own module copy or target machine.
  out.assembly = emit_code(*llvm::CloneModule(*m), *tm, false);
  out.binary = link_hsaco(emit_code(*m, *make_target_machine("amdgcn-amd-amdhsa", target.arch, ""), true));
  return out;
}

}  // namespace tessera::backends
