// Python <-> IR conversions shared by the bindings (convert.hpp).
#include "python/convert.hpp"

#include <nanobind/stl/string.h>

#include "ir/ops.hpp"

namespace nb = nanobind;

namespace tessera::python {

ir::Attr to_attr(const std::string& key, nb::handle v) {
  if (nb::isinstance<nb::bool_>(v)) return nb::cast<bool>(v);
  if (nb::isinstance<nb::int_>(v)) return nb::cast<int64_t>(v);
  if (nb::isinstance<nb::float_>(v)) return nb::cast<double>(v);
  if (nb::isinstance<nb::str>(v)) return nb::cast<std::string>(v);
  if (nb::isinstance<nb::list>(v) || nb::isinstance<nb::tuple>(v)) {
    ir::IntList out;
    for (nb::handle x : v) {
      if (!nb::isinstance<nb::int_>(x)) fail(ErrorCode::Value, "attribute '" + key + "': lists must hold ints");
      out.push_back(nb::cast<int64_t>(x));
    }
    return out;
  }
  fail(ErrorCode::Value, "attribute '" + key + "': unsupported value type");
}

// (dtype name, [dims]) where a dim is an int or a symbol name.
ir::Type to_type(nb::handle t) {
  nb::tuple tup = nb::cast<nb::tuple>(t);
  std::string name = nb::cast<std::string>(tup[0]);
  auto dt = parse_dtype(name);
  if (!dt) fail(ErrorCode::DType, "unknown dtype '" + name + "'");
  std::vector<ir::Dim> dims;
  for (nb::handle d : tup[1]) {
    if (nb::isinstance<nb::str>(d))
      dims.push_back(ir::Dim::symbol(nb::cast<std::string>(d)));
    else
      dims.push_back(ir::Dim::of(nb::cast<int64_t>(d)));
  }
  return ir::Type::tensor(*dt, dims);
}

nb::object attr_to_py(const ir::Attr& a) {
  if (auto* v = std::get_if<int64_t>(&a)) return nb::int_(*v);
  if (auto* v = std::get_if<double>(&a)) return nb::float_(*v);
  if (auto* v = std::get_if<bool>(&a)) return nb::bool_(*v);
  if (auto* v = std::get_if<std::string>(&a)) return nb::str(v->c_str());
  if (auto* v = std::get_if<ir::IntList>(&a)) {
    nb::list l;
    for (int64_t x : *v) l.append(x);
    return nb::tuple(l);
  }
  return nb::make_tuple("type", std::get<ir::Type>(a).str());
}

nb::tuple from_type(const ir::Type& t) {
  nb::list dims;
  for (const ir::Dim& d : t.shape) {
    if (d.is_static())
      dims.append(d.size);
    else
      dims.append(d.sym);
  }
  return nb::make_tuple(dtype_name(t.dtype), nb::tuple(dims));
}

}  // namespace tessera::python
