// A header-only C++ layer over the runtime's C ABI (tessera.h) for running exported programs:
// RAII handles, DLPack tensors owned by std::unique_ptr, and failures as tessera::rt::Error
// exceptions carrying the C status and message. Links against libtessera_runtime.so alone
// (CMake: tessera::runtime); no compiler, no LLVM.
//
//   tessera::rt::Program program("model.tsp");            // or Program(path, {TSR_DEVICE_CUDA, 0})
//   std::vector<DLTensor> inputs = {...};                  // borrowed: your memory
//   std::vector<tessera::rt::OwnedTensor> out = program.run(inputs);
//   const float* y = static_cast<const float*>(out[0]->dl_tensor.data);
#pragma once
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tessera/tessera.h"

namespace tessera::rt {

// A failed runtime call: status() is the C ABI's code, what() its message.
class Error : public std::runtime_error {
 public:
  Error(tsrStatus status, const std::string& message) : std::runtime_error(message), status_(status) {}
  tsrStatus status() const noexcept { return status_; }

 private:
  tsrStatus status_;
};

inline void check(tsrStatus status) {
  if (status != TSR_SUCCESS) throw Error(status, std::string(tsrStatusName(status)) + ": " + tsrGetLastError());
}

// A tensor the runtime made (a program's result), released by its DLPack deleter.
struct TensorDeleter {
  void operator()(DLManagedTensorVersioned* t) const noexcept {
    if (t && t->deleter) t->deleter(t);
  }
};
using OwnedTensor = std::unique_ptr<DLManagedTensorVersioned, TensorDeleter>;

// An input's or output's type: its C ABI dtype and shape.
struct TensorType {
  tsrDataType dtype;
  std::vector<int64_t> shape;
};

// An exported program loaded for one device; safe to run from several threads.
class Program {
 public:
  explicit Program(const std::string& path, tsrDevice device = {TSR_DEVICE_CPU, 0}) {
    check(tsrProgramLoad(path.c_str(), device, &raw_));
  }
  Program(const void* data, size_t size, tsrDevice device = {TSR_DEVICE_CPU, 0}) {
    check(tsrProgramLoadData(data, size, device, &raw_));
  }
  ~Program() {
    if (raw_) tsrProgramDestroy(raw_);
  }
  Program(Program&& o) noexcept : raw_(o.raw_) { o.raw_ = nullptr; }
  Program& operator=(Program&& o) noexcept {
    std::swap(raw_, o.raw_);
    return *this;
  }
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  std::vector<TensorType> inputs() const { return types(tsrProgramNumInputs, tsrProgramInput); }
  std::vector<TensorType> outputs() const { return types(tsrProgramNumOutputs, tsrProgramOutput); }
  std::string manifest() const {
    const char* text = nullptr;
    check(tsrProgramManifest(raw_, &text));
    return text;
  }
  // Runs on borrowed inputs (the caller's memory, any strides); returns the results.
  std::vector<OwnedTensor> run(const std::vector<DLTensor>& inputs) const {
    int32_t n = 0;
    check(tsrProgramNumOutputs(raw_, &n));
    std::vector<DLManagedTensorVersioned*> raw(size_t(n), nullptr);
    std::vector<OwnedTensor> out;
    out.reserve(raw.size());  // taken without allocating: nothing leaks
    check(tsrProgramRun(raw_, inputs.data(), int32_t(inputs.size()), raw.data(), n));
    for (DLManagedTensorVersioned* t : raw) out.emplace_back(t);
    return out;
  }
  tsrProgram get() const noexcept { return raw_; }

 private:
  template <class Count, class Info>
  std::vector<TensorType> types(Count count, Info info) const {
    int32_t n = 0;
    check(count(raw_, &n));
    std::vector<TensorType> out;
    for (int32_t i = 0; i < n; ++i) {
      tsrTensorInfo t;
      check(info(raw_, i, &t));
      out.push_back({t.dtype, std::vector<int64_t>(t.shape, t.shape + t.ndim)});
    }
    return out;
  }
  tsrProgram raw_ = nullptr;
};

}  // namespace tessera::rt
