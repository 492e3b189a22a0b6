// Launch plans: a host function of the Tile IR module as a flat list of steps over numbered
// buffer slots, which the Executable interprets (executable.cpp, executable_control.cpp).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/ir.hpp"
#include "runtime/array.hpp"

namespace tessera::compiler {

struct Step {
  enum Kind { Alloc, View, Launch, Assert, Print, Control, Collective } kind = Alloc;
  int slot = -1;               // alloc, view: slot written
  int view_of = -1;            // view: the slot whose buffer it shares
  ir::Type type;               // alloc: buffer type
  std::vector<int64_t> shape;  // alloc: its static shape, computed once
  tsrKernel kernel = nullptr;  // launch
  std::string kernel_name;
  std::vector<int> args;  // launch: buffer slots; control: operand slots
  tsrLaunchConfig config{};
  std::vector<int64_t> tensor_maps;  // launch: TMA descriptors appended to the arguments (rt.launch)
  int64_t flops = 0;                 // launch: its products' floating-point operations (profiler)
  std::string message;               // assert: the error (Python puts the user's line in it); print: the format
  // control (scan, while_loop, cond) and collective (ops_collective.cpp): the op, the plans it
  // calls (by role order), result slots and types, and its integer attributes.
  std::string op;
  std::vector<std::string> callees;
  std::vector<int> results;
  std::vector<ir::Type> result_types;
  int64_t length = 0, n_carry = 0, n_xs = 0;
  bool reverse = false;
  std::string loc;
  // collectives: the group's key and size, the reduction, and axis / split_axis, concat_axis /
  // root / perm pairs in `ints`
  std::string group, reduce;
  int64_t group_size = 1;
  std::vector<int64_t> ints;
  // A launch of a grid without a 0 (empty tensors launch nothing).
  bool has_work() const { return kind == Launch && config.grid[0] && config.grid[1] && config.grid[2]; }
};

struct Plan {
  std::string name;
  std::vector<Step> steps;
  int num_slots = 0;
  std::vector<ir::Type> input_types;
  std::vector<std::vector<int64_t>> input_shapes;
  std::vector<int> output_slots;
  size_t launches = 0;       // launch steps with a non-empty grid
  bool has_control = false;  // control-flow steps: run step by step, never as one CUDA graph
  // memory_plan.hpp: each slot's byte offset in the run's arena (-1: its own allocation).
  std::vector<int64_t> arena_offset;
  int64_t arena_bytes = 0;
};

// The loaded module of each kernel (one, or one per part of a program compiled in parts).
using KernelModules = std::map<std::string, tsrModule>;
// The plan of a Tile IR host function; kernels are looked up in their modules.
Plan build_plan(const ir::Function& host, const KernelModules& modules);

}  // namespace tessera::compiler
