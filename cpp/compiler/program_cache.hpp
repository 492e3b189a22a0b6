// Compiled programs in the disk cache: what an Executable needs to run without the compiler.
//
// The key is the Graph IR structure (text without source locations), the target (for the CPU
// the host CPU name and features) and the Tessera build id, so a change to any pass, to the
// pipeline or to LLVM's options is a new key. The payload holds the kernel names, the loadable
// binary (an ELF object for the CPU, PTX for NVIDIA GPUs) and the Tile IR host function (the
// launch plan) as text without locations.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "backends/backend.hpp"

namespace tessera::compiler {

struct CachedProgram {
  std::vector<std::string> kernel_names;
  std::string binary;
  std::string host_function;  // Tile IR text of the host function
};

// `device` describes what the compiled code depends on beyond the target (NVIDIA: the SM
// count, which sets persistent grids, GEMM tiles and K splits); empty for the CPU.
std::string program_cache_key(const std::string& structure, const ir::Target& target, const std::string& device = "");
std::string encode_program(const CachedProgram& p);
std::optional<CachedProgram> decode_program(const std::string& payload);  // nullopt if malformed

}  // namespace tessera::compiler
