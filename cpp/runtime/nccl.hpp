// NCCL opened at run time (libnccl.so.2) for collectives on CUDA buffers. The few declarations
// needed are our own: nccl.h includes the CUDA runtime headers, which the runtime does not use.
// Enum values are NCCL's (stable since 2.10, when bfloat16 was added); 2.13 or later is needed
// (ncclGetLastError). Private to the runtime.
#pragma once
#include <string>

#include "tessera/tessera.h"

namespace tessera::rt::nccl {

using Comm = struct ncclComm*;
struct UniqueId {
  char bytes[128];  // NCCL_UNIQUE_ID_BYTES
};

enum DataType : int { Int8 = 0, Uint8 = 1, Int32 = 2, Int64 = 4, Float16 = 6, Float32 = 7, Float64 = 8, Bfloat16 = 9 };
enum RedOp : int { Sum = 0, Prod = 1, Max = 2, Min = 3 };
constexpr int kSuccess = 0;
constexpr int kMinVersion = 21300;  // 2.13.0: bfloat16 (2.10) and ncclGetLastError (2.13)

struct Library {
  int (*ncclGetVersion)(int*) = nullptr;
  int (*ncclGetUniqueId)(UniqueId*) = nullptr;
  int (*ncclCommInitRank)(Comm*, int nranks, UniqueId id, int rank) = nullptr;
  int (*ncclCommDestroy)(Comm) = nullptr;
  const char* (*ncclGetErrorString)(int) = nullptr;
  const char* (*ncclGetLastError)(Comm) = nullptr;
  int (*ncclAllReduce)(const void*, void*, size_t, int, int, Comm, void* stream) = nullptr;
  int (*ncclAllGather)(const void*, void*, size_t, int, Comm, void* stream) = nullptr;
  int (*ncclReduceScatter)(const void*, void*, size_t, int, int, Comm, void* stream) = nullptr;
  int (*ncclBroadcast)(const void*, void*, size_t, int, int root, Comm, void* stream) = nullptr;
  int (*ncclSend)(const void*, size_t, int, int peer, Comm, void* stream) = nullptr;
  int (*ncclRecv)(void*, size_t, int, int peer, Comm, void* stream) = nullptr;
  int (*ncclGroupStart)() = nullptr;
  int (*ncclGroupEnd)() = nullptr;
  int version = 0;   // NCCL_VERSION_CODE of the library opened: major * 10000 + minor * 100 + patch
  std::string path;  // the file opened
};

// The library, opened at the first call (TESSERA_NCCL_LIB, else libnccl.so.2 from the loader's
// search path). On failure returns nullptr after set_error (TSR_ERROR_DEVICE_UNAVAILABLE naming
// TESSERA_NCCL_LIB).
const Library* library();
// Turns an NCCL result into a status with NCCL's message (and the communicator's last error
// where there is one); "what" names the call.
tsrStatus check(const Library& l, int rc, const char* what, Comm comm = nullptr);

}  // namespace tessera::rt::nccl
