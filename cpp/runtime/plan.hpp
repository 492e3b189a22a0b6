// Launch plans: a host function of a compiled program as a flat list of steps over numbered
// buffer slots. The compiler builds them from Tile IR (compiler/build_plan.hpp); the runtime
// runs them (program.hpp) and writes them into exported programs (artifact.hpp). No IR here:
// an exported program runs with the runtime library alone.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/dtype.hpp"
#include "tessera/tessera.h"

namespace tessera {

// A buffer's type: its element type and static shape.
struct TensorType {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  bool operator==(const TensorType& o) const { return dtype == o.dtype && shape == o.shape; }
  std::string str() const;  // "f32[2,3]", as Graph IR prints it
  int64_t bytes() const;    // of its elements; INT64_MAX when that overflows (a file's claim)
};

struct Step {
  enum Kind { Alloc, View, Launch, Assert, Print, Control, Collective } kind = Alloc;
  int slot = -1;               // alloc, view: slot written
  int view_of = -1;            // view: the slot whose buffer it shares
  TensorType type;             // alloc, view: the buffer's type
  tsrKernel kernel = nullptr;  // launch: bound when the program's modules are loaded
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
  std::vector<TensorType> result_types;
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
  std::vector<TensorType> input_types;
  std::vector<int> output_slots;
  std::vector<TensorType> output_types;
  size_t launches = 0;       // launch steps with a non-empty grid
  bool has_control = false;  // control-flow steps: run step by step, never as one CUDA graph
  // compiler/memory_plan.hpp: each slot's byte offset in the run's arena (-1: its own allocation).
  std::vector<int64_t> arena_offset;
  int64_t arena_bytes = 0;
};

}  // namespace tessera
