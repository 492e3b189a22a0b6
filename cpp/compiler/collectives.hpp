// Communicator groups and the collective steps of launch plans. A collective op names its group
// by a key (tessera.dist registers one communicator per mesh axis under a key derived from the
// mesh and the axis); the executor looks the key up when the step runs.
#pragma once
#include <string>
#include <vector>

#include "compiler/plan.hpp"
#include "runtime/array.hpp"

namespace tessera::compiler {

// Makes `key` name `comm` (replacing an earlier one); a null comm removes the key.
void register_group(const std::string& key, tsrComm comm);
// Runs one collective step (plan.hpp: op, group, reduce, ints) on its operand slots; returns the result.
Array run_collective(const Step& s, const std::vector<Array>& slots, Device device);

}  // namespace tessera::compiler
