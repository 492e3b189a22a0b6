// Bindings of the compiler: compiling Graph IR text, running executables, the disk cache and
// autotuning records (the transforms: transform_bindings.cpp).
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "common/profiler.hpp"
#include "compiler/autotune_cache.hpp"
#include "compiler/compiler.hpp"
#include "compiler/disk_cache.hpp"
#include "python/bindings.hpp"

namespace nb = nanobind;

namespace tessera::python {

void bind_compiler(nb::module_& m) {
  using compiler::Executable;
  nb::class_<Executable>(m, "Executable", "A compiled program: kernels loaded on one device plus a launch plan.")
      .def(
          "run",
          [](const Executable& e, const std::vector<Array>& inputs) {
            nb::gil_scoped_release release;
            return e.run(inputs);
          },
          nb::arg("inputs"))
      .def("ir", &Executable::ir, nb::arg("level"))
      .def_prop_ro("out_shardings", &Executable::out_shardings,
                   "Each result's sharding over the mesh (programs partitioned by spmd-partition; else empty).")
      .def_prop_ro("kernel_names", [](const Executable& e) { return e.kernels().kernel_names; })
      .def_prop_ro("target", [](const Executable& e) { return e.kernels().target.str(); })
      .def_prop_ro("device", [](const Executable& e) { return e.device().str(); })
      .def_prop_ro("from_disk_cache", &Executable::from_disk_cache,
                   "True if the code was loaded from the disk cache instead of compiled.")
      .def_prop_ro("graph_replays", &Executable::graph_replays,
                   "How many runs launched all kernels as one CUDA graph (runs after the first of a "
                   "multi-kernel CUDA program; 0 with TESSERA_CUDA_GRAPHS=0).");

  m.def(
      "compile",
      [](const std::string& text, const std::string& device, const std::string& target) {
        Device d = Device::parse(device);
        nb::gil_scoped_release release;
        return compiler::compile(text, d, target);
      },
      nb::arg("text"), nb::arg("device") = "cpu", nb::arg("target") = "",
      "Compiles the first function of a Graph IR module for a device (cached by structure).");

  m.def(
      "compile_for_target",
      [](const std::string& text, const std::string& target) {
        std::map<std::string, std::string> out;
        {
          nb::gil_scoped_release release;
          out = compiler::compile_for_target(text, target);
        }
        nb::dict d;
        for (auto& [k, v] : out) {
          if (k == "binary")
            d[k.c_str()] = nb::bytes(v.data(), v.size());
          else
            d[k.c_str()] = v;
        }
        return d;
      },
      nb::arg("text"), nb::arg("target"),
      "Lowers Graph IR text to code for any target without running it: IR of every level, "
      "assembly and the loadable binary.");

  m.def(
      "set_print_callback",
      [](nb::object fn) {
        // Held for the life of the process: programs may print until the interpreter exits.
        auto* held = new nb::object(fn);
        set_print_callback([held](const std::string& format, const std::vector<Array>& values) {
          nb::gil_scoped_acquire gil;
          (*held)(format, values);
        });
      },
      nb::arg("fn"), "fn(format, arrays) prints the operands of tessera.debug_print when a program runs.");

  m.def(
      "compile_stats",
      [] {
        cache::Stats s = cache::stats();
        nb::dict d;
        d["backend_compiles"] = compiler::backend_compile_count();
        d["disk_hits"] = s.hits;
        d["disk_misses"] = s.misses;
        d["disk_rejected"] = s.rejected;
        d["disk_stores"] = s.stores;
        d["disk_store_failures"] = s.store_failures;
        return d;
      },
      "Counters for this process: code generator runs and disk cache events.");
  m.def(
      "cache_info",
      [] {
        nb::dict kinds;
        for (const cache::KindInfo& k : cache::info()) kinds[k.kind.c_str()] = nb::make_tuple(k.entries, k.bytes);
        nb::dict d;
        d["directory"] = cache::directory();
        d["enabled"] = cache::enabled();
        d["kinds"] = kinds;
        return d;
      },
      "The disk cache: directory, whether it is on, and (entries, bytes) per kind.");
  m.def("clear_cache", &cache::clear, "Removes the disk cache's files; returns how many.");
  m.def("prune_cache", &cache::prune, "Removes entries of other Tessera builds and stale temporary files.");
  m.def("cache_build_id", &cache::build_id, "The Tessera build id that keys cached code.");

  // tessera.profile(): spans as (name, category, begin_ns, dur_ns, device, bytes, flops) tuples.
  m.def("profiler_start", &profiler::start, "Clears the profiler and starts recording spans.");
  m.def(
      "profiler_stop",
      [] {
        nb::list out;
        for (const profiler::Span& s : profiler::stop())
          out.append(nb::make_tuple(s.name, s.category, s.begin_ns, s.dur_ns, s.device, s.bytes, s.flops));
        return out;
      },
      "Stops recording; returns the spans.");
  m.def(
      "profiler_add",
      [](const std::string& name, const std::string& category, int64_t begin_ns, int64_t dur_ns) {
        profiler::add(profiler::Span{name, category, begin_ns, dur_ns, "", 0, 0});
      },
      nb::arg("name"), nb::arg("category"), nb::arg("begin_ns"), nb::arg("dur_ns"), "Records a host span.");
  m.def("profiler_now_ns", &profiler::now_ns, "The profiler's clock (steady, ns).");
  m.def("autotune_lookup", &autotune::lookup, nb::arg("key"), "An autotuning result from the disk cache, or None.");
  m.def("autotune_store", &autotune::store, nb::arg("key"), nb::arg("value"), "Stores an autotuning result.");

  m.def("default_target", [](const std::string& device) { return compiler::default_target(Device::parse(device)); });
}

}  // namespace tessera::python
