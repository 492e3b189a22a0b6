// The compiler driver: Graph IR text in, an Executable out.
//
//   parse -> verify -> cse, dce (Graph IR) -> form-kernels (Schedule IR) -> lower-to-tile
//   (Tile IR) -> backend (LLVM IR -> machine code) -> load into the runtime
//
// Executables are cached in memory by the module's structure (its text without source
// locations) and the target, so eager code and @jit share compiled kernels. Compiled code is
// also cached on disk (program_cache.hpp, disk_cache.hpp), so a new process skips LLVM.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/backend.hpp"
#include "ir/ir.hpp"
#include "runtime/array.hpp"
#include "runtime/program.hpp"

namespace tessera::compiler {

class Executable {
 public:
  // Runs the entry function (runtime/program.hpp): inputs must match its parameter types and
  // live on device(); non-contiguous inputs are copied to contiguous memory first.
  std::vector<Array> run(const std::vector<Array>& inputs) const { return program_->run(inputs); }
  // IR text of one level: "graph", "schedule", "tile", "llvm" or "asm" (PTX / AMDGPU asm).
  // A program loaded from the disk cache regenerates its IR texts on the first request.
  std::string ir(const std::string& level) const;
  bool from_disk_cache() const { return from_disk_cache_; }
  uint64_t graph_replays() const { return program_->graph_replays(); }
  const backends::CompiledKernels& kernels() const { return kernels_; }
  const Program& program() const { return *program_; }
  Device device() const { return device_; }
  const std::vector<TensorType>& input_types() const { return program_->main().input_types; }
  // A program partitioned over a mesh (spmd-partition): each result's sharding; else empty.
  const std::vector<std::string>& out_shardings() const { return out_shardings_; }

 private:
  friend std::shared_ptr<Executable> compile(const std::string&, Device, const std::string&);
  friend std::shared_ptr<Executable> compile_uncached(const std::string&, Device, const ir::Target&);
  static std::shared_ptr<Executable> create(const std::string& text, Device device, const ir::Target& target);
  // Lowers and code-generates source_, then loads it; returns the record for the disk cache.
  std::string compile_source();
  // Loads a record from the disk cache (program_cache.hpp); throws if it cannot be used.
  void load_cached(const std::string& record);
  // Loads the kernels and builds the plans of every host function of the Tile IR module (the
  // first is the entry) into program_.
  void load(const ir::Module& tile_module);

  std::string source_;  // Graph IR text, for regenerating ir_text_ after a disk cache hit
  mutable std::mutex ir_mutex_;
  mutable std::map<std::string, std::string> ir_text_;
  bool from_disk_cache_ = false;
  std::vector<std::string> out_shardings_;
  backends::CompiledKernels kernels_;
  Device device_;
  std::unique_ptr<Program> program_;  // after kernels_: destroyed first (kernels_.jit holds its CPU code)
};

// Compiles the first function of the Graph IR module in `text` for `device`. `target`
// overrides the target ("cpu", "nvptx:sm_90", ...); by default it follows the device.
std::shared_ptr<Executable> compile(const std::string& text, Device device, const std::string& target = "");

// Compiles without the in-memory or disk caches (the autotuner's candidates).
std::shared_ptr<Executable> compile_uncached(const std::string& text, Device device, const ir::Target& target);

// Runs the pipeline up to code generation for any target, without a device: for inspecting
// PTX / HSACO / SPIR-V on machines that lack the hardware. Keys: graph, schedule, tile, llvm,
// asm, binary.
std::map<std::string, std::string> compile_for_target(const std::string& text, const std::string& target);
// The same for a program compiled for `device`: autotuned knobs cached for that device apply
// (a GPU's choices are keyed by its model, so they need the device).
std::map<std::string, std::string> compile_texts(const std::string& text, const std::string& target,
                                                 const Device* device);

// Ahead-of-time export (export.cpp): compiles the first function of the Graph IR module in
// `text` for `target` ("cpu": this host's CPU; "nvptx:sm_90a", ...) without a device and
// returns the bytes of a program file (runtime/artifact.hpp) that the runtime library loads
// alone. The function's first `num_inputs` inputs come from the caller; the rest are
// `constants`, stored in the file. `metadata` is kept for the front end.
std::string export_program(const std::string& text, const std::string& target, int num_inputs,
                           const std::vector<Array>& constants, const std::string& metadata);

// How many times this process ran a code generator (LLVM): a disk cache hit does not.
uint64_t backend_compile_count();

// The default target for a device ("cpu", or "nvptx:sm_XY" from the GPU's compute capability).
std::string default_target(Device device);

}  // namespace tessera::compiler
