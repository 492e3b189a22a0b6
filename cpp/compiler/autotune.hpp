// Autotuning of schedule knobs by measurement (docs/scheduling.md, "Autotuning").
//
// Runs between the scheduling passes that pick heuristic knobs (pack-matmul) and form-kernels.
// With TESSERA_AUTOTUNE=1, each tunable op whose knobs are not in the autotune cache is timed
// on the device with candidate knobs (a coordinate search from the heuristic choice, within
// TESSERA_AUTOTUNE_BUDGET_MS per op, default 3000), and the fastest is stored in the cache
// (autotune_cache.hpp) and used. Cached winners are used whenever tuning is on, without
// measuring again. With TESSERA_AUTOTUNE unset or 0 the heuristic knobs stand.
//
// Tunable today: sched.packed_matmul's cache blocks mc, nc, kc (CPU, before form-kernels), the
// lane count of CPU element-wise and row-wise kernels, and the threads and lanes (vector chunks
// per thread) of NVIDIA element-wise and row-wise kernels (after form-kernels: each candidate
// is the one sched.kernel compiled alone and timed on the device). Keys hold the CPU model, or
// the GPU's name, compute capability, SM count and driver version. A row-wise kernel's lane count sets its fixed
// reduction order, so a tuned program may differ in the last bits from an untuned one; a
// cached choice gives the same bits every run.
#pragma once
#include <string>

#include "backends/backend.hpp"
#include "ir/ir.hpp"
#include "runtime/array.hpp"

namespace tessera::compiler {

bool autotune_enabled();

// Applies cached or measured knobs to the tunable ops of `m` (Graph IR after pack-matmul).
// `device` is where candidates run; without one (compile_for_target) only cached knobs apply.
void tune_knobs(ir::Module& m, const ir::Target& target, const Device* device);

// Applies cached or measured lane counts (and on NVIDIA thread counts) to the element-wise and
// row-wise sched.kernel ops of `m` (Schedule IR). GPU choices need `device` (its model is part
// of the key).
void tune_kernel_knobs(ir::Module& m, const ir::Target& target, const Device* device);

// True for a module whose functions already hold sched.kernel ops (a candidate being timed).
bool is_schedule_ir(const ir::Module& m);

// How many candidates this process has measured (for tests).
uint64_t autotune_measurements();

}  // namespace tessera::compiler
