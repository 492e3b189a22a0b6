// _C.Array, array creation, byte conversion, devices and DLPack entry points.
// Arguments arrive already checked by python/tessera (tensor.py, device.py); the checks here
// keep bad input from the C++ side an error rather than a crash.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstring>

#include "common/half.hpp"
#include "python/bindings.hpp"
#include "python/dlpack.hpp"
#include "runtime/array.hpp"
#include "runtime/fill.hpp"
#include "runtime/random.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace tessera::python {
namespace {

DType dtype_arg(const std::string& s) {
  if (auto t = parse_dtype(s)) return *t;
  fail(ErrorCode::DType, "unknown dtype '" + s + "'; valid: f64, f32, f16, bf16, i64, i32, i8, u8, bool");
}

// Parses and checks that the device exists ("CUDA is not available" without a GPU).
Device device_arg(const std::string& s) {
  Device d = Device::parse(s);
  require_device(d);
  return d;
}

nb::tuple int_tuple(const std::vector<int64_t>& v) {
  PyObject* t = PyTuple_New(Py_ssize_t(v.size()));
  if (!t) throw nb::python_error();
  nb::tuple result = nb::steal<nb::tuple>(t);
  for (size_t i = 0; i < v.size(); ++i) PyTuple_SetItem(t, Py_ssize_t(i), PyLong_FromLongLong(v[i]));
  return result;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

// A CPU buffer view of a bytes-like object (bytes, bytearray, array.array, memoryview).
struct BufferView {
  Py_buffer view{};
  explicit BufferView(nb::handle obj) {
    if (PyObject_GetBuffer(obj.ptr(), &view, PyBUF_SIMPLE) != 0) {
      PyErr_Clear();
      fail(ErrorCode::Value, std::string("from_bytes: expected a contiguous bytes-like object, got ") +
                                 nb::type_name(obj.type()).c_str());
    }
  }
  ~BufferView() { PyBuffer_Release(&view); }
};

// Rounds f64 values once to the float dtype `t` (no double rounding through f32).
void convert_from_f64(const double* src, Array& out) {
  const int64_t n = out.numel();
  void* dst = out.data();
  switch (out.dtype) {
    case DType::F32:
      for (int64_t i = 0; i < n; ++i) static_cast<float*>(dst)[i] = float(src[i]);
      break;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = double_to_half_bits(src[i]);
      break;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = double_to_bf16_bits(src[i]);
      break;
    case DType::F64: std::memcpy(dst, src, size_t(n) * 8); break;
    default: fail(ErrorCode::DType, std::string("from_bytes: cannot convert f64 data to ") + dtype_name(out.dtype));
  }
}

Array from_bytes(nb::handle data, const std::vector<int64_t>& shape, const std::string& dtype,
                 const std::string& device, std::optional<std::string> src_dtype) {
  DType dt = dtype_arg(dtype);
  DType src = src_dtype ? dtype_arg(*src_dtype) : dt;
  Device dev = device_arg(device);
  BufferView buf(data);
  Array out = Array::empty(Device{}, dt, shape);
  size_t need = size_t(out.numel()) * dtype_size(src);
  if (size_t(buf.view.len) != need)
    fail(ErrorCode::Shape, "from_bytes: got " + std::to_string(buf.view.len) + " bytes but shape " + shape_str(shape) +
                               " of " + dtype_name(src) + " needs " + std::to_string(need));
  {
    nb::gil_scoped_release nogil;
    if (src == dt)
      std::memcpy(out.data(), buf.view.buf, need);
    else if (src == DType::F64)
      convert_from_f64(static_cast<const double*>(buf.view.buf), out);
    else
      fail(ErrorCode::DType,
           std::string("from_bytes: cannot convert ") + dtype_name(src) + " data to " + dtype_name(dt));
    if (dev != out.device()) out = out.to(dev);
  }
  return out;
}

// The elements as bytes, row-major, copied to the CPU when needed.
nb::bytes to_bytes(const Array& a) {
  Array host = a;
  {
    nb::gil_scoped_release nogil;
    host = a.to(Device{});
  }
  PyObject* b = PyBytes_FromStringAndSize(nullptr, Py_ssize_t(host.nbytes()));
  if (!b) throw nb::python_error();
  nb::bytes result = nb::steal<nb::bytes>(b);
  char* dst = PyBytes_AsString(b);
  {
    nb::gil_scoped_release nogil;
    if (host.nbytes()) std::memcpy(dst, host.data(), host.nbytes());
  }
  return result;
}

tsrDeviceType kind_arg(const std::string& kind) {
  if (kind == "cpu") return TSR_DEVICE_CPU;
  if (kind == "cuda") return TSR_DEVICE_CUDA;
  fail(ErrorCode::Device, "unknown device type '" + kind + "'; expected 'cpu' or 'cuda'");
}

nb::dict device_properties(const std::string& device) {
  Device d = device_arg(device);
  tsrDeviceProperties p{};
  check_status(tsrGetDeviceProperties(d.raw(), &p), "tsrGetDeviceProperties");
  nb::dict r;
  r["name"] = std::string(p.name, strnlen(p.name, sizeof(p.name)));
  r["device"] = d.str();
  r["total_memory"] = p.total_memory;
  r["compute_capability"] = nb::make_tuple(p.compute_capability_major, p.compute_capability_minor);
  r["multiprocessor_count"] = p.multiprocessor_count;
  r["max_threads_per_block"] = p.max_threads_per_block;
  r["warp_size"] = p.warp_size;
  r["shared_memory_per_block"] = p.shared_memory_per_block;
  r["driver_version"] = p.driver_version;
  return r;
}

std::string array_repr(const Array& a) {
  return "<tessera._C.Array " + std::string(dtype_name(a.dtype)) + shape_str(a.shape) + " on " + a.device().str() +
         (a.read_only() ? ", read-only" : "") + ">";
}

}  // namespace

void bind_array(nb::module_& m) {
  nb::class_<Array>(m, "Array", "A typed strided view of device memory (Tensor's realized data).")
      .def_prop_ro("shape", [](const Array& a) { return int_tuple(a.shape); })
      .def_prop_ro(
          "strides", [](const Array& a) { return int_tuple(a.strides); }, "In elements.")
      .def_prop_ro("dtype", [](const Array& a) { return dtype_name(a.dtype); })
      .def_prop_ro("device", [](const Array& a) { return a.device().str(); })
      .def_prop_ro("nbytes", [](const Array& a) { return a.nbytes(); })
      .def_prop_ro("numel", [](const Array& a) { return a.numel(); })
      .def_prop_ro("data_ptr", [](const Array& a) { return reinterpret_cast<uintptr_t>(a.data()); })
      .def_prop_ro("read_only", [](const Array& a) { return a.read_only(); })
      .def_prop_ro("is_contiguous", [](const Array& a) { return a.is_contiguous(); })
      .def(
          "to",
          [](const Array& a, const std::string& device) {
            Device d = device_arg(device);
            nb::gil_scoped_release nogil;
            return a.to(d);
          },
          "device"_a, "A contiguous array on `device` (this one when it is already).")
      .def("contiguous",
           [](const Array& a) {
             nb::gil_scoped_release nogil;
             return a.contiguous();
           })
      .def(
          "copy_from",
          [](const Array& a, const Array& src) {
            nb::gil_scoped_release nogil;
            a.copy_from(src);
          },
          "src"_a, "Writes src's elements into this array's memory (same dtype, shape, device).")
      .def("__dlpack__", &array_dlpack, nb::kw_only(), "stream"_a = nb::none(), "max_version"_a = nb::none(),
           "dl_device"_a = nb::none(), "copy"_a = nb::none())
      .def("__dlpack_device__", &array_dlpack_device)
      .def("__repr__", &array_repr);

  m.def(
      "from_dlpack",
      [](nb::handle obj, std::optional<std::string> device, std::optional<bool> copy) {
        std::optional<Device> d;  // checked where a copy there is made: copy=False errors come first
        if (device) d = Device::parse(*device);
        return from_dlpack(obj, d, copy);
      },
      "obj"_a.none(), "device"_a = nb::none(), "copy"_a = nb::none());

  // ---- creation ----
  m.def(
      "empty",
      [](const std::vector<int64_t>& shape, const std::string& dtype, const std::string& device) {
        DType dt = dtype_arg(dtype);
        Device d = device_arg(device);
        nb::gil_scoped_release nogil;
        return Array::empty(d, dt, shape);
      },
      "shape"_a, "dtype"_a, "device"_a);
  m.def(
      "full",
      [](const std::vector<int64_t>& shape, double value, const std::string& dtype, const std::string& device) {
        DType dt = dtype_arg(dtype);
        Device d = device_arg(device);
        nb::gil_scoped_release nogil;
        Array a = Array::empty(d, dt, shape);
        fill(a, value);
        return a;
      },
      "shape"_a, "value"_a, "dtype"_a, "device"_a);
  m.def(
      "arange",
      [](double start, double step, int64_t n, const std::string& dtype, const std::string& device) {
        DType dt = dtype_arg(dtype);
        Device d = device_arg(device);
        if (n < 0) fail(ErrorCode::Value, "arange: negative length " + std::to_string(n));
        nb::gil_scoped_release nogil;
        Array a = Array::empty(d, dt, {n});
        arange(a, start, step);
        return a;
      },
      "start"_a, "step"_a, "n"_a, "dtype"_a, "device"_a);
  m.def(
      "rand",
      [](const std::vector<int64_t>& shape, uint64_t seed, const std::string& dtype, const std::string& device) {
        DType dt = dtype_arg(dtype);
        Device d = device_arg(device);
        nb::gil_scoped_release nogil;
        Array a = Array::empty(d, dt, shape);
        rand_uniform(a, seed);
        return a;
      },
      "shape"_a, "seed"_a, "dtype"_a, "device"_a, "Uniform [0, 1) values (Philox).");
  m.def(
      "randn",
      [](const std::vector<int64_t>& shape, uint64_t seed, const std::string& dtype, const std::string& device) {
        DType dt = dtype_arg(dtype);
        Device d = device_arg(device);
        nb::gil_scoped_release nogil;
        Array a = Array::empty(d, dt, shape);
        rand_normal(a, seed);
        return a;
      },
      "shape"_a, "seed"_a, "dtype"_a, "device"_a, "Standard normal values (Philox).");
  m.def("from_bytes", &from_bytes, "data"_a, "shape"_a, "dtype"_a, "device"_a, "src_dtype"_a = nb::none(),
        "An array from row-major element bytes; src_dtype='f64' rounds float64 data to dtype.");
  m.def("to_bytes", &to_bytes, "array"_a);

  // ---- devices ----
  m.def(
      "device_count",
      [](const std::string& kind) {
        int32_t n = 0;
        check_status(tsrDeviceCount(kind_arg(kind), &n), "tsrDeviceCount");
        return n;
      },
      "kind"_a);
  m.def("device_properties", &device_properties, "device"_a);
  m.def(
      "set_cpu_threads",
      [](int32_t n) {
        if (n < 1) fail(ErrorCode::Value, "set_cpu_threads: n must be >= 1, got " + std::to_string(n));
        check_status(tsrSetCpuThreads(n), "tsrSetCpuThreads");
      },
      "n"_a);
  m.def("get_cpu_threads", [] { return tsrGetCpuThreads(); });
  m.def(
      "release_cache",
      [](const std::string& device) {
        size_t released = 0;
        check_status(tsrDeviceReleaseCache(device_arg(device).raw(), &released), "tsrDeviceReleaseCache");
        return released;
      },
      "device"_a);
  m.def(
      "memory_stats",
      [](const std::string& device) {
        tsrMemoryStats s{};
        check_status(tsrDeviceMemoryStats(device_arg(device).raw(), &s), "tsrDeviceMemoryStats");
        nb::dict d;
        d["allocated_bytes"] = s.allocated;
        d["peak_allocated_bytes"] = s.peak;
        d["cached_bytes"] = s.cached;
        d["allocations"] = s.allocations;
        return d;
      },
      "device"_a);
  m.def(
      "reset_peak_memory_stats",
      [](const std::string& device) {
        check_status(tsrDeviceResetPeakMemory(device_arg(device).raw()), "tsrDeviceResetPeakMemory");
      },
      "device"_a);
  m.def(
      "synchronize",
      [](const std::string& device) {
        Device d = device_arg(device);
        nb::gil_scoped_release nogil;
        check_status(tsrDeviceSynchronize(d.raw()), "tsrDeviceSynchronize");
      },
      "device"_a);
}

}  // namespace tessera::python
