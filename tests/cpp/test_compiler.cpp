// End-to-end tests of the compiler from C++: Graph IR text -> every level -> CPU machine code,
// checked against a float64 reference computed here; and PTX / HSACO / SPIR-V generation.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>

#include "backends/backend.hpp"
#include "compiler/compiler.hpp"
#include "compiler/memory_plan.hpp"

using namespace tessera;

static int g_passed = 0, g_failed = 0;
#define CHECK(cond)                                                 \
  do {                                                              \
    if (cond)                                                       \
      ++g_passed;                                                   \
    else {                                                          \
      ++g_failed;                                                   \
      std::printf("FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                               \
  } while (0)

static Array random_array(const std::vector<int64_t>& shape, std::mt19937& rng) {
  Array a = Array::empty(Device{}, DType::F32, shape);
  std::uniform_real_distribution<float> d(-2.0f, 2.0f);
  float* p = static_cast<float*>(a.data());
  for (int64_t i = 0; i < a.numel(); ++i) p[i] = d(rng);
  return a;
}

static std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "f32[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

static double max_rel_err(const Array& got, const std::vector<double>& want) {
  const float* p = static_cast<const float*>(got.data());
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i)
    worst = std::max(worst, std::abs(p[i] - want[i]) / std::max(1.0, std::abs(want[i])));
  return worst;
}

static void test_elementwise_fused(std::mt19937& rng) {
  for (std::vector<int64_t> shape : {std::vector<int64_t>{1}, {7}, {3, 5}, {1000}, {4099}, {2, 3, 257}}) {
    std::string t = shape_str(shape);
    std::string text = "module @m {\nfunc @main(%x: " + t + ", %y: " + t + ") -> (" + t +
                       ") {\n"
                       "  %0 = mul(%x, %y) : " +
                       t + "\n  %1 = exp(%0) : " + t +
                       "\n"
                       "  %2 = add(%1, %x) : " +
                       t + "\n  %3 = relu(%2) : " + t + "\n  return(%3)\n}\n}\n";
    auto exe = compiler::compile(text, Device{});
    Array x = random_array(shape, rng), y = random_array(shape, rng);
    std::vector<Array> out = exe->run({x, y});
    std::vector<double> want(size_t(x.numel()));
    const float *px = static_cast<float*>(x.data()), *py = static_cast<float*>(y.data());
    for (size_t i = 0; i < want.size(); ++i) want[i] = std::max(0.0, std::exp(double(px[i]) * py[i]) + px[i]);
    CHECK(out.size() == 1 && out[0].shape == shape);
    double err = max_rel_err(out[0], want);
    if (err > 1e-6) std::printf("  elementwise %s: max rel err %g\n", t.c_str(), err);
    CHECK(err <= 1e-6);
  }
}

static void test_broadcast(std::mt19937& rng) {
  std::string text =
      "module @m {\nfunc @main(%x: f32[3,5], %b: f32[5], %c: f32[3,1]) -> (f32[3,5]) {\n"
      "  %0 = add(%x, %b) : f32[3,5]\n  %1 = mul(%0, %c) : f32[3,5]\n  return(%1)\n}\n}\n";
  auto exe = compiler::compile(text, Device{});
  Array x = random_array({3, 5}, rng), b = random_array({5}, rng), c = random_array({3, 1}, rng);
  auto out = exe->run({x, b, c});
  std::vector<double> want(15);
  const float *px = static_cast<float*>(x.data()), *pb = static_cast<float*>(b.data()),
              *pc = static_cast<float*>(c.data());
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) want[size_t(i * 5 + j)] = (double(px[i * 5 + j]) + pb[j]) * pc[i];
  CHECK(max_rel_err(out[0], want) <= 1e-6);
}

static void test_sum(std::mt19937& rng) {
  for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 7}, {5, 1000}, {2, 4099}, {4, 0}}) {
    std::string in = shape_str({rows, cols}), out_t = shape_str({rows});
    std::string text = "module @m {\nfunc @main(%x: " + in + ") -> (" + out_t +
                       ") {\n  %0 = sum(%x) {axis = -1} : " + out_t + "\n  return(%0)\n}\n}\n";
    auto exe = compiler::compile(text, Device{});
    Array x = random_array({rows, cols}, rng);
    auto out = exe->run({x});
    std::vector<double> want(size_t(rows), 0.0);
    const float* p = static_cast<float*>(x.data());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) want[size_t(r)] += p[r * cols + c];
    double err = 0;
    const float* got = static_cast<float*>(out[0].data());
    for (int64_t r = 0; r < rows; ++r)
      err = std::max(err, std::abs(got[r] - want[size_t(r)]) / std::max(1.0, std::sqrt(double(cols))));
    if (err > 1e-5) std::printf("  sum [%ld,%ld]: err %g\n", long(rows), long(cols), err);
    CHECK(err <= 1e-5);
  }
  // Reducing a leading axis.
  std::string text =
      "module @m {\nfunc @main(%x: f32[6,5,3]) -> (f32[6,3]) {\n  %0 = sum(%x) {axis = 1} : f32[6,3]\n  "
      "return(%0)\n}\n}\n";
  Array x = random_array({6, 5, 3}, rng);
  auto out = compiler::compile(text, Device{})->run({x});
  std::vector<double> want(18, 0.0);
  const float* p = static_cast<float*>(x.data());
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 5; ++j)
      for (int k = 0; k < 3; ++k) want[size_t(i * 3 + k)] += p[(i * 5 + j) * 3 + k];
  CHECK(max_rel_err(out[0], want) <= 1e-5);
}

static void test_matmul(std::mt19937& rng) {
  for (auto [m, k, n] :
       std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {3, 5, 7}, {17, 31, 65}, {64, 128, 96}, {5, 0, 3}}) {
    std::string a_t = shape_str({m, k}), b_t = shape_str({k, n}), c_t = shape_str({m, n});
    std::string text = "module @m {\nfunc @main(%a: " + a_t + ", %b: " + b_t + ") -> (" + c_t +
                       ") {\n  %0 = matmul(%a, %b) : " + c_t + "\n  return(%0)\n}\n}\n";
    Array a = random_array({m, k}, rng), b = random_array({k, n}, rng);
    auto out = compiler::compile(text, Device{})->run({a, b});
    std::vector<double> want(size_t(m * n), 0.0);
    const float *pa = static_cast<float*>(a.data()), *pb = static_cast<float*>(b.data());
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t l = 0; l < k; ++l) want[size_t(i * n + j)] += double(pa[i * k + l]) * pb[l * n + j];
    double err = max_rel_err(out[0], want) / std::max(1.0, std::sqrt(double(k)));
    if (err > 1e-5) std::printf("  matmul %ld %ld %ld: err %g\n", long(m), long(k), long(n), err);
    CHECK(err <= 1e-5);
  }
}

static void test_targets() {
  std::string text =
      "module @m {\nfunc @main(%x: f32[300], %y: f32[300]) -> (f32[300], f32[]) {\n"
      "  %0 = exp(%x) : f32[300]\n  %1 = add(%0, %y) : f32[300]\n  %2 = sum(%1) {axis = 0} : f32[]\n"
      "  return(%1, %2)\n}\n}\n";
  auto ptx = compiler::compile_for_target(text, "nvptx:sm_90");
  CHECK(ptx["asm"].find(".entry main_k0") != std::string::npos);
  CHECK(ptx["asm"].find("shfl.sync") != std::string::npos);  // the sum: one warp, reduced by shuffles
  auto amd = compiler::compile_for_target(text, "amdgpu:gfx942");
  CHECK(amd["binary"].size() > 4 && std::memcmp(amd["binary"].data(),
                                                "\x7f"
                                                "ELF",
                                                4) == 0);
  auto spv = compiler::compile_for_target(text, "spirv:vulkan");
  CHECK(spv["binary"].size() > 4 && uint8_t(spv["binary"][0]) == 0x03 && uint8_t(spv["binary"][3]) == 0x07);
  bool threw = false;
  try {
    compiler::compile_for_target(text, "nvptx:sm_1000");
  } catch (const Error& e) { threw = e.code() == ErrorCode::Compile; }
  CHECK(threw);
}

// plan_memory: buffers live at the same time get disjoint bytes, a dead one's bytes are reused,
// returned buffers and those checks read stay out of the arena.
static void test_memory_plan() {
  Plan p;
  p.num_slots = 6;  // slot 0: the input; 1-4: f32[64] buffers (256 bytes); 5: f32[128]
  auto alloc = [&](int slot, int64_t n) {
    Step s;
    s.kind = Step::Alloc;
    s.slot = slot;
    s.type = TensorType{DType::F32, {n}};
    p.steps.push_back(s);
  };
  auto launch = [&](std::vector<int> args) {
    Step s;
    s.kind = Step::Launch;
    s.args = std::move(args);
    p.steps.push_back(s);
  };
  for (int slot = 1; slot <= 4; ++slot) alloc(slot, 64);
  alloc(5, 128);
  launch({0, 1});  // 1 = f(x)
  launch({1, 2});  // 2 = f(1): 1 dies
  launch({2, 3});  // 3 = f(2): may take 1's bytes
  launch({3, 5});  // 5 = f(3)
  launch({5, 4});  // 4 = f(5), returned
  p.output_slots = {4};
  compiler::plan_memory(p);
  const auto& off = p.arena_offset;
  CHECK(off[0] == -1 && off[4] == -1);  // the input; the returned buffer
  CHECK(off[1] >= 0 && off[2] >= 0 && off[3] >= 0 && off[5] >= 0);
  CHECK(off[1] != off[2] && off[2] != off[3]);              // live together
  CHECK(off[3] + 256 <= off[5] || off[5] + 512 <= off[3]);  // 3 and 5 meet at launch 3
  CHECK(p.arena_bytes <= 512 + 256 + 256);                  // not 4 buffers side by side
  Step check;
  check.kind = Step::Assert;
  check.args = {2};
  p.steps.push_back(check);
  compiler::plan_memory(p);
  CHECK(p.arena_offset[2] == -1);  // read by a check after the launches
}

// Multi-part images (code compiled in parallel parts): round trip, and corrupt blobs rejected.
static void test_code_parts() {
  std::vector<backends::CodePart> parts = {{2, "first image"}, {1, std::string("second\0image", 12)}};
  std::string blob = backends::encode_parts(parts);
  auto back = backends::decode_parts(blob, 3);
  CHECK(back.size() == 2 && back[0].kernels == 2 && back[1].image == parts[1].image);
  CHECK(backends::decode_parts("plain PTX", 4).size() == 1);  // one part, not encoded
  auto rejects = [](const std::string& b, size_t kernels) {
    try {
      backends::decode_parts(b, kernels);
    } catch (const Error& e) { return e.code() == ErrorCode::Internal; }
    return false;
  };
  CHECK(rejects(blob, 4));                             // the parts name 3 kernels
  CHECK(rejects(blob.substr(0, blob.size() - 3), 3));  // truncated image
  CHECK(rejects(blob.substr(0, 12), 3));               // truncated header
  std::string huge = blob;
  huge[8] = '\xff';  // a part count far beyond the blob
  CHECK(rejects(huge, 3));
}

int main() {
  std::mt19937 rng(1234);
  std::pair<const char*, std::function<void()>> tests[] = {
      {"elementwise_fused", [&] { test_elementwise_fused(rng); }},
      {"broadcast", [&] { test_broadcast(rng); }},
      {"sum", [&] { test_sum(rng); }},
      {"matmul", [&] { test_matmul(rng); }},
      {"targets", test_targets},
      {"memory_plan", test_memory_plan},
      {"code_parts", test_code_parts},
  };
  for (auto& [name, fn] : tests) {
    try {
      fn();
    } catch (const std::exception& e) {
      ++g_failed;
      std::printf("FAILED %s: exception: %s\n", name, e.what());
    }
  }
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed ? 1 : 0;
}
