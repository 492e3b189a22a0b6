// Python <-> IR conversions shared by the bindings: attributes (bool, int, float, str, list of
// ints), types as (dtype name, [dims]) with a dim an int or a symbol name, and back.
#pragma once
#include <nanobind/nanobind.h>

#include <string>

#include "ir/ir.hpp"

namespace tessera::python {

ir::Attr to_attr(const std::string& key, nanobind::handle v);
ir::Type to_type(nanobind::handle t);
nanobind::object attr_to_py(const ir::Attr& a);  // a type-valued attribute as ("type", text)
nanobind::tuple from_type(const ir::Type& t);

}  // namespace tessera::python
