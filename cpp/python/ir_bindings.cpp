// IR text, passes and tessera-opt for Python: _C.opt_main, _C.ir_print_roundtrip,
// _C.run_passes, _C.kernel_summary, _C.list_passes.
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdio>
#include <iostream>

#include "ir/ir.hpp"
#include "ir/pass_manager.hpp"
#include "python/bindings.hpp"
#include "python/convert.hpp"
#include "tools/opt_tool.hpp"

namespace nb = nanobind;

namespace tessera::python {

void bind_ir(nb::module_& m) {
  m.def(
      "opt_main",
      [](const std::vector<std::string>& argv) {
        // Python's own buffered output goes first; the tool writes to the process's streams.
        nb::module_::import_("sys").attr("stdout").attr("flush")();
        nb::module_::import_("sys").attr("stderr").attr("flush")();
        std::vector<std::string> args = argv.empty() ? std::vector<std::string>{"tessera-opt"} : argv;
        std::vector<char*> ptrs;
        for (auto& a : args) ptrs.push_back(a.data());
        ptrs.push_back(nullptr);
        return tessera_opt_main(int(args.size()), ptrs.data());
      },
      nb::arg("argv"), "Runs tessera-opt with argv (argv[0] is the program name); returns its exit code.");

  m.def(
      "ir_print_roundtrip",
      [](const std::string& text, bool with_locations) { return ir::print(*ir::parse(text), with_locations); },
      nb::arg("text"), nb::arg("with_locations") = true, "Parses IR text and prints it back.");

  m.def(
      "run_passes",
      [](const std::string& text, const std::string& pipeline) {
        auto mod = ir::parse(text);
        ir::verify(*mod);
        ir::run_pipeline(*mod, pipeline);
        return ir::print(*mod);
      },
      nb::arg("text"), nb::arg("pipeline"), "Parses and verifies IR text, runs a pass pipeline, prints the result.");

  // For fn.explain(): the sched.kernel ops of a Schedule IR module in program order, each as
  // (attrs, result types, [(op, file, line)] of the ops fused into it), and the Graph IR ops of
  // `graph_text` as [(op, file, line)], so the explanation needs no parsing in Python.
  m.def(
      "kernel_summary",
      [](const std::string& schedule_text, const std::string& graph_text) {
        auto where = [](const ir::Op& op) { return nb::make_tuple(op.name, op.loc.file, op.loc.line); };
        nb::list kernels;
        auto sched = ir::parse(schedule_text, "<schedule>");
        for (const auto& f : sched->funcs)
          for (const auto& op : f->body.ops) {
            if (op->name != "sched.kernel") continue;
            nb::dict attrs;
            for (const auto& [k, v] : op->attrs) attrs[k.c_str()] = attr_to_py(v);
            std::string results;
            for (const auto& r : op->results) results += (results.empty() ? "" : ", ") + r->type.str();
            nb::list ops;
            if (op->region)
              for (const auto& x : op->region->ops)
                if (x->name != "sched.yield" && x->name != "constant") ops.append(where(*x));
            kernels.append(nb::make_tuple(attrs, results, ops));
          }
        nb::list graph_ops;
        if (!graph_text.empty()) {
          auto graph = ir::parse(graph_text, "<graph>");
          for (const auto& f : graph->funcs)
            for (const auto& op : f->body.ops)
              if (op->name != "return" && op->name != "constant") graph_ops.append(where(*op));
        }
        return nb::make_tuple(kernels, graph_ops);
      },
      nb::arg("schedule_text"), nb::arg("graph_text") = "");

  m.def(
      "list_passes",
      [] {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto* p : ir::list_passes()) out.emplace_back(p->name, p->description);
        return out;
      },
      "The registered passes as (name, description) pairs, sorted by name.");
}

}  // namespace tessera::python
