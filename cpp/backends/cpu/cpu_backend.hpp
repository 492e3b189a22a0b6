// The CPU backend's entry points beyond compile_cpu (codegen.hpp). No LLVM types here: the
// compiler driver includes this.
#pragma once
#include <string>

#include "backends/backend.hpp"

namespace tessera::backends {

// Links the ELF object in `kernels.binary` (from compile_cpu, or from the disk cache) into the
// process's JIT and fills `host_functions` and `jit`. Throws ErrorCode::Compile if it fails.
void load_cpu_kernels(CompiledKernels& kernels);

// The host CPU name and feature string the code generator targets: code compiled for one
// description may use instructions that another CPU lacks, so it is part of cache keys.
const std::string& host_cpu_description();
// Links ELF objects compiled for the host into one shared object (cpu_link.cpp), with the
// half-precision conversion routines the code may call. Throws ErrorCode::Compile.
std::string link_shared_object(const std::vector<std::string>& objects);

}  // namespace tessera::backends
