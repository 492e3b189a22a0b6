// Independent pieces of host work (compiling kernel parts, loading modules) on their own threads.
#pragma once
#include <cstddef>
#include <functional>

namespace tessera {

// Runs fn(0) .. fn(n - 1), each on its own thread (fn(0) on the caller's), and returns when all
// are done; fn must not throw (catch and keep the error). Where no more threads can be started,
// the caller runs the rest.
void run_in_parallel(size_t n, const std::function<void(size_t)>& fn);

}  // namespace tessera
