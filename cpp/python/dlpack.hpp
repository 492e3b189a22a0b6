// DLPack exchange between tessera Arrays and other libraries (NumPy, PyTorch, ...), both ways,
// zero-copy where the devices allow. Follows the Python array API 2023.12 protocol.
#pragma once
#include <nanobind/nanobind.h>

#include <optional>

#include "runtime/array.hpp"

namespace tessera::python {

// Throws DeviceError unless `device` exists (CUDA: a driver and that many GPUs).
void require_device(Device device);

// A contiguous copy of `a` on `device`, always new memory (Array::to may return `a` itself).
// Releases the GIL while copying.
Array copy_array(const Array& a, Device device);

// Array.__dlpack__(*, stream, max_version, dl_device, copy): returns a new capsule.
nanobind::object array_dlpack(const Array& a, nanobind::handle stream, nanobind::handle max_version,
                              nanobind::handle dl_device, std::optional<bool> copy);

// Array.__dlpack_device__(): (DLDeviceType code, device id).
nanobind::tuple array_dlpack_device(const Array& a);

// from_dlpack(obj, device=None, copy=None): `obj` has __dlpack__ / __dlpack_device__, or is a
// raw "dltensor[_versioned]" capsule (consumed by this call).
Array from_dlpack(nanobind::handle obj, std::optional<Device> device, std::optional<bool> copy);

}  // namespace tessera::python
