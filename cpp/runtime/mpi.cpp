// Opens the MPI library once (std::call_once), resolves its entry points, initialises it and
// makes its errors returnable. The library is never closed: communicators live until exit.
#include "runtime/mpi.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>

#include "common/half.hpp"
#include "runtime/internal.hpp"

namespace tessera::rt::mpi {
namespace {

struct Loaded {
  Library lib;
  bool ok = false;
  tsrStatus status = TSR_SUCCESS;
  std::string reason;
  std::mutex mu;  // serialises calls when the library is not thread-safe
};

Loaded& loaded() {
  static auto* l = new Loaded;  // leaked: used by threads still running at exit
  return *l;
}

// f16 and bf16 reductions, computed in float (each partial result rounds back to 16 bits, as
// NCCL does).
template <bool Bf16, tsrReduceOp Op>
void reduce_half(void* in, void* inout, int* len, MPI_Datatype*) {
  auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) {
    float x = Bf16 ? bf16_bits_to_float(a[i]) : half_bits_to_float(a[i]);
    float y = Bf16 ? bf16_bits_to_float(b[i]) : half_bits_to_float(b[i]);
    float r = Op == TSR_REDUCE_SUM    ? x + y
              : Op == TSR_REDUCE_PROD ? x * y
              : Op == TSR_REDUCE_MAX  ? (x > y ? x : y)
                                      : (x < y ? x : y);
    if (Op == TSR_REDUCE_MAX || Op == TSR_REDUCE_MIN) r = (x != x) ? x : (y != y) ? y : r;  // NaN wins
    b[i] = Bf16 ? float_to_bf16_bits(r) : float_to_half_bits(r);
  }
}

template <bool Bf16>
bool create_half_ops(Library& l) {
  MPI_User_function* fns[4] = {reduce_half<Bf16, TSR_REDUCE_SUM>, reduce_half<Bf16, TSR_REDUCE_PROD>,
                               reduce_half<Bf16, TSR_REDUCE_MAX>, reduce_half<Bf16, TSR_REDUCE_MIN>};
  for (int i = 0; i < 4; ++i)
    if (l.MPI_Op_create(fns[i], 1, &l.half_ops[Bf16 ? 1 : 0][i]) != MPI_SUCCESS) return false;
  return true;
}

// MPI must be finalised before a process that initialised it exits (an MPI launcher reports the
// process as failed otherwise).
void finalize_at_exit() {
  Loaded& st = loaded();
  int finalized = 0;
  st.lib.MPI_Finalized(&finalized);
  if (!finalized) st.lib.MPI_Finalize();
}

std::string error_text(const Library& l, int rc) {
  char text[MPI_MAX_ERROR_STRING + 1] = {};
  int n = 0;
  if (l.MPI_Error_string && l.MPI_Error_string(rc, text, &n) == MPI_SUCCESS) return std::string(text, size_t(n));
  return cat("MPI error ", rc);
}

void load(Loaded& st) {
  const char* env = std::getenv("TESSERA_MPI_LIB");
  const std::string path = env && *env ? env : "libmpi_abi.so.1";
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);  // global: MPI loads plug-ins that need it
  if (!h) {
    st.status = TSR_ERROR_DEVICE_UNAVAILABLE;
    st.reason = cat("cannot open the MPI library ", path, " (", dlerror(),
                    "); install an MPI with the MPI-5 standard ABI (`pip install mpich`) or set TESSERA_MPI_LIB "
                    "to its libmpi_abi.so.1");
    return;
  }
  Library& l = st.lib;
  l.path = path;
#define TSR_MPI_RESOLVE(name)                                                            \
  l.name = reinterpret_cast<decltype(l.name)>(dlsym(h, #name));                          \
  if (!l.name) {                                                                         \
    st.status = TSR_ERROR_DEVICE_UNAVAILABLE;                                            \
    st.reason = cat(path, " has no ", #name,                                             \
                    ": it is not an MPI-5 standard-ABI library (set TESSERA_MPI_LIB to " \
                    "one, such as the mpich wheel's libmpi_abi.so.1)");                  \
    return;                                                                              \
  }
  TSR_MPI_FUNCTIONS(TSR_MPI_RESOLVE)
#undef TSR_MPI_RESOLVE
  int initialized = 0, finalized = 0, provided = MPI_THREAD_SINGLE;
  l.MPI_Initialized(&initialized);
  l.MPI_Finalized(&finalized);
  if (finalized) {
    st.status = TSR_ERROR_DRIVER;
    st.reason = "MPI was already finalised in this process; it cannot be started again";
    return;
  }
  if (!initialized) {
    if (int rc = l.MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided); rc != MPI_SUCCESS) {
      st.status = TSR_ERROR_DRIVER;
      st.reason = "MPI_Init_thread failed: " + error_text(l, rc);
      return;
    }
    std::atexit(finalize_at_exit);
  } else {
    provided = MPI_THREAD_SINGLE;  // someone else initialised it: assume the least and serialise
  }
  l.serialize = provided != MPI_THREAD_MULTIPLE;
  l.MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);  // errors come back as codes
  if (!create_half_ops<false>(l) || !create_half_ops<true>(l)) {
    st.status = TSR_ERROR_DRIVER;
    st.reason = "MPI_Op_create failed for the f16/bf16 reductions";
    return;
  }
  st.ok = true;
}

}  // namespace

Library* library() {
  static std::once_flag once;
  Loaded& st = loaded();
  std::call_once(once, [&] { load(st); });
  if (!st.ok) {
    set_error(st.status, st.reason);
    return nullptr;
  }
  return &st.lib;
}

std::unique_lock<std::mutex> guard(const Library& l) {
  return l.serialize ? std::unique_lock<std::mutex>(loaded().mu) : std::unique_lock<std::mutex>();
}

tsrStatus check(const Library& l, int rc, const char* what) {
  if (rc == MPI_SUCCESS) return TSR_SUCCESS;
  return set_error(TSR_ERROR_DRIVER, cat(what, " failed: ", error_text(l, rc)));
}

}  // namespace tessera::rt::mpi
