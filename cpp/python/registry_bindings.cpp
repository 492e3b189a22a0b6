// Bindings of the op registry: the metadata Python generates tessera.op, ops.pyi and the
// operator reference from.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "ir/registry.hpp"
#include "passes/sharding_rules.hpp"
#include "python/bindings.hpp"

namespace nb = nanobind;

namespace tessera::python {
namespace {

const char* class_name(ir::OpClass c) {
  switch (c) {
    case ir::OpClass::ElementwiseUnary: return "elementwise_unary";
    case ir::OpClass::ElementwiseBinary: return "elementwise_binary";
    case ir::OpClass::Reduction: return "reduction";
    case ir::OpClass::Contraction: return "contraction";
    case ir::OpClass::DataMovement: return "data_movement";
    case ir::OpClass::Structural: return "structural";
    case ir::OpClass::Tile: return "tile";
    case ir::OpClass::Collective: return "collective";
    default: return "other";
  }
}

}  // namespace

void bind_registry(nb::module_& m) {
  m.def(
      "list_ops",
      [] {
        nb::list out;
        for (const ir::OpInfo* info : ir::all_ops()) {
          nb::list attrs;
          for (const ir::AttrSpec& a : info->attrs)
            attrs.append(nb::make_tuple(a.name, a.kind, a.required, a.default_value, a.doc));
          nb::dict d;
          d["name"] = info->name;
          d["class"] = class_name(info->cls);
          d["min_operands"] = info->min_operands;
          d["max_operands"] = info->max_operands;
          d["operand_names"] = info->operand_names;
          d["attrs"] = attrs;
          d["summary"] = info->summary;
          // Composites are differentiated through their decomposition.
          d["differentiable"] = (bool(info->vjp) && bool(info->jvp)) || bool(info->decompose);
          d["batchable"] = bool(info->batch);
          d["composite"] = bool(info->decompose);
          d["derivative_rules"] = bool(info->vjp) && bool(info->jvp);  // its own (composites may have none)
          d["cpu_only"] = info->cpu_only;
          d["sharding_rule"] = passes::has_sharding_rule(info->name);
          out.append(d);
        }
        return out;
      },
      "Every op of the registry with its operands, attributes and summary.");
}

}  // namespace tessera::python
