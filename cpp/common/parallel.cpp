// run_in_parallel (parallel.hpp).
#include "common/parallel.hpp"

#include <system_error>
#include <thread>
#include <vector>

namespace tessera {

void run_in_parallel(size_t n, const std::function<void(size_t)>& fn) {
  std::vector<std::thread> threads;
  size_t started = 1;
  for (; started < n; ++started) {
    try {
      threads.emplace_back(fn, started);
    } catch (const std::system_error&) {  // no more threads to be had
      break;
    }
  }
  for (size_t j = started; j < n; ++j) fn(j);
  if (n > 0) fn(0);
  for (auto& t : threads) t.join();
}

}  // namespace tessera
