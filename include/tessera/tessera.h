/* Tessera runtime C ABI.
 *
 * The runtime stands apart from the compiler: this library contains no LLVM and links no GPU
 * driver. CUDA is reached through libcuda.so.1 opened at run time, so a program using this
 * header runs on machines without a GPU and gets TSR_ERROR_DEVICE_UNAVAILABLE (with a message
 * from tsrGetLastError) when it asks for one.
 *
 * Conventions
 * - Every function returns a tsrStatus. On failure, tsrGetLastError() returns a message for the
 *   last failing call on the calling thread (valid until the next failing call on that thread).
 * - Device type codes equal DLPack's DLDeviceType codes (kDLCPU = 1, kDLCUDA = 2).
 * - All functions are thread-safe.
 */
#ifndef TESSERA_TESSERA_H
#define TESSERA_TESSERA_H

#include <stddef.h>
#include <stdint.h>

#include "tessera/dlpack.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_ABI_VERSION_MAJOR 0
#define TSR_ABI_VERSION_MINOR 1
#define TSR_ABI_VERSION_PATCH 0

#if defined(__GNUC__)
#define TSR_API __attribute__((visibility("default")))
#else
#define TSR_API
#endif

typedef enum tsrStatus {
  TSR_SUCCESS = 0,
  TSR_ERROR_INVALID_ARGUMENT = 1,
  TSR_ERROR_OUT_OF_MEMORY = 2,
  TSR_ERROR_DEVICE_UNAVAILABLE = 3, /* no such device, or its driver cannot be loaded */
  TSR_ERROR_DRIVER = 4,             /* the driver reported an error */
  TSR_ERROR_NOT_SUPPORTED = 5,
  TSR_ERROR_LAUNCH_FAILED = 6,
  TSR_ERROR_INVALID_MODULE = 7,
  TSR_ERROR_NOT_FOUND = 8,
  TSR_ERROR_INTERNAL = 9,
  TSR_ERROR_INVALID_PROGRAM = 10 /* an exported program file that is malformed, corrupted or too new */
} tsrStatus;

typedef enum tsrDeviceType { TSR_DEVICE_CPU = 1, TSR_DEVICE_CUDA = 2 } tsrDeviceType;

typedef struct tsrDevice {
  tsrDeviceType type;
  int32_t index;
} tsrDevice;

typedef struct tsrDeviceProperties {
  char name[256];
  tsrDeviceType type;
  int32_t index;
  int64_t total_memory;             /* bytes */
  int32_t compute_capability_major; /* CUDA only, else 0 */
  int32_t compute_capability_minor;
  int32_t multiprocessor_count;  /* CUDA SMs; CPU: worker threads */
  int32_t max_threads_per_block; /* CPU: 1 */
  int32_t warp_size;             /* CPU: 1 */
  int64_t shared_memory_per_block;
  int32_t driver_version; /* CUDA: cuDriverGetVersion, e.g. 13000; CPU: 0 */
} tsrDeviceProperties;

typedef struct tsrStream_t* tsrStream; /* NULL means the device's default (synchronous) stream */
typedef struct tsrEvent_t* tsrEvent;
typedef struct tsrModule_t* tsrModule;
typedef struct tsrKernel_t* tsrKernel;

/* ---- errors and version ---- */
TSR_API const char* tsrGetLastError(void);
TSR_API const char* tsrStatusName(tsrStatus status);
TSR_API void tsrGetVersion(int32_t* major, int32_t* minor, int32_t* patch);

/* ---- devices ---- */
/* CUDA without a usable driver reports count 0 and TSR_SUCCESS. */
TSR_API tsrStatus tsrDeviceCount(tsrDeviceType type, int32_t* count);
TSR_API tsrStatus tsrGetDeviceProperties(tsrDevice device, tsrDeviceProperties* props);
TSR_API tsrStatus tsrDeviceSynchronize(tsrDevice device);
/* CPU worker threads used by kernel launches (default: hardware concurrency). n >= 1. */
TSR_API tsrStatus tsrSetCpuThreads(int32_t n);
TSR_API int32_t tsrGetCpuThreads(void);

/* ---- memory ---- */
/* CPU allocations are 64-byte aligned. Zero-byte allocations return a valid unique pointer. */
TSR_API tsrStatus tsrMalloc(tsrDevice device, size_t bytes, void** ptr);
TSR_API tsrStatus tsrFree(tsrDevice device, void* ptr);
/* Gives the device's cached free blocks back to the system; *released (may be NULL) receives
   the bytes returned. CPU blocks of 1 MiB and more are kept for reuse after tsrFree (up to
   TESSERA_CPU_CACHE_MB); CUDA blocks of every size (up to TESSERA_CUDA_CACHE_MB per device),
   reused in the default stream's order: synchronise work on other streams before freeing. */
TSR_API tsrStatus tsrDeviceReleaseCache(tsrDevice device, size_t* released);
/* What tsrMalloc holds on a device. CPU sizes are the bytes asked for; CUDA sizes are the
   allocator's size classes (512 bytes below 1 MiB, 2 MiB above), which is what the GPU holds. */
typedef struct tsrMemoryStats {
  size_t allocated;     /* live buffers */
  size_t peak;          /* the most `allocated` has been since the process started or the last reset */
  size_t cached;        /* freed blocks kept for reuse (tsrDeviceReleaseCache gives them back) */
  uint64_t allocations; /* tsrMalloc calls so far */
} tsrMemoryStats;
TSR_API tsrStatus tsrDeviceMemoryStats(tsrDevice device, tsrMemoryStats* stats);
/* Sets the device's peak to what is allocated now. */
TSR_API tsrStatus tsrDeviceResetPeakMemory(tsrDevice device);
/* Copies between any two devices. stream NULL: returns when the copy is complete. */
TSR_API tsrStatus tsrMemcpy(void* dst, tsrDevice dst_device, const void* src, tsrDevice src_device, size_t bytes,
                            tsrStream stream);
TSR_API tsrStatus tsrMemset(tsrDevice device, void* ptr, int32_t value, size_t bytes, tsrStream stream);

/* ---- streams and events ---- */
TSR_API tsrStatus tsrStreamCreate(tsrDevice device, tsrStream* stream);
TSR_API tsrStatus tsrStreamDestroy(tsrStream stream);
TSR_API tsrStatus tsrStreamSynchronize(tsrStream stream);
TSR_API tsrStatus tsrStreamWaitEvent(tsrStream stream, tsrEvent event);
TSR_API tsrStatus tsrEventCreate(tsrDevice device, tsrEvent* event);
TSR_API tsrStatus tsrEventDestroy(tsrEvent event);
TSR_API tsrStatus tsrEventRecord(tsrEvent event, tsrStream stream);
TSR_API tsrStatus tsrEventSynchronize(tsrEvent event);
TSR_API tsrStatus tsrEventElapsedMs(tsrEvent start, tsrEvent end, float* ms);

/* ---- modules and kernels ---- */
/* CPU kernel ABI. `args[i]` points at the i-th argument's value (as in cuLaunchKernel).
 * The kernel runs program instances with linear ids [begin, end) of a grid of
 * grid[0] * grid[1] * grid[2] instances; linear id = x + grid[0] * (y + grid[1] * z). */
typedef void (*tsrHostKernelFn)(void** args, int64_t begin, int64_t end, const uint32_t* grid);

typedef struct tsrHostKernelEntry {
  const char* name;
  tsrHostKernelFn fn;
} tsrHostKernelEntry;

/* A CPU module from functions already in this process (for example, JIT-compiled). */
TSR_API tsrStatus tsrModuleLoadHost(const tsrHostKernelEntry* entries, int32_t count, tsrModule* module);
/* A device module from an image: for CUDA, NUL-terminated PTX text or a cubin. */
TSR_API tsrStatus tsrModuleLoadData(tsrDevice device, const void* image, size_t size, tsrModule* module);
TSR_API tsrStatus tsrModuleUnload(tsrModule module);
TSR_API tsrStatus tsrModuleGetKernel(tsrModule module, const char* name, tsrKernel* kernel);

typedef struct tsrLaunchConfig {
  uint32_t grid[3];
  uint32_t block[3]; /* CPU: ignored */
  uint32_t shared_bytes;
} tsrLaunchConfig;

/* CUDA (sm_90+): fills `out` (128 bytes, 64-byte aligned) with a TMA descriptor (CUtensorMap, made
 * by cuTensorMapEncodeTiled) for tiled copies of a `rank`-dim tensor of `elem_bytes`-byte
 * elements at device address `base` (16-byte aligned): dims[0] is the innermost extent,
 * strides_bytes[i] the byte stride of dim i+1, box the copied tile, swizzle_bytes 0, 32, 64 or
 * 128. Reads past the dims are zero-filled. Kernels take it as a 128-byte by-value parameter. */
TSR_API tsrStatus tsrEncodeTensorMap(tsrDevice device, void* out, const void* base, uint32_t elem_bytes, uint32_t rank,
                                     const uint64_t* dims, const uint64_t* strides_bytes, const uint32_t* box,
                                     uint32_t swizzle_bytes);

/* CPU: splits the grid over the worker threads and returns when all instances finished.
 * CUDA: enqueues on `stream` (NULL = the legacy default stream). */
TSR_API tsrStatus tsrLaunchKernel(tsrKernel kernel, const tsrLaunchConfig* config, void** args, tsrStream stream);

/* ---- graphs: a recorded sequence of kernel launches, replayed by one call ----
 * CUDA only (a CUDA graph: one cuGraphLaunch instead of a launch a kernel; CPU devices return
 * TSR_ERROR_NOT_SUPPORTED). Each kernel runs after the one added before it. The argument
 * values are copied when a kernel is added or its arguments are set. The graph is
 * instantiated at its first launch; adding a kernel after that re-instantiates it at the next.
 * Destroy a graph before unloading the modules of its kernels; destroying one while its launches
 * run is safe (they finish). Calls on one graph from several threads take turns (each locks it),
 * but tsrGraphDestroy must not overlap any other call on the same graph. */
typedef struct tsrGraph_t* tsrGraph;
TSR_API tsrStatus tsrGraphCreate(tsrDevice device, tsrGraph* graph);
TSR_API tsrStatus tsrGraphDestroy(tsrGraph graph);
/* Appends a launch of `kernel` (on the graph's device); `node` (may be NULL) receives its index. */
TSR_API tsrStatus tsrGraphAddKernel(tsrGraph graph, tsrKernel kernel, const tsrLaunchConfig* config, void** args,
                                    int32_t* node);
/* New argument values for kernel `node`, used by later launches (running ones are unaffected). */
TSR_API tsrStatus tsrGraphSetKernelArgs(tsrGraph graph, int32_t node, void** args);
/* Enqueues all the graph's kernels on `stream` (NULL = the legacy default stream). */
TSR_API tsrStatus tsrGraphLaunch(tsrGraph graph, tsrStream stream);

/* ---- communicators and collectives ----
 * A communicator is a group of processes (ranks) that run collectives together, in the same
 * order on every member. Host buffers (TSR_DEVICE_CPU) go through MPI, opened at run time
 * through the MPI-5 standard ABI (libmpi_abi.so.1: TESSERA_MPI_LIB names the file, else the
 * dynamic loader's search path), so any ABI-compliant MPI works and none is linked. A process
 * started without a launcher is rank 0 of 1. CUDA buffers (TSR_DEVICE_CUDA) go through NCCL,
 * opened at run time (libnccl.so.2: TESSERA_NCCL_LIB names the file, else the loader's search
 * path); a communicator's NCCL communicator is created at its first collective on CUDA
 * buffers (rank 0 broadcasts the NCCL unique id over MPI), one per device index, so each member
 * should use one device per communicator (one process per GPU). Host collectives block until
 * their result is in place; CUDA collectives are enqueued on `stream` and complete in its
 * order, except on the NULL stream (the legacy default stream), where they are waited for.
 * Counts are elements, per rank where it says so; send and receive buffers must not overlap
 * unless they are the same pointer (in place), which tsrAllReduce and tsrBroadcast allow. */
typedef struct tsrComm_t* tsrComm;

typedef enum tsrDataType {
  TSR_FLOAT64 = 0,
  TSR_FLOAT32 = 1,
  TSR_FLOAT16 = 2,
  TSR_BFLOAT16 = 3,
  TSR_INT64 = 4,
  TSR_INT32 = 5,
  TSR_INT8 = 6,
  TSR_UINT8 = 7,
  TSR_BOOL = 8 /* one byte, 0 or 1; sum and max are logical or, prod and min logical and */
} tsrDataType;

typedef enum tsrReduceOp {
  TSR_REDUCE_SUM = 0,
  TSR_REDUCE_PROD = 1,
  TSR_REDUCE_MAX = 2,
  TSR_REDUCE_MIN = 3
} tsrReduceOp;

/* All processes of the job, initialising MPI at the first call (thread level: multiple where
 * the library provides it; calls are serialised otherwise). The same handle every call; never
 * destroy it. */
TSR_API tsrStatus tsrCommWorld(tsrComm* comm);
/* Collective over `comm`: the ranks passing the same color form a new communicator, ordered by
 * key (then by rank in `comm`). color < 0: this rank joins none and *out is NULL. */
TSR_API tsrStatus tsrCommSplit(tsrComm comm, int32_t color, int32_t key, tsrComm* out);
TSR_API tsrStatus tsrCommDestroy(tsrComm comm);
TSR_API tsrStatus tsrCommRank(tsrComm comm, int32_t* rank);
TSR_API tsrStatus tsrCommSize(tsrComm comm, int32_t* size);
/* The engine's name and version, e.g. "MPICH Version: 5.0.2 ...". */
TSR_API tsrStatus tsrCommLibraryVersion(char* out, size_t capacity);
/* The NCCL library's version code (major * 10000 + minor * 100 + patch), opening it; a missing
 * library is TSR_ERROR_DEVICE_UNAVAILABLE naming TESSERA_NCCL_LIB. */
TSR_API tsrStatus tsrCommNcclVersion(int32_t* version);
/* Ends every process of the job with `code` (MPI_Abort); returns only if that failed. */
TSR_API tsrStatus tsrCommAbort(tsrComm comm, int32_t code);
TSR_API tsrStatus tsrBarrier(tsrComm comm);

TSR_API tsrStatus tsrAllReduce(tsrComm comm, const void* send, void* recv, size_t count, tsrDataType dtype,
                               tsrReduceOp op, tsrDevice device, tsrStream stream);
/* recv holds size * count elements: rank r's `count` at offset r * count. */
TSR_API tsrStatus tsrAllGather(tsrComm comm, const void* send, void* recv, size_t count, tsrDataType dtype,
                               tsrDevice device, tsrStream stream);
/* send holds size * count elements; rank r receives the reduction of every rank's block r. */
TSR_API tsrStatus tsrReduceScatter(tsrComm comm, const void* send, void* recv, size_t count, tsrDataType dtype,
                                   tsrReduceOp op, tsrDevice device, tsrStream stream);
/* send and recv hold size * count elements; block j of rank i's send is block i of rank j's recv. */
TSR_API tsrStatus tsrAllToAll(tsrComm comm, const void* send, void* recv, size_t count, tsrDataType dtype,
                              tsrDevice device, tsrStream stream);
/* Root's `count` elements replace every rank's buffer. */
TSR_API tsrStatus tsrBroadcast(tsrComm comm, void* buffer, size_t count, tsrDataType dtype, int32_t root,
                               tsrDevice device, tsrStream stream);
/* Sends `count` elements to rank `dest` and receives `count` from rank `source` at once (either
 * may be -1: none). With every rank passing a permutation's pairs, this is a collective permute. */
TSR_API tsrStatus tsrSendRecv(tsrComm comm, const void* send, int32_t dest, void* recv, int32_t source, size_t count,
                              tsrDataType dtype, tsrDevice device, tsrStream stream);

/* ---- exported programs (tessera.export in Python) ----
 * A program compiled ahead of time, loaded and run by this library alone: no compiler, no LLVM.
 * Loading checks the file (format version, lengths, checksums: TSR_ERROR_INVALID_PROGRAM with
 * what is wrong) and the device (the exported target: TSR_ERROR_DEVICE_UNAVAILABLE when this
 * device cannot run it). A program may be run from several threads at once. */
typedef struct tsrProgram_t* tsrProgram;

typedef struct tsrTensorInfo {
  tsrDataType dtype;
  int32_t ndim;
  const int64_t* shape; /* ndim sizes, valid while the program is loaded */
} tsrTensorInfo;

TSR_API tsrStatus tsrProgramLoad(const char* path, tsrDevice device, tsrProgram* program);
TSR_API tsrStatus tsrProgramLoadData(const void* data, size_t size, tsrDevice device, tsrProgram* program);
/* Not while a tsrProgramRun of the same program is in flight on another thread. */
TSR_API tsrStatus tsrProgramDestroy(tsrProgram program);
/* The inputs the caller passes (constants baked in at export are not among them) and the outputs. */
TSR_API tsrStatus tsrProgramNumInputs(tsrProgram program, int32_t* count);
TSR_API tsrStatus tsrProgramNumOutputs(tsrProgram program, int32_t* count);
TSR_API tsrStatus tsrProgramInput(tsrProgram program, int32_t index, tsrTensorInfo* info);
TSR_API tsrStatus tsrProgramOutput(tsrProgram program, int32_t index, tsrTensorInfo* info);
/* The manifest: format, target, compiler version and signature as text; valid while loaded. */
TSR_API tsrStatus tsrProgramManifest(tsrProgram program, const char** text);
/* Runs the program. `inputs` are borrowed (any strides; on the program's device) and must match
 * the input types; each of the `num_outputs` results is a new tensor the caller releases by
 * calling its deleter. On failure no outputs are written. */
TSR_API tsrStatus tsrProgramRun(tsrProgram program, const DLTensor* inputs, int32_t num_inputs,
                                DLManagedTensorVersioned** outputs, int32_t num_outputs);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_TESSERA_H */
