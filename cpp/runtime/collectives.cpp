// Exported communicator and collective functions (tessera.h): validate, then call MPI for host
// buffers and NCCL for CUDA buffers. A communicator is an MPI communicator; its NCCL
// communicator for a CUDA device is created at its first collective there, from a unique id that
// rank 0 broadcasts over MPI.
#include <cstring>
#include <map>

#include "runtime/cuda_driver.hpp"
#include "runtime/mpi.hpp"
#include "runtime/nccl.hpp"
#include "runtime/validate.hpp"

struct tsrComm_t {
  MPI_Comm comm = MPI_COMM_NULL;
  int32_t rank = 0, size = 1;
  bool world = false;                               // tsrCommWorld's: never destroyed
  std::mutex nccl_mu;                               // guards nccl
  std::map<int32_t, tessera::rt::nccl::Comm> nccl;  // by CUDA device index
};

using namespace tessera::rt;

namespace {

HandleSet<tsrComm_t>& live_comms() {
  static auto* s = new HandleSet<tsrComm_t>;
  return *s;
}

tsrStatus check_comm(tsrComm c) {
  if (!c) return invalid("comm is NULL");
  if (!live_comms().contains(c)) return invalid("comm is not a live communicator (destroyed, or never created)");
  return TSR_SUCCESS;
}

// The MPI and NCCL element types and the byte size of a tsrDataType; MPI_DATATYPE_NULL when out
// of range. f16/bf16 move through MPI as 16-bit words (reduced by our own ops); NCCL has them.
struct Types {
  MPI_Datatype mpi = MPI_DATATYPE_NULL;
  int nccl = 0;
  size_t bytes = 0;
};

Types types_of(const tsrDataType* dtype) {
  int32_t code;
  std::memcpy(&code, dtype, sizeof code);  // a C caller may pass any integer
  switch (code) {
    case TSR_FLOAT64: return {MPI_DOUBLE, nccl::Float64, 8};
    case TSR_FLOAT32: return {MPI_FLOAT, nccl::Float32, 4};
    case TSR_FLOAT16: return {MPI_UINT16_T, nccl::Float16, 2};
    case TSR_BFLOAT16: return {MPI_UINT16_T, nccl::Bfloat16, 2};
    case TSR_INT64: return {MPI_INT64_T, nccl::Int64, 8};
    case TSR_INT32: return {MPI_INT32_T, nccl::Int32, 4};
    case TSR_INT8: return {MPI_INT8_T, nccl::Int8, 1};
    case TSR_UINT8: return {MPI_UINT8_T, nccl::Uint8, 1};
    case TSR_BOOL: return {MPI_C_BOOL, nccl::Uint8, 1};
  }
  return {};
}

// -1 when `op` is not a tsrReduceOp.
int32_t reduce_code(const tsrReduceOp* op) {
  int32_t code;
  std::memcpy(&code, op, sizeof code);
  return code < TSR_REDUCE_SUM || code > TSR_REDUCE_MIN ? -1 : code;
}

// Bools reduce as logical or (sum, max) and and (prod, min).
MPI_Op mpi_op(const mpi::Library& l, tsrDataType dtype, int32_t code) {
  if (dtype == TSR_FLOAT16 || dtype == TSR_BFLOAT16) return l.half_ops[dtype == TSR_BFLOAT16 ? 1 : 0][code];
  if (dtype == TSR_BOOL) return code == TSR_REDUCE_SUM || code == TSR_REDUCE_MAX ? MPI_LOR : MPI_LAND;
  const MPI_Op ops[] = {MPI_SUM, MPI_PROD, MPI_MAX, MPI_MIN};
  return ops[code];
}

int nccl_op(tsrDataType dtype, int32_t code) {
  if (dtype == TSR_BOOL) return code == TSR_REDUCE_SUM || code == TSR_REDUCE_MAX ? nccl::Max : nccl::Min;
  const int ops[] = {nccl::Sum, nccl::Prod, nccl::Max, nccl::Min};
  return ops[code];
}

// What every collective checks: a live communicator, a known dtype, a stream on the device.
tsrStatus check_collective(tsrComm comm, tsrDataType dtype, tsrDevice device, tsrStream stream, Types* types) {
  if (tsrStatus s = check_comm(comm)) return s;
  if (tsrStatus s = check_device("device", device)) return s;
  if (tsrStatus s = check_stream_on(stream, device)) return s;
  *types = types_of(&dtype);
  int32_t code;
  std::memcpy(&code, &dtype, sizeof code);
  if (types->mpi == MPI_DATATYPE_NULL) return invalid(cat("dtype ", code, " is not a tsrDataType"));
  return TSR_SUCCESS;
}

tsrStatus check_buffers(size_t count, const void* a, const char* a_name, const void* b, const char* b_name) {
  if (count > size_t(INT64_MAX) / 8) return invalid(cat("count ", count, " is too large"));
  if (count && !a) return invalid(cat(a_name, " is NULL"));
  if (count && b_name && !b) return invalid(cat(b_name, " is NULL"));
  return TSR_SUCCESS;
}

// MPI needs MPI_IN_PLACE where send and receive are one buffer.
const void* send_arg(const void* send, const void* recv) { return send == recv ? MPI_IN_PLACE : send; }

// Comm's NCCL communicator on CUDA device `index`, created on first use. Collective over comm:
// every member first says whether it is ready (NCCL opened, the device current, rank 0's unique
// id made), so a member that is not fails every member instead of leaving them waiting; then
// rank 0's unique id is broadcast and each member joins.
tsrStatus nccl_comm(tsrComm comm, int32_t index, nccl::Comm* out) {
  std::lock_guard<std::mutex> lock(comm->nccl_mu);
  if (auto it = comm->nccl.find(index); it != comm->nccl.end()) return *out = it->second, TSR_SUCCESS;
  const nccl::Library* nl = nccl::library();
  tsrStatus mine = nl ? cuda::make_current(index) : TSR_ERROR_DEVICE_UNAVAILABLE;
  nccl::UniqueId id{};
  if (!mine && comm->rank == 0) mine = nccl::check(*nl, nl->ncclGetUniqueId(&id), "ncclGetUniqueId");
  const std::string reason = mine ? std::string(tsrGetLastError()) : std::string();
  int32_t ready = mine == TSR_SUCCESS, all = 0;
  const mpi::Library& l = *mpi::library();
  {
    auto g = mpi::guard(l);
    if (tsrStatus s =
            mpi::check(l, l.MPI_Allreduce_c(&ready, &all, 1, MPI_INT32_T, MPI_MIN, comm->comm), "MPI_Allreduce"))
      return s;
    if (all && (mine = mpi::check(l, l.MPI_Bcast_c(&id, sizeof id, MPI_BYTE, 0, comm->comm), "MPI_Bcast"))) return mine;
  }
  if (mine) return set_error(mine, reason);
  if (!all) return set_error(TSR_ERROR_DRIVER, "another member of the communicator could not set up NCCL");
  nccl::Comm nc = nullptr;
  if (tsrStatus s = nccl::check(*nl, nl->ncclCommInitRank(&nc, comm->size, id, comm->rank), "ncclCommInitRank"))
    return s;
  comm->nccl[index] = nc;
  *out = nc;
  return TSR_SUCCESS;
}

// Enqueues `call(library, nccl comm, cuda stream)` on the stream; the NULL stream (the legacy
// default stream) is waited for, as NULL-stream calls promise completion on return.
template <class F>
tsrStatus run_nccl(const char* what, nccl::Comm nc, tsrDevice device, tsrStream stream, F call) {
  const nccl::Library& nl = *nccl::library();  // opened: it made nc
  if (tsrStatus s = cuda::make_current(device.index)) return s;
  if (tsrStatus s = nccl::check(nl, call(nl, nc, stream ? stream->cu : nullptr), what, nc)) return s;
  if (stream) return TSR_SUCCESS;
  return cuda::check(cuda::driver()->cuStreamSynchronize(nullptr), "cuStreamSynchronize");
}

// The checks every collective shares (check_collective, non-NULL buffers, a known reduction
// where `op` is given), then for host buffers `mpi_call(library, type, op)` under the library's
// guard, for CUDA buffers `nccl_call(library, comm, type, op, stream)`; nothing runs for count 0.
template <class M, class N>
tsrStatus run(const char* mpi_what, const char* nccl_what, tsrComm comm, const void* send, const void* recv,
              size_t count, tsrDataType dtype, const tsrReduceOp* op, tsrDevice device, tsrStream stream, M mpi_call,
              N nccl_call) {
  Types t;
  if (tsrStatus s = check_collective(comm, dtype, device, stream, &t)) return s;
  if (tsrStatus s = check_buffers(count, send, "send", recv, "recv")) return s;
  const int32_t code = op ? reduce_code(op) : 0;
  if (code < 0) return invalid("op is not a tsrReduceOp");
  if (device.type == TSR_DEVICE_CUDA) {
    // The NCCL communicator is made even when this member moves nothing: making it is collective.
    nccl::Comm nc = nullptr;
    if (tsrStatus s = nccl_comm(comm, device.index, &nc)) return s;
    if (count == 0) return TSR_SUCCESS;
    return run_nccl(nccl_what, nc, device, stream, [&](const nccl::Library& l, nccl::Comm c, void* cs) {
      return nccl_call(l, c, t.nccl, nccl_op(dtype, code), cs);
    });
  }
  if (count == 0) return TSR_SUCCESS;
  const mpi::Library& l = *mpi::library();
  auto lock = mpi::guard(l);
  return mpi::check(l, mpi_call(l, t.mpi, op ? mpi_op(l, dtype, code) : MPI_OP_NULL), mpi_what);
}

tsrStatus new_comm(MPI_Comm c, bool world, tsrComm* out) {
  const mpi::Library& l = *mpi::library();
  auto h = std::make_unique<tsrComm_t>();
  h->comm = c;
  h->world = world;
  auto lock = mpi::guard(l);
  int rank = 0, size = 1;
  if (tsrStatus s = mpi::check(l, l.MPI_Comm_rank(c, &rank), "MPI_Comm_rank")) return s;
  if (tsrStatus s = mpi::check(l, l.MPI_Comm_size(c, &size), "MPI_Comm_size")) return s;
  h->rank = rank;
  h->size = size;
  live_comms().add(h.get());
  *out = h.release();
  return TSR_SUCCESS;
}

}  // namespace

extern "C" {

TSR_API tsrStatus tsrCommWorld(tsrComm* comm) {
  return api("tsrCommWorld", [&] {
    if (!comm) return invalid("comm is NULL");
    *comm = nullptr;
    if (!mpi::library()) return TSR_ERROR_DEVICE_UNAVAILABLE;  // library() set the message
    static tsrComm world = nullptr;
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    if (!world)
      if (tsrStatus s = new_comm(MPI_COMM_WORLD, true, &world)) return s;
    *comm = world;
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrCommSplit(tsrComm comm, int32_t color, int32_t key, tsrComm* out) {
  return api("tsrCommSplit", [&] {
    if (!out) return invalid("out is NULL");
    *out = nullptr;
    if (tsrStatus s = check_comm(comm)) return s;
    const mpi::Library& l = *mpi::library();
    MPI_Comm c = MPI_COMM_NULL;
    {
      auto lock = mpi::guard(l);
      if (tsrStatus s =
              mpi::check(l, l.MPI_Comm_split(comm->comm, color < 0 ? MPI_UNDEFINED : color, key, &c), "MPI_Comm_split"))
        return s;
    }
    if (c == MPI_COMM_NULL) return TSR_SUCCESS;
    return new_comm(c, false, out);
  });
}

TSR_API tsrStatus tsrCommDestroy(tsrComm comm) {
  return api("tsrCommDestroy", [&] {
    if (tsrStatus s = check_comm(comm)) return s;
    if (comm->world) return invalid("the world communicator lives until exit; it cannot be destroyed");
    if (!live_comms().remove(comm)) return check_comm(comm);
    std::unique_ptr<tsrComm_t> owned(comm);
    tsrStatus first = TSR_SUCCESS;  // everything is released; the first failure is reported
    for (auto [index, nc] : owned->nccl) {
      const nccl::Library& nl = *nccl::library();  // opened: it made nc
      tsrStatus s = cuda::make_current(index);
      if (!s) s = nccl::check(nl, nl.ncclCommDestroy(nc), "ncclCommDestroy");
      if (!first) first = s;
    }
    const mpi::Library& l = *mpi::library();
    auto lock = mpi::guard(l);
    tsrStatus s = mpi::check(l, l.MPI_Comm_free(&owned->comm), "MPI_Comm_free");
    return first ? first : s;
  });
}

TSR_API tsrStatus tsrCommRank(tsrComm comm, int32_t* rank) {
  return api("tsrCommRank", [&] {
    if (!rank) return invalid("rank is NULL");
    if (tsrStatus s = check_comm(comm)) return s;
    *rank = comm->rank;
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrCommSize(tsrComm comm, int32_t* size) {
  return api("tsrCommSize", [&] {
    if (!size) return invalid("size is NULL");
    if (tsrStatus s = check_comm(comm)) return s;
    *size = comm->size;
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrCommLibraryVersion(char* out, size_t capacity) {
  return api("tsrCommLibraryVersion", [&] {
    if (!out || capacity == 0) return invalid("out is NULL or capacity is 0");
    const mpi::Library* l = mpi::library();
    if (!l) return TSR_ERROR_DEVICE_UNAVAILABLE;
    std::string text(MPI_MAX_LIBRARY_VERSION_STRING + 1, '\0');
    int n = 0;
    if (tsrStatus s = mpi::check(*l, l->MPI_Get_library_version(text.data(), &n), "MPI_Get_library_version")) return s;
    text.resize(size_t(n));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::snprintf(out, capacity, "%s", text.c_str());
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrCommAbort(tsrComm comm, int32_t code) {
  return api("tsrCommAbort", [&] {
    if (tsrStatus s = check_comm(comm)) return s;
    const mpi::Library& l = *mpi::library();
    return mpi::check(l, l.MPI_Abort(comm->comm, code), "MPI_Abort");  // no lock: another call may hang
  });
}

TSR_API tsrStatus tsrBarrier(tsrComm comm) {
  return api("tsrBarrier", [&] {
    if (tsrStatus s = check_comm(comm)) return s;
    const mpi::Library& l = *mpi::library();
    auto lock = mpi::guard(l);
    return mpi::check(l, l.MPI_Barrier(comm->comm), "MPI_Barrier");
  });
}

TSR_API tsrStatus tsrAllReduce(tsrComm comm, const void* send, void* recv, size_t count, tsrDataType dtype,
                               tsrReduceOp op, tsrDevice device, tsrStream stream) {
  return api("tsrAllReduce", [&] {
    return run(
        "MPI_Allreduce", "ncclAllReduce", comm, send, recv, count, dtype, &op, device, stream,
        [&](const mpi::Library& l, MPI_Datatype type, MPI_Op mop) {
          return l.MPI_Allreduce_c(send_arg(send, recv), recv, MPI_Count(count), type, mop, comm->comm);
        },
        [&](const nccl::Library& l, nccl::Comm nc, int type, int nop, void* cs) {
          return l.ncclAllReduce(send, recv, count, type, nop, nc, cs);
        });
  });
}

TSR_API tsrStatus tsrAllGather(tsrComm comm, const void* send, void* recv, size_t count, tsrDataType dtype,
                               tsrDevice device, tsrStream stream) {
  return api("tsrAllGather", [&] {
    return run(
        "MPI_Allgather", "ncclAllGather", comm, send, recv, count, dtype, nullptr, device, stream,
        [&](const mpi::Library& l, MPI_Datatype type, MPI_Op) {
          return l.MPI_Allgather_c(send, MPI_Count(count), type, recv, MPI_Count(count), type, comm->comm);
        },
        [&](const nccl::Library& l, nccl::Comm nc, int type, int, void* cs) {
          return l.ncclAllGather(send, recv, count, type, nc, cs);
        });
  });
}

TSR_API tsrStatus tsrReduceScatter(tsrComm comm, const void* send, void* recv, size_t count, tsrDataType dtype,
                                   tsrReduceOp op, tsrDevice device, tsrStream stream) {
  return api("tsrReduceScatter", [&] {
    return run(
        "MPI_Reduce_scatter_block", "ncclReduceScatter", comm, send, recv, count, dtype, &op, device, stream,
        [&](const mpi::Library& l, MPI_Datatype type, MPI_Op mop) {
          return l.MPI_Reduce_scatter_block_c(send, recv, MPI_Count(count), type, mop, comm->comm);
        },
        [&](const nccl::Library& l, nccl::Comm nc, int type, int nop, void* cs) {
          return l.ncclReduceScatter(send, recv, count, type, nop, nc, cs);
        });
  });
}

// NCCL has no all-to-all: a group of sends and receives, one pair per member.
TSR_API tsrStatus tsrAllToAll(tsrComm comm, const void* send, void* recv, size_t count, tsrDataType dtype,
                              tsrDevice device, tsrStream stream) {
  return api("tsrAllToAll", [&] {
    if (send == recv && send && count) return invalid("send and recv are the same buffer; all-to-all is not in place");
    const size_t bytes = types_of(&dtype).bytes * count;
    return run(
        "MPI_Alltoall", "ncclSend/ncclRecv", comm, send, recv, count, dtype, nullptr, device, stream,
        [&](const mpi::Library& l, MPI_Datatype type, MPI_Op) {
          return l.MPI_Alltoall_c(send, MPI_Count(count), type, recv, MPI_Count(count), type, comm->comm);
        },
        [&](const nccl::Library& l, nccl::Comm nc, int type, int, void* cs) {
          int rc = l.ncclGroupStart();
          for (int32_t r = 0; r < comm->size && rc == nccl::kSuccess; ++r) {
            rc = l.ncclSend(static_cast<const char*>(send) + r * bytes, count, type, r, nc, cs);
            if (rc == nccl::kSuccess) rc = l.ncclRecv(static_cast<char*>(recv) + r * bytes, count, type, r, nc, cs);
          }
          const int end = l.ncclGroupEnd();
          return rc != nccl::kSuccess ? rc : end;
        });
  });
}

TSR_API tsrStatus tsrBroadcast(tsrComm comm, void* buffer, size_t count, tsrDataType dtype, int32_t root,
                               tsrDevice device, tsrStream stream) {
  return api("tsrBroadcast", [&] {
    if (tsrStatus s = check_comm(comm)) return s;
    if (root < 0 || root >= comm->size) return invalid(cat("root ", root, " is not a rank of ", comm->size));
    if (count && !buffer) return invalid("buffer is NULL");
    return run(
        "MPI_Bcast", "ncclBroadcast", comm, buffer, buffer, count, dtype, nullptr, device, stream,
        [&](const mpi::Library& l, MPI_Datatype type, MPI_Op) {
          return l.MPI_Bcast_c(buffer, MPI_Count(count), type, root, comm->comm);
        },
        [&](const nccl::Library& l, nccl::Comm nc, int type, int, void* cs) {
          return l.ncclBroadcast(buffer, buffer, count, type, root, nc, cs);
        });
  });
}

TSR_API tsrStatus tsrSendRecv(tsrComm comm, const void* send, int32_t dest, void* recv, int32_t source, size_t count,
                              tsrDataType dtype, tsrDevice device, tsrStream stream) {
  return api("tsrSendRecv", [&] {
    if (tsrStatus s = check_comm(comm)) return s;
    for (int32_t r : {dest, source})
      if (r < -1 || r >= comm->size) return invalid(cat("rank ", r, " is not -1 or a rank of ", comm->size));
    if (count && dest >= 0 && !send) return invalid("send is NULL");
    if (count && source >= 0 && !recv) return invalid("recv is NULL");
    const int to = dest < 0 ? MPI_PROC_NULL : dest, from = source < 0 ? MPI_PROC_NULL : source;
    // run() checks both buffers: stand in the one that is not used.
    const void* a = dest >= 0 ? send : recv;
    const void* b = source >= 0 ? recv : a;
    const size_t n = dest < 0 && source < 0 ? 0 : count;  // nothing to move
    return run(
        "MPI_Sendrecv", "ncclSend/ncclRecv", comm, a, b, n, dtype, nullptr, device, stream,
        [&](const mpi::Library& l, MPI_Datatype type, MPI_Op) {
          return l.MPI_Sendrecv_c(send, MPI_Count(count), type, to, 0, recv, MPI_Count(count), type, from, 0,
                                  comm->comm, MPI_STATUS_IGNORE);
        },
        [&](const nccl::Library& l, nccl::Comm nc, int type, int, void* cs) {
          int rc = l.ncclGroupStart();
          if (rc == nccl::kSuccess && dest >= 0) rc = l.ncclSend(send, count, type, dest, nc, cs);
          if (rc == nccl::kSuccess && source >= 0) rc = l.ncclRecv(recv, count, type, source, nc, cs);
          const int end = l.ncclGroupEnd();
          return rc != nccl::kSuccess ? rc : end;
        });
  });
}

TSR_API tsrStatus tsrCommNcclVersion(int32_t* version) {
  return api("tsrCommNcclVersion", [&] {
    if (!version) return invalid("version is NULL");
    *version = 0;
    const nccl::Library* l = nccl::library();
    if (!l) return TSR_ERROR_DEVICE_UNAVAILABLE;  // library() set the message
    *version = l->version;
    return TSR_SUCCESS;
  });
}

}  // extern "C"
