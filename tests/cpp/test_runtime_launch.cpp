// Tests of CPU host-kernel launches through the runtime C ABI, linked against the runtime
// alone: every instance of grids of many shapes runs exactly once with 1..N worker threads,
// nested launches run inline instead of deadlocking, concurrent callers are correct, and a
// forked child gets a working pool. Plain C++: CHECK reports file:line and the test goes on.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "runtime_check.hpp"
#include "tessera/tessera.h"

// ---- host kernels used by the tests ----

// args: std::atomic<int>* counts, uint32_t* bad (set when the grid or id is inconsistent)
static void count_kernel(void** args, int64_t begin, int64_t end, const uint32_t* grid) {
  auto* counts = *static_cast<std::atomic<int>**>(args[0]);
  auto* bad = *static_cast<std::atomic<int>**>(args[1]);
  const int64_t total = int64_t(grid[0]) * grid[1] * grid[2];
  if (begin < 0 || end > total || begin >= end) bad->fetch_add(1);
  for (int64_t id = begin; id < end; ++id) {
    const int64_t x = id % grid[0], y = (id / grid[0]) % grid[1], z = id / (int64_t(grid[0]) * grid[1]);
    if (x + grid[0] * (y + grid[1] * z) != id) bad->fetch_add(1);
    counts[id].fetch_add(1);
  }
}

// args: tsrKernel inner, std::atomic<int>* counts, std::atomic<int>* bad, tsrStatus* status
static void nesting_kernel(void** args, int64_t begin, int64_t end, const uint32_t*) {
  tsrKernel inner = *static_cast<tsrKernel*>(args[0]);
  auto* status = *static_cast<std::atomic<int>**>(args[3]);
  for (int64_t id = begin; id < end; ++id) {
    tsrLaunchConfig cfg = {{8, 1, 1}, {1, 1, 1}, 0};
    void* inner_args[] = {args[1], args[2]};
    if (tsrLaunchKernel(inner, &cfg, inner_args, nullptr) != TSR_SUCCESS) status->fetch_add(1);
  }
}

// args: tsrStatus* out
static void set_threads_kernel(void** args, int64_t begin, int64_t, const uint32_t*) {
  if (begin == 0) **static_cast<tsrStatus**>(args[0]) = tsrSetCpuThreads(2);
}

static tsrModule load_test_module() {
  const tsrHostKernelEntry entries[] = {
      {"count", count_kernel}, {"nest", nesting_kernel}, {"set_threads", set_threads_kernel}};
  tsrModule m = nullptr;
  CHECK_OK(tsrModuleLoadHost(entries, 3, &m));
  return m;
}

// Launches `count` over `grid` and checks that every instance ran exactly once.
static void check_grid(tsrKernel k, uint32_t gx, uint32_t gy, uint32_t gz) {
  const size_t total = size_t(gx) * gy * gz;
  std::vector<std::atomic<int>> counts(total);
  for (auto& c : counts) c.store(0);
  std::atomic<int> bad{0};
  std::atomic<int>* counts_ptr = counts.data();
  std::atomic<int>* bad_ptr = &bad;
  void* args[] = {&counts_ptr, &bad_ptr};
  tsrLaunchConfig cfg = {{gx, gy, gz}, {1, 1, 1}, 0};
  CHECK_OK(tsrLaunchKernel(k, &cfg, args, nullptr));
  size_t wrong = 0;
  for (auto& c : counts) wrong += c.load() != 1;
  if (wrong)
    std::printf("  grid %ux%ux%u, %d threads: %zu instances not run exactly once\n", gx, gy, gz, tsrGetCpuThreads(),
                wrong);
  CHECK(wrong == 0);
  CHECK(bad.load() == 0);
}

// ---- tests ----

static void test_host_kernel_grids() {
  tsrModule m = load_test_module();
  tsrKernel k = nullptr;
  CHECK_OK(tsrModuleGetKernel(m, "count", &k));
  const int32_t saved = tsrGetCpuThreads();
  CHECK(saved >= 1);
  const uint32_t grids[][3] = {{1, 1, 1},    {7, 1, 1},    {1000, 1, 1}, {5, 3, 2},
                               {17, 13, 11}, {1, 1, 1000}, {3, 1000, 1}, {100000, 1, 1}};
  for (int32_t threads : {1, 2, 3, 8}) {
    CHECK_OK(tsrSetCpuThreads(threads));
    CHECK(tsrGetCpuThreads() == threads);
    for (const auto& g : grids) check_grid(k, g[0], g[1], g[2]);
  }
  CHECK_OK(tsrSetCpuThreads(saved));
  for (const auto& g : grids) check_grid(k, g[0], g[1], g[2]);

  tsrLaunchConfig cfg = {{0, 1, 1}, {1, 1, 1}, 0};
  CHECK_STATUS(tsrLaunchKernel(k, &cfg, nullptr, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("grid[0]");
  CHECK_STATUS(tsrLaunchKernel(k, nullptr, nullptr, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("config is NULL");
  CHECK_OK(tsrModuleUnload(m));
}

static void test_nested_and_concurrent_launches() {
  tsrModule m = load_test_module();
  tsrKernel count = nullptr, nest = nullptr, set_threads = nullptr;
  CHECK_OK(tsrModuleGetKernel(m, "count", &count));
  CHECK_OK(tsrModuleGetKernel(m, "nest", &nest));
  CHECK_OK(tsrModuleGetKernel(m, "set_threads", &set_threads));
  const int32_t saved = tsrGetCpuThreads();
  CHECK_OK(tsrSetCpuThreads(4));

  // Each of 64 outer instances launches the 8-instance counting kernel: 8 counters reach 64.
  std::vector<std::atomic<int>> counts(8);
  for (auto& c : counts) c.store(0);
  std::atomic<int> bad{0}, failures{0};
  std::atomic<int>* counts_ptr = counts.data();
  std::atomic<int>* bad_ptr = &bad;
  std::atomic<int>* failures_ptr = &failures;
  void* args[] = {&count, &counts_ptr, &bad_ptr, &failures_ptr};
  tsrLaunchConfig cfg = {{64, 1, 1}, {1, 1, 1}, 0};
  CHECK_OK(tsrLaunchKernel(nest, &cfg, args, nullptr));
  for (auto& c : counts) CHECK(c.load() == 64);
  CHECK(bad.load() == 0 && failures.load() == 0);

  // Changing the pool from inside a launch is refused, not deadlocked.
  tsrStatus inner = TSR_SUCCESS;
  tsrStatus* inner_ptr = &inner;
  void* set_args[] = {&inner_ptr};
  CHECK_OK(tsrLaunchKernel(set_threads, &cfg, set_args, nullptr));
  CHECK(inner == TSR_ERROR_NOT_SUPPORTED);

  // Several threads launching at once all get complete, correct launches.
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int rep = 0; rep < 50; ++rep) {
        std::vector<std::atomic<int>> c(333);
        for (auto& x : c) x.store(0);
        std::atomic<int> b{0};
        std::atomic<int>* cp = c.data();
        std::atomic<int>* bp = &b;
        void* a[] = {&cp, &bp};
        tsrLaunchConfig g = {{111, 3, 1}, {1, 1, 1}, 0};
        if (tsrLaunchKernel(count, &g, a, nullptr) != TSR_SUCCESS) wrong.fetch_add(1);
        for (auto& x : c) wrong.fetch_add(x.load() != 1);
        wrong.fetch_add(b.load());
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(wrong.load() == 0);
  CHECK_OK(tsrSetCpuThreads(saved));
  CHECK_OK(tsrModuleUnload(m));
}

// A child forked while the parent's pool has workers gets a working pool of its own.
static void test_fork_child_can_launch() {
  tsrModule m = load_test_module();
  tsrKernel k = nullptr;
  CHECK_OK(tsrModuleGetKernel(m, "count", &k));
  const int32_t saved = tsrGetCpuThreads();
  CHECK_OK(tsrSetCpuThreads(3));
  check_grid(k, 500, 1, 1);  // the pool's workers now exist
  const pid_t pid = fork();
  if (pid == 0) {
    const int before = g_check_failures;
    check_grid(k, 500, 2, 1);
    _exit(g_check_failures == before ? 0 : 1);
  }
  CHECK(pid > 0);
  int status = -1;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  check_grid(k, 500, 1, 1);
  CHECK_OK(tsrSetCpuThreads(saved));
  CHECK_OK(tsrModuleUnload(m));
}

// ---- driver ----

int main() {
  // A deadlock must fail the test, not hang it.
  signal(SIGALRM, [](int) {
    const char msg[] = "test_runtime_launch: timed out (deadlock?)\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(2);
  });
  alarm(300);
  const Test tests[] = {
      {"host_kernel_grids", test_host_kernel_grids},
      {"nested_and_concurrent_launches", test_nested_and_concurrent_launches},
      {"fork_child_can_launch", test_fork_child_can_launch},
  };
  return run_tests(tests);
}
