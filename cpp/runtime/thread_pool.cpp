// Worker pool: a launch publishes one job (a function, a chunk size and an atomic chunk counter)
// and every thread, caller included, claims chunks until none are left. Claiming dynamically
// keeps cores busy when one worker is descheduled. Between launches workers spin for a short
// while before sleeping on a condition variable, and the caller spins for their last chunks:
// eager code launches many small kernels back to back, and a futex wake-up costs more than
// such a kernel (as OpenMP runtimes do, with a bounded spin).
#include "runtime/thread_pool.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace tessera::rt {
namespace {

using Fn = std::function<void(int64_t, int64_t)>;

// How long an idle worker (or a caller waiting for workers) spins before it sleeps.
constexpr auto kSpin = std::chrono::microseconds(200);

// Spins until done() or kSpin has passed; true if done() became true. Yields now and then so a
// spinning thread never starves a runnable one on an oversubscribed machine.
template <class Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 1;; ++i) {
    if (done()) return true;
    if (i % 64 == 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
  }
}

thread_local bool t_inside = false;  // this thread is running chunks

struct InsideScope {
  bool saved = t_inside;
  InsideScope() { t_inside = true; }
  ~InsideScope() { t_inside = saved; }
};

class Pool {
 public:
  explicit Pool(int32_t workers) : requested_(workers) {
    try {
      for (int32_t i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
    } catch (const std::system_error&) {
      // Out of threads: run with the workers we got; the caller still takes chunks.
    }
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      stop_flag_.store(true);
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }
  int32_t requested() const { return requested_; }

  void run(const Fn& fn, int64_t total, int64_t chunk, int64_t nchunks) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn;
      total_ = total;
      chunk_ = chunk;
      nchunks_ = nchunks;
      next_.store(0);
      error_ = nullptr;
      generation_.fetch_add(1);
    }
    wake_.notify_all();  // no system call when every worker is spinning
    run_chunks(fn, total, chunk, nchunks);
    std::exception_ptr error;
    {
      // Every chunk is claimed; workers that claimed one are counted in active_ until done.
      spin_until([this] { return active_.load() == 0; });
      std::unique_lock<std::mutex> lock(mu_);
      done_.wait(lock, [this] { return active_.load() == 0; });
      fn_ = nullptr;  // a worker waking late must not pick up this finished job
      error = error_;
      error_ = nullptr;
    }
    if (error) std::rethrow_exception(error);
  }

 private:
  void run_chunks(const Fn& fn, int64_t total, int64_t chunk, int64_t nchunks) {
    for (;;) {
      const int64_t i = next_.fetch_add(1);
      if (i >= nchunks) return;
      const int64_t begin = i * chunk;
      try {
        fn(begin, std::min(total, begin + chunk));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!error_) error_ = std::current_exception();
        next_.store(nchunks);  // skip the chunks nobody started
      }
    }
  }

  void work() {
    t_inside = true;  // a launch from inside a worker runs inline
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      lock.unlock();
      spin_until([&] { return generation_.load() != seen || stop_flag_.load(); });
      lock.lock();
      wake_.wait(lock, [&] { return stop_ || generation_.load() != seen; });
      if (stop_) return;
      seen = generation_.load();
      if (!fn_) continue;  // that launch ended before this worker got here
      const Fn* fn = fn_;
      const int64_t total = total_, chunk = chunk_, nchunks = nchunks_;
      ++active_;
      lock.unlock();
      run_chunks(*fn, total, chunk, nchunks);
      lock.lock();
      if (active_.fetch_sub(1) == 1) done_.notify_all();
    }
  }

  const int32_t requested_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  bool stop_ = false;
  std::atomic<bool> stop_flag_{false};   // stop_, readable while spinning
  std::atomic<uint64_t> generation_{0};  // written under mu_, read while spinning too
  const Fn* fn_ = nullptr;               // the job in flight; null when none
  int64_t total_ = 0, chunk_ = 0, nchunks_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_{0};  // written under mu_, read while spinning too
  std::exception_ptr error_;
};

int32_t default_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : int32_t(std::min(n, 1024u));
}

// Global state lives on the heap and is never destroyed: workers may still be parked at exit,
// and a forked child (which has none of the parent's threads) simply starts a fresh one.
struct State {
  std::mutex mu;  // serialises launches and resizes
  Pool* pool = nullptr;
  std::atomic<int32_t> threads{default_threads()};
};

State* g_state = nullptr;

State& state() {
  static State* s = [] {
    g_state = new State;
    pthread_atfork(nullptr, nullptr, [] {
      const int32_t threads = g_state->threads.load();
      g_state = new State;  // the old one's mutex may be held by a thread that is gone
      g_state->threads.store(threads);
    });
    return g_state;
  }();
  (void)s;
  return *g_state;
}

}  // namespace

void parallel_for(int64_t total, const Fn& fn, int64_t grain) {
  if (total <= 0) return;
  if (t_inside) {  // nested: the pool is busy with our caller's launch
    fn(0, total);
    return;
  }
  grain = std::max<int64_t>(grain, 1);
  State& s = state();
  const int64_t max_chunks = (total + grain - 1) / grain;
  if (s.threads.load() <= 1 || max_chunks <= 1) {
    InsideScope inside;
    fn(0, total);
    return;
  }
  std::lock_guard<std::mutex> lock(s.mu);
  const int32_t threads = s.threads.load();  // re-read: a resize may have happened meanwhile
  if (!s.pool || s.pool->requested() != threads - 1) {
    delete s.pool;
    s.pool = nullptr;
    s.pool = new Pool(threads - 1);
  }
  // A few chunks per thread balance uneven work without much per-chunk overhead.
  int64_t nchunks = std::min<int64_t>(max_chunks, int64_t(threads) * 4);
  const int64_t chunk = (total + nchunks - 1) / nchunks;
  nchunks = (total + chunk - 1) / chunk;
  InsideScope inside;
  s.pool->run(fn, total, chunk, nchunks);
}

int32_t cpu_threads() { return state().threads.load(); }

bool set_cpu_threads(int32_t n) {
  if (t_inside || n < 1) return false;
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);  // waits for the launch in flight
  s.threads.store(n);
  if (s.pool && s.pool->requested() != n - 1) {
    delete s.pool;  // joins the idle workers; the next launch starts the new number
    s.pool = nullptr;
  }
  return true;
}

bool in_parallel_region() { return t_inside; }

}  // namespace tessera::rt
