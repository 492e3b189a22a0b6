// Exported tsr* functions for devices and memory: validate every argument (bad input gets a
// status and a message naming the argument, never a crash), then dispatch to the CPU or CUDA
// back end. Streams, events, modules and launches are in execution.cpp.
#include "runtime/cpu_block_cache.hpp"
#include "runtime/thread_pool.hpp"
#include "runtime/validate.hpp"

using namespace tessera::rt;

namespace {
constexpr int32_t kMaxCpuThreads = 1024;
}  // namespace

extern "C" {

// ---- devices ----

TSR_API tsrStatus tsrDeviceCount(tsrDeviceType type, int32_t* count) {
  return api("tsrDeviceCount", [&] {
    if (!count) return invalid("count is NULL");
    const int32_t t = type_code(&type);
    if (t == TSR_DEVICE_CPU)
      *count = 1;
    else if (t == TSR_DEVICE_CUDA)
      *count = cuda::device_count();  // 0 without a driver
    else
      return invalid(cat("type ", t, " is not a device type (1 = CPU, 2 = CUDA)"));
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrGetDeviceProperties(tsrDevice device, tsrDeviceProperties* props) {
  return api("tsrGetDeviceProperties", [&] {
    if (!props) return invalid("props is NULL");
    if (tsrStatus s = check_device("device", device)) return s;
    return device.type == TSR_DEVICE_CPU ? cpu::properties(props) : cuda::properties(device.index, props);
  });
}

TSR_API tsrStatus tsrDeviceSynchronize(tsrDevice device) {
  return api("tsrDeviceSynchronize", [&] {
    if (tsrStatus s = check_device("device", device)) return s;
    // CPU work (copies, launches) has finished when its call returns.
    return device.type == TSR_DEVICE_CPU ? TSR_SUCCESS : cuda::synchronize(device.index);
  });
}

TSR_API tsrStatus tsrDeviceReleaseCache(tsrDevice device, size_t* released) {
  return api("tsrDeviceReleaseCache", [&] {
    if (tsrStatus s = check_device("device", device)) return s;
    size_t n = device.type == TSR_DEVICE_CPU ? cpu::release_cached_blocks() : cuda::release_cached_blocks(device.index);
    if (released) *released = n;
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrDeviceMemoryStats(tsrDevice device, tsrMemoryStats* stats) {
  return api("tsrDeviceMemoryStats", [&] {
    if (!stats) return invalid("stats is NULL");
    if (tsrStatus s = check_device("device", device)) return s;
    *stats = device.type == TSR_DEVICE_CPU ? cpu::memory_stats() : cuda::memory_stats(device.index);
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrDeviceResetPeakMemory(tsrDevice device) {
  return api("tsrDeviceResetPeakMemory", [&] {
    if (tsrStatus s = check_device("device", device)) return s;
    if (device.type == TSR_DEVICE_CPU)
      cpu::reset_peak_memory();
    else
      cuda::reset_peak_memory(device.index);
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrSetCpuThreads(int32_t n) {
  return api("tsrSetCpuThreads", [&] {
    if (n < 1 || n > kMaxCpuThreads) return invalid(cat("n is ", n, "; it must be in [1, ", kMaxCpuThreads, "]"));
    if (!set_cpu_threads(n))
      return set_error(TSR_ERROR_NOT_SUPPORTED, "cannot change the thread count from inside a CPU kernel launch");
    return TSR_SUCCESS;
  });
}

TSR_API int32_t tsrGetCpuThreads(void) {
  try {
    return cpu_threads();
  } catch (...) {
    return 1;  // no status to report with; the pool could not even be set up
  }
}

// ---- memory ----

TSR_API tsrStatus tsrMalloc(tsrDevice device, size_t bytes, void** ptr) {
  return api("tsrMalloc", [&] {
    if (!ptr) return invalid("ptr is NULL");
    *ptr = nullptr;
    if (tsrStatus s = check_device("device", device)) return s;
    return device.type == TSR_DEVICE_CPU ? cpu::malloc(bytes, ptr) : cuda::malloc(device.index, bytes, ptr);
  });
}

TSR_API tsrStatus tsrFree(tsrDevice device, void* ptr) {
  return api("tsrFree", [&] {
    if (tsrStatus s = check_device("device", device)) return s;
    if (!ptr) return TSR_SUCCESS;  // like free(NULL)
    return device.type == TSR_DEVICE_CPU ? cpu::free(ptr) : cuda::free(device.index, ptr);
  });
}

TSR_API tsrStatus tsrMemcpy(void* dst, tsrDevice dst_device, const void* src, tsrDevice src_device, size_t bytes,
                            tsrStream stream) {
  return api("tsrMemcpy", [&] {
    if (tsrStatus s = check_device("dst_device", dst_device)) return s;
    if (tsrStatus s = check_device("src_device", src_device)) return s;
    if (stream) {
      if (tsrStatus s = check_stream("stream", stream)) return s;
      // The stream belongs to a device taking part; a copy touching CUDA needs a CUDA stream.
      const bool any_cuda = dst_device.type == TSR_DEVICE_CUDA || src_device.type == TSR_DEVICE_CUDA;
      const bool fits = any_cuda
                            ? stream->device.type == TSR_DEVICE_CUDA &&
                                  ((dst_device.type == TSR_DEVICE_CUDA && same_device(stream->device, dst_device)) ||
                                   (src_device.type == TSR_DEVICE_CUDA && same_device(stream->device, src_device)))
                            : stream->device.type == TSR_DEVICE_CPU;
      if (!fits)
        return invalid(cat("stream is on ", device_str(stream->device), " but the copy is from ",
                           device_str(src_device), " to ", device_str(dst_device)));
    }
    if (bytes == 0) return TSR_SUCCESS;
    if (!dst) return invalid("dst is NULL");
    if (!src) return invalid("src is NULL");
    if (dst_device.type == TSR_DEVICE_CPU && src_device.type == TSR_DEVICE_CPU) {
      cpu::memcpy(dst, src, bytes);
      return TSR_SUCCESS;
    }
    return cuda::memcpy(dst, dst_device, src, src_device, bytes, stream);
  });
}

TSR_API tsrStatus tsrMemset(tsrDevice device, void* ptr, int32_t value, size_t bytes, tsrStream stream) {
  return api("tsrMemset", [&] {
    if (tsrStatus s = check_device("device", device)) return s;
    if (tsrStatus s = check_stream_on(stream, device)) return s;
    if (bytes == 0) return TSR_SUCCESS;
    if (!ptr) return invalid("ptr is NULL");
    if (device.type == TSR_DEVICE_CPU) {
      cpu::memset(ptr, value, bytes);
      return TSR_SUCCESS;
    }
    return cuda::memset(device.index, ptr, value, bytes, stream);
  });
}

}  // extern "C"
