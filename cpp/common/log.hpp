// TESSERA_LOG=<category>[,<category>...]: diagnostics on stderr, off by default.
// Categories: "cache" (disk cache hits, misses, rejected files), "recompiles" (jit re-traces,
// logged from Python), "launch" (a program whose kernels cannot be replayed as a CUDA graph),
// "all".
#pragma once
#include <string>

namespace tessera::log {

// Read on every call (logging only happens on slow paths), so tests can set the variable.
bool enabled(const char* category);
// Writes "tessera[<category>]: <message>" and a newline to stderr if the category is enabled.
void write(const char* category, const std::string& message);

}  // namespace tessera::log
