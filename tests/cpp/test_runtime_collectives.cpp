// The communicator C ABI in one process (rank 0 of 1, MPI through TESSERA_MPI_LIB, which CMake
// sets to the mpich wheel's library): every collective copies, and bad arguments get statuses
// that name them. Multi-rank runs are tests/python/test_dist.py's.
#include <cstring>
#include <vector>

#include "runtime_check.hpp"

namespace {

const tsrDevice kCpu{TSR_DEVICE_CPU, 0};

tsrComm world() {
  tsrComm w = nullptr;
  CHECK_OK(tsrCommWorld(&w));
  return w;
}

void test_world_is_rank_0_of_1() {
  tsrComm w = world(), again = nullptr;
  CHECK_OK(tsrCommWorld(&again));
  CHECK(w == again);
  int32_t rank = -1, size = -1;
  CHECK_OK(tsrCommRank(w, &rank));
  CHECK_OK(tsrCommSize(w, &size));
  CHECK(rank == 0 && size == 1);
  char version[256];
  CHECK_OK(tsrCommLibraryVersion(version, sizeof version));
  CHECK(std::strstr(version, "MPI") != nullptr);
  CHECK_OK(tsrBarrier(w));
  CHECK_STATUS(tsrCommDestroy(w), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("world communicator");
}

void test_collectives_of_one_member_copy() {
  tsrComm w = world();
  std::vector<float> x{1.5f, -2.0f, 3.25f}, y(3, 0.0f);
  CHECK_OK(tsrAllReduce(w, x.data(), y.data(), 3, TSR_FLOAT32, TSR_REDUCE_SUM, kCpu, nullptr));
  CHECK(y == x);
  std::vector<double> d{4.0, 5.0}, e(2, 0.0);
  CHECK_OK(tsrAllGather(w, d.data(), e.data(), 2, TSR_FLOAT64, kCpu, nullptr));
  CHECK(e == d);
  std::vector<int64_t> i{7, 8}, j(2, 0);
  CHECK_OK(tsrReduceScatter(w, i.data(), j.data(), 2, TSR_INT64, TSR_REDUCE_MAX, kCpu, nullptr));
  CHECK(j == i);
  std::fill(j.begin(), j.end(), 0);
  CHECK_OK(tsrAllToAll(w, i.data(), j.data(), 2, TSR_INT64, kCpu, nullptr));
  CHECK(j == i);
  CHECK_OK(tsrBroadcast(w, i.data(), 2, TSR_INT64, 0, kCpu, nullptr));
  std::fill(j.begin(), j.end(), 0);
  CHECK_OK(tsrSendRecv(w, i.data(), 0, j.data(), 0, 2, TSR_INT64, kCpu, nullptr));
  CHECK(j == i);
  std::vector<uint16_t> h{0x3c00, 0x4000}, g(2, 0);  // f16 1.0, 2.0 through our own reduction op
  CHECK_OK(tsrAllReduce(w, h.data(), g.data(), 2, TSR_FLOAT16, TSR_REDUCE_SUM, kCpu, nullptr));
  CHECK(g == h);
  CHECK_OK(tsrAllReduce(w, y.data(), y.data(), 3, TSR_FLOAT32, TSR_REDUCE_SUM, kCpu, nullptr));  // in place
  CHECK(y == x);
  CHECK_OK(tsrAllReduce(w, nullptr, nullptr, 0, TSR_FLOAT32, TSR_REDUCE_SUM, kCpu, nullptr));  // nothing to do
}

void test_split() {
  tsrComm w = world(), part = nullptr, none = reinterpret_cast<tsrComm>(1);
  CHECK_OK(tsrCommSplit(w, 3, 0, &part));
  int32_t size = 0;
  CHECK_OK(tsrCommSize(part, &size));
  CHECK(size == 1);
  CHECK_OK(tsrCommDestroy(part));
  CHECK_STATUS(tsrCommSize(part, &size), TSR_ERROR_INVALID_ARGUMENT);  // destroyed
  CHECK_ERROR_MENTIONS("not a live communicator");
  CHECK_OK(tsrCommSplit(w, -1, 0, &none));
  CHECK(none == nullptr);
}

void test_bad_arguments_are_named() {
  tsrComm w = world();
  float x[2] = {1, 2}, y[2];
  CHECK_STATUS(tsrAllReduce(nullptr, x, y, 2, TSR_FLOAT32, TSR_REDUCE_SUM, kCpu, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("comm is NULL");
  tsrDataType bad_type;
  int32_t code = 42;
  std::memcpy(&bad_type, &code, sizeof code);
  CHECK_STATUS(tsrAllGather(w, x, y, 2, bad_type, kCpu, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("dtype 42");
  tsrReduceOp bad_op;
  std::memcpy(&bad_op, &code, sizeof code);
  CHECK_STATUS(tsrAllReduce(w, x, y, 2, TSR_FLOAT32, bad_op, kCpu, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("tsrReduceOp");
  CHECK_STATUS(tsrAllReduce(w, nullptr, y, 2, TSR_FLOAT32, TSR_REDUCE_SUM, kCpu, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("send is NULL");
  CHECK_STATUS(tsrBroadcast(w, x, 2, TSR_FLOAT32, 1, kCpu, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("root 1");
  CHECK_STATUS(tsrBroadcast(w, nullptr, 2, TSR_FLOAT32, 0, kCpu, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("buffer is NULL");
  CHECK_STATUS(tsrAllToAll(w, x, x, 2, TSR_FLOAT32, kCpu, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("not in place");
  CHECK_STATUS(tsrSendRecv(w, x, 1, y, -1, 2, TSR_FLOAT32, kCpu, nullptr), TSR_ERROR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("rank 1");
}

// CUDA buffers go through NCCL: a one-member all-reduce copies; without a GPU or without NCCL
// the status says which is missing.
void test_cuda_buffers_use_nccl() {
  tsrComm w = world();
  int32_t gpus = 0;
  tsrDeviceCount(TSR_DEVICE_CUDA, &gpus);
  const tsrDevice gpu{TSR_DEVICE_CUDA, 0};
  float x[3] = {1.5f, -2.0f, 3.25f}, y[3] = {};
  if (gpus == 0) {
    CHECK_STATUS(tsrAllReduce(w, x, y, 3, TSR_FLOAT32, TSR_REDUCE_SUM, gpu, nullptr), TSR_ERROR_DEVICE_UNAVAILABLE);
    return;
  }
  int32_t version = 0;
  if (tsrCommNcclVersion(&version) != TSR_SUCCESS) {
    CHECK_ERROR_MENTIONS("TESSERA_NCCL_LIB");
    return;
  }
  CHECK(version >= 21300);
  void *dx = nullptr, *dy = nullptr;
  CHECK_OK(tsrMalloc(gpu, sizeof x, &dx));
  CHECK_OK(tsrMalloc(gpu, sizeof y, &dy));
  CHECK_OK(tsrMemcpy(dx, gpu, x, kCpu, sizeof x, nullptr));
  CHECK_OK(tsrAllReduce(w, dx, dy, 3, TSR_FLOAT32, TSR_REDUCE_SUM, gpu, nullptr));
  CHECK_OK(tsrMemcpy(y, kCpu, dy, gpu, sizeof y, nullptr));
  CHECK(std::memcmp(x, y, sizeof x) == 0);
  CHECK_OK(tsrFree(gpu, dx));
  CHECK_OK(tsrFree(gpu, dy));
}

}  // namespace

int main() {
  const Test tests[] = {
      {"world_is_rank_0_of_1", test_world_is_rank_0_of_1},
      {"collectives_of_one_member_copy", test_collectives_of_one_member_copy},
      {"split", test_split},
      {"bad_arguments_are_named", test_bad_arguments_are_named},
      {"cuda_buffers_use_nccl", test_cuda_buffers_use_nccl},
  };
  return run_tests(tests);
}
