// tsrEncodeTensorMap: TMA descriptors (CUtensorMap) for the Hopper GEMM's bulk tensor copies,
// through cuTensorMapEncodeTiled. Encoding is host-only work (no context, no device call).
#include "runtime/cuda_driver.hpp"
#include "runtime/validate.hpp"

using namespace tessera::rt;

extern "C" {

TSR_API tsrStatus tsrEncodeTensorMap(tsrDevice device, void* out, const void* base, uint32_t elem_bytes, uint32_t rank,
                                     const uint64_t* dims, const uint64_t* strides_bytes, const uint32_t* box,
                                     uint32_t swizzle_bytes) {
  return api("tsrEncodeTensorMap", [&] {
    if (!out || !dims || !box || (rank > 1 && !strides_bytes))
      return invalid("out, dims, strides_bytes or box is NULL");
    if (reinterpret_cast<uintptr_t>(out) % 64) return invalid("out must be 64-byte aligned");
    if (rank < 1 || rank > 5) return invalid(cat("rank must be 1..5, got ", rank));
    if (reinterpret_cast<uintptr_t>(base) % 16) return invalid("base must be 16-byte aligned for TMA");
    // CU_TENSOR_MAP_DATA_TYPE_UINT8/16/32/64: the bits are copied, so one code per width serves all dtypes.
    int data_type = elem_bytes == 1 ? 0 : elem_bytes == 2 ? 1 : elem_bytes == 4 ? 2 : elem_bytes == 8 ? 4 : -1;
    if (data_type < 0) return invalid(cat("elem_bytes must be 1, 2, 4 or 8, got ", elem_bytes));
    int swizzle = swizzle_bytes == 0     ? 0
                  : swizzle_bytes == 32  ? 1
                  : swizzle_bytes == 64  ? 2
                  : swizzle_bytes == 128 ? 3
                                         : -1;
    if (swizzle < 0) return invalid(cat("swizzle_bytes must be 0, 32, 64 or 128, got ", swizzle_bytes));
    if (device.type != TSR_DEVICE_CUDA)
      return set_error(TSR_ERROR_NOT_SUPPORTED, "tensor maps exist only on CUDA devices");
    if (tsrStatus s = check_device("device", device)) return s;
    const cuda::Driver* d = cuda::driver();
    if (!d || !d->cuTensorMapEncodeTiled)
      return set_error(TSR_ERROR_NOT_SUPPORTED,
                       "the CUDA driver has no cuTensorMapEncodeTiled (TMA needs a CUDA 12 driver)");
    const uint32_t elem_strides[5] = {1, 1, 1, 1, 1};
    // Interleave none, L2 promotion 256 bytes, out-of-bounds elements read as zeros.
    return cuda::check(d->cuTensorMapEncodeTiled(out, data_type, rank, const_cast<void*>(base), dims, strides_bytes,
                                                 box, elem_strides, 0, swizzle, 3, 0),
                       "cuTensorMapEncodeTiled");
  });
}

}  // extern "C"
