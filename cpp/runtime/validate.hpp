// Shared by the exported tsr* functions (runtime.cpp, execution.cpp): the exception and
// message guard at the ABI boundary, and the checks that turn bad arguments into
// TSR_ERROR_INVALID_ARGUMENT (or DEVICE_UNAVAILABLE) with a message naming the argument.
#pragma once
#include <exception>
#include <new>
#include <string>

#include "common/error.hpp"
#include "runtime/internal.hpp"

namespace tessera::rt {

// Runs `body` (returning tsrStatus), turns C++ exceptions into statuses, and prefixes a failing
// call's message with the API name. Every exported function goes through it.
template <class F>
tsrStatus api(const char* name, F&& body) noexcept {
  const uint64_t serial = error_serial();
  tsrStatus status;
  try {
    status = body();
  } catch (const std::bad_alloc&) {
    status = set_error(TSR_ERROR_OUT_OF_MEMORY, "out of host memory");
  } catch (const std::exception& e) {
    status = set_error(TSR_ERROR_INTERNAL, cat("unexpected C++ exception: ", e.what()));
  } catch (...) { status = set_error(TSR_ERROR_INTERNAL, "unexpected unknown C++ exception"); }
  if (status != TSR_SUCCESS) {
    if (error_serial() == serial) set_error(status, "failed without a message (a Tessera bug)");
    prefix_error(name);
  }
  return status;
}

inline tsrStatus invalid(const std::string& message) { return set_error(TSR_ERROR_INVALID_ARGUMENT, message); }

// Only for devices that passed check_device (their type is a valid enum value).
inline bool same_device(tsrDevice a, tsrDevice b) { return a.type == b.type && a.index == b.index; }

// `d` names a device of this machine; `arg` names the argument in messages.
tsrStatus check_device(const char* arg, tsrDevice d);
// The raw device type code (a C caller may pass any integer); for tsrDeviceCount.
int32_t type_code(const tsrDeviceType* type);

// Non-NULL and live (created and not yet destroyed).
tsrStatus check_stream(const char* arg, tsrStream s);
tsrStatus check_event(const char* arg, tsrEvent e);
tsrStatus check_module(const char* arg, tsrModule m);
tsrStatus check_kernel(const char* arg, tsrKernel k);
tsrStatus check_graph(const char* arg, tsrGraph g);
// NULL (the default stream), or live and on `device`.
tsrStatus check_stream_on(tsrStream s, tsrDevice device);

// A Tessera error from the C++ layers (programs, the compiler) as a status with its message:
// shapes and dtypes are TSR_ERROR_INVALID_ARGUMENT, devices TSR_ERROR_DEVICE_UNAVAILABLE,
// failed launches TSR_ERROR_LAUNCH_FAILED, other bad values `value_status` (an argument or a
// program file, as the call decides).
tsrStatus error_status(const tessera::Error& e, tsrStatus value_status) noexcept;
template <class F>
tsrStatus guarded(tsrStatus value_status, F&& body) {
  try {
    return body();
  } catch (const tessera::Error& e) { return error_status(e, value_status); }
}

}  // namespace tessera::rt
