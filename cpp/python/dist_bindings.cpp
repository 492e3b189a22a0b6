// Communicators for tessera.dist: the world, splits by mesh axis, and the group keys that
// collective ops name (runtime/program.hpp).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "python/bindings.hpp"
#include "runtime/array.hpp"
#include "runtime/program.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace tessera::python {
namespace {

// A communicator handle; the world's is never destroyed, split ones when destroy() is called.
struct Comm {
  tsrComm raw = nullptr;
  int32_t rank() const {
    int32_t r = 0;
    check_status(tsrCommRank(raw, &r), "tsrCommRank");
    return r;
  }
  int32_t size() const {
    int32_t n = 0;
    check_status(tsrCommSize(raw, &n), "tsrCommSize");
    return n;
  }
};

}  // namespace

void bind_dist(nb::module_& m) {
  nb::class_<Comm>(m, "Comm", "A communicator: a group of processes that run collectives together.")
      .def_prop_ro("rank", &Comm::rank)
      .def_prop_ro("size", &Comm::size)
      .def(
          "split",
          [](const Comm& c, int32_t color, int32_t key) -> nb::object {
            tsrComm out = nullptr;
            {
              nb::gil_scoped_release release;  // collective: waits for the other members
              check_status(tsrCommSplit(c.raw, color, key, &out), "tsrCommSplit");
            }
            return out ? nb::cast(Comm{out}) : nb::none();
          },
          "color"_a, "key"_a)
      .def("destroy", [](Comm& c) { check_status(tsrCommDestroy(c.raw), "tsrCommDestroy"); })
      .def("barrier",
           [](const Comm& c) {
             nb::gil_scoped_release release;
             check_status(tsrBarrier(c.raw), "tsrBarrier");
           })
      .def("abort", [](const Comm& c, int32_t code) { check_status(tsrCommAbort(c.raw, code), "tsrCommAbort"); });
  m.def("comm_world", [] {
    tsrComm world = nullptr;
    check_status(tsrCommWorld(&world), "tsrCommWorld");
    return Comm{world};
  });
  m.def("mpi_library_version", [] {
    char text[1024];
    check_status(tsrCommLibraryVersion(text, sizeof text), "tsrCommLibraryVersion");
    return std::string(text);
  });
  m.def("nccl_version", [] {
    int32_t version = 0;
    check_status(tsrCommNcclVersion(&version), "tsrCommNcclVersion");
    return version;
  });
  m.def(
      "register_group",
      [](const std::string& key, const Comm* comm) { register_group(key, comm ? comm->raw : nullptr); }, "key"_a,
      "comm"_a.none());
}

}  // namespace tessera::python
