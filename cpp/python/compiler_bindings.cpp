// Bindings of the compiler: compiling Graph IR text, running executables, and the op
// registry's type rules (used by the Python tracer to check each op where the user wrote it).
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "compiler/autotune_cache.hpp"
#include "compiler/compiler.hpp"
#include "compiler/disk_cache.hpp"
#include "ir/function_table.hpp"
#include "ir/ops.hpp"
#include "passes/autodiff.hpp"
#include "passes/specialize.hpp"
#include "passes/vmap.hpp"
#include "python/bindings.hpp"
#include "python/convert.hpp"

namespace nb = nanobind;

namespace tessera::python {
namespace {

// A transform's result as text, after keeping the functions it made (derived loop bodies) in
// the function table, so that modules built later from traces that call them link them in.
std::string registered(const std::unique_ptr<ir::Module>& m) {
  ir::register_functions(*m);
  return ir::print(*m);
}

}  // namespace

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
        compiler::set_print_callback([held](const std::string& format, const std::vector<Array>& values) {
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
  m.def("autotune_lookup", &autotune::lookup, nb::arg("key"), "An autotuning result from the disk cache, or None.");
  m.def("autotune_store", &autotune::store, nb::arg("key"), nb::arg("value"), "Stores an autotuning result.");

  m.def("default_target", [](const std::string& device) { return compiler::default_target(Device::parse(device)); });

  m.def(
      "vjp_transform",
      [](const std::string& text, const std::vector<int>& wrt, const std::vector<int>& outputs, bool seed_ones) {
        return registered(passes::vjp_transform(*ir::parse(text, "<graph>"), wrt, outputs, seed_ones));
      },
      nb::arg("text"), nb::arg("wrt"), nb::arg("outputs"), nb::arg("seed_ones"),
      "Reverse-mode derivative of the module's first function, as Graph IR text.");
  m.def(
      "jvp_transform",
      [](const std::string& text, const std::vector<int>& wrt) {
        return registered(passes::jvp_transform(*ir::parse(text, "<graph>"), wrt));
      },
      nb::arg("text"), nb::arg("wrt"), "Forward-mode derivative of the module's first function.");

  m.def(
      "vmap_transform",
      [](const std::string& text, const std::vector<int>& in_axes, int64_t batch) {
        return registered(passes::vmap_transform(*ir::parse(text, "<graph>"), in_axes, batch));
      },
      nb::arg("text"), nb::arg("in_axes"), nb::arg("batch"),
      "The module's first function vectorised over a batch: results carry it at dim 0.");

  m.def(
      "specialize",
      [](const std::string& text, const std::map<std::string, int64_t>& sizes) {
        auto mod = ir::parse(text, "<graph>");
        passes::specialize(*mod, sizes);
        return nb::make_tuple(ir::print(*mod), ir::print(*mod, false));
      },
      nb::arg("text"), nb::arg("sizes"),
      "Graph IR with symbolic dims bound to `sizes` (name -> size): (text, text without locations).");

  // The ops of a function, for replaying it into a Python trace: a list of
  // (name, operands, attrs, results [(dtype, shape)...], "file:line"), where an operand is
  // ("arg", i), ("op", j) or ("op", j, k) for result k of an op of several results (scan...),
  // and the returned values in the same form.
  m.def(
      "function_ops",
      [](const std::string& text) {
        auto mod = ir::parse(text, "<graph>");
        if (mod->funcs.empty()) fail(ErrorCode::Value, "function_ops: no function");
        const ir::Function& f = *mod->funcs.front();
        std::map<const ir::Value*, nb::tuple> ref;
        for (size_t i = 0; i < f.body.args.size(); ++i) ref[f.body.args[i].get()] = nb::make_tuple("arg", i);
        nb::list ops, outs;
        for (const auto& op : f.body.ops) {
          nb::list operands;
          for (const ir::Value* v : op->operands) operands.append(ref.at(v));
          if (op->name == "return") {
            outs = operands;
            continue;
          }
          if (op->results.empty() || op->region)
            fail(ErrorCode::Value,
                 "function_ops: only Graph IR ops with results and no region can be replayed, got " + op->name);
          nb::dict attrs;
          for (const auto& [k, v] : op->attrs) attrs[k.c_str()] = attr_to_py(v);
          nb::list results;
          size_t j = nb::len(ops);
          for (size_t i = 0; i < op->results.size(); ++i) {
            results.append(from_type(op->results[i]->type));
            ref[op->result(int(i))] = op->results.size() == 1 ? nb::make_tuple("op", j) : nb::make_tuple("op", j, i);
          }
          ops.append(nb::make_tuple(op->name, nb::tuple(operands), attrs, results, op->loc.str()));
        }
        return nb::make_tuple(ops, nb::tuple(outs));
      },
      nb::arg("text"));

  m.def(
      "function_texts",
      [](const std::string& text) {
        auto mod = ir::parse(text, "<graph>");
        nb::list out;
        for (size_t i = 1; i < mod->funcs.size(); ++i)
          out.append(nb::make_tuple(mod->funcs[i]->name, ir::print(*mod->funcs[i]), ir::print(*mod->funcs[i], false)));
        return out;
      },
      nb::arg("text"), "(name, text, text without locations) of every function of the module but the first.");

  m.def(
      "infer_op",
      [](const std::string& name, nb::list operands, nb::dict attrs) {
        const ir::OpInfo* info = ir::lookup_op(name);
        if (!info || !info->infer) fail(ErrorCode::Value, "unknown op '" + name + "'");
        std::vector<ir::Type> in;
        for (nb::handle t : operands) in.push_back(to_type(t));
        int n = int(in.size());
        if (n < info->min_operands || (info->max_operands >= 0 && n > info->max_operands))
          fail(ErrorCode::Value, name + ": wrong number of operands (" + std::to_string(n) + ")");
        ir::AttrMap amap;
        for (auto [k, v] : attrs) {
          std::string key = nb::cast<std::string>(k);
          amap[key] = to_attr(key, v);
        }
        ir::check_attrs(*info, amap);
        nb::list out;
        for (const ir::Type& t : info->infer(in, amap)) out.append(from_type(t));
        return out;
      },
      nb::arg("name"), nb::arg("operands"), nb::arg("attrs"),
      "Result types of an op from the registry's rule; raises the rule's error.");
}

}  // namespace tessera::python
