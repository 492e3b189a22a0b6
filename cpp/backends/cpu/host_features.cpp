// What the host CPU offers the schedulers, read once from LLVM's host detection (the same
// features the CPU JIT compiles for).
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>

#include "backends/backend.hpp"

namespace tessera::backends {

int host_simd_bits() {
  static const int bits = [] {
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) {
      llvm::consumeError(jtmb.takeError());
      return 128;
    }
    int widest = 128;
    for (const std::string& f : jtmb->getFeatures().getFeatures()) {
      if (f == "+avx512f") widest = std::max(widest, 512);
      if (f == "+avx") widest = std::max(widest, 256);
    }
    return widest;
  }();
  return bits;
}

}  // namespace tessera::backends
