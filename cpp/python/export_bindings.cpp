// Bindings of ahead-of-time export: compiling a program into a file (compiler.hpp:
// export_program) and loading one with the runtime (runtime/artifact.hpp), as tessera.export
// and tessera.load use them (python/tessera/aot.py).
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include "compiler/compiler.hpp"
#include "python/bindings.hpp"
#include "runtime/artifact.hpp"

namespace nb = nanobind;

namespace tessera::python {
namespace {

using Signature = std::vector<std::tuple<std::vector<int64_t>, std::string>>;

Signature signature(const std::vector<TensorType>& types, size_t begin, size_t end) {
  Signature out;
  for (size_t i = begin; i < end; ++i) out.emplace_back(types[i].shape, dtype_name(types[i].dtype));
  return out;
}

}  // namespace

void bind_export(nb::module_& m) {
  using artifact::Loaded;
  m.def(
      "export_program",
      [](const std::string& text, const std::string& target, int num_inputs, const std::vector<Array>& constants,
         const std::string& metadata) {
        std::string bytes;
        {
          nb::gil_scoped_release release;
          bytes = compiler::export_program(text, target, num_inputs, constants, metadata);
        }
        return nb::bytes(bytes.data(), bytes.size());
      },
      nb::arg("text"), nb::arg("target"), nb::arg("num_inputs"), nb::arg("constants"), nb::arg("metadata"),
      "Compiles the first function of a Graph IR module for a target into the bytes of a program file.");

  nb::class_<Loaded>(m, "LoadedProgram", "An exported program loaded by the runtime for one device.")
      .def(
          "run",
          [](const Loaded& p, const std::vector<Array>& inputs) {
            nb::gil_scoped_release release;
            return p.run(inputs);
          },
          nb::arg("inputs"))
      .def_prop_ro("manifest", &Loaded::manifest_text)
      .def_prop_ro("metadata", [](const Loaded& p) { return p.contents().metadata; })
      .def_prop_ro("target", [](const Loaded& p) { return p.contents().target; })
      .def_prop_ro("compiler", [](const Loaded& p) { return p.contents().compiler; })
      .def_prop_ro("device", [](const Loaded& p) { return p.device().str(); })
      .def_prop_ro("input_types",
                   [](const Loaded& p) {
                     const auto& c = p.contents();
                     return signature(c.plans.front().input_types, 0, size_t(c.num_inputs));
                   })
      .def_prop_ro("output_types", [](const Loaded& p) {
        const auto& out = p.contents().plans.front().output_types;
        return signature(out, 0, out.size());
      });

  m.def(
      "load_program",
      [](nb::bytes data, const std::string& source, const std::string& device) {
        std::string bytes(data.c_str(), data.size());
        Device d = Device::parse(device);
        nb::gil_scoped_release release;
        return std::make_unique<Loaded>(artifact::read(bytes, source), d);
      },
      nb::arg("data"), nb::arg("source"), nb::arg("device") = "cpu",
      "Checks and loads a program file's bytes for a device; `source` names it in errors.");
}

}  // namespace tessera::python
