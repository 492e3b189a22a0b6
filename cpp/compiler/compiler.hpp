// The compiler driver: Graph IR text in, an Executable out.
//
//   parse -> verify -> cse, dce (Graph IR) -> form-kernels (Schedule IR) -> lower-to-tile
//   (Tile IR) -> backend (LLVM IR -> machine code) -> load into the runtime
//
// Executables are cached in memory by the module's structure (its text without source
// locations) and the target, so eager code and @jit share compiled kernels. Compiled code is
// also cached on disk (program_cache.hpp, disk_cache.hpp), so a new process skips LLVM.
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/backend.hpp"
#include "compiler/plan.hpp"
#include "ir/ir.hpp"
#include "runtime/array.hpp"

namespace tessera::compiler {

class Executable {
 public:
  ~Executable();
  // Runs the entry function. Inputs must match its parameter types and live on device().
  // Non-contiguous inputs are copied to contiguous memory first.
  std::vector<Array> run(const std::vector<Array>& inputs) const;
  // IR text of one level: "graph", "schedule", "tile", "llvm" or "asm" (PTX / AMDGPU asm).
  // A program loaded from the disk cache regenerates its IR texts on the first request.
  std::string ir(const std::string& level) const;
  bool from_disk_cache() const { return from_disk_cache_; }
  uint64_t graph_replays() const { return replays_.load(std::memory_order_relaxed); }
  const backends::CompiledKernels& kernels() const { return kernels_; }
  Device device() const { return device_; }
  const std::vector<ir::Type>& input_types() const { return main_->input_types; }
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
  void load_kernels();
  // Plans of every host function of the Tile IR module; the first is the entry.
  void build_plans(const ir::Module& tile_module);
  struct alignas(64) TensorMap {
    unsigned char bytes[128];
  };
  std::vector<TensorMap> encode_tensor_maps(const Step& s, std::vector<Array>& slots, void** ptrs) const;
  // One launch's arguments: the buffer pointers (`ptrs`), its TMA descriptors (`maps`) and the
  // void* array pointing at them that tsrLaunchKernel takes (`args`).
  struct LaunchArgs {
    std::vector<void*> ptrs;
    std::vector<TensorMap> maps;
    std::vector<void*> args;
  };
  void fill_args(const Step& s, std::vector<Array>& slots, LaunchArgs& out) const;
  void launch(const Step& s, std::vector<Array>& slots) const;
  void launch_profiled(const Step& s, std::vector<Array>& slots, LaunchArgs& a) const;  // tessera.profile()
  // Runs a plan on its inputs (already checked): buffers, launches, control flow, then the
  // rt.assert checks; returns its outputs. `top`: the entry plan of a call (graph replay).
  std::vector<Array> run_plan(const Plan& plan, std::vector<Array> inputs, bool top) const;
  // Allocates a plan's buffer (Alloc) or makes its view (View) into slots.
  void make_buffer(const Plan& plan, size_t step, std::vector<Array>& slots, const Array& arena, bool poison) const;
  // Raises the message of the first rt.assert whose flag is false, then hands rt.print's
  // operands to the printer (after the kernels ran).
  void check_asserts(const Plan& plan, const std::vector<Array>& slots) const;
  // executable_control.cpp: a scan, while_loop or cond step, calling other plans.
  void run_control(const Step& s, std::vector<Array>& slots) const;
  const Plan& plan_named(const std::string& name) const;
  // CUDA, two launches or more, from the second run on: one CUDA graph replays them all;
  // false when it cannot (another thread is replaying it, or recording or instantiating the
  // graph failed once: replay then stays off for this program).
  bool launch_as_graph(std::vector<Array>& slots) const;

  std::string source_;  // Graph IR text, for regenerating ir_text_ after a disk cache hit
  mutable std::mutex ir_mutex_;
  mutable std::map<std::string, std::string> ir_text_;
  bool from_disk_cache_ = false;
  std::vector<std::string> out_shardings_;
  backends::CompiledKernels kernels_;
  Device device_;
  std::vector<tsrModule> modules_;  // the CPU's one, or one per compiled part on a GPU
  KernelModules kernel_modules_;    // kernel name -> its module
  std::map<std::string, Plan> plans_;
  const Plan* main_ = nullptr;
  // CUDA graph replay (executable.cpp): the graph and each node's last argument pointers.
  struct Replay {
    tsrGraph graph = nullptr;
    std::vector<std::vector<void*>> node_ptrs;
    ~Replay();
  };
  mutable std::atomic<uint64_t> runs_{0};
  mutable std::atomic<uint64_t> replays_{0};
  mutable std::mutex replay_mutex_;
  mutable std::unique_ptr<Replay> replay_;
  mutable bool replay_disabled_ = false;  // under replay_mutex_
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

// Who prints the operands of rt.print (tessera.debug_print) when a program runs: the Python
// module installs one that formats tensors; the default writes the format with each operand's
// type to stderr.
using PrintCallback = std::function<void(const std::string& format, const std::vector<Array>& values)>;
void set_print_callback(PrintCallback callback);

// How many times this process ran a code generator (LLVM): a disk cache hit does not.
uint64_t backend_compile_count();

// The default target for a device ("cpu", or "nvptx:sm_XY" from the GPU's compute capability).
std::string default_target(Device device);

}  // namespace tessera::compiler
