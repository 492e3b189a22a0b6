/* DLPack 1.1 ABI, written from the specification (https://dmlc.github.io/dlpack/latest/).
 *
 * DLPack is the in-memory tensor exchange format shared by NumPy, PyTorch, JAX, CuPy and
 * others. Only the data layout matters here: these structs must match the spec byte for byte,
 * so the field order and types below are fixed by it. Tessera exports
 * DLManagedTensorVersioned (capsule name "dltensor_versioned") and, for old consumers, the
 * legacy DLManagedTensor (capsule name "dltensor").
 */
#ifndef TESSERA_DLPACK_H
#define TESSERA_DLPACK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DLPACK_MAJOR_VERSION 1
#define DLPACK_MINOR_VERSION 1

/* A change of major version breaks the ABI; minor versions only add enum values. */
typedef struct {
  uint32_t major;
  uint32_t minor;
} DLPackVersion;

/* Device kinds. The numbers are part of the ABI (and equal tsrDeviceType for CPU and CUDA). */
#ifdef __cplusplus
typedef enum : int32_t {
#else
typedef enum {
#endif
  kDLCPU = 1,
  kDLCUDA = 2,
  kDLCUDAHost = 3,      /* pinned host memory from cudaMallocHost */
  kDLOpenCL = 4,
  kDLVulkan = 7,
  kDLMetal = 8,
  kDLVPI = 9,
  kDLROCM = 10,
  kDLROCMHost = 11,
  kDLExtDev = 12,
  kDLCUDAManaged = 13,  /* unified memory from cudaMallocManaged */
  kDLOneAPI = 14,
  kDLWebGPU = 15,
  kDLHexagon = 16,
  kDLMAIA = 17
} DLDeviceType;

typedef struct {
  DLDeviceType device_type;
  int32_t device_id; /* 0 for CPU */
} DLDevice;

/* Element type families (DLDataType.code). */
typedef enum {
  kDLInt = 0U,
  kDLUInt = 1U,
  kDLFloat = 2U,
  kDLOpaqueHandle = 3U,
  kDLBfloat = 4U,
  kDLComplex = 5U,
  kDLBool = 6U,
  /* 1.1: narrow floats; bits says the width. */
  kDLFloat8_e3m4 = 7U,
  kDLFloat8_e4m3 = 8U,
  kDLFloat8_e4m3b11fnuz = 9U,
  kDLFloat8_e4m3fn = 10U,
  kDLFloat8_e4m3fnuz = 11U,
  kDLFloat8_e5m2 = 12U,
  kDLFloat8_e5m2fnuz = 13U,
  kDLFloat8_e8m0fnu = 14U,
  kDLFloat6_e2m3fn = 15U,
  kDLFloat6_e3m2fn = 16U,
  kDLFloat4_e2m1fn = 17U
} DLDataTypeCode;

/* An element type: float32 is {kDLFloat, 32, 1}; lanes > 1 means short vectors. */
typedef struct {
  uint8_t code; /* a DLDataTypeCode */
  uint8_t bits;
  uint16_t lanes;
} DLDataType;

/* A strided view. Element (i0, i1, ...) lives at
 *   (char*)data + byte_offset + (i0 * strides[0] + i1 * strides[1] + ...) * bits / 8.
 * strides == NULL means compact row-major (deprecated for producers since 1.2, still to be
 * accepted by consumers). shape and strides have ndim entries; strides count elements. */
typedef struct {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;
  uint64_t byte_offset;
} DLTensor;

/* Pre-1.0 managed tensor: no version and no flags. The consumer calls deleter(self) once
 * when it no longer needs the memory (deleter may be NULL). */
typedef struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensor* self);
} DLManagedTensor;

/* The tensor must not be written through (a read-only NumPy array, for example). */
#define DLPACK_FLAG_BITMASK_READ_ONLY (1ULL << 0)
/* The producer made a copy for this export; the consumer owns the data alone. */
#define DLPACK_FLAG_BITMASK_IS_COPIED (1ULL << 1)
/* 1.1: sub-byte elements are padded to a byte each. */
#define DLPACK_FLAG_BITMASK_IS_SUBBYTE_TYPE_PADDED (1ULL << 2)

/* 1.0+ managed tensor. Note the different field order from DLManagedTensor. */
typedef struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(struct DLManagedTensorVersioned* self);
  uint64_t flags;
  DLTensor dl_tensor;
} DLManagedTensorVersioned;

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_DLPACK_H */
