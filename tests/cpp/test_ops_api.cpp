// The public C++ API (tessera/tessera.hpp, over the compiler's C ABI): a function built with
// the generated ops compiles and runs, its gradient matches the analytic one, the registry's
// shape rules throw with the op's name, and an exported program runs with the runtime API.
#include <cmath>
#include <cstdio>
#include <string>

#include "tessera/tessera.hpp"

using namespace tessera;

int main() {
  int passed = 0, failed = 0;
  auto check = [&](bool ok, const std::string& what) {
    if (ok)
      ++passed;
    else {
      ++failed;
      std::printf("FAILED: %s\n", what.c_str());
    }
  };
  std::vector<float> data(12);
  for (int i = 0; i < 12; ++i) data[size_t(i)] = 0.1f * float(i) - 0.5f;

  // f(x) = sum(exp(x * x), axis=-1): a [3] result
  Function f;
  Value x = f.param(DType::f32, {3, 4});
  Value y = ops::sum(ops::exp(x * x), -1);
  check(y.shape() == std::vector<int64_t>{3} && y.dtype() == DType::f32, "result type from the registry");
  f.set_outputs({y});
  std::vector<Tensor> out = f.compile().run({Tensor::from(data, {3, 4})});
  std::vector<float> r = out.at(0).to_vector<float>();
  for (int row = 0; row < 3; ++row) {
    double want = 0;
    for (int c = 0; c < 4; ++c) want += std::exp(double(data[size_t(row * 4 + c)]) * data[size_t(row * 4 + c)]);
    check(std::abs(r[size_t(row)] - want) <= 1e-6 * want, "sum(exp(x*x)) matches");
  }

  // loss(w, x) = mean((x @ w)^2): d loss / d w = 2 x^T (x w) / n
  Function loss;
  Value w = loss.param(DType::f64, {4, 2});
  Value xs = loss.param(DType::f64, {3, 4});
  Value p = ops::matmul(xs, w);
  loss.set_outputs({ops::mean(p * p)});
  Function g = loss.grad({0});
  std::vector<double> wd = {0.5, -1, 2, 0.25, -0.75, 1.5, 0.1, -0.2}, xd(12);
  for (int i = 0; i < 12; ++i) xd[size_t(i)] = double(data[size_t(i)]);
  std::vector<Tensor> lg = g.compile().run({Tensor::from(wd, {4, 2}), Tensor::from(xd, {3, 4})});
  check(lg.size() == 2, "grad returns the loss and one gradient");
  std::vector<double> dw = lg.at(1).to_vector<double>();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j) {
      double want = 0;
      for (int n = 0; n < 3; ++n) {
        double pn = 0;
        for (int k = 0; k < 4; ++k) pn += xd[size_t(n * 4 + k)] * wd[size_t(k * 2 + j)];
        want += 2 * xd[size_t(n * 4 + i)] * pn / 6;
      }
      check(std::abs(dw[size_t(i * 2 + j)] - want) <= 1e-12 * (1 + std::abs(want)), "gradient matches");
    }

  // Axis lists as braced lists, optional or not; a copy of a Function sees its outputs.
  Function s2;
  Value z = s2.param(DType::f32, {2, 3, 4});
  Function alias = s2;
  s2.set_outputs({ops::sum(z, {0, 2}), ops::sum(z)});
  check(alias.num_outputs() == 2, "a copy of a function shares its outputs");
  std::vector<Tensor> sums = alias.compile().run({Tensor::from(std::vector<float>(24, 1.0f), {2, 3, 4})});
  check(sums.at(0).to_vector<float>() == std::vector<float>{8, 8, 8} && sums.at(1).to_vector<float>()[0] == 24,
        "sum over an axis list and over everything");
  std::string other;
  try {
    Function o;
    o.set_outputs({z});
  } catch (const Error& e) { other = e.what(); }
  check(other.find("another function") != std::string::npos, "outputs of another function are refused");

  // A bad matmul fails when it is built, naming the op; the function is unchanged.
  Function h;
  Value a = h.param(DType::f32, {3, 4});
  std::string message;
  try {
    ops::matmul(a, a);
  } catch (const Error& e) {
    message = e.what();
    check(e.status() == TSR_ERROR_INVALID_ARGUMENT, "a shape error is an invalid argument");
  }
  check(message.find("matmul") != std::string::npos && message.find("[3,4]") != std::string::npos,
        "the error names the op and the shapes: " + message);
  h.set_outputs({ops::relu(a)});
  check(h.text().find("matmul") == std::string::npos, "the failed op left nothing behind");
  try {
    ops::relu(a);
  } catch (const Error& e) { message = e.what(); }
  check(message.find("finished") != std::string::npos, "a finished function takes no more ops");

  // Bool results come back as bytes; bool inputs go in as bytes.
  Function cmp;
  Value u = cmp.param(DType::f32, {4});
  Value m = cmp.param(DType::boolean, {4});
  cmp.set_outputs({ops::logical_and(ops::greater(u, cmp.constant(0.0)), m)});
  std::vector<Tensor> flags = cmp.compile().run(
      {Tensor::from(std::vector<float>{-1, 2, 3, 0}, {4}), Tensor::from_bytes({1, 1, 0, 1}, DType::boolean, {4})});
  check(flags.at(0).to_bytes() == std::vector<uint8_t>{0, 1, 0, 0}, "bool tensors as bytes");
  check(flags.at(0).to(Device::cpu()).to_bytes() == flags.at(0).to_bytes(), "a copy to a device");
  int32_t gpus = 0;
  tsrDeviceCount(TSR_DEVICE_CUDA, &gpus);
  if (gpus == 0) {  // no GPU: asking for one is a clear error, not a crash
    std::string why;
    try {
      flags.at(0).to(Device::cuda());
    } catch (const Error& e) { why = e.what(); }
    check(why.find("TSR_ERROR_DEVICE_UNAVAILABLE") != std::string::npos, "no CUDA device: " + why);
  }

  // Exported, then run by the runtime's API: the same bits as the compiled function.
  const char* path = "test_ops_api_export.tsp";
  f.export_to(path);
  rt::Program program(path);
  int64_t shape[2] = {3, 4};
  DLTensor in{};
  in.data = data.data();
  in.device = {kDLCPU, 0};
  in.ndim = 2;
  in.dtype = {kDLFloat, 32, 1};
  in.shape = shape;
  std::vector<rt::OwnedTensor> got = program.run({in});
  const float* e = static_cast<const float*>(got.at(0)->dl_tensor.data);
  for (int i = 0; i < 3; ++i) check(e[i] == r[size_t(i)], "the exported program gives the same bits");
  int64_t wrong_shape[2] = {4, 3};
  in.shape = wrong_shape;
  std::string wrong;
  try {
    program.run({in});
  } catch (const rt::Error& err) {
    wrong = err.what();
    check(err.status() == TSR_ERROR_INVALID_ARGUMENT, "a wrong input shape is an invalid argument");
  }
  check(wrong.find("input 0 is f32[4,3], the compiled program expects f32[3,4]") != std::string::npos,
        "the runtime names the input and both shapes: " + wrong);
  std::remove(path);

  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
