// The small test harness shared by the runtime's C++ tests (plain C++, no framework: they link
// the runtime alone). CHECK reports file:line and goes on; run_tests prints "N passed, M failed".
#pragma once
#include <cstdio>
#include <exception>
#include <string>

#include "tessera/tessera.h"

inline int g_check_failures = 0;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::printf("%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++g_check_failures;                                                  \
    }                                                                      \
  } while (0)

#define CHECK_STATUS(expr, want)                                                                               \
  do {                                                                                                         \
    const tsrStatus got_ = (expr);                                                                             \
    if (got_ != (want)) {                                                                                      \
      std::printf("%s:%d: %s returned %s (expected %s): %s\n", __FILE__, __LINE__, #expr, tsrStatusName(got_), \
                  tsrStatusName(want), got_ ? tsrGetLastError() : "");                                         \
      ++g_check_failures;                                                                                      \
    }                                                                                                          \
  } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, TSR_SUCCESS)

// The last error message contains `needle`.
#define CHECK_ERROR_MENTIONS(needle)                                                                               \
  do {                                                                                                             \
    const std::string msg_ = tsrGetLastError();                                                                    \
    if (msg_.find(needle) == std::string::npos) {                                                                  \
      std::printf("%s:%d: last error \"%s\" does not mention \"%s\"\n", __FILE__, __LINE__, msg_.c_str(), needle); \
      ++g_check_failures;                                                                                          \
    }                                                                                                              \
  } while (0)

struct Test {
  const char* name;
  void (*fn)();
};

// Runs each test (a C++ exception fails it too) and returns the process exit code.
template <size_t N>
int run_tests(const Test (&tests)[N]) {
  int passed = 0, failed = 0;
  for (const Test& t : tests) {
    const int before = g_check_failures;
    try {
      t.fn();
    } catch (const std::exception& e) {
      std::printf("%s: unexpected exception: %s\n", t.name, e.what());
      ++g_check_failures;
    }
    if (g_check_failures == before) {
      ++passed;
    } else {
      ++failed;
      std::printf("FAILED: %s\n", t.name);
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
