// Bindings of the Graph IR transforms and the tracer's helpers: vjp/jvp/vmap transforms,
// specialization of symbolic dims, replaying a function's ops into a Python trace, and the
// registry's type rules (used by the tracer to check each op where the user wrote it).
#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

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

void bind_transforms(nb::module_& m) {
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
        std::vector<ir::Type> in;
        for (nb::handle t : operands) in.push_back(to_type(t));
        ir::AttrMap amap;
        for (auto [k, v] : attrs) {
          std::string key = nb::cast<std::string>(k);
          amap[key] = to_attr(key, v);
        }
        nb::list out;
        for (const ir::Type& t : ir::infer_types(name, in, amap)) out.append(from_type(t));
        return out;
      },
      nb::arg("name"), nb::arg("operands"), nb::arg("attrs"),
      "Result types of an op from the registry's rule; raises the rule's error.");
}

}  // namespace tessera::python
