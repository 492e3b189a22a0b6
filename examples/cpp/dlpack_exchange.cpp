// A C++ application that keeps its own data and hands it to an exported program through
// DLPack, with the runtime alone (tessera/runtime.hpp over libtessera_runtime.so).
//
//   dlpack_exchange PROGRAM
//
// PROGRAM takes one float32 matrix of any shape the program was exported for (for example
// `tessera.export(lambda x: tessera.softmax(x, axis=-1), x)`). The input is a strided view
// of a larger buffer the application owns (every other column), borrowed without a copy; the
// results come back as DLPack tensors that the application owns through std::unique_ptr.
// Prints each result's shape and the sum of its elements; exit status 1 on an error.
#include <cstdio>
#include <vector>

#include "tessera/runtime.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: dlpack_exchange PROGRAM\n");
    return 2;
  }
  try {
    tessera::rt::Program program(argv[1]);
    std::fputs(program.manifest().c_str(), stdout);
    std::vector<tessera::rt::TensorType> in = program.inputs();
    if (in.size() != 1 || in[0].dtype != TSR_FLOAT32 || in[0].shape.size() != 2) {
      std::fprintf(stderr, "dlpack_exchange: expected a program of one float32 matrix\n");
      return 1;
    }
    const int64_t rows = in[0].shape[0], cols = in[0].shape[1];
    // The application's buffer holds two columns per input column; the input is every other one.
    std::vector<float> storage(size_t(rows * cols * 2));
    for (size_t i = 0; i < storage.size(); ++i) storage[i] = float(i % 7) - 3.0f;
    int64_t shape[2] = {rows, cols}, strides[2] = {cols * 2, 2};
    DLTensor x{};
    x.data = storage.data();
    x.device = {kDLCPU, 0};
    x.ndim = 2;
    x.dtype = {kDLFloat, 32, 1};
    x.shape = shape;
    x.strides = strides;
    for (const tessera::rt::OwnedTensor& t : program.run({x})) {
      const DLTensor& r = t->dl_tensor;
      int64_t n = 1;
      std::printf("result [");
      for (int32_t d = 0; d < r.ndim; ++d) {
        std::printf(d ? ", %lld" : "%lld", static_cast<long long>(r.shape[d]));
        n *= r.shape[d];
      }
      double sum = 0;  // results are contiguous float32 here (the program's output types say so)
      for (int64_t i = 0; i < n; ++i) sum += double(static_cast<const float*>(r.data)[i]);
      std::printf("] sum %.9g\n", sum);
    }
  } catch (const tessera::rt::Error& e) {
    std::fprintf(stderr, "dlpack_exchange: %s (status %d)\n", e.what(), int(e.status()));
    return 1;
  }
  return 0;
}
