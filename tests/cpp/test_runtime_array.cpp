// Tests of the C++ array layer over the runtime: Device, Storage, Array (layout, strided
// copies to and from any device), fill and arange for every dtype. Random numbers and
// f16/bf16 conversions: test_runtime_random.cpp.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/array.hpp"
#include "runtime/fill.hpp"

#include "runtime_array_check.hpp"

using namespace tessera;

template <class T>
static std::vector<T> values(const Array& a) {  // all elements, in logical order, via to(cpu)
  const Array c = a.to(kCpu);
  std::vector<T> out(size_t(c.numel()));
  if (!out.empty()) std::memcpy(out.data(), c.data(), out.size() * sizeof(T));
  return out;
}

static Array arange_f32(int64_t n) {
  Array a = Array::empty(kCpu, DType::F32, {n});
  arange(a, 0.0, 1.0);
  return a;
}

// ---- tests ----

static void test_device_names() {
  CHECK(Device::parse("cpu") == kCpu);
  CHECK((Device::parse("cuda") == Device{TSR_DEVICE_CUDA, 0}));
  CHECK((Device::parse("cuda:3") == Device{TSR_DEVICE_CUDA, 3}));
  CHECK(Device::parse("cuda:12").str() == "cuda:12");
  CHECK(kCpu.str() == "cpu");
  for (const char* bad : {"gpu", "cuda:", "cuda:-1", "cuda:x", "CPU", "", "cuda:99999999999"})
    CHECK_THROWS(Device::parse(bad), ErrorCode::Device, "\"cuda:N\"");
}

static void test_layout() {
  CHECK((Array::contiguous_strides({2, 3, 4}) == std::vector<int64_t>{12, 4, 1}));
  CHECK(Array::contiguous_strides({}).empty());
  Array a = Array::empty(kCpu, DType::F32, {2, 3, 4});
  CHECK(a.numel() == 24 && a.nbytes() == 96 && a.is_contiguous());
  CHECK(reinterpret_cast<uintptr_t>(a.data()) % 64 == 0);
  Array t = a;
  t.shape = {4, 3, 2};
  t.strides = {1, 4, 12};
  CHECK(!t.is_contiguous());
  Array s = Array::empty(kCpu, DType::I8, {});
  CHECK(s.numel() == 1 && s.is_contiguous());
  Array e = Array::empty(kCpu, DType::F64, {3, 0});
  CHECK(e.numel() == 0 && e.nbytes() == 0 && e.is_contiguous());
  CHECK_THROWS(Array::empty(kCpu, DType::F32, {2, -3}), ErrorCode::Shape, "negative dimension -3");
  CHECK_THROWS(Array::empty(kCpu, DType::F32, {int64_t(1) << 40, int64_t(1) << 40}), ErrorCode::Shape, "too large");
  if (!have_cuda()) CHECK_THROWS(Array::empty(Device{TSR_DEVICE_CUDA, 0}, DType::F32, {4}), ErrorCode::Device, "CUDA");
}

static void test_storage() {
  int released = 0;
  float buffer[4] = {1, 2, 3, 4};
  {
    Array w;
    w.storage = Storage::wrap(kCpu, buffer, sizeof buffer, [&] { ++released; }, /*read_only=*/true);
    w.shape = {4};
    w.strides = {1};
    CHECK(w.read_only());
    CHECK_THROWS(fill(w, 0.0), ErrorCode::Value, "read-only");
    CHECK(buffer[0] == 1.0f);
    const auto copy = values<float>(w);  // reading is fine
    CHECK(copy.size() == 4 && copy[3] == 4.0f);
    CHECK(released == 0);
  }
  CHECK(released == 1);
  {
    Array w;  // no release function: memory owned elsewhere is never tsrFree'd
    w.storage = Storage::wrap(kCpu, buffer, sizeof buffer, nullptr);
  }
  void* p = nullptr;
  CHECK_THROWS(check_status(tsrMalloc(kCpu.raw(), 4, nullptr), "tsrMalloc"), ErrorCode::Runtime, "ptr is NULL");
  (void)p;
}

static void test_strided_to() {
  // A 3x4 matrix 0..11 viewed transposed: element (i, j) of the view is 4 j + i.
  Array m = Array::empty(kCpu, DType::F32, {3, 4});
  arange(m, 0.0, 1.0);
  Array t = m;
  t.shape = {4, 3};
  t.strides = {1, 4};
  auto v = values<float>(t);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) CHECK(v[size_t(i * 3 + j)] == float(4 * j + i));

  // Every other column of row 1 onward, with an offset: rows 1..2, columns 0 and 2.
  Array s = m;
  s.offset_bytes = 4 * sizeof(float);
  s.shape = {2, 2};
  s.strides = {4, 2};
  CHECK((values<float>(s) == std::vector<float>{4, 6, 8, 10}));

  // Negative strides (reversed rows) and a broadcast (stride 0) dimension.
  Array r = m;
  r.offset_bytes = 8 * sizeof(float);
  r.shape = {3, 2};
  r.strides = {-4, 0};
  CHECK((values<float>(r) == std::vector<float>{8, 8, 4, 4, 0, 0}));

  // A view reaching past its storage is refused, not read.
  Array oob = t;
  oob.shape = {4, 4};  // strides {1, 4}: reaches element 15 of 12
  CHECK_THROWS(oob.to(kCpu), ErrorCode::Value, "outside its storage");

  // Contiguous on the same device: no copy.
  CHECK(m.to(kCpu).storage == m.storage);
  CHECK(t.to(kCpu).storage != t.storage);

  if (have_cuda()) {
    const Device gpu{TSR_DEVICE_CUDA, 0};
    Array g = t.to(gpu);  // strided CPU -> CUDA
    CHECK(g.device() == gpu && g.is_contiguous());
    CHECK(values<float>(g) == v);
    Array big = arange_f32(1000).to(gpu);
    Array gs = big;  // strided CUDA view: every 7th element from 3
    gs.offset_bytes = 3 * sizeof(float);
    gs.shape = {100};
    gs.strides = {7};
    auto gv = values<float>(gs);
    bool ok = gv.size() == 100;
    for (size_t i = 0; ok && i < 100; ++i) ok = gv[i] == float(3 + 7 * i);
    CHECK(ok);
    CHECK(values<float>(gs.to(gpu)) == gv);  // CUDA strided -> CUDA contiguous
  }
}

static void test_fill_every_dtype() {
  struct Case {
    DType dtype;
    double value;
    std::vector<unsigned char> bytes;  // little-endian encoding expected
  };
  const Case cases[] = {
      {DType::F64, 1.5, {0, 0, 0, 0, 0, 0, 0xF8, 0x3F}},
      {DType::F32, -2.25, {0, 0, 0x10, 0xC0}},
      {DType::F16, 1.0 / 3.0, {0x55, 0x35}},
      {DType::BF16, 1.0 / 3.0, {0xAB, 0x3E}},
      {DType::I64, -7.9, {0xF9, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},
      {DType::I32, 3e10, {0xFF, 0xFF, 0xFF, 0x7F}},  // saturates
      {DType::I8, -300, {0x80}},                     // saturates
      {DType::U8, 200.7, {200}},
      {DType::Bool, 0.5, {1}},
      {DType::Bool, 0.0, {0}},
      {DType::I32, NAN, {0, 0, 0, 0}},
      {DType::F32, 0.0, {0, 0, 0, 0}},  // the memset path
  };
  for (const Case& c : cases) {
    Array a = Array::empty(kCpu, c.dtype, {3, 37});
    fill(a, c.value);
    const size_t es = dtype_size(c.dtype);
    bool ok = c.bytes.size() == es;
    for (int64_t i = 0; ok && i < a.numel(); ++i)
      ok = std::memcmp(static_cast<char*>(a.data()) + i * int64_t(es), c.bytes.data(), es) == 0;
    if (!ok) std::printf("  fill(%s, %g) wrong\n", dtype_name(c.dtype), c.value);
    CHECK(ok);
    if (have_cuda()) {
      Array g = Array::empty(Device{TSR_DEVICE_CUDA, 0}, c.dtype, {3, 37});
      fill(g, c.value);
      const Array back = g.to(kCpu);
      CHECK(std::memcmp(back.data(), a.data(), a.nbytes()) == 0);
    }
  }
  // A strided view: only its elements change.
  Array a = Array::empty(kCpu, DType::I32, {10});
  fill(a, 1);
  Array every_other = a;
  every_other.shape = {5};
  every_other.strides = {2};
  fill(every_other, 9);
  for (int i = 0; i < 10; ++i) CHECK(at<int32_t>(a, i) == (i % 2 ? 1 : 9));
  if (have_cuda()) {
    Array g = a.to(Device{TSR_DEVICE_CUDA, 0});
    Array gv = g;
    gv.offset_bytes = 4;
    gv.shape = {5};
    gv.strides = {2};
    fill(gv, 5);
    const auto gvals = values<int32_t>(g);
    for (int i = 0; i < 10; ++i) CHECK(gvals[size_t(i)] == (i % 2 ? 5 : 9));
  }
}

static void test_arange() {
  Array a = Array::empty(kCpu, DType::I32, {5});
  arange(a, 10, -3);
  CHECK((values<int32_t>(a) == std::vector<int32_t>{10, 7, 4, 1, -2}));
  Array h = Array::empty(kCpu, DType::F16, {4});
  arange(h, 0.5, 0.25);
  CHECK((values<uint16_t>(h) == std::vector<uint16_t>{0x3800, 0x3A00, 0x3C00, 0x3D00}));
  Array f = arange_f32(100000);
  bool ok = true;
  for (int64_t i = 0; i < 100000; ++i) ok = ok && at<float>(f, i) == float(i);
  CHECK(ok);
}

static void test_cuda_array_without_driver() {
  if (have_cuda()) return;
  Array a = arange_f32(4);
  CHECK_THROWS(a.to(Device::parse("cuda")), ErrorCode::Device, "CUDA is not available");
}

int main() {
  const Test tests[] = {
      {"device_names", test_device_names},
      {"layout", test_layout},
      {"storage", test_storage},
      {"strided_to", test_strided_to},
      {"fill_every_dtype", test_fill_every_dtype},
      {"arange", test_arange},
      {"cuda_array_without_driver", test_cuda_array_without_driver},
  };
  return run_tests(tests);
}
