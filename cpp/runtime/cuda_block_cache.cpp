// Freed CUDA buffers are kept for the next allocation of their size class.
//
// Why: cuMemAlloc and cuMemFree cost tens to hundreds of microseconds each, and cuMemFree
// waits for the device, so a jitted call that allocates its outputs spent more time there than
// in its kernels. Sizes round up to 512 bytes (below 1 MiB) or 2 MiB; a block is reused only
// for its exact class. Reuse follows the order of the default stream, on which Tessera runs its
// kernels: work a caller queues on another stream must be synchronised before its buffers are
// freed (PyTorch's caching allocator has the same rule). The cache holds at most
// TESSERA_CUDA_CACHE_MB per device (default 8192); tsrDeviceReleaseCache empties it, and an
// allocation that runs out of memory empties it and retries.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>

#include "runtime/cuda_driver.hpp"
#include "runtime/internal.hpp"

namespace tessera::rt::cuda {
namespace {

size_t size_class(size_t bytes) {
  const size_t q = bytes < (size_t(1) << 20) ? 512 : size_t(2) << 20;
  return std::max<size_t>((bytes + q - 1) / q * q, q);
}

size_t limit_bytes() {
  const char* env = std::getenv("TESSERA_CUDA_CACHE_MB");
  long mb = env && *env ? std::atol(env) : 8192;
  return size_t(std::clamp(mb, 0L, 1L << 30)) << 20;
}

struct Pool {
  std::mutex mu;
  std::unordered_map<void*, size_t> live;    // pointer -> size class
  std::multimap<size_t, void*> free_blocks;  // size class -> cached block
  size_t cached = 0;
  MemoryCounters counters;
};

Pool& pool(int32_t index) {
  static auto* pools = new std::map<int32_t, Pool>;  // leaked: frees may come at exit
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  return (*pools)[index];  // map nodes never move
}

CUdeviceptr dev(void* p) { return CUdeviceptr(uintptr_t(p)); }

// Frees every cached block of `p` (the caller holds p.mu and made the device current).
size_t drain(Pool& p) {
  size_t released = p.cached;
  for (auto& [size, block] : p.free_blocks) driver()->cuMemFree_v2(dev(block));
  p.free_blocks.clear();
  p.cached = 0;
  return released;
}

}  // namespace

tsrStatus malloc(int32_t index, size_t bytes, void** ptr) {
  if (tsrStatus s = make_current(index)) return s;
  const size_t size = size_class(bytes);  // 0 bytes still gets a unique block
  Pool& p = pool(index);
  std::lock_guard<std::mutex> lock(p.mu);
  if (auto it = p.free_blocks.find(size); it != p.free_blocks.end()) {
    *ptr = it->second;
    p.cached -= size;
    p.free_blocks.erase(it);
    p.live[*ptr] = size;
    p.counters.add(size);
    return TSR_SUCCESS;
  }
  CUdeviceptr d = 0;
  CUresult r = driver()->cuMemAlloc_v2(&d, size);
  if (r == CUDA_ERROR_OUT_OF_MEMORY && p.cached > 0) {  // give the cache back and retry
    drain(p);
    r = driver()->cuMemAlloc_v2(&d, size);
  }
  if (tsrStatus s = check(r, "cuMemAlloc_v2")) return s;
  *ptr = reinterpret_cast<void*>(uintptr_t(d));
  p.live[*ptr] = size;
  p.counters.add(size);
  return TSR_SUCCESS;
}

tsrStatus free(int32_t index, void* ptr) {
  if (tsrStatus s = make_current(index)) return s;
  Pool& p = pool(index);
  std::lock_guard<std::mutex> lock(p.mu);
  auto it = p.live.find(ptr);
  if (it == p.live.end())
    return set_error(TSR_ERROR_INVALID_ARGUMENT,
                     cat("ptr ", ptr, " was not allocated by tsrMalloc on cuda:", index, " (or was already freed)"));
  const size_t size = it->second;
  p.live.erase(it);
  p.counters.remove(size);
  const size_t limit = limit_bytes();
  if (p.cached + size > limit) {
    while (!p.free_blocks.empty() && p.cached + size > limit) {  // make room: largest first
      auto last = std::prev(p.free_blocks.end());
      p.cached -= last->first;
      driver()->cuMemFree_v2(dev(last->second));
      p.free_blocks.erase(last);
    }
    if (size > limit) return check(driver()->cuMemFree_v2(dev(ptr)), "cuMemFree_v2");
  }
  p.free_blocks.emplace(size, ptr);
  p.cached += size;
  return TSR_SUCCESS;
}

tsrMemoryStats memory_stats(int32_t index) {
  Pool& p = pool(index);
  std::lock_guard<std::mutex> lock(p.mu);
  return {p.counters.allocated, p.counters.peak, p.cached, p.counters.allocations};
}

void reset_peak_memory(int32_t index) {
  Pool& p = pool(index);
  std::lock_guard<std::mutex> lock(p.mu);
  p.counters.peak = p.counters.allocated;
}

size_t release_cached_blocks(int32_t index) {
  if (make_current(index) != TSR_SUCCESS) return 0;
  Pool& p = pool(index);
  std::lock_guard<std::mutex> lock(p.mu);
  return drain(p);
}

}  // namespace tessera::rt::cuda
