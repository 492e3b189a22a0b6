// The tessera._C extension module: binds, converts, nothing else.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "common/error.hpp"
#include "python/bindings.hpp"

namespace nb = nanobind;

NB_MODULE(_C, m) {
  m.doc() = "Tessera native core (runtime, IR, compiler)";
  // tessera::Error -> the matching tessera.errors.TesseraError subclass, looked up by the
  // code's name when the error happens (tessera.errors is pure Python and always importable).
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const tessera::Error& e) {
      nb::gil_scoped_acquire gil;
      nb::object errors = nb::module_::import_("tessera.errors");
      nb::object cls =
          errors.attr("_BY_CODE").attr("get")(tessera::error_code_name(e.code()), errors.attr("TesseraError"));
      nb::object exc = cls(e.message(), e.location());
      PyErr_SetObject(cls.ptr(), exc.ptr());
    }
  });
  tessera::python::bind_array(m);
  tessera::python::bind_ir(m);
  tessera::python::bind_compiler(m);
  tessera::python::bind_registry(m);
  tessera::python::bind_trace(m);
  tessera::python::bind_transforms(m);
  tessera::python::bind_dist(m);
  tessera::python::bind_export(m);
}
