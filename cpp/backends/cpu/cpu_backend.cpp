// x86-64 (host CPU) backend: Tile IR kernels run as loops over lanes; the module is optimised
// for the host CPU's features and compiled to an ELF object, which ORC LLJIT links into the
// process. Keeping the object as the compile result lets the disk cache skip LLVM entirely.
//
// Each kernel becomes an internal `<name>.body(buffers..., pid0, pid1, pid2)` plus the
// runtime's CPU entry point `<name>(void** args, i64 begin, i64 end, const u32* grid)` that
// runs program instances [begin, end) (see tsrHostKernelFn in tessera.h).
#include <atomic>
#include <mutex>

#include <llvm/ExecutionEngine/Orc/AbsoluteSymbols.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/GlobalAlias.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/cpu/cpu_libcalls.hpp"
#include "backends/llvm/codegen.hpp"
#include "backends/llvm/parallel_codegen.hpp"

namespace tessera::backends {
namespace {

class CpuHooks : public TargetHooks {
 public:
  bool lanes_are_threads() const override { return false; }

  llvm::Function* begin_kernel(llvm::Module& m, const ir::Function& fn, llvm::IRBuilder<>& b,
                               std::vector<llvm::Value*>& buffers) override {
    auto& ctx = m.getContext();
    std::vector<llvm::Type*> params(fn.body.args.size(), llvm::PointerType::get(ctx, 0));
    for (int i = 0; i < 3; ++i) params.push_back(llvm::Type::getInt64Ty(ctx));
    auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false);
    auto* f = llvm::Function::Create(type, llvm::GlobalValue::InternalLinkage, fn.name + ".body", m);
    f->addFnAttr(llvm::Attribute::AlwaysInline);
    f->addFnAttr(llvm::Attribute::NoUnwind);
    // Outputs are fresh allocations and inputs are only read, so no two buffers alias a write.
    for (size_t i = 0; i < fn.body.args.size(); ++i) {
      f->addParamAttr(unsigned(i), llvm::Attribute::NoAlias);
      buffers.push_back(f->getArg(unsigned(i)));
    }
    for (int i = 0; i < 3; ++i) pids_[i] = f->getArg(unsigned(fn.body.args.size() + size_t(i)));
    b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", f));
    return f;
  }

  llvm::Value* program_id(llvm::IRBuilder<>&, int axis) override { return pids_[axis]; }

  void end_kernel(llvm::Module& m, const ir::Function& fn, llvm::Function* body) override {
    auto& ctx = m.getContext();
    llvm::Type* ptr = llvm::PointerType::get(ctx, 0);
    llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
    auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, i64, i64, ptr}, false);
    auto* f = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage, fn.name, m);
    f->addFnAttr(llvm::Attribute::NoUnwind);
    llvm::Value *args = f->getArg(0), *begin = f->getArg(1), *end = f->getArg(2), *grid = f->getArg(3);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", f));
    std::vector<llvm::Value*> call_args;
    for (size_t i = 0; i < fn.body.args.size(); ++i) {
      llvm::Value* slot = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, args, i));
      call_args.push_back(b.CreateLoad(ptr, slot));  // args[i] points at the buffer pointer
    }
    llvm::Value* gx = b.CreateZExt(b.CreateLoad(b.getInt32Ty(), grid), i64);
    llvm::Value* gy =
        b.CreateZExt(b.CreateLoad(b.getInt32Ty(), b.CreateConstInBoundsGEP1_64(b.getInt32Ty(), grid, 1)), i64);
    llvm::BasicBlock* entry = b.GetInsertBlock();
    llvm::BasicBlock* loop = llvm::BasicBlock::Create(ctx, "instances", f);
    llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "done", f);
    b.CreateCondBr(b.CreateICmpSLT(begin, end), loop, done);
    b.SetInsertPoint(loop);
    llvm::PHINode* id = b.CreatePHI(i64, 2, "id");
    id->addIncoming(begin, entry);
    llvm::Value* x = b.CreateURem(id, gx);
    llvm::Value* rest = b.CreateUDiv(id, gx);
    llvm::Value* y = b.CreateURem(rest, gy);
    llvm::Value* z = b.CreateUDiv(rest, gy);
    std::vector<llvm::Value*> full = call_args;
    full.insert(full.end(), {x, y, z});
    b.CreateCall(body, full);
    llvm::Value* next = b.CreateAdd(id, b.getInt64(1));
    id->addIncoming(next, loop);
    b.CreateCondBr(b.CreateICmpSLT(next, end), loop, done);
    b.SetInsertPoint(done);
    b.CreateRetVoid();
  }

 private:
  llvm::Value* pids_[3] = {nullptr, nullptr, nullptr};
};

// One JIT per process; each compiled module gets its own JITDylib, removed when the last
// executable using it is gone.
struct HostJit {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  llvm::orc::JITTargetMachineBuilder jtmb;
  std::mutex mutex;
  std::atomic<uint64_t> counter{0};
};

HostJit& host_jit() {
  static HostJit* instance = [] {
    initialize_llvm_targets();
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) fail(ErrorCode::Compile, "cannot detect the host CPU: " + llvm::toString(jtmb.takeError()));
    jtmb->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
    // What LLJIT's linker (JITLink) expects on x86-64; objects are compiled with these settings.
    jtmb->setRelocationModel(llvm::Reloc::PIC_);
    jtmb->setCodeModel(llvm::CodeModel::Small);
    auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(*jtmb).create();
    if (!jit) fail(ErrorCode::Compile, "cannot create the CPU JIT: " + llvm::toString(jit.takeError()));
    return new HostJit{std::move(*jit), std::move(*jtmb), {}, {}};
  }();
  return *instance;
}

}  // namespace

std::string host_cpu_name() { return llvm::sys::getHostCPUName().str(); }

const std::string& host_cpu_description() {
  static const std::string text = [] {
    HostJit& hj = host_jit();
    return hj.jtmb.getCPU() + " " + hj.jtmb.getFeatures().getString();
  }();
  return text;
}

CompiledKernels compile_cpu(const ir::Module& tile_module, const ir::Target& target, bool assembly, int parts) {
  HostJit& hj = host_jit();
  // Kernels with the same code compile once: the others are ELF aliases of it.
  std::vector<PartCode> code = compile_in_parts(tile_module, parts, true, [&](const Part& part) {
    auto tm_or = hj.jtmb.createTargetMachine();  // one a thread: target machines are not shared
    if (!tm_or) fail(ErrorCode::Compile, "cannot create a host target machine: " + llvm::toString(tm_or.takeError()));
    std::unique_ptr<llvm::TargetMachine> tm = std::move(*tm_or);
    llvm::LLVMContext ctx;
    CpuHooks hooks;
    std::unique_ptr<llvm::Module> m = build_llvm_module(tile_module.name, part.kernels, ctx, hooks, *tm);
    for (const auto& [alias, kernel] : part.aliases) llvm::GlobalAlias::create(alias, m->getFunction(kernel));
    // O2, not O3: the kernels ran as fast (bench/cpu_ops.py --quick and the GPT block step, same
    // session, 2 cores: every case within noise) and the GPT block compiled in 0.65 s, not 0.91.
    optimize_module(*m, *tm, "default<O2>");
    PartCode p;
    if (part.texts) p.llvm_ir = module_to_string(*m);
    if (assembly && part.texts) {  // code generation changes the module: give it a copy
      std::unique_ptr<llvm::Module> copy = llvm::CloneModule(*m);
      p.assembly = emit_code(*copy, *tm, /*object_file=*/false);
    }
    p.image = emit_code(*m, *tm, /*object_file=*/true);
    return p;
  });
  CompiledKernels out;
  out.target = target;
  gather_parts(code, out);
  return out;
}

void load_cpu_kernels(CompiledKernels& out) {
  HostJit& hj = host_jit();
  std::lock_guard<std::mutex> lock(hj.mutex);
  auto& es = hj.jit->getExecutionSession();
  std::string dylib_name = "tessera_module_" + std::to_string(hj.counter++);
  auto dylib = es.createJITDylib(dylib_name);
  if (!dylib) fail(ErrorCode::Compile, "JIT: " + llvm::toString(dylib.takeError()));
  // Kernels may call memcpy/memset: resolve them from the process.
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(hj.jit->getDataLayout().getGlobalPrefix());
  if (!gen) fail(ErrorCode::Compile, "JIT: " + llvm::toString(gen.takeError()));
  dylib->addGenerator(std::move(*gen));
  llvm::orc::SymbolMap libcalls;
  for (auto [name, address] : half_conversion_libcalls())
    libcalls[hj.jit->mangleAndIntern(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                                               llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
  if (auto err = dylib->define(llvm::orc::absoluteSymbols(std::move(libcalls))))
    fail(ErrorCode::Compile, "JIT: " + llvm::toString(std::move(err)));
  size_t part = 0;
  for (const CodePart& p : decode_parts(out.binary, out.kernel_names.size())) {
    if (p.image.empty()) continue;  // a program without kernels
    auto object = llvm::MemoryBuffer::getMemBufferCopy(p.image, dylib_name + "_" + std::to_string(part++));
    if (auto err = hj.jit->addObjectFile(*dylib, std::move(object)))
      fail(ErrorCode::Compile, "JIT: " + llvm::toString(std::move(err)));
  }
  out.host_functions.clear();
  for (const std::string& name : out.kernel_names) {
    auto sym = hj.jit->lookup(*dylib, name);
    if (!sym) fail(ErrorCode::Compile, "JIT: kernel " + name + ": " + llvm::toString(sym.takeError()));
    out.host_functions.push_back(sym->toPtr<tsrHostKernelFn>());
  }
  llvm::orc::JITDylib* raw = &*dylib;
  out.jit = std::shared_ptr<void>(raw, [](void* p) {
    HostJit& j = host_jit();
    std::lock_guard<std::mutex> l(j.mutex);
    llvm::consumeError(j.jit->getExecutionSession().removeJITDylib(*static_cast<llvm::orc::JITDylib*>(p)));
  });
}

}  // namespace tessera::backends
