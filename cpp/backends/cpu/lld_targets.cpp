// lld's ELF driver initialises every target LLVM was configured with (InitializeAllTargets
// and friends, for link-time optimisation), and Debian's LLVM 22 is configured with 22. Tessera
// links only X86, NVPTX, AMDGPU and SPIR-V (linking all would double libtessera.so), and uses
// lld only to link x86-64 ELF objects, never bitcode, so the other targets' initialisers
// register nothing here: as in an LLVM configured with LLVM_TARGETS_TO_BUILD set to those four.
#define TSR_UNUSED_TARGET(T)                         \
  extern "C" void LLVMInitialize##T##Target() {}     \
  extern "C" void LLVMInitialize##T##TargetInfo() {} \
  extern "C" void LLVMInitialize##T##TargetMC() {}   \
  extern "C" void LLVMInitialize##T##AsmPrinter() {}
#define TSR_UNUSED_ASM_PARSER(T) \
  extern "C" void LLVMInitialize##T##AsmParser() {}

TSR_UNUSED_TARGET(AArch64)
TSR_UNUSED_TARGET(ARM)
TSR_UNUSED_TARGET(AVR)
TSR_UNUSED_TARGET(BPF)
TSR_UNUSED_TARGET(Hexagon)
TSR_UNUSED_TARGET(Lanai)
TSR_UNUSED_TARGET(LoongArch)
TSR_UNUSED_TARGET(M68k)
TSR_UNUSED_TARGET(MSP430)
TSR_UNUSED_TARGET(Mips)
TSR_UNUSED_TARGET(PowerPC)
TSR_UNUSED_TARGET(RISCV)
TSR_UNUSED_TARGET(Sparc)
TSR_UNUSED_TARGET(SystemZ)
TSR_UNUSED_TARGET(VE)
TSR_UNUSED_TARGET(WebAssembly)
TSR_UNUSED_TARGET(XCore)
TSR_UNUSED_TARGET(Xtensa)

TSR_UNUSED_ASM_PARSER(AArch64)
TSR_UNUSED_ASM_PARSER(ARM)
TSR_UNUSED_ASM_PARSER(AVR)
TSR_UNUSED_ASM_PARSER(BPF)
TSR_UNUSED_ASM_PARSER(Hexagon)
TSR_UNUSED_ASM_PARSER(Lanai)
TSR_UNUSED_ASM_PARSER(LoongArch)
TSR_UNUSED_ASM_PARSER(M68k)
TSR_UNUSED_ASM_PARSER(MSP430)
TSR_UNUSED_ASM_PARSER(Mips)
TSR_UNUSED_ASM_PARSER(PowerPC)
TSR_UNUSED_ASM_PARSER(RISCV)
TSR_UNUSED_ASM_PARSER(Sparc)
TSR_UNUSED_ASM_PARSER(SystemZ)
TSR_UNUSED_ASM_PARSER(VE)
TSR_UNUSED_ASM_PARSER(WebAssembly)
TSR_UNUSED_ASM_PARSER(Xtensa)
