// Loads libcuda.so.1 once (std::call_once), resolves the entry points, runs cuInit, and keeps
// one retained primary context per device. The library is never closed: contexts and modules
// may outlive any owner we could tie a dlclose to.
#include "runtime/cuda_driver.hpp"

#include <dlfcn.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <type_traits>

#include "runtime/internal.hpp"

namespace tessera::rt::cuda {
namespace {

struct Loaded {
  Driver fns{};
  bool ok = false;
  std::string reason;
  int32_t count = 0;
  std::unique_ptr<std::atomic<CUcontext>[]> contexts;  // retained primary contexts
  std::mutex retain_mu;
};

Loaded& loaded() {
  static auto* l = new Loaded;  // leaked: used by threads still running at exit
  return *l;
}

std::string error_text(const Driver& d, CUresult r) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (d.cuGetErrorName && d.cuGetErrorName(r, &name) != CUDA_SUCCESS) name = nullptr;
  if (d.cuGetErrorString && d.cuGetErrorString(r, &text) != CUDA_SUCCESS) text = nullptr;
  return cat(name ? std::string(name) : cat("CUDA error ", r), " (", text ? text : "no description", ")");
}

// The graph entry points, all or none (graphs are an optimisation: without them kernels are
// launched one by one).
void resolve_graph_entry_points(void* lib, Driver& d) {
  bool all = true;
  auto optional = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    all = all && fn;
  };
  optional(d.cuGraphCreate, "cuGraphCreate");
  optional(d.cuGraphDestroy, "cuGraphDestroy");
  optional(d.cuGraphAddKernelNode_v2, "cuGraphAddKernelNode_v2");
  optional(d.cuGraphKernelNodeSetParams_v2, "cuGraphKernelNodeSetParams_v2");
  optional(d.cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags");
  optional(d.cuGraphExecDestroy, "cuGraphExecDestroy");
  optional(d.cuGraphExecKernelNodeSetParams_v2, "cuGraphExecKernelNodeSetParams_v2");
  optional(d.cuGraphLaunch, "cuGraphLaunch");
  if (!all) d.cuGraphCreate = nullptr;  // the one callers test
}

void load(Loaded& l) {
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = dlerror();
    l.reason = cat("libcuda.so.1 could not be loaded (", why ? why : "unknown reason", ")");
    return;
  }
  Driver& d = l.fns;
  bool missing = false;
  auto resolve = [&](auto& fn, const char* name) {
    if (missing) return;
    void* sym = dlsym(lib, name);
    if (!sym) {
      missing = true;
      l.reason = cat("libcuda.so.1 has no ", name, " (the driver is too old)");
      return;
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(sym);
  };
#define TSR_RESOLVE(name) resolve(d.name, #name)
  TSR_RESOLVE(cuInit);
  TSR_RESOLVE(cuDeviceGetCount);
  TSR_RESOLVE(cuDeviceGet);
  TSR_RESOLVE(cuDriverGetVersion);
  TSR_RESOLVE(cuDeviceGetName);
  TSR_RESOLVE(cuDeviceTotalMem_v2);
  TSR_RESOLVE(cuDeviceGetAttribute);
  TSR_RESOLVE(cuDevicePrimaryCtxRetain);
  TSR_RESOLVE(cuCtxSetCurrent);
  TSR_RESOLVE(cuCtxGetCurrent);
  TSR_RESOLVE(cuCtxSynchronize);
  TSR_RESOLVE(cuGetErrorName);
  TSR_RESOLVE(cuGetErrorString);
  TSR_RESOLVE(cuMemAlloc_v2);
  TSR_RESOLVE(cuMemFree_v2);
  TSR_RESOLVE(cuMemcpyHtoD_v2);
  TSR_RESOLVE(cuMemcpyDtoH_v2);
  TSR_RESOLVE(cuMemcpyDtoD_v2);
  TSR_RESOLVE(cuMemcpyHtoDAsync_v2);
  TSR_RESOLVE(cuMemcpyDtoHAsync_v2);
  TSR_RESOLVE(cuMemcpyDtoDAsync_v2);
  TSR_RESOLVE(cuMemcpyPeerAsync);
  TSR_RESOLVE(cuMemsetD8_v2);
  TSR_RESOLVE(cuMemsetD8Async);
  TSR_RESOLVE(cuStreamCreate);
  TSR_RESOLVE(cuStreamDestroy_v2);
  TSR_RESOLVE(cuStreamSynchronize);
  TSR_RESOLVE(cuStreamWaitEvent);
  TSR_RESOLVE(cuEventCreate);
  TSR_RESOLVE(cuEventRecord);
  TSR_RESOLVE(cuEventSynchronize);
  TSR_RESOLVE(cuEventElapsedTime);
  TSR_RESOLVE(cuEventDestroy_v2);
  TSR_RESOLVE(cuModuleLoadDataEx);
  TSR_RESOLVE(cuModuleUnload);
  TSR_RESOLVE(cuModuleGetFunction);
  TSR_RESOLVE(cuFuncSetAttribute);
  TSR_RESOLVE(cuLaunchKernel);
#undef TSR_RESOLVE
  if (missing) return;
  d.cuTensorMapEncodeTiled = reinterpret_cast<decltype(d.cuTensorMapEncodeTiled)>(dlsym(lib, "cuTensorMapEncodeTiled"));
  resolve_graph_entry_points(lib, d);
  if (CUresult r = d.cuInit(0); r != CUDA_SUCCESS) {
    l.reason = cat("cuInit failed: ", error_text(d, r));
    return;
  }
  int count = 0;
  if (CUresult r = d.cuDeviceGetCount(&count); r != CUDA_SUCCESS) {
    l.reason = cat("cuDeviceGetCount failed: ", error_text(d, r));
    return;
  }
  l.count = count;
  l.contexts.reset(new std::atomic<CUcontext>[count > 0 ? count : 1]);
  for (int i = 0; i < count; ++i) l.contexts[i].store(nullptr);
  l.ok = true;
}

Loaded& ensure_loaded() {
  static std::once_flag once;
  Loaded& l = loaded();
  std::call_once(once, [&] { load(l); });
  return l;
}

bool is_kernel_fault(CUresult r) {
  return r >= CUDA_ERROR_ILLEGAL_ADDRESS && r <= CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE;
}

}  // namespace

const Driver* driver() {
  Loaded& l = ensure_loaded();
  return l.ok ? &l.fns : nullptr;
}

const std::string& unavailable_reason() { return ensure_loaded().reason; }

int32_t driver_device_count() {
  Loaded& l = ensure_loaded();
  return l.ok ? l.count : 0;
}

tsrStatus fail(CUresult r, const char* call, const std::string& detail) {
  const Loaded& l = ensure_loaded();
  tsrStatus status = TSR_ERROR_DRIVER;
  const std::string call_name = call;
  if (r == CUDA_ERROR_OUT_OF_MEMORY)
    status = TSR_ERROR_OUT_OF_MEMORY;
  else if (call_name == "cuLaunchKernel" || call_name == "cuGraphLaunch" || is_kernel_fault(r))
    status = TSR_ERROR_LAUNCH_FAILED;
  else if (call_name == "cuModuleLoadDataEx")
    status = TSR_ERROR_INVALID_MODULE;
  else if (r == CUDA_ERROR_NOT_FOUND)
    status = TSR_ERROR_NOT_FOUND;
  else if (r == CUDA_ERROR_NO_DEVICE || r == CUDA_ERROR_INVALID_DEVICE)
    status = TSR_ERROR_DEVICE_UNAVAILABLE;
  return set_error(status, cat(call, " failed: ", error_text(l.fns, r), detail));
}

tsrStatus primary_context(int32_t index, CUcontext* ctx) {
  Loaded& l = ensure_loaded();
  CUcontext c = l.contexts[index].load(std::memory_order_acquire);
  if (!c) {
    std::lock_guard<std::mutex> lock(l.retain_mu);  // retain once per device
    c = l.contexts[index].load();
    if (!c) {
      CUdevice dev = 0;
      if (tsrStatus s = check(l.fns.cuDeviceGet(&dev, index), "cuDeviceGet")) return s;
      if (tsrStatus s = check(l.fns.cuDevicePrimaryCtxRetain(&c, dev), "cuDevicePrimaryCtxRetain")) return s;
      l.contexts[index].store(c, std::memory_order_release);
    }
  }
  *ctx = c;
  return TSR_SUCCESS;
}

tsrStatus make_current(int32_t index) {
  CUcontext ctx = nullptr;
  if (tsrStatus s = primary_context(index, &ctx)) return s;
  // Every launch comes here: reading the thread's context is cheaper than setting it.
  const Driver& d = ensure_loaded().fns;
  CUcontext current = nullptr;
  if (d.cuCtxGetCurrent(&current) == CUDA_SUCCESS && current == ctx) return TSR_SUCCESS;
  return check(d.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
}

}  // namespace tessera::rt::cuda
