// Trains a small MLP from C++ with the compiler's C++ API (tessera/tessera.hpp, linking
// libtessera.so): the loss is built op by op with the generated ops (the registry Python's
// tessera.op uses), differentiated by tsrFunctionGrad, compiled once for the CPU and run in a
// loop; the update is plain SGD on the host. The first step's gradient is checked against
// central finite differences. Exit status 0 when the loss fell at least tenfold.
//
//   train_mlp [steps] [--cuda]      (--cuda: compile and run on CUDA device 0)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tessera/tessera.hpp"

namespace ts = tessera;

namespace {

constexpr int64_t kBatch = 64, kIn = 4, kHidden = 32;

// A small deterministic generator, so the example needs no data files.
struct Lcg {
  uint64_t s = 12345;
  double uniform() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return double(s >> 11) / double(1ull << 53);
  }
  double normal() { return std::sqrt(-2 * std::log(1 - uniform())) * std::cos(6.283185307179586 * uniform()); }
};

// loss(W1, b1, W2, b2, x, y) = mean((tanh(x W1 + b1) W2 + b2 - y)^2)
ts::Function mse_loss() {
  ts::Function f;
  ts::Value W1 = f.param(ts::DType::f64, {kIn, kHidden}), b1 = f.param(ts::DType::f64, {kHidden});
  ts::Value W2 = f.param(ts::DType::f64, {kHidden, 1}), b2 = f.param(ts::DType::f64, {1});
  ts::Value x = f.param(ts::DType::f64, {kBatch, kIn}), y = f.param(ts::DType::f64, {kBatch, 1});
  ts::Value h = ts::ops::tanh(ts::ops::matmul(x, W1) + b1);
  ts::Value err = ts::ops::matmul(h, W2) + b2 - y;
  f.set_outputs({ts::ops::mean(err * err)});
  return f;
}

// The step's inputs on `device` (host data copied to a GPU there).
std::vector<ts::Tensor> inputs(const std::vector<std::vector<double>>& params, const std::vector<double>& x,
                               const std::vector<double>& y, ts::Device device) {
  std::vector<ts::Tensor> host = {ts::Tensor::from(params[0], {kIn, kHidden}), ts::Tensor::from(params[1], {kHidden}),
                                  ts::Tensor::from(params[2], {kHidden, 1}),   ts::Tensor::from(params[3], {1}),
                                  ts::Tensor::from(x, {kBatch, kIn}),          ts::Tensor::from(y, {kBatch, 1})};
  if (device.raw.type == TSR_DEVICE_CPU) return host;
  std::vector<ts::Tensor> out;
  for (const ts::Tensor& t : host) out.push_back(t.to(device));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 300;
  ts::Device device = ts::Device::cpu();
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--cuda")
      device = ts::Device::cuda();
    else
      steps = std::atoi(argv[i]);
  }
  try {
    Lcg rng;
    std::vector<double> x(kBatch * kIn), y(kBatch);
    for (double& v : x) v = rng.normal();
    for (int64_t n = 0; n < kBatch; ++n)  // the target: a smooth function of the inputs
      y[size_t(n)] = std::sin(x[size_t(n * kIn)]) + 0.5 * x[size_t(n * kIn + 1)] * x[size_t(n * kIn + 2)];
    std::vector<std::vector<double>> params = {std::vector<double>(kIn * kHidden), std::vector<double>(kHidden),
                                               std::vector<double>(kHidden), std::vector<double>(1)};
    for (double& v : params[0]) v = rng.normal() / std::sqrt(double(kIn));
    for (double& v : params[2]) v = rng.normal() / std::sqrt(double(kHidden));

    ts::Function loss = mse_loss();
    ts::Executable loss_exe = loss.compile(device);
    ts::Executable step = loss.grad({0, 1, 2, 3}).compile(device);  // (loss, dW1, db1, dW2, db2)

    // The gradient of W1[0] against central differences of the loss.
    std::vector<ts::Tensor> out = step.run(inputs(params, x, y, device));
    const double analytic = out[1].to_vector<double>()[0], eps = 1e-6;
    auto loss_at = [&](double w) {
      std::vector<std::vector<double>> p = params;
      p[0][0] = w;
      return loss_exe.run(inputs(p, x, y, device))[0].to_vector<double>()[0];
    };
    const double numeric = (loss_at(params[0][0] + eps) - loss_at(params[0][0] - eps)) / (2 * eps);
    const double rel = std::abs(analytic - numeric) / std::max(1e-12, std::abs(numeric));
    std::printf("gradient check: analytic %.10f, finite differences %.10f (relative error %.1e)\n", analytic, numeric,
                rel);
    if (rel > 1e-6) return 1;

    double first = 0, last = 0;
    const double lr = 0.1;
    for (int s = 0; s < steps; ++s) {
      out = step.run(inputs(params, x, y, device));
      last = out[0].to_vector<double>()[0];
      if (s == 0) first = last;
      for (size_t p = 0; p < params.size(); ++p) {
        std::vector<double> g = out[p + 1].to_vector<double>();
        for (size_t i = 0; i < g.size(); ++i) params[p][i] -= lr * g[i];
      }
      if (s % 50 == 0 || s == steps - 1) std::printf("step %4d  loss %.6f\n", s, last);
    }
    std::printf("loss %.6f -> %.6f\n", first, last);
    return last < first / 10 ? 0 : 1;
  } catch (const ts::Error& e) {
    std::fprintf(stderr, "train_mlp: %s\n", e.what());
    return 1;
  }
}
