// Tests of the runtime C ABI (include/tessera/tessera.h), linked against the runtime alone:
// status names and messages, argument errors, CPU memory, events, streams, modules, device
// properties, and CUDA's "unavailable" behaviour where no driver or GPU exists.
// Host-kernel launches and the worker pool: test_runtime_launch.cpp; a real GPU:
// test_runtime_cuda.cpp. Plain C++: each test is a function; CHECK reports file:line and goes on.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "runtime_check.hpp"
#include "tessera/tessera.h"

static const tsrDevice kCpu = {TSR_DEVICE_CPU, 0};
static const tsrDevice kCuda0 = {TSR_DEVICE_CUDA, 0};

static int32_t cuda_count() {
  int32_t n = -1;
  CHECK_OK(tsrDeviceCount(TSR_DEVICE_CUDA, &n));
  return n;
}

// ---- a host kernel: args[0] is int* out; instance i adds 1 to out[i] ----

static void add_one_kernel(void** args, int64_t begin, int64_t end, const uint32_t*) {
  int* out = *static_cast<int**>(args[0]);
  for (int64_t i = begin; i < end; ++i) out[i] += 1;
}

static tsrModule load_test_module() {
  const tsrHostKernelEntry entries[] = {{"count", add_one_kernel}};
  tsrModule m = nullptr;
  CHECK_OK(tsrModuleLoadHost(entries, 1, &m));
  return m;
}

// ---- tests ----

static void test_version_and_status_names() {
  int32_t major = -1, minor = -1, patch = -1;
  tsrGetVersion(&major, &minor, &patch);
  CHECK(major == TSR_ABI_VERSION_MAJOR && minor == TSR_ABI_VERSION_MINOR && patch == TSR_ABI_VERSION_PATCH);
  tsrGetVersion(nullptr, nullptr, nullptr);  // must not crash
  CHECK(std::string(tsrStatusName(TSR_SUCCESS)) == "TSR_SUCCESS");
  CHECK(std::string(tsrStatusName(TSR_ERROR_DEVICE_UNAVAILABLE)) == "TSR_ERROR_DEVICE_UNAVAILABLE");
  CHECK(std::string(tsrStatusName(TSR_ERROR_INTERNAL)) == "TSR_ERROR_INTERNAL");
  tsrStatus odd;
  const int32_t code = 1234;
  std::memcpy(&odd, &code, sizeof code);
  CHECK(std::string(tsrStatusName(odd)) == "TSR_UNKNOWN_STATUS");
  CHECK(tsrGetLastError() != nullptr);
}

static void test_argument_errors() {
  void* p = nullptr;
  CHECK_STATUS(tsrMalloc(kCpu, 16, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("tsrMalloc");
  CHECK_ERROR_MENTIONS("ptr is NULL");
  tsrDevice bad_type = kCpu;
  const int32_t seven = 7;  // what a C caller could pass; not a valid C++ enum value
  std::memcpy(&bad_type.type, &seven, sizeof seven);
  CHECK_STATUS(tsrMalloc(bad_type, 16, &p), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("device.type 7");
  CHECK(p == nullptr);
  CHECK_STATUS(tsrMalloc({TSR_DEVICE_CPU, -1}, 16, &p), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("device.index -1");
  CHECK_STATUS(tsrMalloc({TSR_DEVICE_CPU, 1}, 16, &p), TSR_ERROR_DEVICE_UNAVAILABLE);
  CHECK_ERROR_MENTIONS("cpu:1");
  CHECK_STATUS(tsrDeviceCount(TSR_DEVICE_CPU, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("count");
  int32_t n = 0;
  tsrDeviceType zero_type;
  const int32_t zero = 0;
  std::memcpy(&zero_type, &zero, sizeof zero);
  CHECK_STATUS(tsrDeviceCount(zero_type, &n), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_OK(tsrDeviceCount(TSR_DEVICE_CPU, &n));
  CHECK(n == 1);

  // Freeing what tsrMalloc did not return (or twice) is detected on the CPU.
  int on_stack = 0;
  CHECK_STATUS(tsrFree(kCpu, &on_stack), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("not allocated by tsrMalloc");
  CHECK_OK(tsrMalloc(kCpu, 8, &p));
  CHECK_OK(tsrFree(kCpu, p));
  CHECK_STATUS(tsrFree(kCpu, p), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_OK(tsrFree(kCpu, nullptr));  // like free(NULL)

  char buf[8];
  CHECK_STATUS(tsrMemcpy(nullptr, kCpu, buf, kCpu, 8, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("dst is NULL");
  CHECK_STATUS(tsrMemcpy(buf, kCpu, nullptr, kCpu, 8, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("src is NULL");
  CHECK_OK(tsrMemcpy(nullptr, kCpu, nullptr, kCpu, 0, nullptr));  // nothing to copy
  CHECK_STATUS(tsrMemset(kCpu, nullptr, 0, 8, nullptr), TSR_ERROR_INVALID_ARGUMENT);

  // Handles that were never created are rejected without being dereferenced.
  auto fake_stream = reinterpret_cast<tsrStream>(buf);
  CHECK_STATUS(tsrStreamSynchronize(fake_stream), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("not a live tsrStream");
  CHECK_STATUS(tsrStreamDestroy(fake_stream), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrEventRecord(reinterpret_cast<tsrEvent>(buf), nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrLaunchKernel(reinterpret_cast<tsrKernel>(buf), nullptr, nullptr, nullptr),
               TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("kernel");
  CHECK_STATUS(tsrModuleUnload(nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrGetDeviceProperties(kCpu, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrSetCpuThreads(0), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("n is 0");
  CHECK_STATUS(tsrModuleLoadData(kCpu, "x", 2, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  tsrModule m = nullptr;
  CHECK_STATUS(tsrModuleLoadData(kCpu, "x", 2, &m), TSR_ERROR_NOT_SUPPORTED);
  CHECK_STATUS(tsrModuleLoadHost(nullptr, 1, &m), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrModuleLoadHost(nullptr, -1, &m), TSR_ERROR_INVALID_ARGUMENT);

  // The message belongs to the thread whose call failed.
  CHECK_STATUS(tsrMalloc(kCpu, 1, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  std::string other;
  std::thread t([&] {
    tsrSetCpuThreads(-5);
    other = tsrGetLastError();
  });
  t.join();
  CHECK(other.find("n is -5") != std::string::npos);
  CHECK_ERROR_MENTIONS("ptr is NULL");
}

static void test_cpu_memory() {
  const size_t sizes[] = {0, 1, 63, 64, 65, 1000, 1 << 20};
  std::vector<void*> ptrs;
  for (size_t bytes : sizes) {
    void* p = nullptr;
    CHECK_OK(tsrMalloc(kCpu, bytes, &p));
    CHECK(p != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    ptrs.push_back(p);
  }
  void* z2 = nullptr;
  CHECK_OK(tsrMalloc(kCpu, 0, &z2));
  CHECK(z2 != nullptr && z2 != ptrs[0]);  // zero-byte allocations are unique
  CHECK_OK(tsrFree(kCpu, z2));

  const size_t n = 1000;
  auto* a = static_cast<unsigned char*>(ptrs[5]);
  CHECK_OK(tsrMemset(kCpu, a, 0xAB, n, nullptr));
  bool all = true;
  for (size_t i = 0; i < n; ++i) all = all && a[i] == 0xAB;
  CHECK(all);
  std::vector<unsigned char> host(n);
  for (size_t i = 0; i < n; ++i) host[i] = static_cast<unsigned char>(i * 7);
  auto* big = static_cast<unsigned char*>(ptrs[6]);
  CHECK_OK(tsrMemcpy(a, kCpu, host.data(), kCpu, n, nullptr));
  CHECK_OK(tsrMemcpy(big, kCpu, a, kCpu, n, nullptr));
  std::vector<unsigned char> back(n);
  CHECK_OK(tsrMemcpy(back.data(), kCpu, big, kCpu, n, nullptr));
  CHECK(back == host);
  for (void* p : ptrs) CHECK_OK(tsrFree(kCpu, p));
}

// Blocks of 1 MiB and more are cached after tsrFree: the next allocation of that size reuses
// the block, a double free is still an error, and tsrDeviceReleaseCache returns the memory.
static void test_cpu_block_cache() {
  size_t released = 0;
  CHECK_OK(tsrDeviceReleaseCache(kCpu, &released));
  const size_t bytes = (size_t(3) << 20) + 5;
  void* p = nullptr;
  CHECK_OK(tsrMalloc(kCpu, bytes, &p));
  CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
  std::memset(p, 1, bytes);  // the whole block is usable
  CHECK_OK(tsrFree(kCpu, p));
  CHECK_STATUS(tsrFree(kCpu, p), TSR_ERROR_INVALID_ARGUMENT);
  void* q = nullptr;
  CHECK_OK(tsrMalloc(kCpu, bytes, &q));
  CHECK(q == p);
  CHECK_OK(tsrFree(kCpu, q));
  CHECK_OK(tsrDeviceReleaseCache(kCpu, &released));
  CHECK(released >= bytes);
  CHECK_OK(tsrDeviceReleaseCache(kCpu, nullptr));
  CHECK_OK(tsrDeviceReleaseCache(kCpu, &released));
  CHECK(released == 0);
}

// tsrDeviceMemoryStats follows allocations and frees; the peak stays until reset.
static void test_memory_stats() {
  tsrMemoryStats before{}, held{}, after{};
  CHECK_OK(tsrDeviceMemoryStats(kCpu, &before));
  void* p = nullptr;
  CHECK_OK(tsrMalloc(kCpu, 5000, &p));
  CHECK_OK(tsrDeviceMemoryStats(kCpu, &held));
  CHECK(held.allocated == before.allocated + 5000);
  CHECK(held.peak >= held.allocated);
  CHECK(held.allocations == before.allocations + 1);
  CHECK_OK(tsrFree(kCpu, p));
  CHECK_OK(tsrDeviceMemoryStats(kCpu, &after));
  CHECK(after.allocated == before.allocated);
  CHECK(after.peak >= held.allocated);
  CHECK_OK(tsrDeviceResetPeakMemory(kCpu));
  CHECK_OK(tsrDeviceMemoryStats(kCpu, &after));
  CHECK(after.peak == after.allocated);
  CHECK_STATUS(tsrDeviceMemoryStats(kCpu, nullptr), TSR_ERROR_INVALID_ARGUMENT);
}

static void test_modules() {
  const tsrHostKernelEntry dup[] = {{"a", add_one_kernel}, {"a", add_one_kernel}};
  tsrModule m = nullptr;
  CHECK_STATUS(tsrModuleLoadHost(dup, 2, &m), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("appears twice");
  CHECK(m == nullptr);
  const tsrHostKernelEntry null_fn[] = {{"a", nullptr}};
  CHECK_STATUS(tsrModuleLoadHost(null_fn, 1, &m), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("entries[0].fn");
  CHECK_OK(tsrModuleLoadHost(nullptr, 0, &m));  // an empty module is fine
  CHECK_OK(tsrModuleUnload(m));

  m = load_test_module();
  tsrKernel k1 = nullptr, k2 = nullptr;
  CHECK_OK(tsrModuleGetKernel(m, "count", &k1));
  CHECK_OK(tsrModuleGetKernel(m, "count", &k2));
  CHECK(k1 != nullptr && k1 == k2);
  CHECK_STATUS(tsrModuleGetKernel(m, "missing", &k2), TSR_ERROR_NOT_FOUND);
  CHECK_ERROR_MENTIONS("missing");
  CHECK_STATUS(tsrModuleGetKernel(m, nullptr, &k2), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_OK(tsrModuleUnload(m));
  CHECK_STATUS(tsrModuleUnload(m), TSR_ERROR_INVALID_ARGUMENT);  // already unloaded
  tsrLaunchConfig cfg = {{1, 1, 1}, {1, 1, 1}, 0};
  CHECK_STATUS(tsrLaunchKernel(k1, &cfg, nullptr, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("not a live tsrKernel");
}

static void test_cpu_events() {
  tsrEvent start = nullptr, end = nullptr, never = nullptr;
  CHECK_OK(tsrEventCreate(kCpu, &start));
  CHECK_OK(tsrEventCreate(kCpu, &end));
  CHECK_OK(tsrEventCreate(kCpu, &never));
  float ms = -1;
  CHECK_STATUS(tsrEventElapsedMs(start, never, &ms), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_OK(tsrEventRecord(start, nullptr));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  CHECK_OK(tsrEventRecord(end, nullptr));
  CHECK_OK(tsrEventSynchronize(end));
  CHECK_OK(tsrEventElapsedMs(start, end, &ms));
  CHECK(ms >= 25.0f && ms < 10000.0f);
  CHECK_STATUS(tsrEventElapsedMs(start, never, &ms), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("end has not been recorded");
  CHECK_STATUS(tsrEventElapsedMs(start, end, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_OK(tsrEventDestroy(start));
  CHECK_OK(tsrEventDestroy(end));
  CHECK_OK(tsrEventDestroy(never));
  CHECK_STATUS(tsrEventDestroy(never), TSR_ERROR_INVALID_ARGUMENT);
}

static void test_cpu_streams() {
  tsrStream s = nullptr;
  CHECK_OK(tsrStreamCreate(kCpu, &s));
  tsrEvent e = nullptr;
  CHECK_OK(tsrEventCreate(kCpu, &e));
  int src[16], dst[16] = {};
  for (int i = 0; i < 16; ++i) src[i] = i * i;
  CHECK_OK(tsrMemcpy(dst, kCpu, src, kCpu, sizeof src, s));
  CHECK_OK(tsrEventRecord(e, s));
  CHECK_OK(tsrStreamWaitEvent(s, e));
  CHECK_OK(tsrStreamWaitEvent(nullptr, e));
  CHECK_OK(tsrStreamSynchronize(s));
  CHECK(std::memcmp(src, dst, sizeof src) == 0);
  CHECK_OK(tsrMemset(kCpu, dst, 0, sizeof dst, s));
  CHECK(dst[5] == 0);

  tsrModule m = load_test_module();
  tsrKernel k = nullptr;
  CHECK_OK(tsrModuleGetKernel(m, "count", &k));
  std::vector<int> counts(10, 0);
  int* cp = counts.data();
  void* args[] = {&cp};
  tsrLaunchConfig cfg = {{10, 1, 1}, {1, 1, 1}, 0};
  CHECK_OK(tsrLaunchKernel(k, &cfg, args, s));  // CPU streams run work at call time
  for (int c : counts) CHECK(c == 1);
  CHECK_OK(tsrModuleUnload(m));

  CHECK_STATUS(tsrStreamSynchronize(nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_OK(tsrDeviceSynchronize(kCpu));
  CHECK_OK(tsrEventDestroy(e));
  CHECK_OK(tsrStreamDestroy(s));
  CHECK_STATUS(tsrStreamDestroy(s), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrMemcpy(dst, kCpu, src, kCpu, sizeof src, s), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("stream");
}

static void test_properties() {
  tsrDeviceProperties p;
  CHECK_OK(tsrGetDeviceProperties(kCpu, &p));
  CHECK(p.type == TSR_DEVICE_CPU && p.index == 0);
  CHECK(std::strlen(p.name) > 0);
  CHECK(p.total_memory > 0);
  CHECK(p.multiprocessor_count == tsrGetCpuThreads());
  CHECK(p.warp_size == 1 && p.max_threads_per_block == 1);
  const int32_t n = cuda_count();
  for (int32_t i = 0; i < n; ++i) {
    CHECK_OK(tsrGetDeviceProperties({TSR_DEVICE_CUDA, i}, &p));
    std::printf("  cuda:%d: %s, sm_%d%d, %d SMs, %lld MiB, %lld B shared/block\n", i, p.name,
                p.compute_capability_major, p.compute_capability_minor, p.multiprocessor_count,
                (long long)(p.total_memory >> 20), (long long)p.shared_memory_per_block);
    CHECK(std::strlen(p.name) > 0 && p.total_memory > 0 && p.warp_size == 32);
    CHECK(p.compute_capability_major >= 3 && p.max_threads_per_block >= 512);
  }
  CHECK_STATUS(tsrGetDeviceProperties({TSR_DEVICE_CUDA, n}, &p),
               n == 0 ? TSR_ERROR_DEVICE_UNAVAILABLE : TSR_ERROR_DEVICE_UNAVAILABLE);
}

static void test_cuda_unavailable() {
  if (cuda_count() > 0) return;  // tested for real below
  void* p = reinterpret_cast<void*>(1);
  CHECK_STATUS(tsrMalloc(kCuda0, 16, &p), TSR_ERROR_DEVICE_UNAVAILABLE);
  CHECK_ERROR_MENTIONS("CUDA");
  std::printf("  no CUDA here: %s\n", tsrGetLastError());
  CHECK(p == nullptr);
  tsrStream s = nullptr;
  CHECK_STATUS(tsrStreamCreate(kCuda0, &s), TSR_ERROR_DEVICE_UNAVAILABLE);
  CHECK_ERROR_MENTIONS("CUDA is not available");
  char buf[4];
  CHECK_STATUS(tsrMemcpy(buf, kCpu, buf, kCuda0, 4, nullptr), TSR_ERROR_DEVICE_UNAVAILABLE);
  CHECK_STATUS(tsrDeviceSynchronize(kCuda0), TSR_ERROR_DEVICE_UNAVAILABLE);
  tsrModule m = nullptr;
  CHECK_STATUS(tsrModuleLoadData(kCuda0, "x", 2, &m), TSR_ERROR_DEVICE_UNAVAILABLE);
}

// TMA descriptors: arguments are checked before the driver is asked; CPU devices have none.
static void test_tensor_map_errors() {
  alignas(64) unsigned char map[128];
  const uint64_t dims[2] = {64, 64}, strides[1] = {128};
  const uint32_t box[2] = {64, 64};
  void* base = reinterpret_cast<void*>(uintptr_t(4096));
  CHECK_STATUS(tsrEncodeTensorMap(kCpu, nullptr, base, 2, 2, dims, strides, box, 128), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrEncodeTensorMap(kCpu, map + 1, base, 2, 2, dims, strides, box, 128), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("64-byte aligned");
  CHECK_STATUS(tsrEncodeTensorMap(kCpu, map, reinterpret_cast<void*>(uintptr_t(4098)), 2, 2, dims, strides, box, 128),
               TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("16-byte aligned");
  CHECK_STATUS(tsrEncodeTensorMap(kCpu, map, base, 3, 2, dims, strides, box, 128), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrEncodeTensorMap(kCpu, map, base, 2, 2, dims, strides, box, 96), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrEncodeTensorMap(kCpu, map, base, 2, 2, dims, strides, box, 128), TSR_ERROR_NOT_SUPPORTED);
  CHECK_ERROR_MENTIONS("CUDA");
  if (cuda_count() == 0)
    CHECK_STATUS(tsrEncodeTensorMap(kCuda0, map, base, 2, 2, dims, strides, box, 128), TSR_ERROR_DEVICE_UNAVAILABLE);
}

// Graphs are CUDA graphs: bad handles and CPU devices are refused with a reason.
static void test_graph_errors() {
  tsrGraph g = reinterpret_cast<tsrGraph>(uintptr_t(1));
  CHECK_STATUS(tsrGraphCreate(kCpu, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrGraphCreate(kCpu, &g), TSR_ERROR_NOT_SUPPORTED);
  CHECK_ERROR_MENTIONS("tsrLaunchKernel");
  CHECK(g == nullptr);
  if (cuda_count() == 0) CHECK_STATUS(tsrGraphCreate(kCuda0, &g), TSR_ERROR_DEVICE_UNAVAILABLE);
  CHECK_STATUS(tsrGraphLaunch(nullptr, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  int dummy = 0;
  tsrGraph stale = reinterpret_cast<tsrGraph>(&dummy);
  CHECK_STATUS(tsrGraphLaunch(stale, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("not a live tsrGraph");
  CHECK_STATUS(tsrGraphSetKernelArgs(stale, 0, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrGraphAddKernel(stale, nullptr, nullptr, nullptr, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrGraphDestroy(stale), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrGraphDestroy(nullptr), TSR_ERROR_INVALID_ARGUMENT);
}

// ---- driver ----

int main() {
  const Test tests[] = {
      {"version_and_status_names", test_version_and_status_names},
      {"argument_errors", test_argument_errors},
      {"cpu_memory", test_cpu_memory},
      {"memory_stats", test_memory_stats},
      {"modules", test_modules},
      {"cpu_events", test_cpu_events},
      {"cpu_streams", test_cpu_streams},
      {"properties", test_properties},
      {"cuda_unavailable", test_cuda_unavailable},
      {"tensor_map_errors", test_tensor_map_errors},
      {"graph_errors", test_graph_errors},
  };
  std::printf("CUDA devices: %d, CPU threads: %d\n", cuda_count(), tsrGetCpuThreads());
  return run_tests(tests);
}
