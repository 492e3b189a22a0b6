// Persistent CPU worker pool behind host-kernel launches and the runtime's own host loops
// (fill, random, strided copies).
#pragma once
#include <cstdint>
#include <functional>

namespace tessera::rt {

// Runs fn(begin, end) over contiguous chunks that cover [0, total) exactly once and returns when
// all have finished. The calling thread takes chunks too. Chunks hold at least `grain` items
// (except the last). Called from inside a chunk (a nested launch), it runs fn(0, total) inline
// on the calling thread, so nesting never deadlocks. Concurrent callers are serialised. The
// first exception thrown by fn is rethrown here once every started chunk has ended; chunks not
// yet started are skipped.
void parallel_for(int64_t total, const std::function<void(int64_t, int64_t)>& fn, int64_t grain = 1);

// Threads that share a launch, the caller included (default: hardware concurrency).
int32_t cpu_threads();
// Returns false (and changes nothing) when called from inside a chunk.
bool set_cpu_threads(int32_t n);
// True while the calling thread runs a chunk.
bool in_parallel_region();

}  // namespace tessera::rt
