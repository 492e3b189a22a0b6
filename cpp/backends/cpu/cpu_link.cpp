// Links CPU kernel objects into one ELF shared object with lld, in-process (lld as a library),
// for exported programs (compiler/export.cpp): the runtime dlopens it without LLVM. The
// half-precision conversions the code may call come along as an object of their own
// (cpu_libcalls.cpp compiled with TESSERA_AOT_LIBCALLS, embedded at build time), so the
// shared object needs nothing but the C library and libm.
#include <lld/Common/Driver.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/raw_ostream.h>

#include <mutex>

#include "backends/cpu/cpu_backend.hpp"
#include "common/error.hpp"

LLD_HAS_DRIVER(elf)

namespace tessera::backends {

extern const unsigned char kAotLibcalls[];
extern const size_t kAotLibcalls_size;

namespace {

// A temporary folder, removed with its files when it goes out of scope.
struct TempDir {
  llvm::SmallString<128> path;
  std::vector<std::string> files;
  TempDir() {
    if (auto ec = llvm::sys::fs::createUniqueDirectory("tessera-link", path))
      fail(ErrorCode::Compile, "export: cannot create a temporary folder: " + ec.message());
  }
  ~TempDir() {
    for (const std::string& f : files) llvm::sys::fs::remove(f);
    llvm::sys::fs::remove(path);
  }
  std::string write(const std::string& name, const char* data, size_t size) {
    llvm::SmallString<128> file(path);
    llvm::sys::path::append(file, name);
    std::error_code ec;
    llvm::raw_fd_ostream os(file, ec);
    if (!ec) os.write(data, size);
    if (ec || os.has_error()) fail(ErrorCode::Compile, "export: cannot write " + file.str().str());
    files.push_back(file.str().str());
    return files.back();
  }
};

}  // namespace

std::string link_shared_object(const std::vector<std::string>& objects) {
  TempDir dir;
  std::vector<std::string> inputs;
  for (size_t i = 0; i < objects.size(); ++i)
    inputs.push_back(dir.write("part" + std::to_string(i) + ".o", objects[i].data(), objects[i].size()));
  inputs.push_back(dir.write("libcalls.o", reinterpret_cast<const char*>(kAotLibcalls), kAotLibcalls_size));
  llvm::SmallString<128> out(dir.path);
  llvm::sys::path::append(out, "program.so");
  dir.files.push_back(out.str().str());
  std::vector<const char*> args = {"ld.lld", "-shared", "--build-id=none",  "-z", "noexecstack",
                                   "-z",     "relro",   "--hash-style=gnu", "-o", dir.files.back().c_str()};
  for (const std::string& in : inputs) args.push_back(in.c_str());
  std::string messages;
  llvm::raw_string_ostream os(messages);
  static std::mutex mutex;     // lld keeps global state: one link at a time
  static bool broken = false;  // a link that crashed may leave that state unusable
  lld::Result r;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (broken) fail(ErrorCode::Compile, "export: an earlier link crashed inside lld; export again in a new process");
    r = lld::lldMain(args, os, os, {{lld::Gnu, &lld::elf::link}});
    broken = !r.canRunAgain;
  }
  if (r.retCode != 0) fail(ErrorCode::Compile, "export: linking the CPU code failed: " + messages);
  auto buffer = llvm::MemoryBuffer::getFile(dir.files.back());
  if (!buffer) fail(ErrorCode::Compile, "export: cannot read the linked CPU code");
  return (*buffer)->getBuffer().str();
}

}  // namespace tessera::backends
