// DLPack (tessera/dlpack.h) in the runtime's terms: dtypes and devices both ways, the checks
// a borrowed DLTensor must pass, and an Array handed out as a DLManagedTensorVersioned. Used by
// the Python bindings (python/dlpack.cpp) and the C ABI's program runs (tsrProgramRun).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/array.hpp"
#include "tessera/dlpack.h"

namespace tessera::dlpack {

constexpr int32_t kMaxNdim = 64;  // NumPy's and the buffer protocol's limit

DLDataType to_dl(DType t);
DType from_dl(DLDataType d);  // throws ErrorCode::DType naming the dtype
Device device_from_dl(int64_t type, int64_t id);
DLDevice device_to_dl(Device d);
const char* dl_device_name(int64_t type);  // "kDLCUDA", for messages
// Validates `t` and describes it as an Array with a null Storage. `lo_bytes` (<= 0) and
// `span_bytes` receive the byte range, relative to the first element, that the view touches.
Array describe(const DLTensor& t, int64_t& lo_bytes, size_t& span_bytes);
// `t` as an Array over its memory, which the caller keeps alive while the Array is used.
Array borrow(const DLTensor& t);
// A managed tensor that keeps `a`'s storage alive until its deleter runs. `flags`: DLPack's.
DLManagedTensorVersioned* export_versioned(const Array& a, uint64_t flags = 0);
// The C ABI's runs (tsrProgramRun, tsrExecutableRun): borrows `inputs`, calls `run` on them and
// hands its results out as managed tensors, all of them or (on an error) none.
using RunFn = std::function<std::vector<Array>(const std::vector<Array>&)>;
void run_borrowed(const DLTensor* inputs, int32_t num_inputs, DLManagedTensorVersioned** outputs, int32_t num_outputs,
                  const RunFn& run);

}  // namespace tessera::dlpack
