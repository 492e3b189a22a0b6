// The profiler behind tessera.profile(): while it is active, the compiler and the executor
// record spans (a name, a category, a start and a duration in nanoseconds of the steady clock)
// — host work (tracing, each pass, code generation, program runs) and one span per kernel
// launch (its time on the device: wall time on the CPU, CUDA events on NVIDIA). Inactive, a
// span costs one relaxed atomic load.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace tessera::profiler {

struct Span {
  std::string name;
  std::string category;  // "trace", "pass", "compile", "codegen", "run", "kernel", ...
  int64_t begin_ns = 0;  // steady clock
  int64_t dur_ns = 0;
  std::string device;  // kernels: "cpu" or "cuda:0"; host spans: empty
  int64_t bytes = 0;   // kernels: bytes of their buffers (read or written), for bandwidth
  int64_t flops = 0;   // kernels: floating-point operations of their products, for TFLOP/s
};

bool active();
void start();              // clears what an earlier profile left and starts recording
std::vector<Span> stop();  // stops recording and returns the spans, in the order they ended
void add(Span span);       // thread-safe; ignored when inactive
int64_t now_ns();

// A host span from construction to destruction (nothing when the profiler is inactive).
class Scope {
 public:
  Scope(const char* category, std::string name);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  bool on_;
  const char* category_;
  std::string name_;
  int64_t begin_ = 0;
};

}  // namespace tessera::profiler
