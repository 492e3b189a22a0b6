/* Runs a program exported by tessera.export with the runtime library alone (no compiler, no
 * LLVM, no Python): a C program linking only libtessera_runtime.so.
 *
 *   run_program [--cuda] PROGRAM [INPUT.bin ...] OUTPUT_PREFIX
 *
 * Each INPUT.bin holds one input's elements, contiguous and row-major, as the program's
 * signature says (printed with the manifest); output i is written to OUTPUT_PREFIX<i>.bin the
 * same way. With --cuda the program runs on CUDA device 0 (it must have been exported for its
 * architecture): inputs are copied there and outputs back. Prints the load time and the time
 * of a second run. Exit status 0 on success; on failure the runtime's message goes to stderr. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tessera/tessera.h"

static int fail(const char* what, tsrStatus status) {
  fprintf(stderr, "run_program: %s failed (%s): %s\n", what, tsrStatusName(status), tsrGetLastError());
  return 1;
}

static size_t dtype_bytes(tsrDataType t) {
  switch (t) {
    case TSR_FLOAT64:
    case TSR_INT64: return 8;
    case TSR_FLOAT32:
    case TSR_INT32: return 4;
    case TSR_FLOAT16:
    case TSR_BFLOAT16: return 2;
    default: return 1;
  }
}

static DLDataType dl_dtype(tsrDataType t) {
  DLDataType d = {kDLFloat, (uint8_t)(dtype_bytes(t) * 8), 1};
  if (t == TSR_BFLOAT16) d.code = kDLBfloat;
  if (t == TSR_INT64 || t == TSR_INT32 || t == TSR_INT8) d.code = kDLInt;
  if (t == TSR_UINT8) d.code = kDLUInt;
  if (t == TSR_BOOL) d.code = kDLBool;
  return d;
}

static size_t numel(const tsrTensorInfo* info) {
  size_t n = 1;
  for (int32_t d = 0; d < info->ndim; ++d) n *= (size_t)info->shape[d];
  return n;
}

/* Reads exactly `bytes` bytes of `path` into a new buffer; NULL (with a message) otherwise. */
static void* read_exactly(const char* path, size_t bytes) {
  FILE* f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "run_program: cannot open %s\n", path);
    return NULL;
  }
  void* data = malloc(bytes ? bytes : 1);
  size_t got = fread(data, 1, bytes, f);
  int extra = fgetc(f) != EOF;
  fclose(f);
  if (got != bytes || extra) {
    fprintf(stderr, "run_program: %s should hold %zu bytes\n", path, bytes);
    free(data);
    return NULL;
  }
  return data;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  int cuda = argc > 1 && strcmp(argv[1], "--cuda") == 0;
  argv += cuda;
  argc -= cuda;
  if (argc < 3) {
    fprintf(stderr, "usage: run_program [--cuda] PROGRAM [INPUT.bin ...] OUTPUT_PREFIX\n");
    return 2;
  }
  tsrDevice cpu = {TSR_DEVICE_CPU, 0}, device = {cuda ? TSR_DEVICE_CUDA : TSR_DEVICE_CPU, 0};
  tsrProgram program = NULL;
  double t0 = now_ms();
  tsrStatus s = tsrProgramLoad(argv[1], device, &program);
  if (s != TSR_SUCCESS) return fail("tsrProgramLoad", s);
  double load_ms = now_ms() - t0;
  const char* manifest = NULL;
  tsrProgramManifest(program, &manifest);
  fprintf(stderr, "%s", manifest);

  int32_t n_in = 0, n_out = 0;
  tsrProgramNumInputs(program, &n_in);
  tsrProgramNumOutputs(program, &n_out);
  if (argc != 3 + n_in) {
    fprintf(stderr, "run_program: the program takes %d inputs, %d files given\n", n_in, argc - 3);
    return 2;
  }
  DLTensor* inputs = calloc((size_t)n_in + 1, sizeof(DLTensor));
  for (int32_t i = 0; i < n_in; ++i) {
    tsrTensorInfo info;
    tsrProgramInput(program, i, &info);
    size_t bytes = numel(&info) * dtype_bytes(info.dtype);
    void* host = read_exactly(argv[2 + i], bytes);
    if (!host) return 1;
    inputs[i].data = host;
    if (cuda) {  /* the program's inputs live on its device */
      if ((s = tsrMalloc(device, bytes, &inputs[i].data)) != TSR_SUCCESS) return fail("tsrMalloc", s);
      if ((s = tsrMemcpy(inputs[i].data, device, host, cpu, bytes, NULL)) != TSR_SUCCESS) return fail("tsrMemcpy", s);
      free(host);
    }
    inputs[i].device.device_type = cuda ? kDLCUDA : kDLCPU;
    inputs[i].ndim = info.ndim;
    inputs[i].dtype = dl_dtype(info.dtype);
    inputs[i].shape = (int64_t*)info.shape;
    inputs[i].strides = NULL; /* contiguous */
  }
  DLManagedTensorVersioned** outputs = calloc((size_t)n_out + 1, sizeof(*outputs));
  for (int run = 0; run < 2; ++run) { /* the second run is timed: the first loads lazily */
    if (run) {
      for (int32_t i = 0; i < n_out; ++i) outputs[i]->deleter(outputs[i]);
      t0 = now_ms();
    }
    s = tsrProgramRun(program, inputs, n_in, outputs, n_out);
    if (s != TSR_SUCCESS) return fail("tsrProgramRun", s);
    if (cuda && (s = tsrDeviceSynchronize(device)) != TSR_SUCCESS) return fail("tsrDeviceSynchronize", s);
  }
  fprintf(stderr, "load %.3f ms, run %.3f ms\n", load_ms, now_ms() - t0);

  const char* prefix = argv[argc - 1];
  for (int32_t i = 0; i < n_out; ++i) {
    DLTensor* t = &outputs[i]->dl_tensor;
    size_t n = 1;
    for (int32_t d = 0; d < t->ndim; ++d) n *= (size_t)t->shape[d];
    char path[4096];
    snprintf(path, sizeof path, "%s%d.bin", prefix, i);
    size_t bytes = n * (t->dtype.bits / 8u);
    void* host = t->data;
    if (cuda) { /* results are on the device: copy them to the host */
      host = malloc(bytes ? bytes : 1);
      if ((s = tsrMemcpy(host, cpu, t->data, device, bytes, NULL)) != TSR_SUCCESS) return fail("tsrMemcpy", s);
    }
    FILE* f = fopen(path, "wb");
    if (!f || fwrite(host, 1, bytes, f) != bytes) {
      fprintf(stderr, "run_program: cannot write %s\n", path);
      return 1;
    }
    fclose(f);
    if (cuda) free(host);
    outputs[i]->deleter(outputs[i]);
  }
  for (int32_t i = 0; i < n_in; ++i) {
    if (cuda)
      tsrFree(device, inputs[i].data);
    else
      free(inputs[i].data);
  }
  free(inputs);
  free(outputs);
  s = tsrProgramDestroy(program);
  if (s != TSR_SUCCESS) return fail("tsrProgramDestroy", s);
  return 0;
}
