// DLPack export (Array -> capsule) and import (capsule or __dlpack__ producer -> Array).
//
// Ownership rules (DLPack + Python array API):
// - A capsule named "dltensor[_versioned]" owns its managed tensor until a consumer renames it
//   "used_dltensor[_versioned]"; from then on the consumer calls the tensor's deleter once.
// - Our exports keep the Array's Storage alive through manager_ctx, so the memory lives exactly
//   as long as the consumer holds it. Our imports wrap the producer's memory in a Storage whose
//   release calls the producer's deleter.
#include "python/dlpack.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "runtime/dlpack.hpp"
#include "tessera/dlpack.h"

namespace nb = nanobind;

namespace tessera::python {
namespace {
using namespace tessera::dlpack;

constexpr const char* kVersioned = "dltensor_versioned";
constexpr const char* kLegacy = "dltensor";
constexpr const char* kUsedVersioned = "used_dltensor_versioned";
constexpr const char* kUsedLegacy = "used_dltensor";

[[noreturn]] void buffer_error(const std::string& msg) { throw nb::buffer_error(msg.c_str()); }

std::string type_of(nb::handle h) { return nb::type_name(h.type()).c_str(); }

// A pair of Python ints, e.g. max_version=(1, 1) or dl_device=(2, 0).
std::pair<int64_t, int64_t> int_pair(nb::handle h, const char* what) {
  if (!PyTuple_Check(h.ptr()) && !PyList_Check(h.ptr()))
    fail(ErrorCode::Value, std::string(what) + " must be a tuple of two ints, got " + type_of(h));
  if (nb::len(h) != 2) fail(ErrorCode::Value, std::string(what) + " must be a tuple of two ints");
  int64_t v[2];
  for (int i = 0; i < 2; ++i) {
    nb::object item = h[i];
    if (!PyLong_Check(item.ptr()))
      fail(ErrorCode::Value, std::string(what) + " must be a tuple of two ints, got an item of type " + type_of(item));
    v[i] = nb::cast<int64_t>(item);
  }
  return {v[0], v[1]};
}

// Saves and restores the Python error indicator around code run by capsule destructors,
// which may be called while an exception is being raised.
struct PreserveError {
#if PY_VERSION_HEX >= 0x030C0000
  PyObject* exc = PyErr_GetRaisedException();
  ~PreserveError() { PyErr_SetRaisedException(exc); }
#else
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PreserveError() { PyErr_Fetch(&type, &value, &tb); }
  ~PreserveError() { PyErr_Restore(type, value, tb); }
#endif
};

// ---- export ----

// Keeps the Storage (and the shape/stride arrays DLTensor points at) alive for the consumer.
struct ExportCtx {
  std::shared_ptr<Storage> storage;
  std::vector<int64_t> shape, strides;
};

template <class Managed>
void export_deleter(Managed* m) {  // may run on any thread, with or without the GIL
  delete static_cast<ExportCtx*>(m->manager_ctx);
  delete m;
}

template <class Managed>
void unconsumed_capsule_destructor(PyObject* cap, const char* name) {
  // A renamed ("used_...") capsule belongs to its consumer: nothing to free here.
  if (!PyCapsule_IsValid(cap, name)) return;
  PreserveError keep;
  auto* m = static_cast<Managed*>(PyCapsule_GetPointer(cap, name));
  if (m && m->deleter) m->deleter(m);
}

void destroy_versioned(PyObject* cap) { unconsumed_capsule_destructor<DLManagedTensorVersioned>(cap, kVersioned); }
void destroy_legacy(PyObject* cap) { unconsumed_capsule_destructor<DLManagedTensor>(cap, kLegacy); }

void fill_tensor(DLTensor& t, const Array& a, ExportCtx& ctx) {
  // data points at the first element and byte_offset is 0: some consumers ignore byte_offset.
  t.data = a.data();
  t.device = device_to_dl(a.device());
  t.ndim = int32_t(a.shape.size());
  t.dtype = to_dl(a.dtype);
  t.shape = ctx.shape.data();
  t.strides = ctx.strides.data();  // always explicit (NULL strides are deprecated since 1.2)
  t.byte_offset = 0;
}

nb::object export_capsule(const Array& a, bool versioned, uint32_t minor, bool copied) {
  auto ctx = std::make_unique<ExportCtx>(ExportCtx{a.storage, a.shape, a.strides});
  PyObject* cap;
  if (versioned) {
    auto m = std::make_unique<DLManagedTensorVersioned>();
    m->version = {1, minor};
    m->manager_ctx = ctx.get();
    m->deleter = export_deleter<DLManagedTensorVersioned>;
    m->flags = (a.read_only() ? DLPACK_FLAG_BITMASK_READ_ONLY : 0) | (copied ? DLPACK_FLAG_BITMASK_IS_COPIED : 0);
    fill_tensor(m->dl_tensor, a, *ctx);
    cap = PyCapsule_New(m.get(), kVersioned, destroy_versioned);
    if (!cap) throw nb::python_error();
    m.release();
  } else {
    auto m = std::make_unique<DLManagedTensor>();
    m->manager_ctx = ctx.get();
    m->deleter = export_deleter<DLManagedTensor>;
    fill_tensor(m->dl_tensor, a, *ctx);
    cap = PyCapsule_New(m.get(), kLegacy, destroy_legacy);
    if (!cap) throw nb::python_error();
    m.release();
  }
  ctx.release();
  return nb::steal(cap);
}

// ---- import ----

struct Imported {
  Array array;
  bool copied = false;  // the producer made this copy for us (IS_COPIED)
};

bool is_used_name(const char* name) { return name && std::strncmp(name, "used_", 5) == 0; }

Imported import_capsule(nb::handle cap) {
  PyObject* o = cap.ptr();
  if (!PyCapsule_CheckExact(o))
    fail(ErrorCode::DType, "from_dlpack: expected an object with __dlpack__ or a DLPack capsule, got " + type_of(cap));
  const char* name = PyCapsule_GetName(o);
  if (!name && PyErr_Occurred()) throw nb::python_error();
  if (is_used_name(name))
    fail(ErrorCode::Value, "from_dlpack: this DLPack capsule was already consumed (named '" + std::string(name) +
                               "'); a capsule can be imported only once");
  bool versioned = name && std::strcmp(name, kVersioned) == 0;
  if (!versioned && !(name && std::strcmp(name, kLegacy) == 0))
    fail(ErrorCode::Value, "from_dlpack: not a DLPack capsule: its name is '" + std::string(name ? name : "NULL") +
                               "', expected 'dltensor_versioned' or 'dltensor'");
  void* ptr = PyCapsule_GetPointer(o, name);
  if (!ptr) {
    PyErr_Clear();
    fail(ErrorCode::Value, "from_dlpack: DLPack capsule holds a NULL pointer");
  }

  DLTensor* t;
  uint64_t flags = 0;
  std::function<void()> release;
  if (versioned) {
    auto* m = static_cast<DLManagedTensorVersioned*>(ptr);
    if (m->version.major != DLPACK_MAJOR_VERSION)
      fail(ErrorCode::Value, "from_dlpack: DLPack version " + std::to_string(m->version.major) + "." +
                                 std::to_string(m->version.minor) + " is not supported (Tessera reads 1.x)");
    t = &m->dl_tensor;
    flags = m->flags;
    release = [m] {
      if (m->deleter) m->deleter(m);
    };
  } else {
    auto* m = static_cast<DLManagedTensor*>(ptr);
    t = &m->dl_tensor;
    release = [m] {
      if (m->deleter) m->deleter(m);
    };
  }

  // Validate everything before taking ownership: on failure the capsule stays unconsumed and
  // its own destructor frees the tensor.
  int64_t lo_bytes;
  size_t span;
  Array a = describe(*t, lo_bytes, span);
  Device dev = device_from_dl(t->device.device_type, t->device.device_id);
  if (dev.type == TSR_DEVICE_CUDA) require_device(dev);

  // Consume: from here on we own the tensor and call its deleter exactly once.
  if (PyCapsule_SetName(o, versioned ? kUsedVersioned : kUsedLegacy) != 0) throw nb::python_error();
  char* first = static_cast<char*>(t->data) + t->byte_offset;
  a.storage =
      Storage::wrap(dev, first + lo_bytes, span, std::move(release), (flags & DLPACK_FLAG_BITMASK_READ_ONLY) != 0);
  a.offset_bytes = size_t(-lo_bytes);
  return {std::move(a), (flags & DLPACK_FLAG_BITMASK_IS_COPIED) != 0};
}

// obj.__dlpack__(...) per the 2023.12 protocol, with the pre-2023 signature as a fallback.
nb::object call_dlpack(nb::handle obj, Device src, std::optional<bool> copy) {
  nb::object method = obj.attr("__dlpack__");
  nb::dict kwargs;
  kwargs["max_version"] = nb::make_tuple(DLPACK_MAJOR_VERSION, DLPACK_MINOR_VERSION);
  // Tessera works on CUDA's legacy default stream (1); CPU producers take stream=None.
  if (src.type == TSR_DEVICE_CUDA) kwargs["stream"] = 1;
  if (copy) kwargs["copy"] = *copy;
  try {
    return method(**kwargs);
  } catch (nb::python_error& e) {
    if (!e.matches(PyExc_TypeError)) throw;
  }
  if (src.type == TSR_DEVICE_CUDA) return method(nb::arg("stream") = 1);
  return method();
}

}  // namespace

void require_device(Device device) {
  if (device.type == TSR_DEVICE_CPU) return;
  int32_t count = 0;
  check_status(tsrDeviceCount(device.type, &count), "tsrDeviceCount");
  if (count == 0)
    fail(ErrorCode::Device,
         "CUDA is not available: no CUDA driver or GPU was found (device '" + device.str() + "' was requested)");
  if (device.index < 0 || device.index >= count)
    fail(ErrorCode::Device,
         "device '" + device.str() + "' does not exist: there are " + std::to_string(count) + " CUDA device(s)");
}

Array copy_array(const Array& a, Device device) {
  require_device(device);
  nb::gil_scoped_release nogil;
  if (!a.is_contiguous() || a.device() != device) {
    Array r = a.to(device);
    if (r.storage != a.storage) return r;
  }
  Array out = Array::empty(device, a.dtype, a.shape);
  if (a.nbytes() > 0)
    check_status(tsrMemcpy(out.data(), device.raw(), a.data(), a.device().raw(), a.nbytes(), nullptr), "tsrMemcpy");
  return out;
}

nb::object array_dlpack(const Array& a, nb::handle stream, nb::handle max_version, nb::handle dl_device,
                        std::optional<bool> copy) {
  // Consumers asking for (1, x) or newer get a versioned capsule at version min(x, 1).
  bool versioned = false;
  uint32_t minor = DLPACK_MINOR_VERSION;
  if (!max_version.is_none()) {
    auto [major, min] = int_pair(max_version, "__dlpack__: max_version");
    versioned = major >= 1;
    if (major == 1) minor = uint32_t(std::clamp<int64_t>(min, 0, DLPACK_MINOR_VERSION));
  }

  Device src = a.device(), dst = src;
  if (!dl_device.is_none()) {
    auto [type, id] = int_pair(dl_device, "__dlpack__: dl_device");
    if (type != kDLCPU && type != kDLCUDA)
      buffer_error("__dlpack__: cannot export to DLPack device " + std::string(dl_device_name(type)) +
                   "; Tessera exports to CPU (1) and CUDA (2)");
    dst = device_from_dl(type, id);
  }
  bool need_copy = copy.value_or(false);
  if (dst != src) {
    if (copy && !*copy)
      buffer_error("__dlpack__: the array is on " + src.str() + " but dl_device " + dst.str() +
                   " was requested with copy=False");
    need_copy = true;
  }

  std::optional<int64_t> stream_id;
  if (!stream.is_none()) {
    if (src.type == TSR_DEVICE_CPU && dst.type == TSR_DEVICE_CPU)
      fail(ErrorCode::Value,
           "__dlpack__: stream must be None for CPU arrays, got " + std::string(nb::repr(stream).c_str()));
    if (!PyLong_Check(stream.ptr()))
      fail(ErrorCode::Value, "__dlpack__: stream must be an int or None, got " + type_of(stream));
    stream_id = nb::cast<int64_t>(stream);
    if (*stream_id == 0)
      fail(ErrorCode::Value,
           "__dlpack__: stream 0 is ambiguous for CUDA; pass 1 (legacy default) "
           "or 2 (per-thread default)");
  }
  // Tessera's CUDA work runs on the legacy default stream. Rather than ordering the consumer's
  // stream after it with an event, we conservatively wait for the whole device before export.
  // stream -1 means the consumer asks for no synchronization.
  if (src.type == TSR_DEVICE_CUDA && stream_id != -1) {
    nb::gil_scoped_release nogil;
    check_status(tsrDeviceSynchronize(src.raw()), "tsrDeviceSynchronize");
  }

  Array out = need_copy ? copy_array(a, dst) : a;
  if (!versioned && out.read_only())
    buffer_error(
        "__dlpack__: cannot export a read-only array as a legacy DLPack capsule, which "
        "has no read-only flag; the consumer must pass max_version >= (1, 0), or use copy=True");
  return export_capsule(out, versioned, minor, need_copy);
}

nb::tuple array_dlpack_device(const Array& a) {
  DLDevice d = device_to_dl(a.device());
  return nb::make_tuple(int(d.device_type), int(d.device_id));
}

Array from_dlpack(nb::handle obj, std::optional<Device> device, std::optional<bool> copy) {
  Imported imp;
  if (PyCapsule_CheckExact(obj.ptr())) {
    imp = import_capsule(obj);
  } else {
    if (!nb::hasattr(obj, "__dlpack__"))
      fail(ErrorCode::DType,
           "from_dlpack: object of type '" + type_of(obj) + "' does not support DLPack (it has no __dlpack__ method)");
    // Ask where the data lives first: unsupported devices fail before any export happens.
    Device src{TSR_DEVICE_CPU, 0};
    if (nb::hasattr(obj, "__dlpack_device__")) {
      auto [type, id] = int_pair(obj.attr("__dlpack_device__")(), "__dlpack_device__()");
      src = device_from_dl(type, id);
    }
    Device dst = device.value_or(src);
    if (dst != src && copy && !*copy)
      buffer_error("from_dlpack: the data is on " + src.str() + " but device " + dst.str() +
                   " was requested with copy=False");
    if (src.type == TSR_DEVICE_CUDA) require_device(src);
    // Cross-device copies are ours to make: ask the producer for a plain view then.
    imp = import_capsule(call_dlpack(obj, src, dst == src ? copy : std::nullopt));
  }

  Device dst = device.value_or(imp.array.device());
  if (dst != imp.array.device()) {
    if (copy && !*copy)
      buffer_error("from_dlpack: the data is on " + imp.array.device().str() + " but device " + dst.str() +
                   " was requested with copy=False");
    return copy_array(imp.array, dst);
  }
  // copy=True: the producer may have copied already (IS_COPIED); else copy here.
  if (copy && *copy && !imp.copied) return copy_array(imp.array, dst);
  return imp.array;
}

}  // namespace tessera::python
