// Argument checks for the ABI entry points, the live-handle registries, and device names.
#include "runtime/validate.hpp"

#include <cstring>

namespace tessera::rt {

std::string device_str(tsrDevice d) {
  int32_t type;
  std::memcpy(&type, &d.type, sizeof type);  // may be out of the enum's range
  switch (type) {
    case TSR_DEVICE_CPU: return cat("cpu:", d.index);
    case TSR_DEVICE_CUDA: return cat("cuda:", d.index);
  }
  return cat("device type ", type, " index ", d.index);
}

HandleSet<tsrStream_t>& live_streams() {
  static auto* s = new HandleSet<tsrStream_t>;
  return *s;
}
HandleSet<tsrEvent_t>& live_events() {
  static auto* s = new HandleSet<tsrEvent_t>;
  return *s;
}
HandleSet<tsrModule_t>& live_modules() {
  static auto* s = new HandleSet<tsrModule_t>;
  return *s;
}
HandleSet<tsrKernel_t>& live_kernels() {
  static auto* s = new HandleSet<tsrKernel_t>;
  return *s;
}
HandleSet<tsrGraph_t>& live_graphs() {
  static auto* s = new HandleSet<tsrGraph_t>;
  return *s;
}

// Read as bytes: loading an out-of-range value as the C++ enum would be undefined.
static_assert(sizeof(tsrDeviceType) == sizeof(int32_t), "tsrDeviceType is a 32-bit int");
int32_t type_code(const tsrDeviceType* type) {
  int32_t code;
  std::memcpy(&code, type, sizeof code);
  return code;
}

tsrStatus check_device(const char* arg, tsrDevice d) {
  const int32_t t = type_code(&d.type);
  if (t != TSR_DEVICE_CPU && t != TSR_DEVICE_CUDA)
    return invalid(cat(arg, ".type ", t, " is not a device type (", int(TSR_DEVICE_CPU), " = CPU, ",
                       int(TSR_DEVICE_CUDA), " = CUDA)"));
  if (d.index < 0) return invalid(cat(arg, ".index ", d.index, " is negative"));
  if (t == TSR_DEVICE_CPU) {
    if (d.index != 0)
      return set_error(TSR_ERROR_DEVICE_UNAVAILABLE,
                       cat(arg, " is ", device_str(d), " but the only CPU device is cpu:0"));
    return TSR_SUCCESS;
  }
  if (!cuda::available()) return cuda::unavailable_error();
  const int32_t n = cuda::device_count();
  if (d.index >= n)
    return set_error(TSR_ERROR_DEVICE_UNAVAILABLE,
                     cat(arg, " is ", device_str(d), " but this machine has ", n, " CUDA device", n == 1 ? "" : "s"));
  return TSR_SUCCESS;
}

namespace {

// Looks the pointer up without dereferencing it, so stale or foreign handles are safe.
template <class T>
tsrStatus check_handle(const char* arg, const char* kind, T* h, HandleSet<T>& live) {
  if (!h) return invalid(cat(arg, " is NULL"));
  if (!live.contains(h)) return invalid(cat(arg, " is not a live ", kind, " (never created, or already destroyed)"));
  return TSR_SUCCESS;
}

}  // namespace

tsrStatus check_stream(const char* arg, tsrStream s) { return check_handle(arg, "tsrStream", s, live_streams()); }
tsrStatus check_event(const char* arg, tsrEvent e) { return check_handle(arg, "tsrEvent", e, live_events()); }
tsrStatus check_module(const char* arg, tsrModule m) { return check_handle(arg, "tsrModule", m, live_modules()); }
tsrStatus check_kernel(const char* arg, tsrKernel k) { return check_handle(arg, "tsrKernel", k, live_kernels()); }
tsrStatus check_graph(const char* arg, tsrGraph g) { return check_handle(arg, "tsrGraph", g, live_graphs()); }

tsrStatus check_stream_on(tsrStream s, tsrDevice device) {
  if (!s) return TSR_SUCCESS;
  if (tsrStatus st = check_stream("stream", s)) return st;
  if (!same_device(s->device, device))
    return invalid(cat("stream is on ", device_str(s->device), " but the work is on ", device_str(device)));
  return TSR_SUCCESS;
}

tsrStatus error_status(const tessera::Error& e, tsrStatus value_status) noexcept {
  using tessera::ErrorCode;
  tsrStatus s = TSR_ERROR_INTERNAL;
  switch (e.code()) {
    case ErrorCode::Value:
    case ErrorCode::Parse:
    case ErrorCode::Verify: s = value_status; break;
    case ErrorCode::Shape:
    case ErrorCode::DType: s = TSR_ERROR_INVALID_ARGUMENT; break;
    case ErrorCode::Device: s = TSR_ERROR_DEVICE_UNAVAILABLE; break;
    case ErrorCode::Compile: s = TSR_ERROR_NOT_SUPPORTED; break;
    case ErrorCode::Runtime: s = TSR_ERROR_LAUNCH_FAILED; break;
    case ErrorCode::Internal: break;
  }
  return set_error(s, e.what());
}

}  // namespace tessera::rt
