// Private to the runtime's .cpp files: error reporting, the objects behind the opaque handles,
// a registry that tells live handles from stale ones, and the CPU and CUDA back ends that
// runtime.cpp dispatches to after it has validated the arguments.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "tessera/tessera.h"

// ---- objects behind the handles (global names: tessera.h declares them there) ----
struct tsrStream_t {
  tsrDevice device;
  void* cu = nullptr;  // CUstream; CPU streams need no state (work runs at call time)
};

struct tsrEvent_t {
  tsrDevice device;
  void* cu = nullptr;  // CUevent
  std::atomic<bool> recorded{false};
  std::atomic<int64_t> cpu_ns{0};  // CPU: steady_clock time of the last record
};

struct tsrKernel_t;

struct tsrModule_t {
  tsrDevice device;
  void* cu = nullptr;                                           // CUmodule
  std::map<std::string, tsrHostKernelFn> host_fns;              // CPU: the entry table, copied
  std::mutex mu;                                                // guards kernels
  std::map<std::string, std::unique_ptr<tsrKernel_t>> kernels;  // one handle per name
};

struct tsrKernel_t {
  tsrModule module = nullptr;
  tsrDevice device;
  std::string name;
  tsrHostKernelFn host_fn = nullptr;
  void* cu = nullptr;  // CUfunction
  // CUDA: the dynamic shared memory limit already raised with cuFuncSetAttribute.
  std::atomic<uint32_t> max_dynamic_shared{48 * 1024};
};

// A recorded sequence of CUDA kernel launches (execution.cpp, cuda_graph.cpp).
struct tsrGraph_t {
  tsrDevice device;
  void* cu = nullptr;    // CUgraph
  void* exec = nullptr;  // CUgraphExec, instantiated at the first launch after a change
  struct Node {
    tsrKernel kernel;
    tsrLaunchConfig config;
    void* cu;  // CUgraphNode
  };
  std::vector<Node> nodes;
  std::mutex mu;  // guards nodes and exec
};

namespace tessera::rt {

// Stores `message` as the calling thread's last error and returns `status`. Never throws.
tsrStatus set_error(tsrStatus status, const std::string& message) noexcept;
// Counts set_error calls on this thread, so the ABI boundary can tell whether a failing call
// left a message.
uint64_t error_serial() noexcept;
// Prepends "<api>: " to the calling thread's last error.
void prefix_error(const char* api) noexcept;

template <class... A>
std::string cat(const A&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

std::string device_str(tsrDevice d);  // "cpu:0", "cuda:1"

// Live handles of one kind. Lookups take a lock; handles are few and launches are coarse.
template <class T>
class HandleSet {
 public:
  void add(T* h) {
    std::lock_guard<std::mutex> lock(mu_);
    set_.insert(h);
  }
  bool remove(T* h) {
    std::lock_guard<std::mutex> lock(mu_);
    return set_.erase(h) != 0;
  }
  bool contains(const T* h) const {
    std::lock_guard<std::mutex> lock(mu_);
    return set_.count(const_cast<T*>(h)) != 0;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_set<T*> set_;
};

// The live handles of one kind (programs, functions, executables: their .cpp files define
// the types). Leaked on purpose: handles may be used from threads still running at exit.
template <class T>
HandleSet<T>& live_handles() {
  static auto* s = new HandleSet<T>;
  return *s;
}

HandleSet<tsrStream_t>& live_streams();
HandleSet<tsrEvent_t>& live_events();
HandleSet<tsrModule_t>& live_modules();
HandleSet<tsrKernel_t>& live_kernels();
HandleSet<tsrGraph_t>& live_graphs();

// Bytes of live allocations and their peak, kept by each back end under its allocation lock.
struct MemoryCounters {
  size_t allocated = 0, peak = 0;
  uint64_t allocations = 0;
  void add(size_t bytes) {
    allocated += bytes;
    peak = std::max(peak, allocated);
    ++allocations;
  }
  void remove(size_t bytes) { allocated -= bytes; }
};

// ---- CPU back end (cpu_device.cpp) ----
namespace cpu {
tsrMemoryStats memory_stats();
void reset_peak_memory();
tsrStatus malloc(size_t bytes, void** ptr);
tsrStatus free(void* ptr);  // rejects pointers it did not allocate
void memcpy(void* dst, const void* src, size_t bytes);
void memset(void* ptr, int32_t value, size_t bytes);
tsrStatus properties(tsrDeviceProperties* props);
int64_t now_ns();
tsrStatus module_load_host(const tsrHostKernelEntry* entries, int32_t count, tsrModule module);
tsrStatus get_kernel(tsrModule module, const char* name, tsrKernel kernel);
tsrStatus launch(tsrKernel kernel, const tsrLaunchConfig* config, void** args);
}  // namespace cpu

// ---- CUDA back end (cuda_device.cpp); device indices are already range-checked ----
namespace cuda {
bool available();
int32_t device_count();         // 0 when unavailable
tsrStatus unavailable_error();  // TSR_ERROR_DEVICE_UNAVAILABLE with the reason
tsrStatus malloc(int32_t index, size_t bytes, void** ptr);
tsrStatus free(int32_t index, void* ptr);     // rejects pointers it did not allocate
size_t release_cached_blocks(int32_t index);  // cuda_block_cache.cpp: returns bytes freed
tsrMemoryStats memory_stats(int32_t index);   // cuda_block_cache.cpp
void reset_peak_memory(int32_t index);
tsrStatus memcpy(void* dst, tsrDevice dst_device, const void* src, tsrDevice src_device, size_t bytes,
                 tsrStream stream);
tsrStatus memset(int32_t index, void* ptr, int32_t value, size_t bytes, tsrStream stream);
tsrStatus synchronize(int32_t index);
tsrStatus properties(int32_t index, tsrDeviceProperties* props);
tsrStatus stream_create(tsrStream stream);
tsrStatus stream_destroy(tsrStream stream);
tsrStatus stream_synchronize(tsrStream stream);
// `stream` NULL: the legacy default stream of device `index`.
tsrStatus stream_wait_event(int32_t index, tsrStream stream, tsrEvent event);
tsrStatus event_create(tsrEvent event);
tsrStatus event_destroy(tsrEvent event);
tsrStatus event_record(tsrEvent event, tsrStream stream);
tsrStatus event_synchronize(tsrEvent event);
tsrStatus event_elapsed_ms(tsrEvent start, tsrEvent end, float* ms);
tsrStatus module_load(tsrModule module, const void* image, size_t size);
tsrStatus module_unload(tsrModule module);
tsrStatus get_kernel(tsrModule module, const char* name, tsrKernel kernel);
tsrStatus launch(tsrKernel kernel, const tsrLaunchConfig* config, void** args, tsrStream stream);
// Kernels needing more than 48 KiB of dynamic shared memory opt in once (cuFuncSetAttribute).
tsrStatus raise_shared_limit(tsrKernel kernel, uint32_t shared_bytes);
// cuda_graph.cpp: tsrGraph's CUDA side; the caller holds graph->mu.
tsrStatus graph_create(tsrGraph graph);
tsrStatus graph_destroy(tsrGraph graph);
tsrStatus graph_add_kernel(tsrGraph graph, tsrKernel kernel, const tsrLaunchConfig* config, void** args);
tsrStatus graph_set_kernel_args(tsrGraph graph, size_t node, void** args);
tsrStatus graph_launch(tsrGraph graph, tsrStream stream);
}  // namespace cuda

}  // namespace tessera::rt
