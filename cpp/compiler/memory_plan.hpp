// Buffer assignment for a launch plan: the intermediate buffers of a program share one arena,
// placed by liveness so that buffers whose lifetimes do not overlap reuse the same bytes.
//
// Why: the executor used to allocate every intermediate before the first launch and free them
// all after the last, so a training step held all its activations, gradients and temporaries
// at once (the GPT block step on an H100: 973 MiB at its peak against torch eager's 368).
//
// A buffer lives from the first launch that uses it to the last (its views' uses count as its
// own). Buffers the function returns, and those its checks read after the launches, get their
// own allocation. Offsets are assigned largest buffer first, each at the lowest offset that
// does not overlap a placed buffer live at the same time (256-byte aligned). Kernels run in
// order (the CPU one after another; CUDA on one stream, graph nodes in a chain), so a buffer's
// bytes are reused only after its last reader. Plans with control flow keep one allocation per
// buffer.
#pragma once
#include "compiler/plan.hpp"

namespace tessera::compiler {

// Fills plan.arena_offset and plan.arena_bytes.
void plan_memory(Plan& plan);

}  // namespace tessera::compiler
