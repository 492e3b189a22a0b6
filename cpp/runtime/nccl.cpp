// Opens NCCL once and resolves its entry points. Never closed: communicators live until exit.
#include "runtime/nccl.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "runtime/internal.hpp"

namespace tessera::rt::nccl {
namespace {

struct Loaded {
  Library lib;
  bool ok = false;
  std::string reason;
};

const char* kHint = "set TESSERA_NCCL_LIB to a libnccl.so.2 (NCCL >= 2.13; the nvidia-nccl-cu12/-cu13 wheels ship one)";

template <class F>
bool resolve(void* h, const char* name, F*& fn, Loaded& st) {
  fn = reinterpret_cast<F*>(dlsym(h, name));
  if (!fn) st.reason = cat(st.lib.path, " has no ", name, ": it is not an NCCL library; ", kHint);
  return fn != nullptr;
}

void load(Loaded& st) {
  const char* env = std::getenv("TESSERA_NCCL_LIB");
  Library& l = st.lib;
  l.path = env && *env ? env : "libnccl.so.2";
  void* h = dlopen(l.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    st.reason = cat("cannot open the NCCL library ", l.path, " (", dlerror(), "); ", kHint);
    return;
  }
  bool ok =
      resolve(h, "ncclGetVersion", l.ncclGetVersion, st) && resolve(h, "ncclGetUniqueId", l.ncclGetUniqueId, st) &&
      resolve(h, "ncclCommInitRank", l.ncclCommInitRank, st) && resolve(h, "ncclCommDestroy", l.ncclCommDestroy, st) &&
      resolve(h, "ncclGetErrorString", l.ncclGetErrorString, st) &&
      resolve(h, "ncclGetLastError", l.ncclGetLastError, st) && resolve(h, "ncclAllReduce", l.ncclAllReduce, st) &&
      resolve(h, "ncclAllGather", l.ncclAllGather, st) && resolve(h, "ncclReduceScatter", l.ncclReduceScatter, st) &&
      resolve(h, "ncclBroadcast", l.ncclBroadcast, st) && resolve(h, "ncclSend", l.ncclSend, st) &&
      resolve(h, "ncclRecv", l.ncclRecv, st) && resolve(h, "ncclGroupStart", l.ncclGroupStart, st) &&
      resolve(h, "ncclGroupEnd", l.ncclGroupEnd, st);
  if (!ok) return;
  if (l.ncclGetVersion(&l.version) != kSuccess || l.version < kMinVersion) {
    st.reason = cat(l.path, " is NCCL version code ", l.version, "; Tessera needs 2.13 or later; ", kHint);
    return;
  }
  st.ok = true;
}

}  // namespace

const Library* library() {
  static auto* st = new Loaded;  // leaked: used by threads still running at exit
  static std::once_flag once;
  std::call_once(once, [] { load(*st); });
  if (!st->ok) {
    set_error(TSR_ERROR_DEVICE_UNAVAILABLE, st->reason);
    return nullptr;
  }
  return &st->lib;
}

tsrStatus check(const Library& l, int rc, const char* what, Comm comm) {
  if (rc == kSuccess) return TSR_SUCCESS;
  std::string msg = cat(what, " failed: ", l.ncclGetErrorString(rc));
  const char* last = l.ncclGetLastError(comm);
  if (last && *last) msg += cat(" (", last, ")");
  return set_error(TSR_ERROR_DRIVER, msg);
}

}  // namespace tessera::rt::nccl
