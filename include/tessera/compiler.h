/* Tessera compiler C ABI: build a Graph IR function op by op, differentiate it, compile it for
 * the CPU or a CUDA device and run it, or export it for the runtime library alone.
 * Provided by libtessera.so (compiler and runtime; CMake target tessera::tessera), not by
 * libtessera_runtime.so. Conventions as in tessera.h: every call returns a tsrStatus and
 * tsrGetLastError() says what went wrong (an op's shape error names the op and the shapes).
 * tessera/tessera.hpp wraps this in C++.
 *
 * A function's values are numbered: its parameters in order, then every op's results in the
 * order the ops were added. Ops are the registry's (docs/ops.md); their attributes are written
 * as Graph IR prints them, e.g. "axis = -1, keepdims = true" or "" for none. */
#ifndef TESSERA_COMPILER_H
#define TESSERA_COMPILER_H

#include "tessera/tessera.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsrFunction_t* tsrFunction;
typedef struct tsrExecutable_t* tsrExecutable;

TSR_API tsrStatus tsrFunctionCreate(tsrFunction* fn);
TSR_API tsrStatus tsrFunctionDestroy(tsrFunction fn);
/* A new parameter of the given type; its value number goes to *value. */
TSR_API tsrStatus tsrFunctionAddParam(tsrFunction fn, tsrDataType dtype, int32_t ndim, const int64_t* shape,
                                      int32_t* value);
/* Appends op `op` on `operands`; its results are values first_result .. first_result + n_results - 1.
 * The op's type rule runs here: a bad shape or dtype fails now, naming the op. `location`
 * ("file:line", or NULL) is kept for error messages of later stages. */
TSR_API tsrStatus tsrFunctionAddOp(tsrFunction fn, const char* op, const int32_t* operands, int32_t num_operands,
                                   const char* attrs, const char* location, int32_t* first_result,
                                   int32_t* num_results);
/* A value's type; `shape` stays valid while the function lives. */
TSR_API tsrStatus tsrFunctionValueType(tsrFunction fn, int32_t value, tsrTensorInfo* info);
/* Ends the function: it returns `values`. No ops can be added afterwards. */
TSR_API tsrStatus tsrFunctionSetOutputs(tsrFunction fn, const int32_t* values, int32_t num_values);
/* How many values the function returns (0 until it is finished). */
TSR_API tsrStatus tsrFunctionNumOutputs(tsrFunction fn, int32_t* count);
/* The function's Graph IR text; valid until the function changes or is destroyed. */
TSR_API tsrStatus tsrFunctionText(tsrFunction fn, const char** text);
/* Reverse-mode derivative of a finished function whose first output has one element (a loss):
 * a new finished function of the same parameters returning the outputs, then d out0 / d
 * param for each parameter in `wrt`. */
TSR_API tsrStatus tsrFunctionGrad(tsrFunction fn, const int32_t* wrt, int32_t num_wrt, tsrFunction* grad);

/* Compiles a finished function for `device`; `target` NULL or "" follows the device. */
TSR_API tsrStatus tsrFunctionCompile(tsrFunction fn, tsrDevice device, const char* target, tsrExecutable* exe);
TSR_API tsrStatus tsrExecutableDestroy(tsrExecutable exe);
TSR_API tsrStatus tsrExecutableNumOutputs(tsrExecutable exe, int32_t* count);
/* As tsrProgramRun: borrowed inputs on the executable's device, new outputs the caller owns. */
TSR_API tsrStatus tsrExecutableRun(tsrExecutable exe, const DLTensor* inputs, int32_t num_inputs,
                                   DLManagedTensorVersioned** outputs, int32_t num_outputs);
/* Writes a program file (tessera.export's format) that tsrProgramLoad runs without the compiler. */
TSR_API tsrStatus tsrFunctionExport(tsrFunction fn, const char* target, const char* path);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_COMPILER_H */
