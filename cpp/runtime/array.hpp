// C++ view of runtime memory: a Storage owns (or keeps alive) one allocation on one device;
// an Array is a typed, strided view into a Storage. Used by the Python bindings, DLPack and
// the executor. Built on the C ABI in tessera.h; no LLVM here.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/dtype.hpp"
#include "common/error.hpp"
#include "tessera/tessera.h"

namespace tessera {

struct Device {
  tsrDeviceType type = TSR_DEVICE_CPU;
  int32_t index = 0;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;                    // "cpu" or "cuda:0"
  static Device parse(const std::string& s);  // "cpu", "cuda", "cuda:1"; throws ErrorCode::Device
  tsrDevice raw() const { return {type, index}; }
};

// The C ABI's code for a dtype (collectives, exported programs' signatures).
tsrDataType to_tsr(DType t);
DType from_tsr(tsrDataType t);  // throws ErrorCode::DType for a code that names no dtype

// Throws tessera::Error (ErrorCode::Device or ::Runtime) carrying tsrGetLastError() when a
// runtime call fails. `what` names the operation, e.g. "tsrMalloc".
void check_status(tsrStatus status, const char* what);

class Storage {
 public:
  // Allocates `bytes` on `device` through tsrMalloc; freed with tsrFree.
  static std::shared_ptr<Storage> allocate(Device device, size_t bytes);
  // Wraps memory owned elsewhere; `release` runs when the last Array using it is gone.
  static std::shared_ptr<Storage> wrap(Device device, void* ptr, size_t bytes, std::function<void()> release,
                                       bool read_only = false);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }
  bool read_only() const { return read_only_; }

 private:
  Storage() = default;
  Device device_;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  bool read_only_ = false;
  std::function<void()> release_;  // empty: owned, freed with tsrFree
};

struct Array {
  std::shared_ptr<Storage> storage;
  size_t offset_bytes = 0;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // in elements (as DLPack)

  static std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape);
  // Validates the shape (no negative dims) and allocates a contiguous array.
  static Array empty(Device device, DType dtype, const std::vector<int64_t>& shape);

  Device device() const { return storage->device(); }
  void* data() const { return static_cast<char*>(storage->data()) + offset_bytes; }
  int64_t numel() const;
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype); }
  bool is_contiguous() const;
  bool read_only() const { return storage->read_only(); }

  // A contiguous copy on `device` (returns *this when already contiguous there).
  Array to(Device device) const;
  Array contiguous() const { return to(device()); }
  // A contiguous copy in new memory on the same device.
  Array clone() const;
  // Writes src's elements into this array's memory (same dtype, shape and device; this one
  // writable): the in-place half of `x[idx] = v`. Strided destinations on the CPU only.
  void copy_from(const Array& src) const;
};

}  // namespace tessera
