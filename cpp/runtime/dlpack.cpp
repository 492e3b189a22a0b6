// DLPack conversions (dlpack.hpp).
#include "runtime/dlpack.hpp"

#include <string>

namespace tessera::dlpack {
namespace {

const char* dl_code_name(uint8_t code) {
  static const char* names[] = {"int",
                                "uint",
                                "float",
                                "opaque_handle",
                                "bfloat",
                                "complex",
                                "bool",
                                "float8_e3m4",
                                "float8_e4m3",
                                "float8_e4m3b11fnuz",
                                "float8_e4m3fn",
                                "float8_e4m3fnuz",
                                "float8_e5m2",
                                "float8_e5m2fnuz",
                                "float8_e8m0fnu",
                                "float6_e2m3fn",
                                "float6_e3m2fn",
                                "float4_e2m1fn"};
  return code < sizeof(names) / sizeof(names[0]) ? names[code] : "unknown";
}

int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail(ErrorCode::Value, "DLPack tensor is too large (size overflows int64)");
  return r;
}

int64_t checked_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail(ErrorCode::Value, "DLPack tensor is too large (size overflows int64)");
  return r;
}

// Keeps the Storage (and the shape/stride arrays DLTensor points at) alive for the consumer.
struct ExportCtx {
  std::shared_ptr<Storage> storage;
  std::vector<int64_t> shape, strides;
};

void delete_versioned(DLManagedTensorVersioned* m) {  // may run on any thread
  delete static_cast<ExportCtx*>(m->manager_ctx);
  delete m;
}

}  // namespace

const char* dl_device_name(int64_t type) {
  switch (type) {
    case kDLCPU: return "kDLCPU";
    case kDLCUDA: return "kDLCUDA";
    case kDLCUDAHost: return "kDLCUDAHost";
    case kDLOpenCL: return "kDLOpenCL";
    case kDLVulkan: return "kDLVulkan";
    case kDLMetal: return "kDLMetal";
    case kDLVPI: return "kDLVPI";
    case kDLROCM: return "kDLROCM";
    case kDLROCMHost: return "kDLROCMHost";
    case kDLExtDev: return "kDLExtDev";
    case kDLCUDAManaged: return "kDLCUDAManaged";
    case kDLOneAPI: return "kDLOneAPI";
    case kDLWebGPU: return "kDLWebGPU";
    case kDLHexagon: return "kDLHexagon";
    case kDLMAIA: return "kDLMAIA";
  }
  return "unknown";
}

DLDataType to_dl(DType t) {
  uint8_t bits = uint8_t(dtype_size(t) * 8);
  switch (t) {
    case DType::F64:
    case DType::F32:
    case DType::F16: return {kDLFloat, bits, 1};
    case DType::BF16: return {kDLBfloat, 16, 1};
    case DType::I64:
    case DType::I32:
    case DType::I8: return {kDLInt, bits, 1};
    case DType::U8: return {kDLUInt, 8, 1};
    case DType::Bool: return {kDLBool, 8, 1};
  }
  fail(ErrorCode::Internal, "unknown dtype");
}

DType from_dl(DLDataType d) {
  std::string desc =
      std::string(dl_code_name(d.code)) + "(code " + std::to_string(d.code) + ", " + std::to_string(d.bits) + " bits)";
  if (d.lanes != 1)
    fail(ErrorCode::DType, "DLPack vector dtype " + desc + " with " + std::to_string(d.lanes) +
                               " lanes is not supported; Tessera reads scalar elements only");
  switch (d.code) {
    case kDLFloat:
      if (d.bits == 64) return DType::F64;
      if (d.bits == 32) return DType::F32;
      if (d.bits == 16) return DType::F16;
      break;
    case kDLBfloat:
      if (d.bits == 16) return DType::BF16;
      break;
    case kDLInt:
      if (d.bits == 64) return DType::I64;
      if (d.bits == 32) return DType::I32;
      if (d.bits == 8) return DType::I8;
      break;
    case kDLUInt:
      if (d.bits == 8) return DType::U8;
      break;
    case kDLBool:
      if (d.bits == 8) return DType::Bool;
      break;
    default: break;
  }
  fail(ErrorCode::DType, "DLPack dtype " + desc +
                             " is not supported by Tessera (supported: "
                             "float64, float32, float16, bfloat16, int64, int32, int8, uint8, bool)");
}

// (type, id) from DLPack to a Tessera device; only CPU and CUDA memory is understood.
Device device_from_dl(int64_t type, int64_t id) {
  if (type == kDLCPU) return Device{TSR_DEVICE_CPU, 0};
  if (type == kDLCUDA) {
    if (id < 0 || id > INT32_MAX)
      fail(ErrorCode::Device, "DLPack CUDA device id " + std::to_string(id) + " is invalid");
    return Device{TSR_DEVICE_CUDA, int32_t(id)};
  }
  fail(ErrorCode::Device, "DLPack device " + std::string(dl_device_name(type)) + " (" + std::to_string(type) +
                              ") is not supported; Tessera exchanges CPU (1) "
                              "and CUDA (2) memory only");
}

DLDevice device_to_dl(Device d) {
  if (d.type == TSR_DEVICE_CUDA) return {kDLCUDA, d.index};
  return {kDLCPU, 0};
}

// Validates `t` and describes it as an Array with a null Storage. `lo_bytes` (<= 0) and
// `span_bytes` receive the byte range, relative to the first element, that the view touches.
Array describe(const DLTensor& t, int64_t& lo_bytes, size_t& span_bytes) {
  Array a;
  a.dtype = from_dl(t.dtype);
  if (t.ndim < 0 || t.ndim > kMaxNdim)
    fail(ErrorCode::Value,
         "DLPack tensor has ndim " + std::to_string(t.ndim) + " (must be 0.." + std::to_string(kMaxNdim) + ")");
  if (t.ndim > 0 && !t.shape) fail(ErrorCode::Value, "DLPack tensor has ndim > 0 but a NULL shape");
  a.shape.assign(t.shape, t.shape + t.ndim);
  int64_t numel = 1;
  for (int64_t d : a.shape) {
    if (d < 0) fail(ErrorCode::Value, "DLPack tensor has a negative dimension " + std::to_string(d));
    numel = checked_mul(numel, d);
  }
  if (t.strides)
    a.strides.assign(t.strides, t.strides + t.ndim);
  else
    a.strides = Array::contiguous_strides(a.shape);  // NULL strides: compact row-major

  const int64_t item = int64_t(dtype_size(a.dtype));
  int64_t lo = 0, hi = 0;  // element offsets of the lowest and highest element touched
  for (int i = 0; i < t.ndim && numel > 0; ++i) {
    int64_t ext = checked_mul(a.shape[i] - 1, a.strides[i]);
    if (ext < 0)
      lo = checked_add(lo, ext);
    else
      hi = checked_add(hi, ext);
  }
  checked_mul(checked_add(checked_add(hi, -lo), 1), item);  // the span fits in int64 bytes
  if (numel > 0 && !t.data) fail(ErrorCode::Value, "DLPack tensor has a NULL data pointer");
  if (t.byte_offset > uint64_t(INT64_MAX)) fail(ErrorCode::Value, "DLPack tensor byte_offset is out of range");
  uintptr_t first = reinterpret_cast<uintptr_t>(t.data) + t.byte_offset;
  if (first % uintptr_t(item) != 0)
    fail(ErrorCode::Value,
         "DLPack tensor data (data + byte_offset) is not aligned to its " + std::to_string(item) + "-byte elements");
  lo_bytes = lo * item;
  span_bytes = numel > 0 ? size_t((hi - lo + 1) * item) : 0;
  return a;
}

Array borrow(const DLTensor& t) {
  int64_t lo = 0;
  size_t span = 0;
  Array a = describe(t, lo, span);
  char* first = static_cast<char*>(t.data) + t.byte_offset;
  a.storage = Storage::wrap(device_from_dl(t.device.device_type, t.device.device_id), first + lo, span, [] {});
  a.offset_bytes = size_t(-lo);
  return a;
}

DLManagedTensorVersioned* export_versioned(const Array& a, uint64_t flags) {
  auto ctx = new ExportCtx{a.storage, a.shape, a.strides};
  auto* m = new DLManagedTensorVersioned{};
  m->version = {DLPACK_MAJOR_VERSION, DLPACK_MINOR_VERSION};
  m->manager_ctx = ctx;
  m->deleter = delete_versioned;
  m->flags = flags | (a.read_only() ? DLPACK_FLAG_BITMASK_READ_ONLY : 0);
  DLTensor& t = m->dl_tensor;
  t.data = a.data();  // the first element, byte_offset 0: some consumers ignore byte_offset
  t.device = device_to_dl(a.device());
  t.ndim = int32_t(a.shape.size());
  t.dtype = to_dl(a.dtype);
  t.shape = ctx->shape.data();
  t.strides = ctx->strides.data();
  t.byte_offset = 0;
  return m;
}

void run_borrowed(const DLTensor* inputs, int32_t num_inputs, DLManagedTensorVersioned** outputs, int32_t num_outputs,
                  const RunFn& run) {
  std::vector<Array> in;
  for (int32_t i = 0; i < num_inputs; ++i) in.push_back(borrow(inputs[i]));
  std::vector<Array> out = run(in);
  if (out.size() != size_t(num_outputs)) fail(ErrorCode::Internal, "a run returned an unexpected number of outputs");
  // Outputs are new tensors the caller owns: one that is (a view of) an input, or that an
  // earlier output shares, becomes a copy.
  for (size_t i = 0; i < out.size(); ++i) {
    bool shared = false;
    for (const Array& a : in) shared = shared || out[i].storage == a.storage;
    for (size_t j = 0; j < i; ++j) shared = shared || out[i].storage == out[j].storage;
    if (shared) out[i] = out[i].clone();
  }
  std::vector<DLManagedTensorVersioned*> made;
  for (const Array& a : out) made.push_back(export_versioned(a));
  for (size_t i = 0; i < made.size(); ++i) outputs[i] = made[i];
}

}  // namespace tessera::dlpack
