// Error reporting and version: each thread keeps the message of its own last failing call, so
// concurrent callers never see each other's errors.
#include <cstring>
#include <string>

#include "runtime/internal.hpp"

namespace tessera::rt {
namespace {

struct LastError {
  std::string message;
  bool lost = false;  // the message could not be stored (out of memory)
  uint64_t serial = 0;
};

LastError& last_error() {
  thread_local LastError e;
  return e;
}

}  // namespace

tsrStatus set_error(tsrStatus status, const std::string& message) noexcept {
  LastError& e = last_error();
  ++e.serial;
  try {
    e.message = message;
    e.lost = false;
  } catch (...) { e.lost = true; }
  return status;
}

uint64_t error_serial() noexcept { return last_error().serial; }

void prefix_error(const char* api) noexcept {
  LastError& e = last_error();
  if (e.lost) return;
  try {
    e.message.insert(0, std::string(api) + ": ");
  } catch (...) { e.lost = true; }
}

}  // namespace tessera::rt

extern "C" {

TSR_API const char* tsrGetLastError(void) {
  const auto& e = tessera::rt::last_error();
  if (e.lost) return "out of memory while recording the error message";
  return e.message.c_str();
}

static_assert(sizeof(tsrStatus) == sizeof(int32_t), "tsrStatus is a 32-bit int");

TSR_API const char* tsrStatusName(tsrStatus status) {
  int32_t code;
  std::memcpy(&code, &status, sizeof code);  // a C caller may pass any integer
  switch (code) {
    case TSR_SUCCESS: return "TSR_SUCCESS";
    case TSR_ERROR_INVALID_ARGUMENT: return "TSR_ERROR_INVALID_ARGUMENT";
    case TSR_ERROR_OUT_OF_MEMORY: return "TSR_ERROR_OUT_OF_MEMORY";
    case TSR_ERROR_DEVICE_UNAVAILABLE: return "TSR_ERROR_DEVICE_UNAVAILABLE";
    case TSR_ERROR_DRIVER: return "TSR_ERROR_DRIVER";
    case TSR_ERROR_NOT_SUPPORTED: return "TSR_ERROR_NOT_SUPPORTED";
    case TSR_ERROR_LAUNCH_FAILED: return "TSR_ERROR_LAUNCH_FAILED";
    case TSR_ERROR_INVALID_MODULE: return "TSR_ERROR_INVALID_MODULE";
    case TSR_ERROR_NOT_FOUND: return "TSR_ERROR_NOT_FOUND";
    case TSR_ERROR_INTERNAL: return "TSR_ERROR_INTERNAL";
    case TSR_ERROR_INVALID_PROGRAM: return "TSR_ERROR_INVALID_PROGRAM";
  }
  return "TSR_UNKNOWN_STATUS";
}

TSR_API void tsrGetVersion(int32_t* major, int32_t* minor, int32_t* patch) {
  // Null outputs are skipped: the function has no status to report them with.
  if (major) *major = TSR_ABI_VERSION_MAJOR;
  if (minor) *minor = TSR_ABI_VERSION_MINOR;
  if (patch) *patch = TSR_ABI_VERSION_PATCH;
}

}  // extern "C"
