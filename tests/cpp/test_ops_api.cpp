// The generated C++ op API (include/tessera/ops.hpp) builds Graph IR that compiles and runs.
#include <cmath>
#include <cstdio>

#include "compiler/compiler.hpp"
#include "tessera/ops.hpp"

using namespace tessera;

int main() {
  int passed = 0, failed = 0;
  auto check = [&](bool ok, const char* what) {
    if (ok)
      ++passed;
    else {
      ++failed;
      std::printf("FAILED: %s\n", what);
    }
  };
  ir::Module m;
  ir::Function* f = m.add_function("main");
  ir::Value* x = f->body.add_arg(ir::Type::tensor(DType::F32, std::vector<int64_t>{3, 4}), "x");
  ir::Builder b(&f->body);
  ir::Value* y = ops::sum(b, ops::exp(b, ops::mul(b, x, x)), /*axis=*/-1);
  f->result_types = {y->type};
  f->body.append(ir::Op::make("return", {y}, {}));
  check(y->type == ir::Type::tensor(DType::F32, std::vector<int64_t>{3}), "result type from the registry");

  auto exe = compiler::compile(ir::print(m), Device{});
  Array in = Array::empty(Device{}, DType::F32, {3, 4});
  float* p = static_cast<float*>(in.data());
  for (int i = 0; i < 12; ++i) p[i] = 0.1f * float(i);
  Array out = exe->run({in})[0];
  const float* r = static_cast<const float*>(out.data());
  for (int row = 0; row < 3; ++row) {
    double want = 0;
    for (int c = 0; c < 4; ++c) want += std::exp(double(p[row * 4 + c]) * p[row * 4 + c]);
    check(std::abs(r[row] - want) <= 1e-5 * want, "sum(exp(x*x)) matches");
  }
  bool threw = false;
  try {
    ops::matmul(b, x, x);
  } catch (const Error& e) { threw = e.code() == ErrorCode::Shape; }
  check(threw, "the registry's shape rule rejects a bad matmul");
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
