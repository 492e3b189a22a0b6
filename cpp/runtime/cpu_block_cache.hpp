// CPU buffers of 64 KiB and up come from a cache of freed blocks.
//
// Why: a kernel writing a fresh output first faults in its pages, one at a time and serialised
// in the kernel's page-table lock, which costs more than the kernel and does not scale with
// threads: a 64 MiB output faults 16384 pages, and a training step of small layers that gets
// its 256 KiB buffers from malloc (which maps and unmaps them, or trims its heap) ran 2-3x
// slower in some processes than in others. Blocks of 2 MiB and up are rounded to 2 MiB, aligned
// to 2 MiB and marked for transparent huge pages (512x fewer faults); smaller ones round to
// 64 KiB steps. A freed block is kept for the next allocation of its size, so a program that
// runs again reuses warm memory. The cache holds at most TESSERA_CPU_CACHE_MB (default: a
// quarter of physical memory, at most 8 GiB; 0 disables it); tsrDeviceReleaseCache empties it,
// and an allocation that fails empties it and retries.
#pragma once
#include <cstddef>

namespace tessera::rt::cpu {

constexpr size_t kLargeBlock = size_t(64) << 10;

// A block of at least `bytes` (>= kLargeBlock) bytes, or null when the system has no memory.
void* large_alloc(size_t bytes);
// Returns a block from large_alloc(bytes) to the cache (or to the system when it is full).
void large_free(void* p, size_t bytes);
// Frees every cached block; returns the bytes released.
size_t release_cached_blocks();
size_t cached_bytes();

}  // namespace tessera::rt::cpu
