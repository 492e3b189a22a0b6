// MPI reached through the MPI-5 standard ABI (mpi_abi.h), opened at run time: the handles and
// constants are the header's fixed values, and every entry point is resolved with dlsym and typed
// by the header's own declaration, so no MPI is linked and any ABI-compliant library works.
// Private to the runtime (mpi.cpp, collectives.cpp).
#pragma once
#include <mpi_abi.h>

#include <mutex>
#include <string>

#include "tessera/tessera.h"

namespace tessera::rt::mpi {

// clang-format off (it does not settle on one layout of this list)
#define TSR_MPI_FUNCTIONS(X)    \
  X(MPI_Initialized)            \
  X(MPI_Init_thread)            \
  X(MPI_Finalized)              \
  X(MPI_Finalize)               \
  X(MPI_Abort)                  \
  X(MPI_Comm_rank)              \
  X(MPI_Comm_size)              \
  X(MPI_Comm_split)             \
  X(MPI_Comm_free)              \
  X(MPI_Comm_set_errhandler)    \
  X(MPI_Error_string)           \
  X(MPI_Get_library_version)    \
  X(MPI_Op_create)              \
  X(MPI_Barrier)                \
  X(MPI_Allreduce_c)            \
  X(MPI_Allgather_c)            \
  X(MPI_Reduce_scatter_block_c) \
  X(MPI_Alltoall_c)             \
  X(MPI_Bcast_c)                \
  X(MPI_Sendrecv_c)
// clang-format on

struct Library {
#define TSR_MPI_POINTER(name) decltype(&::name) name = nullptr;
  TSR_MPI_FUNCTIONS(TSR_MPI_POINTER)
#undef TSR_MPI_POINTER
  std::string path;        // the file opened
  bool serialize = false;  // the library runs one call at a time (below MPI_THREAD_MULTIPLE)
  // f16 and bf16 have no MPI type: moved as MPI_UINT16_T, reduced by ops of our own.
  MPI_Op half_ops[2][4] = {};  // [bf16?][tsrReduceOp]
};

// The library, opened and initialised at the first call. On failure returns nullptr after
// set_error (TSR_ERROR_DEVICE_UNAVAILABLE naming TESSERA_MPI_LIB, or TSR_ERROR_DRIVER).
Library* library();
// Held around each MPI call when the library is not thread-safe.
std::unique_lock<std::mutex> guard(const Library& l);
// Turns an MPI error code into a status with the library's message; "what" names the call.
tsrStatus check(const Library& l, int rc, const char* what);

}  // namespace tessera::rt::mpi
