#include "backends/llvm/codegen.hpp"

#include <cstdlib>
#include <mutex>

#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>

extern "C" {
#define TESSERA_DECLARE_TARGET(T)       \
  void LLVMInitialize##T##TargetInfo(); \
  void LLVMInitialize##T##Target();     \
  void LLVMInitialize##T##TargetMC();   \
  void LLVMInitialize##T##AsmPrinter();
TESSERA_DECLARE_TARGET(X86)
TESSERA_DECLARE_TARGET(NVPTX)
TESSERA_DECLARE_TARGET(AMDGPU)
TESSERA_DECLARE_TARGET(SPIRV)
void LLVMInitializeX86AsmParser();
void LLVMInitializeAMDGPUAsmParser();
}

namespace tessera::backends {

void initialize_llvm_targets() {
  static std::once_flag once;
  std::call_once(once, [] {
#define TESSERA_INIT_TARGET(T)     \
  LLVMInitialize##T##TargetInfo(); \
  LLVMInitialize##T##Target();     \
  LLVMInitialize##T##TargetMC();   \
  LLVMInitialize##T##AsmPrinter();
    TESSERA_INIT_TARGET(X86)
    TESSERA_INIT_TARGET(NVPTX)
    TESSERA_INIT_TARGET(AMDGPU)
    TESSERA_INIT_TARGET(SPIRV)
    LLVMInitializeX86AsmParser();
    LLVMInitializeAMDGPUAsmParser();
  });
}

std::unique_ptr<llvm::TargetMachine> make_target_machine(const std::string& triple, const std::string& cpu,
                                                         const std::string& features) {
  initialize_llvm_targets();
  llvm::Triple t(triple);
  std::string error;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(t, error);
  if (!target) fail(ErrorCode::Compile, "no LLVM target for " + triple + ": " + error);
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(t, cpu, features, options, llvm::Reloc::PIC_,
                                                                      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!tm) fail(ErrorCode::Compile, "cannot create a target machine for " + triple + " (" + cpu + ")");
  return tm;
}

std::unique_ptr<llvm::Module> build_llvm_module(const ir::Module& tile_module, llvm::LLVMContext& ctx,
                                                TargetHooks& hooks, llvm::TargetMachine& tm) {
  std::vector<const ir::Function*> kernels;
  for (const auto& fn : tile_module.funcs)
    if (fn->attrs.count("kernel")) kernels.push_back(fn.get());
  return build_llvm_module(tile_module.name, kernels, ctx, hooks, tm);
}

std::unique_ptr<llvm::Module> build_llvm_module(const std::string& name,
                                                const std::vector<const ir::Function*>& kernels, llvm::LLVMContext& ctx,
                                                TargetHooks& hooks, llvm::TargetMachine& tm) {
  auto m = std::make_unique<llvm::Module>(name, ctx);
  m->setTargetTriple(tm.getTargetTriple());
  m->setDataLayout(tm.createDataLayout());
  lower_kernels(kernels, *m, hooks);
  std::string errors;
  llvm::raw_string_ostream os(errors);
  if (llvm::verifyModule(*m, &os))
    fail(ErrorCode::Internal, "the Tile IR -> LLVM lowering produced invalid LLVM IR: " + errors);
  return m;
}

void optimize_module(llvm::Module& m, llvm::TargetMachine& tm, const char* pipeline) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassBuilder pb(&tm, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm;
  if (!pipeline) {
    mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  } else if (auto err = pb.parsePassPipeline(mpm, pipeline)) {
    fail(ErrorCode::Internal,
         "bad LLVM pass pipeline '" + std::string(pipeline) + "': " + llvm::toString(std::move(err)));
  }
  mpm.run(m, mam);
}

std::string emit_code(llvm::Module& m, llvm::TargetMachine& tm, bool object_file) {
  // TESSERA_DUMP_IR also keeps the LLVM IR that reaches each code generator.
  if (const char* dir = std::getenv("TESSERA_DUMP_IR")) {
    std::error_code ec;
    llvm::raw_fd_ostream f(std::string(dir) + "/llvm-" + tm.getTargetTriple().getArchName().str() + ".ll", ec);
    if (!ec) m.print(f, nullptr);
  }
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  auto kind = object_file ? llvm::CodeGenFileType::ObjectFile : llvm::CodeGenFileType::AssemblyFile;
  if (tm.addPassesToEmitFile(pm, os, nullptr, kind))
    fail(ErrorCode::Compile, "LLVM cannot emit " + std::string(object_file ? "objects" : "assembly") + " for " +
                                 tm.getTargetTriple().str());
  pm.run(m);
  return std::string(buffer.begin(), buffer.end());
}

std::string module_to_string(const llvm::Module& m) {
  std::string s;
  llvm::raw_string_ostream os(s);
  m.print(os, nullptr);
  return s;
}

std::vector<std::string> kernel_names(const ir::Module& tile_module) {
  std::vector<std::string> names;
  for (const auto& fn : tile_module.funcs)
    if (fn->attrs.count("kernel")) names.push_back(fn->name);
  return names;
}

llvm::Function* declare_pointer_kernel(llvm::Module& m, const ir::Function& fn, llvm::IRBuilder<>& b,
                                       std::vector<llvm::Value*>& buffers, unsigned addrspace,
                                       llvm::CallingConv::ID cc) {
  auto& ctx = m.getContext();
  std::vector<llvm::Type*> params(fn.body.args.size(), llvm::PointerType::get(ctx, addrspace));
  auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false);
  auto* f = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage, fn.name, m);
  f->setCallingConv(cc);
  // Outputs are fresh allocations and inputs are only read, so no two buffers alias a write.
  for (size_t i = 0; i < params.size(); ++i) {
    f->addParamAttr(unsigned(i), llvm::Attribute::NoAlias);
    buffers.push_back(f->getArg(unsigned(i)));
  }
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", f));
  return f;
}

llvm::Value* read_index(llvm::IRBuilder<>& b, llvm::Intrinsic::ID id) {
  llvm::Value* v = b.CreateIntrinsic(id, llvm::ArrayRef<llvm::Type*>(), llvm::ArrayRef<llvm::Value*>());
  return b.CreateZExt(v, b.getInt64Ty());
}

int64_t kernel_block_size(const ir::Function& fn) { return std::get<ir::IntList>(fn.attrs.at("block"))[0]; }

}  // namespace tessera::backends
