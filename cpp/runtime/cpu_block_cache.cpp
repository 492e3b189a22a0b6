// The cache of large CPU blocks (see cpu_block_cache.hpp).
#include "runtime/cpu_block_cache.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

namespace tessera::rt::cpu {
namespace {

constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kMediumStep = size_t(64) << 10;  // size classes below a huge page

// Blocks of 2 MiB and up are whole huge pages; smaller ones round to 64 KiB steps (at most
// 2x waste, at the smallest size) so the sizes one program asks for share few classes.
size_t rounded(size_t bytes) {
  const size_t step = bytes >= kHugePage ? kHugePage : kMediumStep;
  return (bytes + step - 1) / step * step;
}

size_t default_limit() {
  if (const char* env = std::getenv("TESSERA_CPU_CACHE_MB"); env && *env)
    return size_t(std::clamp(std::atol(env), 0L, 1L << 30)) << 20;  // at most 1 PiB: no overflow
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  size_t quarter = pages > 0 && page > 0 ? size_t(pages) * size_t(page) / 4 : size_t(1) << 30;
  return std::min(quarter, size_t(8) << 30);
}

struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;  // by size: a request takes a block of its size
  size_t cached = 0;
  size_t limit = default_limit();
};

Cache* g_cache = nullptr;

Cache& cache() {
  static bool once = [] {
    g_cache = new Cache;  // leaked, like the allocation table: threads may free at exit
    // A forked child starts with an empty cache: the parent's mutex may be held by a thread
    // that the child does not have (the parent's blocks stay mapped and simply go unused).
    pthread_atfork(nullptr, nullptr, [] { g_cache = new Cache; });
    return true;
  }();
  (void)once;
  return *g_cache;
}

void* fresh_block(size_t size) {
  if (size < kHugePage) return std::aligned_alloc(4096, size);
  void* p = std::aligned_alloc(kHugePage, size);
  if (p) madvise(p, size, MADV_HUGEPAGE);  // a hint: without THP the block still works
  return p;
}

}  // namespace

void* large_alloc(size_t bytes) {
  const size_t size = rounded(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (auto it = c.free_blocks.find(size); it != c.free_blocks.end()) {
      void* p = it->second;
      c.free_blocks.erase(it);
      c.cached -= size;
      return p;
    }
  }
  if (void* p = fresh_block(size)) return p;
  release_cached_blocks();  // memory is short: give back what the cache holds and retry
  return fresh_block(size);
}

void large_free(void* p, size_t bytes) {
  const size_t size = rounded(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (size <= c.limit) {
      c.free_blocks.emplace(size, p);
      c.cached += size;
      p = nullptr;
      // Over the limit: drop the largest blocks first (the fewest frees for the most memory).
      while (c.cached > c.limit) {
        auto last = std::prev(c.free_blocks.end());
        c.cached -= last->first;
        std::free(last->second);
        c.free_blocks.erase(last);
      }
    }
  }
  std::free(p);  // null when cached
}

size_t release_cached_blocks() {
  Cache& c = cache();
  std::multimap<size_t, void*> blocks;
  size_t released;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    blocks.swap(c.free_blocks);
    released = c.cached;
    c.cached = 0;
  }
  for (auto& [size, p] : blocks) std::free(p);
  return released;
}

size_t cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.cached;
}

}  // namespace tessera::rt::cpu
