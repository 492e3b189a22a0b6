// Tests of the runtime C ABI on a real CUDA GPU, linked against the runtime alone: memory
// and copies in every direction, memset, streams, events, and loading and launching
// hand-written PTX (including > 48 KiB of dynamic shared memory and a broken module's JIT log).
// Without a driver or GPU the tests are skipped (test_runtime.cpp covers that case).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
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

// ---- CUDA (only where a GPU and its driver exist) ----

static const char* kVaddPtx = R"(
.version 7.8
.target sm_80
.address_size 64

.visible .entry vadd(.param .u64 a, .param .u64 b, .param .u64 c, .param .u32 n)
{
  .reg .pred %p<2>;
  .reg .b32 %r<6>;
  .reg .f32 %f<4>;
  .reg .b64 %rd<11>;
  ld.param.u64 %rd1, [a];
  ld.param.u64 %rd2, [b];
  ld.param.u64 %rd3, [c];
  ld.param.u32 %r1, [n];
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, %tid.x;
  mad.lo.s32 %r5, %r2, %r3, %r4;
  setp.ge.u32 %p1, %r5, %r1;
  @%p1 bra DONE;
  cvta.to.global.u64 %rd4, %rd1;
  cvta.to.global.u64 %rd5, %rd2;
  cvta.to.global.u64 %rd6, %rd3;
  mul.wide.u32 %rd7, %r5, 4;
  add.s64 %rd8, %rd4, %rd7;
  add.s64 %rd9, %rd5, %rd7;
  add.s64 %rd10, %rd6, %rd7;
  ld.global.f32 %f1, [%rd8];
  ld.global.f32 %f2, [%rd9];
  add.f32 %f3, %f1, %f2;
  st.global.f32 [%rd10], %f3;
DONE:
  ret;
}

.extern .shared .align 16 .b8 smem[];

// One block: out[i] = in[n - 1 - i] through dynamic shared memory (n floats of it).
.visible .entry smem_reverse(.param .u64 in, .param .u64 out, .param .u32 n)
{
  .reg .pred %p<3>;
  .reg .b32 %r<12>;
  .reg .f32 %f<3>;
  .reg .b64 %rd<8>;
  ld.param.u64 %rd1, [in];
  ld.param.u64 %rd2, [out];
  ld.param.u32 %r1, [n];
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
  mov.u32 %r2, %tid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, smem;
  mov.u32 %r5, %r2;
LOAD:
  setp.ge.u32 %p1, %r5, %r1;
  @%p1 bra LOADED;
  mul.wide.u32 %rd3, %r5, 4;
  add.s64 %rd4, %rd1, %rd3;
  ld.global.f32 %f1, [%rd4];
  shl.b32 %r6, %r5, 2;
  add.u32 %r7, %r4, %r6;
  st.shared.f32 [%r7], %f1;
  add.u32 %r5, %r5, %r3;
  bra LOAD;
LOADED:
  bar.sync 0;
  mov.u32 %r5, %r2;
STORE:
  setp.ge.u32 %p2, %r5, %r1;
  @%p2 bra DONE2;
  sub.u32 %r8, %r1, %r5;
  sub.u32 %r8, %r8, 1;
  shl.b32 %r9, %r8, 2;
  add.u32 %r10, %r4, %r9;
  ld.shared.f32 %f2, [%r10];
  mul.wide.u32 %rd5, %r5, 4;
  add.s64 %rd6, %rd2, %rd5;
  st.global.f32 [%rd6], %f2;
  add.u32 %r5, %r5, %r3;
  bra STORE;
DONE2:
  ret;
}
)";

static void test_cuda_memory() {
  if (cuda_count() == 0) return;
  const size_t n = 1 << 20, bytes = n * sizeof(float);
  void *d1 = nullptr, *d2 = nullptr, *z1 = nullptr, *z2 = nullptr;
  CHECK_OK(tsrMalloc(kCuda0, bytes, &d1));
  CHECK_OK(tsrMalloc(kCuda0, bytes, &d2));
  CHECK_OK(tsrMalloc(kCuda0, 0, &z1));
  CHECK_OK(tsrMalloc(kCuda0, 0, &z2));
  CHECK(z1 && z2 && z1 != z2);
  std::vector<float> host(n), back(n, -1.0f);
  for (size_t i = 0; i < n; ++i) host[i] = float(i) * 0.5f;
  CHECK_OK(tsrMemcpy(d1, kCuda0, host.data(), kCpu, bytes, nullptr));  // H2D
  CHECK_OK(tsrMemcpy(d2, kCuda0, d1, kCuda0, bytes, nullptr));         // D2D
  CHECK_OK(tsrMemcpy(back.data(), kCpu, d2, kCuda0, bytes, nullptr));  // D2H
  CHECK(back == host);
  CHECK_OK(tsrMemset(kCuda0, d2, 0, bytes, nullptr));
  CHECK_OK(tsrMemcpy(back.data(), kCpu, d2, kCuda0, bytes, nullptr));
  bool zero = true;
  for (float v : back) zero = zero && v == 0.0f;
  CHECK(zero);

  // The same on a stream, timed with events.
  tsrStream s = nullptr;
  tsrEvent start = nullptr, end = nullptr;
  CHECK_OK(tsrStreamCreate(kCuda0, &s));
  CHECK_OK(tsrEventCreate(kCuda0, &start));
  CHECK_OK(tsrEventCreate(kCuda0, &end));
  CHECK_OK(tsrEventRecord(start, s));
  CHECK_OK(tsrMemset(kCuda0, d2, 0x3F, bytes, s));
  CHECK_OK(tsrMemcpy(d1, kCuda0, d2, kCuda0, bytes, s));
  CHECK_OK(tsrEventRecord(end, s));
  CHECK_OK(tsrStreamWaitEvent(nullptr, end));
  CHECK_OK(tsrEventSynchronize(end));
  float ms = -1;
  CHECK_OK(tsrEventElapsedMs(start, end, &ms));
  CHECK(ms >= 0.0f && ms < 10000.0f);
  CHECK_OK(tsrMemcpy(back.data(), kCpu, d1, kCuda0, bytes, s));
  CHECK_OK(tsrStreamSynchronize(s));
  uint32_t word = 0;
  std::memcpy(&word, &back[n - 1], 4);
  CHECK(word == 0x3F3F3F3Fu);

  // A CPU event mixed with a CUDA one, and a CUDA stream used for CPU work, are rejected.
  tsrEvent cpu_event = nullptr;
  CHECK_OK(tsrEventCreate(kCpu, &cpu_event));
  CHECK_OK(tsrEventRecord(cpu_event, nullptr));
  CHECK_STATUS(tsrEventElapsedMs(start, cpu_event, &ms), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_STATUS(tsrEventRecord(cpu_event, s), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_OK(tsrStreamWaitEvent(s, cpu_event));
  int a = 1, b = 0;
  CHECK_STATUS(tsrMemcpy(&b, kCpu, &a, kCpu, sizeof a, s), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_OK(tsrEventDestroy(cpu_event));

  CHECK_OK(tsrEventDestroy(start));
  CHECK_OK(tsrEventDestroy(end));
  CHECK_OK(tsrStreamDestroy(s));
  CHECK_OK(tsrDeviceSynchronize(kCuda0));
  for (void* p : {d1, d2, z1, z2}) CHECK_OK(tsrFree(kCuda0, p));
  CHECK_STATUS(tsrFree(kCuda0, d1), TSR_ERROR_INVALID_ARGUMENT);  // already freed
  CHECK_ERROR_MENTIONS("was not allocated by tsrMalloc");
  // Freed blocks are cached: an allocation of the same size class reuses one, and releasing
  // the cache returns them to the driver.
  void* again = nullptr;
  CHECK_OK(tsrMalloc(kCuda0, 100, &again));  // the 512-byte class of z1 and z2
  CHECK(again == z1 || again == z2);
  CHECK_OK(tsrFree(kCuda0, again));
  size_t released = 0;
  CHECK_OK(tsrDeviceReleaseCache(kCuda0, &released));
  CHECK(released > 0);
  const int32_t count = cuda_count();
  void* p = nullptr;
  CHECK_STATUS(tsrMalloc({TSR_DEVICE_CUDA, count}, 4, &p), TSR_ERROR_DEVICE_UNAVAILABLE);
  CHECK_STATUS(tsrMalloc(kCuda0, size_t(1) << 50, &p), TSR_ERROR_OUT_OF_MEMORY);
  CHECK_ERROR_MENTIONS("CUDA_ERROR_OUT_OF_MEMORY");
}

static void test_cuda_kernels() {
  if (cuda_count() == 0) return;
  tsrModule m = nullptr;
  CHECK_OK(tsrModuleLoadData(kCuda0, kVaddPtx, std::strlen(kVaddPtx) + 1, &m));
  tsrKernel vadd = nullptr, reverse = nullptr;
  CHECK_OK(tsrModuleGetKernel(m, "vadd", &vadd));
  CHECK_OK(tsrModuleGetKernel(m, "smem_reverse", &reverse));
  CHECK_STATUS(tsrModuleGetKernel(m, "nope", &vadd), TSR_ERROR_NOT_FOUND);
  CHECK_ERROR_MENTIONS("nope");
  CHECK_OK(tsrModuleGetKernel(m, "vadd", &vadd));

  const uint32_t n = 1000003;
  const size_t bytes = n * sizeof(float);
  std::vector<float> ha(n), hb(n), hc(n, 0.0f);
  for (uint32_t i = 0; i < n; ++i) {
    ha[i] = float(i);
    hb[i] = 0.25f * float(i % 1000);
  }
  void *a = nullptr, *b = nullptr, *c = nullptr;
  CHECK_OK(tsrMalloc(kCuda0, bytes, &a));
  CHECK_OK(tsrMalloc(kCuda0, bytes, &b));
  CHECK_OK(tsrMalloc(kCuda0, bytes, &c));
  CHECK_OK(tsrMemcpy(a, kCuda0, ha.data(), kCpu, bytes, nullptr));
  CHECK_OK(tsrMemcpy(b, kCuda0, hb.data(), kCpu, bytes, nullptr));
  void* args[] = {&a, &b, &c, const_cast<uint32_t*>(&n)};
  tsrLaunchConfig cfg = {{(n + 255) / 256, 1, 1}, {256, 1, 1}, 0};
  CHECK_OK(tsrLaunchKernel(vadd, &cfg, args, nullptr));
  CHECK_OK(tsrMemcpy(hc.data(), kCpu, c, kCuda0, bytes, nullptr));
  size_t wrong = 0;
  for (uint32_t i = 0; i < n; ++i) wrong += hc[i] != ha[i] + hb[i];
  CHECK(wrong == 0);

  // On a stream, with 64 KiB of dynamic shared memory (above the 48 KiB default limit).
  tsrStream s = nullptr;
  CHECK_OK(tsrStreamCreate(kCuda0, &s));
  const uint32_t rn = 16384;
  void* rargs[] = {&a, &c, const_cast<uint32_t*>(&rn)};
  tsrLaunchConfig rcfg = {{1, 1, 1}, {256, 1, 1}, rn * 4};
  CHECK_OK(tsrLaunchKernel(reverse, &rcfg, rargs, s));
  std::vector<float> out(rn);
  CHECK_OK(tsrMemcpy(out.data(), kCpu, c, kCuda0, rn * 4, s));
  CHECK_OK(tsrStreamSynchronize(s));
  wrong = 0;
  for (uint32_t i = 0; i < rn; ++i) wrong += out[i] != ha[rn - 1 - i];
  CHECK(wrong == 0);

  tsrLaunchConfig bad = {{1, 1, 1}, {4096, 1, 1}, 0};  // too many threads per block
  CHECK_STATUS(tsrLaunchKernel(vadd, &bad, args, nullptr), TSR_ERROR_LAUNCH_FAILED);
  CHECK_ERROR_MENTIONS("cuLaunchKernel");
  tsrLaunchConfig zero_block = {{1, 1, 1}, {0, 1, 1}, 0};
  CHECK_STATUS(tsrLaunchKernel(vadd, &zero_block, args, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  tsrStream cpu_stream = nullptr;
  CHECK_OK(tsrStreamCreate(kCpu, &cpu_stream));
  CHECK_STATUS(tsrLaunchKernel(vadd, &cfg, args, cpu_stream), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_OK(tsrStreamDestroy(cpu_stream));

  CHECK_OK(tsrStreamDestroy(s));
  CHECK_OK(tsrModuleUnload(m));
  for (void* p : {a, b, c}) CHECK_OK(tsrFree(kCuda0, p));

  // PTX without a trailing NUL is accepted; broken PTX reports the JIT log.
  CHECK_OK(tsrModuleLoadData(kCuda0, kVaddPtx, std::strlen(kVaddPtx), &m));
  CHECK_OK(tsrModuleUnload(m));
  const char* broken =
      ".version 7.8\n.target sm_80\n.address_size 64\n"
      ".visible .entry broken()\n{\n  frobnicate.u32 %r1;\n  ret;\n}\n";
  CHECK_STATUS(tsrModuleLoadData(kCuda0, broken, std::strlen(broken) + 1, &m), TSR_ERROR_INVALID_MODULE);
  std::printf("  broken PTX: %s\n", tsrGetLastError());
  CHECK_ERROR_MENTIONS("cuModuleLoadDataEx");
  CHECK_ERROR_MENTIONS("line");  // the JIT log points at the offending line
}

// A graph of vadd kernels: c = a + b, then d = c + b; replayed, with new arguments, grown.
static void test_cuda_graphs() {
  if (cuda_count() == 0) return;
  tsrModule m = nullptr;
  CHECK_OK(tsrModuleLoadData(kCuda0, kVaddPtx, std::strlen(kVaddPtx) + 1, &m));
  tsrKernel vadd = nullptr;
  CHECK_OK(tsrModuleGetKernel(m, "vadd", &vadd));
  const uint32_t n = 4099;
  const size_t bytes = n * sizeof(float);
  std::vector<float> ha(n), hb(n);
  for (uint32_t i = 0; i < n; ++i) {
    ha[i] = float(i % 97) - 40.0f;
    hb[i] = 0.5f * float(i % 13);
  }
  void *a = nullptr, *b = nullptr, *c = nullptr, *d = nullptr, *e = nullptr;
  for (void** p : {&a, &b, &c, &d, &e}) CHECK_OK(tsrMalloc(kCuda0, bytes, p));
  CHECK_OK(tsrMemcpy(a, kCuda0, ha.data(), kCpu, bytes, nullptr));
  CHECK_OK(tsrMemcpy(b, kCuda0, hb.data(), kCpu, bytes, nullptr));
  auto read = [&](void* p) {
    std::vector<float> h(n, -1.0f);
    CHECK_OK(tsrMemcpy(h.data(), kCpu, p, kCuda0, bytes, nullptr));
    return h;
  };
  auto expect = [&](void* p, float times_b) {
    const std::vector<float> h = read(p);
    size_t wrong = 0;
    for (uint32_t i = 0; i < n; ++i) wrong += h[i] != ha[i] + times_b * hb[i];
    CHECK(wrong == 0);
  };

  tsrGraph g = nullptr;
  CHECK_OK(tsrGraphCreate(kCuda0, &g));
  CHECK_OK(tsrGraphLaunch(g, nullptr));  // empty: nothing to do
  tsrLaunchConfig cfg = {{(n + 127) / 128, 1, 1}, {128, 1, 1}, 0};
  void* args1[] = {&a, &b, &c, const_cast<uint32_t*>(&n)};
  void* args2[] = {&c, &b, &d, const_cast<uint32_t*>(&n)};
  int32_t node = -1;
  CHECK_OK(tsrGraphAddKernel(g, vadd, &cfg, args1, &node));
  CHECK(node == 0);
  CHECK_OK(tsrGraphAddKernel(g, vadd, &cfg, args2, &node));
  CHECK(node == 1);
  void* const c_buffer = c;
  c = nullptr;  // argument values were copied when added
  CHECK_OK(tsrGraphLaunch(g, nullptr));
  CHECK_OK(tsrDeviceSynchronize(kCuda0));
  expect(d, 2.0f);

  // New arguments for node 1 (d -> e), then a third kernel after a launch (re-instantiated).
  void* args2e[] = {&d, &b, &e, const_cast<uint32_t*>(&n)};
  CHECK_OK(tsrGraphSetKernelArgs(g, 1, args2e));
  void* args3[] = {&e, &b, &a, const_cast<uint32_t*>(&n)};
  CHECK_OK(tsrGraphAddKernel(g, vadd, &cfg, args3, &node));
  CHECK(node == 2);
  tsrStream s = nullptr;
  CHECK_OK(tsrStreamCreate(kCuda0, &s));
  CHECK_OK(tsrGraphLaunch(g, s));
  CHECK_OK(tsrStreamSynchronize(s));
  expect(e, 3.0f);                   // e = d + b, with d = a + 2b from the first launch (node 0 writes c)
  std::vector<float> ha4 = read(a);  // node 2: a = e + b
  size_t wrong = 0;
  for (uint32_t i = 0; i < n; ++i) wrong += ha4[i] != ha[i] + 4.0f * hb[i];
  CHECK(wrong == 0);
  CHECK_OK(tsrStreamDestroy(s));

  CHECK_STATUS(tsrGraphSetKernelArgs(g, 3, args1), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("3 kernels");
  CHECK_STATUS(tsrGraphSetKernelArgs(g, -1, args1), TSR_ERROR_INVALID_ARGUMENT);
  tsrLaunchConfig zero = {{0, 1, 1}, {128, 1, 1}, 0};
  CHECK_STATUS(tsrGraphAddKernel(g, vadd, &zero, args1, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  tsrStream cpu_stream = nullptr;
  CHECK_OK(tsrStreamCreate(kCpu, &cpu_stream));
  CHECK_STATUS(tsrGraphLaunch(g, cpu_stream), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_OK(tsrStreamDestroy(cpu_stream));
  tsrLaunchConfig bad = {{1, 1, 1}, {4096, 1, 1}, 0};  // too many threads per block
  tsrGraph g2 = nullptr;
  CHECK_OK(tsrGraphCreate(kCuda0, &g2));
  const tsrStatus st = tsrGraphAddKernel(g2, vadd, &bad, args1, nullptr);
  if (st == TSR_SUCCESS) {
    CHECK(tsrGraphLaunch(g2, nullptr) != TSR_SUCCESS);
    std::printf("  bad graph launch: %s\n", tsrGetLastError());
  } else {
    std::printf("  bad graph node: %s\n", tsrGetLastError());
  }
  CHECK_OK(tsrGraphDestroy(g2));
  CHECK_OK(tsrDeviceSynchronize(kCuda0));  // the runtime is still usable

  // Unloading the module first is caught at the next launch.
  CHECK_OK(tsrModuleUnload(m));
  CHECK_STATUS(tsrGraphLaunch(g, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("unloaded");
  CHECK_OK(tsrGraphDestroy(g));
  CHECK_STATUS(tsrGraphDestroy(g), TSR_ERROR_INVALID_ARGUMENT);
  for (void* p : {a, b, c_buffer, d, e}) CHECK_OK(tsrFree(kCuda0, p));
}

// ---- driver ----

int main() {
  const Test tests[] = {
      {"cuda_memory", test_cuda_memory},
      {"cuda_kernels", test_cuda_kernels},
      {"cuda_graphs", test_cuda_graphs},
  };
  const int32_t devices = cuda_count();
  if (devices == 0)
    std::printf("no CUDA device or driver here: the GPU tests are skipped\n");
  else
    std::printf("CUDA devices: %d\n", devices);
  return run_tests(tests);
}
