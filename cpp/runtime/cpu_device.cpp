// CPU device: 64-byte aligned host memory, synchronous streams and events (work runs at call
// time, so they need no state beyond a timestamp), and host-kernel modules whose launches are
// split over the worker pool.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "runtime/cpu_block_cache.hpp"
#include "runtime/internal.hpp"
#include "runtime/thread_pool.hpp"

namespace tessera::rt::cpu {
namespace {

constexpr size_t kAlign = 64;  // a cache line; also enough for any vector load

// Live allocations, so tsrFree can reject pointers it never handed out (or already freed).
struct Allocations {
  std::mutex mu;
  std::unordered_map<void*, size_t> sizes;
  MemoryCounters counters;
};
Allocations& allocations() {
  static auto* a = new Allocations;  // leaked: memory may be freed by threads still running at exit
  return *a;
}

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) break;
    const auto start = line.find_first_not_of(" \t", colon + 1);
    if (start != std::string::npos) return line.substr(start);
  }
  return "CPU";
}

}  // namespace

tsrStatus malloc(size_t bytes, void** ptr) {
  if (bytes > SIZE_MAX - kAlign)
    return set_error(TSR_ERROR_OUT_OF_MEMORY, cat("cannot allocate ", bytes, " bytes on cpu:0"));
  // aligned_alloc needs a multiple of the alignment; 0 bytes still gets a unique block.
  const size_t rounded = bytes == 0 ? kAlign : (bytes + kAlign - 1) / kAlign * kAlign;
  void* p = bytes >= kLargeBlock ? large_alloc(bytes) : std::aligned_alloc(kAlign, rounded);
  if (!p) return set_error(TSR_ERROR_OUT_OF_MEMORY, cat("cannot allocate ", bytes, " bytes on cpu:0"));
  try {
    Allocations& a = allocations();
    std::lock_guard<std::mutex> lock(a.mu);
    a.sizes.emplace(p, bytes);
    a.counters.add(bytes);
  } catch (...) {
    if (bytes >= kLargeBlock)
      large_free(p, bytes);
    else
      std::free(p);
    throw;
  }
  *ptr = p;
  return TSR_SUCCESS;
}

tsrMemoryStats memory_stats() {
  Allocations& a = allocations();
  std::lock_guard<std::mutex> lock(a.mu);
  return {a.counters.allocated, a.counters.peak, cached_bytes(), a.counters.allocations};
}

void reset_peak_memory() {
  Allocations& a = allocations();
  std::lock_guard<std::mutex> lock(a.mu);
  a.counters.peak = a.counters.allocated;
}

tsrStatus free(void* ptr) {
  Allocations& a = allocations();
  size_t bytes;
  {
    std::lock_guard<std::mutex> lock(a.mu);
    auto it = a.sizes.find(ptr);
    if (it == a.sizes.end())
      return set_error(TSR_ERROR_INVALID_ARGUMENT,
                       cat("ptr ", ptr, " was not allocated by tsrMalloc on cpu:0 (or was already freed)"));
    bytes = it->second;
    a.sizes.erase(it);
    a.counters.remove(bytes);
  }
  if (bytes >= kLargeBlock)
    large_free(ptr, bytes);
  else
    std::free(ptr);
  return TSR_SUCCESS;
}

void memcpy(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memmove(dst, src, bytes);  // overlap-safe at the same cost
}

void memset(void* ptr, int32_t value, size_t bytes) {
  if (bytes) std::memset(ptr, value & 0xff, bytes);
}

tsrStatus properties(tsrDeviceProperties* props) {
  std::memset(props, 0, sizeof *props);
  const std::string name = cpu_name();
  std::strncpy(props->name, name.c_str(), sizeof props->name - 1);
  props->type = TSR_DEVICE_CPU;
  props->index = 0;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  props->total_memory = pages > 0 && page > 0 ? int64_t(pages) * page : 0;
  props->multiprocessor_count = cpu_threads();
  props->max_threads_per_block = 1;
  props->warp_size = 1;
  props->shared_memory_per_block = 0;
  return TSR_SUCCESS;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

tsrStatus module_load_host(const tsrHostKernelEntry* entries, int32_t count, tsrModule module) {
  for (int32_t i = 0; i < count; ++i) {
    if (!entries[i].name) return set_error(TSR_ERROR_INVALID_ARGUMENT, cat("entries[", i, "].name is NULL"));
    if (!entries[i].fn)
      return set_error(TSR_ERROR_INVALID_ARGUMENT, cat("entries[", i, "].fn is NULL (kernel '", entries[i].name, "')"));
    if (!module->host_fns.emplace(entries[i].name, entries[i].fn).second)
      return set_error(TSR_ERROR_INVALID_ARGUMENT,
                       cat("entries[", i, "]: kernel name '", entries[i].name, "' appears twice"));
  }
  return TSR_SUCCESS;
}

tsrStatus get_kernel(tsrModule module, const char* name, tsrKernel kernel) {
  const auto it = module->host_fns.find(name);
  if (it == module->host_fns.end()) {
    std::string names;
    int listed = 0;
    for (const auto& [n, fn] : module->host_fns) {
      (void)fn;
      if (listed++ == 20) {
        names += ", ...";
        break;
      }
      names += (names.empty() ? "" : ", ") + n;
    }
    return set_error(TSR_ERROR_NOT_FOUND, cat("no kernel named '", name,
                                              "' in the module (it has: ", names.empty() ? "no kernels" : names, ")"));
  }
  kernel->host_fn = it->second;
  return TSR_SUCCESS;
}

tsrStatus launch(tsrKernel kernel, const tsrLaunchConfig* config, void** args) {
  const uint32_t grid[3] = {config->grid[0], config->grid[1], config->grid[2]};
  // Three 32-bit factors can exceed int64: check before the last multiplication.
  const uint64_t plane = uint64_t(grid[0]) * grid[1];  // < 2^64
  if (grid[2] != 0 && plane > uint64_t(INT64_MAX) / grid[2])
    return set_error(TSR_ERROR_INVALID_ARGUMENT,
                     cat("config->grid ", grid[0], "x", grid[1], "x", grid[2], " has more than 2^63 instances"));
  const int64_t total = int64_t(plane * grid[2]);
  const tsrHostKernelFn fn = kernel->host_fn;
  parallel_for(total, [&](int64_t begin, int64_t end) { fn(args, begin, end, grid); });
  return TSR_SUCCESS;
}

}  // namespace tessera::rt::cpu
