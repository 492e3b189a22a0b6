// The typed target (see target.hpp).
#include "ir/target.hpp"

#include <initializer_list>

namespace tessera::ir {
namespace {

constexpr std::initializer_list<const char*> kNvptxArchs = {"sm_70", "sm_75",  "sm_80",  "sm_86", "sm_89",
                                                            "sm_90", "sm_90a", "sm_100", "sm_120"};
constexpr std::initializer_list<const char*> kAmdgpuArchs = {"gfx90a", "gfx940",  "gfx941",  "gfx942",
                                                             "gfx950", "gfx1030", "gfx1100", "gfx1200"};

void check_arch(const char* kind, const std::string& arch, std::initializer_list<const char*> known) {
  std::string list;
  for (const char* a : known) {
    if (arch == a) return;
    list += std::string(list.empty() ? "" : ", ") + a;
  }
  fail(ErrorCode::Compile, std::string(kind) + ": unknown GPU architecture '" + arch + "' (known: " + list + ")");
}

// Dynamic shared memory one block may use, by compute capability (CUDA programming guide).
int64_t shared_memory_of(int sm) {
  if (sm >= 90) return 227 * 1024;
  if (sm == 80) return 163 * 1024;
  if (sm >= 86) return 99 * 1024;
  if (sm == 75) return 64 * 1024;
  return 96 * 1024;
}

TargetKind kind_of(const std::string& name, const std::string& text) {
  if (name == "cpu") return TargetKind::Cpu;
  if (name == "nvptx") return TargetKind::Nvptx;
  if (name == "amdgpu") return TargetKind::Amdgpu;
  if (name == "spirv") return TargetKind::Spirv;
  fail(ErrorCode::Compile,
       "unknown target '" + text + "' (known: cpu, nvptx[:sm_XX], amdgpu[:gfxXXX], spirv[:vulkan])");
}

template <class T>
const T* attr(const Module& m, const char* name) {
  auto it = m.attrs.find(name);
  if (it == m.attrs.end()) return nullptr;
  const T* v = std::get_if<T>(&it->second);
  if (!v) fail(ErrorCode::Value, std::string("module attribute '") + name + "' has the wrong kind of value");
  return v;
}

}  // namespace

const char* Target::kind_name() const {
  switch (kind) {
    case TargetKind::Cpu: return "cpu";
    case TargetKind::Nvptx: return "nvptx";
    case TargetKind::Amdgpu: return "amdgpu";
    case TargetKind::Spirv: return "spirv";
  }
  return "cpu";
}

std::string Target::str() const { return arch.empty() ? kind_name() : std::string(kind_name()) + ":" + arch; }

void Target::set_features() {
  sm = 0;
  if (kind == TargetKind::Nvptx && !arch.empty())
    sm = std::stoi(arch.substr(3, arch.find_first_not_of("0123456789", 3) - 3));
  cp_async = mma_sync = kind == TargetKind::Nvptx && (arch.empty() || sm >= 80);
  wgmma = arch == "sm_90a";
  fp8 = sm >= 89;
  shared_memory = kind == TargetKind::Nvptx ? shared_memory_of(sm == 0 ? 80 : sm) : 0;
}

Target Target::parse(const std::string& text) {
  Target t;
  auto colon = text.find(':');
  t.kind = kind_of(text.substr(0, colon), text);
  t.arch = colon == std::string::npos ? "" : text.substr(colon + 1);
  switch (t.kind) {
    case TargetKind::Cpu:
      if (t.arch == "host") t.arch.clear();  // the compiler driver names the host CPU
      break;
    case TargetKind::Nvptx:
      if (t.arch.empty()) t.arch = "sm_90";
      check_arch("nvptx", t.arch, kNvptxArchs);
      break;
    case TargetKind::Amdgpu:
      if (t.arch.empty()) t.arch = "gfx942";
      check_arch("amdgpu", t.arch, kAmdgpuArchs);
      break;
    case TargetKind::Spirv:
      if (t.arch.empty()) t.arch = "vulkan";
      if (t.arch != "vulkan") fail(ErrorCode::Compile, "spirv: unknown flavour '" + t.arch + "' (known: vulkan)");
      break;
  }
  t.set_features();
  return t;
}

Target Target::of(const Module& m) {
  Target t;
  if (const auto* name = attr<std::string>(m, "target")) t.kind = kind_of(*name, *name);
  if (const auto* arch = attr<std::string>(m, "arch")) {
    t.arch = *arch;
    if (t.kind == TargetKind::Nvptx) check_arch("nvptx", t.arch, kNvptxArchs);
  }
  if (const auto* n = attr<int64_t>(m, "sm_count")) t.sm_count = *n;
  if (const auto* n = attr<int64_t>(m, "simd_bits")) t.simd_bits = *n;
  t.set_features();
  return t;
}

void Target::annotate(Module& m) const {
  for (const char* k : {"target", "arch", "sm_count", "simd_bits"}) m.attrs.erase(k);
  m.attrs["target"] = std::string(kind_name());
  if (gpu()) m.attrs["arch"] = arch;
  if (kind == TargetKind::Nvptx) m.attrs["sm_count"] = sm_count;
  if (kind == TargetKind::Cpu) m.attrs["simd_bits"] = simd_bits;
}

}  // namespace tessera::ir
