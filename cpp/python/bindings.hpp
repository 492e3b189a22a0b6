// Entry points of the binding files; each file binds one area of the native core.
#pragma once
#include <nanobind/nanobind.h>

namespace tessera::python {
void bind_array(nanobind::module_& m);       // array_bindings.cpp: Array, devices, DLPack, RNG
void bind_ir(nanobind::module_& m);          // ir_bindings.cpp: IR text, passes, tessera-opt
void bind_compiler(nanobind::module_& m);    // compiler_bindings.cpp: compile, execute
void bind_registry(nanobind::module_& m);    // registry_bindings.cpp: op metadata
void bind_trace(nanobind::module_& m);       // trace_bindings.cpp: Graph IR of Python traces
void bind_transforms(nanobind::module_& m);  // transform_bindings.cpp: autodiff, vmap, the tracer's helpers
void bind_dist(nanobind::module_& m);        // dist_bindings.cpp: communicators and group keys
void bind_export(nanobind::module_& m);      // export_bindings.cpp: ahead-of-time export and loading
}  // namespace tessera::python
