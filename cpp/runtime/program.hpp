// Running a compiled program: the plans of its host functions (plan.hpp) over the kernels of
// its loaded modules. The entry plan runs; control-flow steps run the others
// (program_control.cpp), collective steps go through the communicators registered under their
// group keys (program_collectives.cpp). Both the compiler's Executable and exported programs
// loaded by the runtime alone (artifact.hpp) run through this one class.
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/array.hpp"
#include "runtime/plan.hpp"

namespace tessera {

// The loaded module of each kernel (one, or one per part of a program compiled in parts).
using KernelModules = std::map<std::string, tsrModule>;

class Program {
 public:
  // Owns `modules` from here on (unloaded with the program, or at once if binding fails) and
  // binds every launch step to its kernel in `kernels`. The first plan is the entry.
  // `keep_alive` holds what the kernels' code needs (the CPU JIT's library, a loaded object).
  Program(Device device, std::vector<Plan> plans, std::vector<tsrModule> modules, const KernelModules& kernels,
          std::shared_ptr<void> keep_alive = {});
  ~Program();
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  // Runs the entry plan. Inputs must match its input types and live on device(); non-contiguous
  // inputs are copied to contiguous memory first.
  std::vector<Array> run(const std::vector<Array>& inputs) const;
  Device device() const { return device_; }
  const Plan& main() const { return *main_; }
  const std::vector<Plan>& plans() const { return plans_; }
  uint64_t graph_replays() const { return replays_.load(std::memory_order_relaxed); }

 private:
  struct alignas(64) TensorMap {
    unsigned char bytes[128];
  };
  // One launch's arguments: the buffer pointers (`ptrs`), its TMA descriptors (`maps`) and the
  // void* array pointing at them that tsrLaunchKernel takes (`args`).
  struct LaunchArgs {
    std::vector<void*> ptrs;
    std::vector<TensorMap> maps;
    std::vector<void*> args;
  };
  std::vector<TensorMap> encode_tensor_maps(const Step& s, std::vector<Array>& slots, void** ptrs) const;
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
  // program_control.cpp: a scan, while_loop or cond step, calling other plans.
  void run_control(const Step& s, std::vector<Array>& slots) const;
  const Plan& plan_named(const std::string& name) const;
  // CUDA, two launches or more, from the second run on: one CUDA graph replays them all;
  // false when it cannot (another thread is replaying it, or recording or instantiating the
  // graph failed once: replay then stays off for this program).
  bool launch_as_graph(std::vector<Array>& slots) const;

  Device device_;
  std::vector<Plan> plans_;
  const Plan* main_ = nullptr;
  std::vector<tsrModule> modules_;
  std::shared_ptr<void> keep_alive_;
  // CUDA graph replay: the graph and each node's last argument pointers.
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

// Who prints the operands of rt.print (tessera.debug_print) when a program runs: the Python
// module installs one that formats tensors; the default writes the format with each operand's
// type to stderr.
using PrintCallback = std::function<void(const std::string& format, const std::vector<Array>& values)>;
void set_print_callback(PrintCallback callback);

// Communicator groups: a collective op names its group by a key (tessera.dist registers one
// communicator per mesh axis under a key derived from the mesh and the axis); a collective
// step looks the key up when it runs. A null comm removes the key.
void register_group(const std::string& key, tsrComm comm);
// Runs one collective step (plan.hpp: op, group, reduce, ints) on its operand slots.
Array run_collective(const Step& s, const std::vector<Array>& slots, Device device);

}  // namespace tessera
