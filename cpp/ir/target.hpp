// What a module is compiled for: one typed description that the compiler driver builds once
// (Target::parse plus what it learns from the host or the device) and writes into the module's
// attributes (annotate), so that printed IR carries it and text-in/text-out pass tests can set
// it; passes read it back with Target::of instead of comparing attribute strings.
//
// Attributes: target = "cpu" | "nvptx" | "amdgpu" | "spirv", arch = "sm_90a" (GPUs), sm_count
// (nvptx: the device's multiprocessors), simd_bits (cpu: the widest vector register).
#pragma once
#include <cstdint>
#include <string>

#include "ir/ir.hpp"

namespace tessera::ir {

enum class TargetKind { Cpu, Nvptx, Amdgpu, Spirv };

struct Target {
  TargetKind kind = TargetKind::Cpu;
  std::string arch;         // nvptx sm_XX[a], amdgpu gfxNNN, spirv vulkan; cpu: the CPU's name, or empty
  int64_t sm_count = 132;   // nvptx: multiprocessors (default: an H100 SXM's, when no device is known)
  int64_t simd_bits = 256;  // cpu: widest vector register in bits (512 with AVX-512F)

  // Features, derived from kind and arch (set_features). An nvptx module without an arch
  // (hand-written IR) has sm_80's baseline features and no arch-specific choices (sm 0).
  int sm = 0;                 // nvptx compute capability x 10 (90 for sm_90a), else 0
  bool cp_async = false;      // nvptx sm_80+: async global -> shared copies (block GEMMs, flash attention)
  bool mma_sync = false;      // nvptx sm_80+: bf16/f16 tensor cores through mma.sync
  bool wgmma = false;         // sm_90a only: warpgroup MMA with TMA loads and mbarriers (Hopper kernels)
  bool fp8 = false;           // nvptx sm_89+: e4m3/e5m2 tensor-core inputs
  int64_t shared_memory = 0;  // nvptx: dynamic shared memory per block in bytes (0 elsewhere)

  bool gpu() const { return kind != TargetKind::Cpu; }
  bool nvptx() const { return kind == TargetKind::Nvptx; }
  bool cpu() const { return kind == TargetKind::Cpu; }
  const char* kind_name() const;  // "cpu", "nvptx", "amdgpu", "spirv"
  std::string str() const;        // "nvptx:sm_90a"; "cpu" or "cpu:<name>"

  // "cpu", "cpu:host", "nvptx[:sm_XX]", "amdgpu[:gfxNNN]", "spirv[:vulkan]" (defaults: sm_90,
  // gfx942, vulkan). Throws ErrorCode::Compile for an unknown kind or architecture.
  static Target parse(const std::string& text);
  // The target of a module, from its attributes (cpu when it has none). Throws
  // ErrorCode::Value for a malformed attribute.
  static Target of(const Module& m);
  // Writes this target's attributes into the module (replacing any).
  void annotate(Module& m) const;

 private:
  void set_features();
};

}  // namespace tessera::ir
