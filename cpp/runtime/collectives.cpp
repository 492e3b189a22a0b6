// Exported communicator and collective functions (tessera.h): validate, then call MPI for host
// buffers. CUDA buffers need NCCL communicators, which this version does not create.
#include <cstring>

#include "runtime/mpi.hpp"
#include "runtime/validate.hpp"

struct tsrComm_t {
  MPI_Comm comm = MPI_COMM_NULL;
  int32_t rank = 0, size = 1;
  bool world = false;  // tsrCommWorld's: never destroyed
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

// Element type and byte size of a tsrDataType; MPI_DATATYPE_NULL when out of range.
MPI_Datatype mpi_type(const tsrDataType* dtype, size_t* bytes) {
  int32_t code;
  std::memcpy(&code, dtype, sizeof code);  // a C caller may pass any integer
  switch (code) {
    case TSR_FLOAT64: return *bytes = 8, MPI_DOUBLE;
    case TSR_FLOAT32: return *bytes = 4, MPI_FLOAT;
    case TSR_FLOAT16:
    case TSR_BFLOAT16: return *bytes = 2, MPI_UINT16_T;
    case TSR_INT64: return *bytes = 8, MPI_INT64_T;
    case TSR_INT32: return *bytes = 4, MPI_INT32_T;
    case TSR_INT8: return *bytes = 1, MPI_INT8_T;
    case TSR_UINT8: return *bytes = 1, MPI_UINT8_T;
    case TSR_BOOL: return *bytes = 1, MPI_C_BOOL;
  }
  return MPI_DATATYPE_NULL;
}

MPI_Op mpi_op(const mpi::Library& l, tsrDataType dtype, const tsrReduceOp* op) {
  int32_t code;
  std::memcpy(&code, op, sizeof code);
  if (code < TSR_REDUCE_SUM || code > TSR_REDUCE_MIN) return MPI_OP_NULL;
  if (dtype == TSR_FLOAT16 || dtype == TSR_BFLOAT16) return l.half_ops[dtype == TSR_BFLOAT16 ? 1 : 0][code];
  if (dtype == TSR_BOOL) return code == TSR_REDUCE_SUM || code == TSR_REDUCE_MAX ? MPI_LOR : MPI_LAND;
  const MPI_Op ops[] = {MPI_SUM, MPI_PROD, MPI_MAX, MPI_MIN};
  return ops[code];
}

// What every collective checks: a live communicator, host buffers, a known dtype, a stream on
// the device. Fills the MPI type; the CPU stream needs no waiting (CPU work is done at return).
tsrStatus check_collective(tsrComm comm, tsrDataType dtype, tsrDevice device, tsrStream stream, MPI_Datatype* type) {
  if (tsrStatus s = check_comm(comm)) return s;
  if (tsrStatus s = check_device("device", device)) return s;
  if (tsrStatus s = check_stream_on(stream, device)) return s;
  if (device.type != TSR_DEVICE_CPU)
    return set_error(TSR_ERROR_NOT_SUPPORTED, cat("collectives on ", device_str(device),
                                                  " buffers need NCCL communicators, which this version of Tessera "
                                                  "does not create; move the tensors to the CPU"));
  size_t bytes = 0;
  *type = mpi_type(&dtype, &bytes);
  int32_t code;
  std::memcpy(&code, &dtype, sizeof code);
  if (*type == MPI_DATATYPE_NULL) return invalid(cat("dtype ", code, " is not a tsrDataType"));
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

// The checks every collective shares (check_collective, non-NULL buffers, a known reduction
// where `op` is given), then `call(library, type, op)` under the library's guard; nothing runs
// for count 0.
template <class F>
tsrStatus run_mpi(const char* what, tsrComm comm, const void* send, const void* recv, size_t count, tsrDataType dtype,
                  const tsrReduceOp* op, tsrDevice device, tsrStream stream, F call) {
  MPI_Datatype type;
  if (tsrStatus s = check_collective(comm, dtype, device, stream, &type)) return s;
  if (tsrStatus s = check_buffers(count, send, "send", recv, "recv")) return s;
  const mpi::Library& l = *mpi::library();
  MPI_Op mop = op ? mpi_op(l, dtype, op) : MPI_OP_NULL;
  if (op && mop == MPI_OP_NULL) return invalid("op is not a tsrReduceOp");
  if (count == 0) return TSR_SUCCESS;
  auto lock = mpi::guard(l);
  return mpi::check(l, call(l, type, mop), what);
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
    const mpi::Library& l = *mpi::library();
    auto lock = mpi::guard(l);
    return mpi::check(l, l.MPI_Comm_free(&owned->comm), "MPI_Comm_free");
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
    return run_mpi("MPI_Allreduce", comm, send, recv, count, dtype, &op, device, stream,
                   [&](const mpi::Library& l, MPI_Datatype type, MPI_Op mop) {
                     return l.MPI_Allreduce_c(send_arg(send, recv), recv, MPI_Count(count), type, mop, comm->comm);
                   });
  });
}

TSR_API tsrStatus tsrAllGather(tsrComm comm, const void* send, void* recv, size_t count, tsrDataType dtype,
                               tsrDevice device, tsrStream stream) {
  return api("tsrAllGather", [&] {
    return run_mpi("MPI_Allgather", comm, send, recv, count, dtype, nullptr, device, stream,
                   [&](const mpi::Library& l, MPI_Datatype type, MPI_Op) {
                     return l.MPI_Allgather_c(send, MPI_Count(count), type, recv, MPI_Count(count), type, comm->comm);
                   });
  });
}

TSR_API tsrStatus tsrReduceScatter(tsrComm comm, const void* send, void* recv, size_t count, tsrDataType dtype,
                                   tsrReduceOp op, tsrDevice device, tsrStream stream) {
  return api("tsrReduceScatter", [&] {
    return run_mpi("MPI_Reduce_scatter_block", comm, send, recv, count, dtype, &op, device, stream,
                   [&](const mpi::Library& l, MPI_Datatype type, MPI_Op mop) {
                     return l.MPI_Reduce_scatter_block_c(send, recv, MPI_Count(count), type, mop, comm->comm);
                   });
  });
}

TSR_API tsrStatus tsrAllToAll(tsrComm comm, const void* send, void* recv, size_t count, tsrDataType dtype,
                              tsrDevice device, tsrStream stream) {
  return api("tsrAllToAll", [&] {
    if (send == recv && send && count) return invalid("send and recv are the same buffer; all-to-all is not in place");
    return run_mpi("MPI_Alltoall", comm, send, recv, count, dtype, nullptr, device, stream,
                   [&](const mpi::Library& l, MPI_Datatype type, MPI_Op) {
                     return l.MPI_Alltoall_c(send, MPI_Count(count), type, recv, MPI_Count(count), type, comm->comm);
                   });
  });
}

TSR_API tsrStatus tsrBroadcast(tsrComm comm, void* buffer, size_t count, tsrDataType dtype, int32_t root,
                               tsrDevice device, tsrStream stream) {
  return api("tsrBroadcast", [&] {
    if (tsrStatus s = check_comm(comm)) return s;
    if (root < 0 || root >= comm->size) return invalid(cat("root ", root, " is not a rank of ", comm->size));
    if (count && !buffer) return invalid("buffer is NULL");
    return run_mpi("MPI_Bcast", comm, buffer, buffer, count, dtype, nullptr, device, stream,
                   [&](const mpi::Library& l, MPI_Datatype type, MPI_Op) {
                     return l.MPI_Bcast_c(buffer, MPI_Count(count), type, root, comm->comm);
                   });
  });
}

TSR_API tsrStatus tsrSendRecv(tsrComm comm, const void* send, int32_t dest, void* recv, int32_t source, size_t count,
                              tsrDataType dtype, tsrDevice device, tsrStream stream) {
  return api("tsrSendRecv", [&] {
    MPI_Datatype type;
    if (tsrStatus s = check_collective(comm, dtype, device, stream, &type)) return s;
    for (int32_t r : {dest, source})
      if (r < -1 || r >= comm->size) return invalid(cat("rank ", r, " is not -1 or a rank of ", comm->size));
    if (count > size_t(INT64_MAX) / 8) return invalid(cat("count ", count, " is too large"));
    if (count && dest >= 0 && !send) return invalid("send is NULL");
    if (count && source >= 0 && !recv) return invalid("recv is NULL");
    if (count == 0) return TSR_SUCCESS;
    const mpi::Library& l = *mpi::library();
    auto lock = mpi::guard(l);
    const int to = dest < 0 ? MPI_PROC_NULL : dest, from = source < 0 ? MPI_PROC_NULL : source;
    return mpi::check(l,
                      l.MPI_Sendrecv_c(send, MPI_Count(count), type, to, 0, recv, MPI_Count(count), type, from, 0,
                                       comm->comm, MPI_STATUS_IGNORE),
                      "MPI_Sendrecv");
  });
}

}  // extern "C"
