// Graph IR from Python traces, built with the C++ builder and printed by the one printer:
// _C.build_module, _C.define_function, _C.register_functions.
//
// A trace arrives as parameter types, ops in program order and the returned values. A value
// is an index: parameters first, then every result of every op in order. An op is
// (name, [operand indices], {attrs}, [result types], "file:line" or ""); a type is
// (dtype, [dims]) with a dim an int or a symbol name; a type-valued attribute is
// ("type", text).
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "ir/function_table.hpp"
#include "ir/ir.hpp"
#include "ir/sharding.hpp"
#include "python/bindings.hpp"
#include "python/convert.hpp"

namespace nb = nanobind;

namespace tessera::python {
namespace {

ir::Attr trace_attr(const std::string& key, nb::handle v) {
  if (nb::isinstance<nb::tuple>(v) && nb::len(v) == 2 && nb::isinstance<nb::str>(v[0]) &&
      nb::cast<std::string>(v[0]) == "type")
    return ir::parse_type(nb::cast<std::string>(v[1]));
  return to_attr(key, v);
}

// The function `params -> outputs` of a trace (named by the caller).
std::unique_ptr<ir::Function> trace_function(nb::list params, nb::list ops, nb::list outputs) {
  auto f = std::make_unique<ir::Function>();
  std::vector<ir::Value*> values;
  for (nb::handle t : params) values.push_back(f->body.add_arg(to_type(t)));
  for (nb::handle h : ops) {
    nb::tuple op = nb::cast<nb::tuple>(h);
    std::vector<ir::Value*> operands;
    for (nb::handle i : op[1]) operands.push_back(values.at(nb::cast<size_t>(i)));
    ir::AttrMap attrs;
    for (auto [k, v] : nb::cast<nb::dict>(op[2])) {
      std::string key = nb::cast<std::string>(k);
      attrs[key] = trace_attr(key, v);
    }
    std::vector<ir::Type> types;
    for (nb::handle t : op[3]) types.push_back(to_type(t));
    ir::Op* made = f->body.append(ir::Op::make(nb::cast<std::string>(op[0]), operands, types, std::move(attrs),
                                               ir::Location::parse(nb::cast<std::string>(op[4]))));
    for (auto& r : made->results) values.push_back(r.get());
  }
  std::vector<ir::Value*> results;
  for (nb::handle i : outputs) results.push_back(values.at(nb::cast<size_t>(i)));
  for (ir::Value* v : results) f->result_types.push_back(v->type);
  f->body.append(ir::Op::make("return", results, {}));
  return f;
}

}  // namespace

void bind_trace(nb::module_& m) {
  m.def(
      "build_module",
      [](nb::list params, nb::list ops, nb::list outputs) {
        ir::Module mod;
        mod.funcs.push_back(trace_function(params, ops, outputs));
        mod.funcs.back()->name = "main";
        ir::link_functions(mod);
        return nb::make_tuple(ir::print(mod), ir::print(mod, false));
      },
      nb::arg("params"), nb::arg("ops"), nb::arg("outputs"),
      "Graph IR of a trace, with every function it calls: (text, text without locations).");
  m.def(
      "define_function",
      [](const std::string& base, nb::list params, nb::list ops, nb::list outputs) {
        return ir::define_function(trace_function(params, ops, outputs), base);
      },
      nb::arg("base"), nb::arg("params"), nb::arg("ops"), nb::arg("outputs"),
      "Keeps a traced function that ops call by name; returns its name (base_<hash>).");
  m.def(
      "place_on_mesh",
      [](const std::string& text, const std::string& mesh, const std::vector<std::string>& in_shardings,
         bool deterministic) {
        std::unique_ptr<ir::Module> mod = ir::parse(text, "<graph>");
        ir::Mesh::parse(mesh);  // checked here: the passes would report it later and less clearly
        mod->attrs["mesh"] = mesh;
        if (deterministic) mod->attrs["deterministic"] = true;
        ir::Function& entry = *mod->funcs.at(0);
        std::string joined;
        for (size_t i = 0; i < in_shardings.size(); ++i) joined += (i ? "; " : "") + in_shardings[i];
        entry.attrs["in_shardings"] = joined;
        return nb::make_tuple(ir::print(*mod), ir::print(*mod, false));
      },
      nb::arg("text"), nb::arg("mesh"), nb::arg("in_shardings"), nb::arg("deterministic") = false,
      "The module `text` on `mesh` (\"@key[axis=size, ...]\"), its entry's parameters split as "
      "`in_shardings` (deterministic: reductions in a fixed order): (text, text without locations).");
  m.def(
      "register_functions", [](const std::string& text) { ir::register_functions(*ir::parse(text, "<graph>")); },
      nb::arg("text"), "Keeps every function of a module but its entry (the functions a transform made).");
}

}  // namespace tessera::python
