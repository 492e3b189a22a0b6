#include "python/bindings.hpp"

namespace tessera::python {
void bind_compiler(nanobind::module_& m) { (void)m; }
}  // namespace tessera::python
