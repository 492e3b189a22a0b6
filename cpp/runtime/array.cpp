// Device names, runtime status checks, Storage ownership and Array layout/copies.
#include "runtime/array.hpp"

#include <cstring>
#include <limits>
#include <sstream>

#include "runtime/strided.hpp"

namespace tessera {

namespace {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

// Owns a host buffer from tsrMalloc (64-byte aligned) for staging.
struct HostBuffer {
  explicit HostBuffer(size_t bytes) { check_status(tsrMalloc({TSR_DEVICE_CPU, 0}, bytes, &ptr), "tsrMalloc"); }
  ~HostBuffer() { tsrFree({TSR_DEVICE_CPU, 0}, ptr); }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  char* data() const { return static_cast<char*>(ptr); }
  void* ptr = nullptr;
};

}  // namespace

// ---- Device ----

std::string Device::str() const {
  if (type == TSR_DEVICE_CPU) return "cpu";
  if (type == TSR_DEVICE_CUDA) return "cuda:" + std::to_string(index);
  return "device(type=" + std::to_string(static_cast<int>(type)) + "):" + std::to_string(index);
}

Device Device::parse(const std::string& s) {
  auto bad = [&]() -> Device {
    fail(ErrorCode::Device, "unknown device '" + s + "'; valid forms are \"cpu\", \"cuda\" and \"cuda:N\" (N >= 0)");
  };
  if (s == "cpu" || s == "cpu:0") return {TSR_DEVICE_CPU, 0};
  if (s == "cuda") return {TSR_DEVICE_CUDA, 0};
  const std::string prefix = "cuda:";
  if (s.size() <= prefix.size() || s.compare(0, prefix.size(), prefix) != 0) return bad();
  int64_t index = 0;
  for (size_t i = prefix.size(); i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return bad();
    index = index * 10 + (s[i] - '0');
    if (index > std::numeric_limits<int32_t>::max()) return bad();
  }
  return {TSR_DEVICE_CUDA, int32_t(index)};
}

tsrDataType to_tsr(DType t) {
  switch (t) {
    case DType::F64: return TSR_FLOAT64;
    case DType::F32: return TSR_FLOAT32;
    case DType::F16: return TSR_FLOAT16;
    case DType::BF16: return TSR_BFLOAT16;
    case DType::I64: return TSR_INT64;
    case DType::I32: return TSR_INT32;
    case DType::I8: return TSR_INT8;
    case DType::U8: return TSR_UINT8;
    case DType::Bool: return TSR_BOOL;
  }
  return TSR_FLOAT32;
}

DType from_tsr(tsrDataType t) {
  for (DType d :
       {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I8, DType::U8, DType::Bool})
    if (to_tsr(d) == t) return d;
  fail(ErrorCode::DType, "unknown tsrDataType " + std::to_string(int(t)));
}

void check_status(tsrStatus status, const char* what) {
  if (status == TSR_SUCCESS) return;
  std::string detail = tsrGetLastError();
  if (detail.empty()) detail = tsrStatusName(status);
  // The runtime's messages start with the API name; don't repeat it.
  const std::string w = what;
  const std::string message = detail.compare(0, w.size() + 1, w + ":") == 0 ? detail : w + ": " + detail;
  fail(status == TSR_ERROR_DEVICE_UNAVAILABLE ? ErrorCode::Device : ErrorCode::Runtime, message);
}

// ---- Storage ----

std::shared_ptr<Storage> Storage::allocate(Device device, size_t bytes) {
  void* ptr = nullptr;
  check_status(tsrMalloc(device.raw(), bytes, &ptr), "tsrMalloc");
  std::shared_ptr<Storage> s;
  try {
    s.reset(new Storage);
  } catch (...) {
    tsrFree(device.raw(), ptr);
    throw;
  }
  s->device_ = device;
  s->ptr_ = ptr;
  s->bytes_ = bytes;
  return s;
}

std::shared_ptr<Storage> Storage::wrap(Device device, void* ptr, size_t bytes, std::function<void()> release,
                                       bool read_only) {
  std::shared_ptr<Storage> s(new Storage);
  s->device_ = device;
  s->ptr_ = ptr;
  s->bytes_ = bytes;
  s->read_only_ = read_only;
  // An empty release_ means "owned"; memory owned elsewhere must never reach tsrFree.
  s->release_ = release ? std::move(release) : [] {};
  return s;
}

Storage::~Storage() {
  if (release_) {
    try {
      release_();
    } catch (...) {
      // A destructor cannot report; the owner's release failed and there is nothing to undo.
    }
  } else if (ptr_) {
    tsrFree(device_.raw(), ptr_);
  }
}

// ---- Array ----

std::vector<int64_t> Array::contiguous_strides(const std::vector<int64_t>& shape) {
  // Row-major; zero-size dims count as 1 so strides stay positive (as PyTorch does).
  std::vector<int64_t> strides(shape.size());
  int64_t step = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = step;
    step *= shape[i] > 1 ? shape[i] : 1;
  }
  return strides;
}

Array Array::empty(Device device, DType dtype, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  const auto limit = std::numeric_limits<int64_t>::max() / int64_t(dtype_size(dtype));
  for (int64_t d : shape) {
    if (d < 0) fail(ErrorCode::Shape, "negative dimension " + std::to_string(d) + " in shape " + shape_str(shape));
    if (d != 0 && n > limit / d) fail(ErrorCode::Shape, "shape " + shape_str(shape) + " is too large");
    n *= d;
  }
  Array a;
  a.storage = Storage::allocate(device, size_t(n) * dtype_size(dtype));
  a.dtype = dtype;
  a.shape = shape;
  a.strides = contiguous_strides(shape);
  return a;
}

int64_t Array::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool Array::is_contiguous() const {
  if (strides.size() != shape.size()) return false;
  if (numel() == 0) return true;
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expected) return false;  // size-1 dims may have any stride
    expected *= shape[i];
  }
  return true;
}

Array Array::clone() const {
  if (!is_contiguous()) return contiguous();  // a gather makes new memory already
  Array out = empty(device(), dtype, shape);
  if (nbytes())
    check_status(tsrMemcpy(out.data(), device().raw(), data(), device().raw(), nbytes(), nullptr), "tsrMemcpy");
  return out;
}

Array Array::to(Device device) const {
  if (device == this->device() && is_contiguous()) return *this;
  rt::check_in_bounds(*this);
  Array out = empty(device, dtype, shape);
  const size_t bytes = nbytes();
  if (bytes == 0) return out;
  const tsrDevice cpu{TSR_DEVICE_CPU, 0};
  if (is_contiguous()) {
    check_status(tsrMemcpy(out.data(), device.raw(), data(), this->device().raw(), bytes, nullptr), "tsrMemcpy");
    return out;
  }
  // A strided source: gather on the host. CUDA sources are staged through host memory for
  // now (copy the bytes the view spans, gather there); a device-side gather kernel is planned.
  const size_t es = dtype_size(dtype);
  const char* src = static_cast<const char*>(data());
  std::unique_ptr<HostBuffer> span;
  if (this->device().type != TSR_DEVICE_CPU) {
    const rt::Extent e = rt::byte_extent(shape, strides, es);
    span = std::make_unique<HostBuffer>(size_t(e.hi - e.lo));
    check_status(tsrMemcpy(span->data(), cpu, src + e.lo, this->device().raw(), size_t(e.hi - e.lo), nullptr),
                 "tsrMemcpy");
    src = span->data() - e.lo;  // element (0, ..., 0) within the staged span
  }
  if (device.type == TSR_DEVICE_CPU) {
    rt::copy_strided(out.data(), out.strides.data(), src, strides.data(), shape, es);
  } else {
    HostBuffer dense(bytes);
    rt::copy_strided(dense.data(), out.strides.data(), src, strides.data(), shape, es);
    check_status(tsrMemcpy(out.data(), device.raw(), dense.data(), cpu, bytes, nullptr), "tsrMemcpy");
  }
  return out;
}

void Array::copy_from(const Array& src) const {
  if (src.dtype != dtype || src.shape != shape || src.device() != device())
    fail(ErrorCode::Value, "copy: the source differs from the destination in dtype, shape or device");
  if (read_only()) fail(ErrorCode::Value, "cannot write into a read-only tensor (memory imported read-only)");
  rt::check_in_bounds(*this);
  Array dense = src.contiguous();
  if (nbytes() == 0) return;
  if (is_contiguous()) {
    check_status(tsrMemcpy(data(), device().raw(), dense.data(), device().raw(), nbytes(), nullptr), "tsrMemcpy");
    return;
  }
  if (device().type != TSR_DEVICE_CPU)
    fail(ErrorCode::Value, "writing into a non-contiguous " + device().str() + " tensor is not supported");
  std::vector<int64_t> dense_strides = contiguous_strides(shape);
  rt::copy_strided(data(), strides.data(), dense.data(), dense_strides.data(), shape, dtype_size(dtype));
}

}  // namespace tessera
