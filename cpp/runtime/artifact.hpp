// Exported programs (tessera.export, tsrProgramLoad): a compiled program in one file that the
// runtime library loads and runs without the compiler or LLVM.
//
// The file: the magic "TESSERA-PROGRAM\0", the format version (u32), the section count (u32),
// then sections, each a name, a 64-bit FNV-1a checksum of its payload and the payload:
//   manifest   text for people (tsrProgramManifest): format, target, compiler, signature
//   program    target, compiler version, CPU features the code uses, the launch plans, the
//              entry's output types, how many inputs the caller passes, front-end metadata
//   kernels    compiled code: for the CPU one ELF shared object; for NVIDIA GPUs PTX per part
//   constants  the bytes of the entry's trailing inputs that were baked in (weights)
// A reader checks the magic, the version, every length and checksum, and the plans' indices
// before anything runs, so a truncated, corrupted or newer file is a clear error.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/array.hpp"
#include "runtime/plan.hpp"
#include "runtime/program.hpp"

namespace tessera::artifact {

constexpr uint32_t kFormat = 1;  // what this runtime writes and the newest it reads

struct KernelImage {
  std::vector<std::string> kernel_names;  // the kernels it defines
  std::vector<int32_t> kernel_params;     // each one's buffer parameters (TMA descriptors come after)
  std::string bytes;
};

struct Contents {
  std::string target;                     // "cpu" or "nvptx:sm_90a"
  std::string compiler;                   // "tessera 0.1.0 (build ...)"
  std::vector<std::string> cpu_features;  // cpu: the instruction sets the code may use ("avx2", ...)
  std::vector<KernelImage> images;        // cpu: one shared object; nvptx: PTX per compiled part
  std::vector<Plan> plans;                // the entry first
  int32_t num_inputs = 0;                 // the entry's leading inputs, passed by the caller
  std::vector<Array> constants;           // the rest (CPU arrays), stored in the file
  std::string metadata;                   // for the front end that exported it (Python: JSON)
};

std::string write(const Contents& c);
// Throws ErrorCode::Value ("<source>: ...") for anything malformed; `source` names the file.
Contents read(const std::string& bytes, const std::string& source);
std::string manifest(const Contents& c);
// artifact_check.cpp: the plans' slots, arena, views, control flow and kernels are consistent
// (read() calls it). Throws ErrorCode::Value naming what is wrong.
void check_program(const Contents& c, const std::string& source);
// The CPU instruction sets in `features` that this machine lacks (checks those the runtime
// knows; the compiler records only those).
std::vector<std::string> missing_cpu_features(const std::vector<std::string>& features);
// The instruction sets of this machine that the runtime knows how to check.
std::vector<std::string> host_cpu_features();

// A program loaded for a device: its kernels, plans and constants, ready to run.
class Loaded {
 public:
  // Throws ErrorCode::Device when `device` cannot run the program's target.
  Loaded(Contents contents, Device device);
  // Runs on the caller's inputs (the constants are appended); returns the results.
  std::vector<Array> run(const std::vector<Array>& inputs) const;
  // The file's contents but its kernel images and constants (dropped once loaded).
  const Contents& contents() const { return contents_; }
  const std::string& manifest_text() const { return manifest_; }
  Device device() const { return program_->device(); }

 private:
  Contents contents_;
  std::string manifest_;
  std::vector<Array> constants_;  // on the device
  std::unique_ptr<Program> program_;
};

}  // namespace tessera::artifact
