// The C++ API of libtessera.so (CMake: tessera::tessera): build a function op by op with the
// generated tessera/ops.hpp (the same op registry as tessera.op in Python), differentiate it,
// compile it for the CPU or a CUDA device, run it on tensors, or export it for the runtime
// library alone. Header-only over the C ABI (tessera/compiler.h), so it depends on no C++ ABI
// of the library; failures throw tessera::Error carrying the C status and message.
//
//   tessera::Function f;
//   tessera::Value x = f.param(tessera::DType::f32, {3, 4});
//   f.set_outputs({tessera::ops::sum(tessera::ops::exp(x * x), -1)});
//   tessera::Executable exe = f.compile();
//   std::vector<tessera::Tensor> y = exe.run({tessera::Tensor::from(data, {3, 4})});
#pragma once
#include "tessera/function.hpp"
#include "tessera/ops.hpp"

namespace tessera {

inline Value operator+(const Value& a, const Value& b) { return ops::add(a, b); }
inline Value operator-(const Value& a, const Value& b) { return ops::sub(a, b); }
inline Value operator*(const Value& a, const Value& b) { return ops::mul(a, b); }
inline Value operator/(const Value& a, const Value& b) { return ops::div(a, b); }

}  // namespace tessera
