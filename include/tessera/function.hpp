// The core of the C++ API (tessera/tessera.hpp includes it with the generated ops): values,
// functions, tensors and executables over the compiler's C ABI (tessera/compiler.h).
#pragma once
#include <charconv>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "tessera/compiler.h"
#include "tessera/runtime.hpp"

namespace tessera {

using rt::check;
using rt::Error;
using rt::OwnedTensor;

enum class DType : int {
  f64 = TSR_FLOAT64,
  f32 = TSR_FLOAT32,
  f16 = TSR_FLOAT16,
  bf16 = TSR_BFLOAT16,
  i64 = TSR_INT64,
  i32 = TSR_INT32,
  i8 = TSR_INT8,
  u8 = TSR_UINT8,
  boolean = TSR_BOOL
};

inline const char* dtype_name(DType t) {
  static const char* names[] = {"f64", "f32", "f16", "bf16", "i64", "i32", "i8", "u8", "bool"};
  return names[int(t)];
}

struct Device {
  tsrDevice raw{TSR_DEVICE_CPU, 0};
  static Device cpu() { return {}; }
  static Device cuda(int32_t index = 0) { return {{TSR_DEVICE_CUDA, index}}; }
};

namespace detail {

// Attribute values written as Graph IR prints them (parsed back by tsrFunctionAddOp).
inline std::string attr(int64_t v) { return std::to_string(v); }
inline std::string attr(int v) { return std::to_string(v); }
inline std::string attr(bool v) { return v ? "true" : "false"; }
inline std::string attr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  std::string s(buf, r.ptr);
  return s.find_first_of(".e") == std::string::npos ? s + ".0" : s;
}
inline std::string attr(const std::string& v) {
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20 || c == 0x7f) {
      const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}
inline std::string attr(const char* v) { return attr(std::string(v)); }
inline std::string attr(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace detail

// An attribute that is one axis or a list of them (sum's axis, ...), like the Python API.
struct Axes {
  std::string text;  // empty: not given (an optional attribute left out)
  Axes() = default;
  Axes(int a) : text(detail::attr(a)) {}                                                   // NOLINT: implicit
  Axes(int64_t a) : text(detail::attr(a)) {}                                               // NOLINT
  Axes(const std::vector<int64_t>& a) : text(detail::attr(a)) {}                           // NOLINT
  Axes(std::initializer_list<int64_t> a) : text(detail::attr(std::vector<int64_t>(a))) {}  // NOLINT
};
// One size for every spatial dim, or one per dim (conv strides, kernel sizes).
struct Sizes : Axes {
  using Axes::Axes;
};
// Convolution padding: a size, one per dim, or a mode ("same", "valid").
struct Padding : Axes {
  using Axes::Axes;
  Padding(const char* mode) : Axes(0) { text = detail::attr(mode); }         // NOLINT
  Padding(const std::string& mode) : Axes(0) { text = detail::attr(mode); }  // NOLINT
};
namespace detail {

inline std::string attr(const Axes& a) { return a.text; }

// An attribute dict's text, built one entry at a time.
class Attrs {
 public:
  template <class T>
  void add(const char* name, const T& value) {
    if constexpr (std::is_base_of_v<Axes, T>)
      if (value.text.empty()) return;
    text_ += (text_.empty() ? "" : ", ") + std::string(name) + " = " + attr(value);
  }
  template <class T>
  void add(const char* name, const std::optional<T>& value) {
    if (value) add(name, *value);
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace detail

using FunctionHandle = std::shared_ptr<tsrFunction_t>;

// A value of a function being built: a parameter or an op's result. It keeps its function alive.
class Value {
 public:
  Value() = default;
  Value(FunctionHandle fn, int32_t id) : fn_(std::move(fn)), id_(id) {}
  tsrFunction function() const { return fn_.get(); }
  const FunctionHandle& handle() const { return fn_; }
  int32_t id() const { return id_; }
  DType dtype() const { return DType(info().dtype); }
  std::vector<int64_t> shape() const {
    tsrTensorInfo t = info();
    return std::vector<int64_t>(t.shape, t.shape + t.ndim);
  }

 private:
  tsrTensorInfo info() const {
    tsrTensorInfo t;
    check(tsrFunctionValueType(fn_.get(), id_, &t));
    return t;
  }
  FunctionHandle fn_;
  int32_t id_ = -1;
};

namespace detail {
// Appends op `name`; the results are values of the operands' function.
inline std::vector<Value> apply(const char* name, const std::vector<Value>& operands, const std::string& attrs) {
  if (operands.empty()) throw Error(TSR_ERROR_INVALID_ARGUMENT, std::string(name) + ": needs at least one operand");
  tsrFunction fn = operands[0].function();
  std::vector<int32_t> ids;
  for (const Value& v : operands) {
    if (!fn || v.function() != fn)
      throw Error(TSR_ERROR_INVALID_ARGUMENT, std::string(name) + ": operands belong to different functions");
    ids.push_back(v.id());
  }
  int32_t first = 0, n = 0;
  check(tsrFunctionAddOp(fn, name, ids.data(), int32_t(ids.size()), attrs.c_str(), nullptr, &first, &n));
  std::vector<Value> out;
  for (int32_t i = 0; i < n; ++i) out.emplace_back(operands[0].handle(), first + i);
  return out;
}
}  // namespace detail

// A tensor handed to or returned by an executable: host memory the Tensor owns (from()), or a
// result the runtime made (an OwnedTensor), seen through DLPack.
class Tensor {
 public:
  template <class T>
  static Tensor from(std::vector<T> data, std::vector<int64_t> shape, bool unchecked = false) {
    static_assert(!std::is_same_v<T, bool>, "std::vector<bool> packs bits: use Tensor::from_bytes for bool");
    size_t n = 1;
    for (int64_t d : shape) n *= size_t(d);
    if (!unchecked && n != data.size())
      throw Error(TSR_ERROR_INVALID_ARGUMENT, "Tensor::from: the data does not fill the shape");
    auto owned = std::make_shared<std::vector<T>>(std::move(data));
    Tensor t;
    t.shape_ = std::move(shape);
    t.keep_ = owned;
    t.dl_.data = owned->data();
    t.dl_.device = {kDLCPU, 0};
    t.dl_.ndim = int32_t(t.shape_.size());
    t.dl_.dtype = dl_type<T>();
    return t;
  }
  // Elements of any dtype as raw bytes (bool: one byte each, 0 or 1; f16/bf16: their 16 bits).
  static Tensor from_bytes(std::vector<uint8_t> bytes, DType dtype, std::vector<int64_t> shape) {
    Tensor t = from(std::move(bytes), {int64_t(0)}, true);
    t.shape_ = std::move(shape);
    t.dl_.ndim = int32_t(t.shape_.size());
    t.dl_.dtype = dl_type(dtype);
    size_t n = dtype_bytes(dtype);
    for (int64_t d : t.shape_) n *= size_t(d);
    if (n != static_cast<std::vector<uint8_t>*>(t.keep_.get())->size())
      throw Error(TSR_ERROR_INVALID_ARGUMENT, "Tensor::from_bytes: the bytes do not fill the shape");
    return t;
  }
  explicit Tensor(OwnedTensor t) : shape_(t->dl_tensor.shape, t->dl_tensor.shape + t->dl_tensor.ndim) {
    dl_ = t->dl_tensor;
    dl_.shape = nullptr;  // dl() points it at shape_
    keep_ = std::shared_ptr<DLManagedTensorVersioned>(t.release(), rt::TensorDeleter());
  }
  // The tensor as DLPack sees it; valid while this Tensor lives.
  DLTensor dl() const {
    DLTensor t = dl_;
    t.shape = const_cast<int64_t*>(shape_.data());  // shape_ moves with the Tensor; dl_ keeps no pointer
    return t;
  }
  // A copy in new memory on `device` (the CPU, or a CUDA device: inputs of programs compiled
  // for it, results read back). Tensors here are contiguous (from(), executables' results).
  Tensor to(Device device) const {
    if (!contiguous()) throw Error(TSR_ERROR_NOT_SUPPORTED, "Tensor::to: a strided tensor");
    const size_t n = nbytes();
    void* p = nullptr;
    const tsrDevice dev = device.raw;
    check(tsrMalloc(dev, n ? n : 1, &p));
    Tensor t;
    t.keep_ = std::shared_ptr<void>(p, [dev](void* q) { tsrFree(dev, q); });
    if (n) check(tsrMemcpy(p, dev, data(), where(), n, nullptr));
    t.shape_ = shape_;
    t.dl_ = dl_;
    t.dl_.data = p;
    t.dl_.strides = nullptr;  // contiguous
    t.dl_.byte_offset = 0;
    t.dl_.device = {DLDeviceType(dev.type), dev.index};  // tsrDeviceType codes are DLPack's
    return t;
  }
  // The elements' raw bytes (copied to the host first if they are on a GPU).
  std::vector<uint8_t> to_bytes() const {
    if (dl_.device.device_type != kDLCPU) return to(Device::cpu()).to_bytes();
    const uint8_t* p = static_cast<const uint8_t*>(data());
    return std::vector<uint8_t>(p, p + nbytes());
  }
  const std::vector<int64_t>& shape() const { return shape_; }
  size_t nbytes() const {
    size_t n = dl_.dtype.bits / 8u;
    for (int64_t d : shape_) n *= size_t(d);
    return n;
  }
  // The elements (copied to the host first if they are on a GPU).
  template <class T>
  std::vector<T> to_vector() const {
    DLDataType want = dl_type<T>();
    if (dl_.dtype.code != want.code || dl_.dtype.bits != want.bits)
      throw Error(TSR_ERROR_INVALID_ARGUMENT, "Tensor::to_vector: the element type differs");
    if (dl_.device.device_type != kDLCPU) return to(Device::cpu()).to_vector<T>();
    std::vector<T> out(nbytes() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), data(), nbytes());
    return out;
  }

 private:
  Tensor() = default;
  const void* data() const { return static_cast<const char*>(dl_.data) + dl_.byte_offset; }
  bool contiguous() const {
    int64_t expect = 1;
    for (size_t d = shape_.size(); dl_.strides && d-- > 0;) {
      if (shape_[d] != 1 && dl_.strides[d] != expect) return false;
      expect *= shape_[d];
    }
    return true;
  }
  tsrDevice where() const { return {tsrDeviceType(dl_.device.device_type), dl_.device.device_id}; }
  static size_t dtype_bytes(DType t) {
    static const uint8_t sizes[] = {8, 4, 2, 2, 8, 4, 1, 1, 1};
    return sizes[int(t)];
  }
  static DLDataType dl_type(DType t) {
    static const uint8_t codes[] = {kDLFloat, kDLFloat, kDLFloat, kDLBfloat, kDLInt, kDLInt, kDLInt, kDLUInt, kDLBool};
    return {codes[int(t)], uint8_t(dtype_bytes(t) * 8), 1};
  }
  template <class T>
  static DLDataType dl_type() {
    static_assert(std::is_arithmetic_v<T>, "Tensor holds numbers");
    if constexpr (std::is_floating_point_v<T>) return {kDLFloat, uint8_t(sizeof(T) * 8), 1};
    if constexpr (std::is_signed_v<T>) return {kDLInt, uint8_t(sizeof(T) * 8), 1};
    return {kDLUInt, uint8_t(sizeof(T) * 8), 1};
  }
  std::vector<int64_t> shape_;
  std::shared_ptr<void> keep_;
  DLTensor dl_{};
};

// A compiled function, loaded on its device; safe to run from several threads.
class Executable {
 public:
  explicit Executable(tsrExecutable raw) : raw_(raw, [](tsrExecutable e) { tsrExecutableDestroy(e); }) {
    check(tsrExecutableNumOutputs(raw, &num_outputs_));
  }
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) const {
    std::vector<DLTensor> in;
    for (const Tensor& t : inputs) in.push_back(t.dl());
    std::vector<DLManagedTensorVersioned*> raw(size_t(num_outputs_), nullptr);
    std::vector<OwnedTensor> owned;
    owned.reserve(raw.size());  // taken without allocating: nothing leaks if a later step throws
    check(tsrExecutableRun(raw_.get(), in.data(), int32_t(in.size()), raw.data(), num_outputs_));
    for (DLManagedTensorVersioned* t : raw) owned.emplace_back(t);
    std::vector<Tensor> out;
    out.reserve(owned.size());
    for (OwnedTensor& t : owned) out.emplace_back(std::move(t));
    return out;
  }

 private:
  std::shared_ptr<tsrExecutable_t> raw_;
  int32_t num_outputs_ = 0;
};

// A Graph IR function under construction, then finished by set_outputs().
class Function {
 public:
  Function() {
    tsrFunction f = nullptr;
    check(tsrFunctionCreate(&f));
    raw_.reset(f, [](tsrFunction p) { tsrFunctionDestroy(p); });
  }
  Value param(DType dtype, const std::vector<int64_t>& shape) {
    int32_t id = 0;
    check(tsrFunctionAddParam(raw_.get(), tsrDataType(dtype), int32_t(shape.size()), shape.data(), &id));
    return Value(raw_, id);
  }
  // A constant of this function (rank 0: it broadcasts against anything).
  Value constant(double value, DType dtype = DType::f32) {
    detail::Attrs a;
    a.add("value", value);
    std::string attrs = a.text() + ", type = " + dtype_name(dtype) + "[]";
    int32_t first = 0, n = 0;
    check(tsrFunctionAddOp(raw_.get(), "constant", nullptr, 0, attrs.c_str(), nullptr, &first, &n));
    return Value(raw_, first);
  }
  void set_outputs(const std::vector<Value>& outputs) {
    std::vector<int32_t> ids;
    for (const Value& v : outputs) {
      if (v.function() != raw_.get())
        throw Error(TSR_ERROR_INVALID_ARGUMENT, "set_outputs: a value of another function");
      ids.push_back(v.id());
    }
    check(tsrFunctionSetOutputs(raw_.get(), ids.data(), int32_t(ids.size())));
  }
  // The outputs and the gradient of the first output (one element) with respect to the
  // parameters numbered in `wrt`, as a new function of the same parameters.
  Function grad(const std::vector<int32_t>& wrt) const {
    tsrFunction g = nullptr;
    check(tsrFunctionGrad(raw_.get(), wrt.data(), int32_t(wrt.size()), &g));
    return Function(g);
  }
  Executable compile(Device device = Device::cpu(), const std::string& target = "") const {
    tsrExecutable e = nullptr;
    check(tsrFunctionCompile(raw_.get(), device.raw, target.c_str(), &e));
    return Executable(e);
  }
  // Writes a program file that tsrProgramLoad / tessera::rt::Program run without the compiler.
  void export_to(const std::string& path, const std::string& target = "cpu") const {
    check(tsrFunctionExport(raw_.get(), target.c_str(), path.c_str()));
  }
  std::string text() const {
    const char* t = nullptr;
    check(tsrFunctionText(raw_.get(), &t));
    return t;
  }
  int32_t num_outputs() const {  // 0 until set_outputs
    int32_t n = 0;
    check(tsrFunctionNumOutputs(raw_.get(), &n));
    return n;
  }
  tsrFunction get() const { return raw_.get(); }

 private:
  explicit Function(tsrFunction raw) : raw_(raw, [](tsrFunction p) { tsrFunctionDestroy(p); }) {}
  FunctionHandle raw_;
};

}  // namespace tessera
