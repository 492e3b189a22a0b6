// CUDA side of the runtime ABI, on each device's primary context. Arguments were validated
// by runtime.cpp (device indices in range, handles live, streams on matching devices); this
// file makes the right context current and maps driver errors.
#include <cstring>

#include "runtime/cuda_driver.hpp"
#include "runtime/internal.hpp"

namespace tessera::rt::cuda {
namespace {

const Driver& D() { return *driver(); }  // callers checked available()

CUdeviceptr dptr(const void* p) { return CUdeviceptr(reinterpret_cast<uintptr_t>(p)); }
CUstream raw(tsrStream s) { return s ? static_cast<CUstream>(s->cu) : nullptr; }

// NULL-stream calls promise completion on return; device-side copies and memsets are
// asynchronous to the host even on the legacy stream, so wait for it.
tsrStatus sync_legacy_stream() { return check(D().cuStreamSynchronize(nullptr), "cuStreamSynchronize"); }

bool is_cubin_or_fatbin(const void* image, size_t size) {
  const auto* b = static_cast<const unsigned char*>(image);
  if (size >= 4 && b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F') return true;
  uint32_t magic = 0;
  if (size >= 4) std::memcpy(&magic, b, 4);
  return magic == 0xBA55ED50u || magic == 0x466243B1u;  // fatbin, fatbin wrapper
}

constexpr uint32_t kDefaultSharedLimit = 48 * 1024;

}  // namespace

bool available() { return driver() != nullptr; }
int32_t device_count() { return driver_device_count(); }

tsrStatus unavailable_error() {
  return set_error(TSR_ERROR_DEVICE_UNAVAILABLE, "CUDA is not available: " + unavailable_reason());
}

// malloc and free: cuda_block_cache.cpp.

tsrStatus memcpy(void* dst, tsrDevice dst_device, const void* src, tsrDevice src_device, size_t bytes,
                 tsrStream stream) {
  const bool dst_cuda = dst_device.type == TSR_DEVICE_CUDA;
  const bool src_cuda = src_device.type == TSR_DEVICE_CUDA;
  const CUstream s = raw(stream);
  tsrStatus st;
  if (dst_cuda && src_cuda && dst_device.index != src_device.index) {
    CUcontext dst_ctx = nullptr, src_ctx = nullptr;
    if ((st = primary_context(dst_device.index, &dst_ctx))) return st;
    if ((st = primary_context(src_device.index, &src_ctx))) return st;
    if ((st = make_current(stream ? stream->device.index : dst_device.index))) return st;
    if ((st = check(D().cuMemcpyPeerAsync(dptr(dst), dst_ctx, dptr(src), src_ctx, bytes, s), "cuMemcpyPeerAsync")))
      return st;
    return stream ? TSR_SUCCESS : sync_legacy_stream();
  }
  if (dst_cuda && src_cuda) {
    if ((st = make_current(dst_device.index))) return st;
    if (stream) return check(D().cuMemcpyDtoDAsync_v2(dptr(dst), dptr(src), bytes, s), "cuMemcpyDtoDAsync_v2");
    if ((st = check(D().cuMemcpyDtoD_v2(dptr(dst), dptr(src), bytes), "cuMemcpyDtoD_v2"))) return st;
    return sync_legacy_stream();
  }
  if (dst_cuda) {
    if ((st = make_current(dst_device.index))) return st;
    if (stream) return check(D().cuMemcpyHtoDAsync_v2(dptr(dst), src, bytes, s), "cuMemcpyHtoDAsync_v2");
    if ((st = check(D().cuMemcpyHtoD_v2(dptr(dst), src, bytes), "cuMemcpyHtoD_v2"))) return st;
    return sync_legacy_stream();  // pageable sources may still be in flight from a staging buffer
  }
  if ((st = make_current(src_device.index))) return st;
  if (stream) return check(D().cuMemcpyDtoHAsync_v2(dst, dptr(src), bytes, s), "cuMemcpyDtoHAsync_v2");
  return check(D().cuMemcpyDtoH_v2(dst, dptr(src), bytes), "cuMemcpyDtoH_v2");
}

tsrStatus memset(int32_t index, void* ptr, int32_t value, size_t bytes, tsrStream stream) {
  if (tsrStatus s = make_current(index)) return s;
  const auto byte = static_cast<unsigned char>(value & 0xff);
  if (stream) return check(D().cuMemsetD8Async(dptr(ptr), byte, bytes, raw(stream)), "cuMemsetD8Async");
  if (tsrStatus s = check(D().cuMemsetD8_v2(dptr(ptr), byte, bytes), "cuMemsetD8_v2")) return s;
  return sync_legacy_stream();
}

tsrStatus synchronize(int32_t index) {
  if (tsrStatus s = make_current(index)) return s;
  return check(D().cuCtxSynchronize(), "cuCtxSynchronize");
}

tsrStatus properties(int32_t index, tsrDeviceProperties* props) {
  std::memset(props, 0, sizeof *props);
  CUdevice dev = 0;
  if (tsrStatus s = check(D().cuDeviceGet(&dev, index), "cuDeviceGet")) return s;
  if (tsrStatus s = check(D().cuDeviceGetName(props->name, int(sizeof props->name) - 1, dev), "cuDeviceGetName"))
    return s;
  size_t total = 0;
  if (tsrStatus s = check(D().cuDeviceTotalMem_v2(&total, dev), "cuDeviceTotalMem_v2")) return s;
  props->type = TSR_DEVICE_CUDA;
  props->index = index;
  if (tsrStatus s = check(D().cuDriverGetVersion(&props->driver_version), "cuDriverGetVersion")) return s;
  props->total_memory = int64_t(total);
  struct {
    int attr;
    int32_t* out;
  } attrs[] = {
      {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, &props->compute_capability_major},
      {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, &props->compute_capability_minor},
      {CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, &props->multiprocessor_count},
      {CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, &props->max_threads_per_block},
      {CU_DEVICE_ATTRIBUTE_WARP_SIZE, &props->warp_size},
  };
  for (const auto& a : attrs) {
    int v = 0;
    if (tsrStatus s = check(D().cuDeviceGetAttribute(&v, a.attr, dev), "cuDeviceGetAttribute")) return s;
    *a.out = v;
  }
  // The opt-in limit: launches asking for more than 48 KiB raise the kernel's limit themselves.
  int smem = 0;
  if (tsrStatus s = check(D().cuDeviceGetAttribute(&smem, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, dev),
                          "cuDeviceGetAttribute"))
    return s;
  props->shared_memory_per_block = smem;
  return TSR_SUCCESS;
}

tsrStatus stream_create(tsrStream stream) {
  if (tsrStatus s = make_current(stream->device.index)) return s;
  CUstream cu = nullptr;
  if (tsrStatus s = check(D().cuStreamCreate(&cu, CU_STREAM_DEFAULT), "cuStreamCreate")) return s;
  stream->cu = cu;
  return TSR_SUCCESS;
}

tsrStatus stream_destroy(tsrStream stream) {
  if (tsrStatus s = make_current(stream->device.index)) return s;
  return check(D().cuStreamDestroy_v2(raw(stream)), "cuStreamDestroy_v2");
}

tsrStatus stream_synchronize(tsrStream stream) {
  if (tsrStatus s = make_current(stream->device.index)) return s;
  return check(D().cuStreamSynchronize(raw(stream)), "cuStreamSynchronize");
}

tsrStatus stream_wait_event(int32_t index, tsrStream stream, tsrEvent event) {
  if (tsrStatus s = make_current(index)) return s;
  return check(D().cuStreamWaitEvent(raw(stream), static_cast<CUevent>(event->cu), 0), "cuStreamWaitEvent");
}

tsrStatus event_create(tsrEvent event) {
  if (tsrStatus s = make_current(event->device.index)) return s;
  CUevent cu = nullptr;
  if (tsrStatus s = check(D().cuEventCreate(&cu, CU_EVENT_DEFAULT), "cuEventCreate")) return s;
  event->cu = cu;
  return TSR_SUCCESS;
}

tsrStatus event_destroy(tsrEvent event) {
  if (tsrStatus s = make_current(event->device.index)) return s;
  return check(D().cuEventDestroy_v2(static_cast<CUevent>(event->cu)), "cuEventDestroy_v2");
}

tsrStatus event_record(tsrEvent event, tsrStream stream) {
  if (tsrStatus s = make_current(event->device.index)) return s;
  return check(D().cuEventRecord(static_cast<CUevent>(event->cu), raw(stream)), "cuEventRecord");
}

tsrStatus event_synchronize(tsrEvent event) {
  if (tsrStatus s = make_current(event->device.index)) return s;
  return check(D().cuEventSynchronize(static_cast<CUevent>(event->cu)), "cuEventSynchronize");
}

tsrStatus event_elapsed_ms(tsrEvent start, tsrEvent end, float* ms) {
  if (tsrStatus s = make_current(start->device.index)) return s;
  return check(D().cuEventElapsedTime(ms, static_cast<CUevent>(start->cu), static_cast<CUevent>(end->cu)),
               "cuEventElapsedTime");
}

tsrStatus module_load(tsrModule module, const void* image, size_t size) {
  // PTX must end in NUL for the driver; accept text without one by copying it.
  std::string ptx;
  if (!is_cubin_or_fatbin(image, size) && !std::memchr(image, 0, size)) {
    ptx.assign(static_cast<const char*>(image), size);
    image = ptx.c_str();
  }
  if (tsrStatus s = make_current(module->device.index)) return s;
  char log[16384] = {};
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void* values[] = {log, reinterpret_cast<void*>(uintptr_t(sizeof log - 1))};
  CUmodule cu = nullptr;
  const CUresult r = D().cuModuleLoadDataEx(&cu, image, 2, options, values);
  if (r != CUDA_SUCCESS) {
    const std::string text(log, strnlen(log, sizeof log));
    return fail(r, "cuModuleLoadDataEx", text.empty() ? "" : cat(": ", text));
  }
  module->cu = cu;
  return TSR_SUCCESS;
}

tsrStatus module_unload(tsrModule module) {
  if (tsrStatus s = make_current(module->device.index)) return s;
  return check(D().cuModuleUnload(static_cast<CUmodule>(module->cu)), "cuModuleUnload");
}

tsrStatus get_kernel(tsrModule module, const char* name, tsrKernel kernel) {
  if (tsrStatus s = make_current(module->device.index)) return s;
  CUfunction fn = nullptr;
  const CUresult r = D().cuModuleGetFunction(&fn, static_cast<CUmodule>(module->cu), name);
  if (r != CUDA_SUCCESS) return fail(r, "cuModuleGetFunction", cat(" (kernel '", name, "')"));
  kernel->cu = fn;
  return TSR_SUCCESS;
}

tsrStatus raise_shared_limit(tsrKernel kernel, uint32_t shared) {
  if (shared <= kDefaultSharedLimit || shared <= kernel->max_dynamic_shared.load()) return TSR_SUCCESS;
  const auto fn = static_cast<CUfunction>(kernel->cu);
  if (tsrStatus s = check(D().cuFuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, int(shared)),
                          "cuFuncSetAttribute"))
    return s;
  kernel->max_dynamic_shared.store(shared);
  return TSR_SUCCESS;
}

tsrStatus launch(tsrKernel kernel, const tsrLaunchConfig* config, void** args, tsrStream stream) {
  if (tsrStatus s = make_current(kernel->device.index)) return s;
  const auto fn = static_cast<CUfunction>(kernel->cu);
  const uint32_t shared = config->shared_bytes;
  if (tsrStatus s = raise_shared_limit(kernel, shared)) return s;
  const CUresult r = D().cuLaunchKernel(fn, config->grid[0], config->grid[1], config->grid[2], config->block[0],
                                        config->block[1], config->block[2], shared, raw(stream), args, nullptr);
  if (r != CUDA_SUCCESS)
    return fail(r, "cuLaunchKernel",
                cat(" (kernel '", kernel->name, "', grid ", config->grid[0], "x", config->grid[1], "x", config->grid[2],
                    ", block ", config->block[0], "x", config->block[1], "x", config->block[2], ", ", shared,
                    " shared bytes)"));
  return TSR_SUCCESS;
}

}  // namespace tessera::rt::cuda
