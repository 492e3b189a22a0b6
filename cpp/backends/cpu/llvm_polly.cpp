// LLVM's LTO backend, which lld links in, registers the pass plugins of the static extensions
// LLVM was configured with (llvm/Support/Extension.def: Polly, for Debian's LLVM 22), and so
// calls getPollyPluginInfo. Debian ships no libPolly.a, and Tessera never runs LTO (lld links
// ELF objects, not bitcode), so this registers no passes, as an LLVM built without Polly does.
#include <cstdint>

namespace llvm {
class PassBuilder;
}

// The layout of llvm::PassPluginLibraryInfo, whose header Debian's llvm-22-dev does not install.
struct TesseraNoPollyPluginInfo {
  uint32_t api_version;
  const char* name;
  const char* version;
  void (*register_callbacks)(llvm::PassBuilder&);
};

TesseraNoPollyPluginInfo getPollyPluginInfo() {
  return {1, "no-polly", "0", [](llvm::PassBuilder&) {}};
}
