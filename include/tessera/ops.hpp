// The C++ op API: one function per registry op, appending the op to its operands' function.
// Generated from the op registry by `python -m tessera._opgen --write .`; do not edit.
#pragma once

#include "tessera/ops/contraction.hpp"
#include "tessera/ops/data_movement.hpp"
#include "tessera/ops/elementwise_binary.hpp"
#include "tessera/ops/elementwise_unary.hpp"
#include "tessera/ops/reduction.hpp"
