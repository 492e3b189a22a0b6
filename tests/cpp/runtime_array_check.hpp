// Helpers shared by the tests of the runtime's C++ layer (Array, fill, random), on top of the
// plain harness in runtime_check.hpp.
#pragma once
#include <cstring>
#include <string>

#include "common/error.hpp"
#include "runtime/array.hpp"
#include "runtime_check.hpp"

using namespace tessera;

// `stmt` throws tessera::Error with `code` and a message containing `needle`.
#define CHECK_THROWS(stmt, want, needle)                                                                     \
  do {                                                                                                       \
    bool thrown_ = false;                                                                                    \
    try {                                                                                                    \
      stmt;                                                                                                  \
    } catch (const Error& e) {                                                                               \
      thrown_ = true;                                                                                        \
      if (e.code() != (want) || std::string(e.what()).find(needle) == std::string::npos) {                   \
        std::printf("%s:%d: %s threw %s \"%s\"; expected %s mentioning \"%s\"\n", __FILE__, __LINE__, #stmt, \
                    error_code_name(e.code()), e.what(), error_code_name(want), needle);                     \
        ++g_check_failures;                                                                                  \
      }                                                                                                      \
    }                                                                                                        \
    if (!thrown_) {                                                                                          \
      std::printf("%s:%d: %s did not throw\n", __FILE__, __LINE__, #stmt);                                   \
      ++g_check_failures;                                                                                    \
    }                                                                                                        \
  } while (0)

inline const Device kCpu{TSR_DEVICE_CPU, 0};

inline bool have_cuda() {
  int32_t n = 0;
  return tsrDeviceCount(TSR_DEVICE_CUDA, &n) == TSR_SUCCESS && n > 0;
}

template <class T>
T at(const Array& a, int64_t i) {  // element i of a contiguous CPU array
  T v;
  std::memcpy(&v, static_cast<const char*>(a.data()) + i * int64_t(sizeof(T)), sizeof v);
  return v;
}
