// The compiler's C ABI (tessera/compiler.h): Graph IR functions built op by op with the
// registry's type rules, reverse-mode derivatives, compilation and runs, export.
#include <map>

#include "compiler/compiler.hpp"
#include "compiler/disk_cache.hpp"
#include "ir/function_table.hpp"
#include "ir/registry.hpp"
#include "passes/autodiff.hpp"
#include "runtime/dlpack.hpp"
#include "runtime/validate.hpp"
#include "tessera/compiler.h"

struct tsrFunction_t {
  tessera::ir::Module module;
  std::vector<tessera::ir::Value*> values;  // parameters, then every op's results
  bool finished = false;
  std::string text;                                // tsrFunctionText's, printed on request
  std::map<int32_t, std::vector<int64_t>> shapes;  // tsrFunctionValueType's
  tessera::ir::Function& fn() { return *module.funcs.front(); }
};

struct tsrExecutable_t {
  std::shared_ptr<tessera::compiler::Executable> exe;
};

using namespace tessera;
using namespace tessera::rt;

namespace {

HandleSet<tsrFunction_t>& live_functions() { return live_handles<tsrFunction_t>(); }
HandleSet<tsrExecutable_t>& live_executables() { return live_handles<tsrExecutable_t>(); }

tsrStatus check_function(tsrFunction fn) {
  if (!fn) return invalid("function is NULL");
  if (!live_functions().contains(fn)) return invalid("function is not a live tsrFunction (destroyed, or never made)");
  return TSR_SUCCESS;
}

tsrStatus check_value(tsrFunction fn, int32_t v) {
  if (v < 0 || size_t(v) >= fn->values.size())
    return invalid(cat("value ", v, " does not exist (the function has ", fn->values.size(), " values)"));
  return TSR_SUCCESS;
}

tsrFunction adopt(std::unique_ptr<tsrFunction_t> f) {
  live_functions().add(f.get());
  return f.release();
}

}  // namespace

TSR_API tsrStatus tsrFunctionCreate(tsrFunction* fn) {
  return api("tsrFunctionCreate", [&] {
    if (!fn) return invalid("fn is NULL");
    auto f = std::make_unique<tsrFunction_t>();
    f->module.add_function("main");
    *fn = adopt(std::move(f));
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrFunctionDestroy(tsrFunction fn) {
  return api("tsrFunctionDestroy", [&] {
    if (tsrStatus s = check_function(fn)) return s;
    if (!live_functions().remove(fn)) return check_function(fn);
    delete fn;
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrFunctionAddParam(tsrFunction fn, tsrDataType dtype, int32_t ndim, const int64_t* shape,
                                      int32_t* value) {
  return api("tsrFunctionAddParam", [&] {
    if (tsrStatus s = check_function(fn)) return s;
    if (!value) return invalid("value is NULL");
    if (ndim < 0 || (ndim > 0 && !shape)) return invalid("ndim is negative, or shape is NULL");
    if (fn->finished) return invalid("the function is finished (tsrFunctionSetOutputs was called)");
    if (fn->values.size() != fn->fn().body.args.size()) return invalid("parameters come before the first op");
    return guarded(TSR_ERROR_INVALID_ARGUMENT, [&] {
      std::vector<int64_t> dims(shape, shape + ndim);
      for (int64_t d : dims)
        if (d < 0) fail(ErrorCode::Shape, "a parameter's dims must not be negative");
      fn->values.push_back(fn->fn().body.add_arg(ir::Type::tensor(from_tsr(dtype), dims)));
      *value = int32_t(fn->values.size() - 1);
      return TSR_SUCCESS;
    });
  });
}

TSR_API tsrStatus tsrFunctionAddOp(tsrFunction fn, const char* op, const int32_t* operands, int32_t num_operands,
                                   const char* attrs, const char* loc, int32_t* first_result, int32_t* num_results) {
  return api("tsrFunctionAddOp", [&] {
    if (tsrStatus s = check_function(fn)) return s;
    if (!op || !first_result || !num_results) return invalid("op, first_result or num_results is NULL");
    if (num_operands < 0 || (num_operands > 0 && !operands)) return invalid("bad operands");
    if (fn->finished) return invalid("the function is finished (tsrFunctionSetOutputs was called)");
    std::vector<ir::Value*> in;
    for (int32_t i = 0; i < num_operands; ++i) {
      if (tsrStatus s = check_value(fn, operands[i])) return s;
      in.push_back(fn->values[size_t(operands[i])]);
    }
    return guarded(TSR_ERROR_INVALID_ARGUMENT, [&] {
      ir::AttrMap amap = attrs && *attrs ? ir::parse_attrs(attrs) : ir::AttrMap{};
      std::vector<ir::Type> types;
      for (ir::Value* v : in) types.push_back(v->type);
      std::vector<ir::Type> results = ir::infer_types(op, types, amap);
      ir::Op* made =
          fn->fn().body.append(ir::Op::make(op, in, results, std::move(amap), ir::Location::parse(loc ? loc : "")));
      *first_result = int32_t(fn->values.size());
      for (auto& r : made->results) fn->values.push_back(r.get());
      *num_results = int32_t(made->results.size());
      fn->text.clear();
      return TSR_SUCCESS;
    });
  });
}

TSR_API tsrStatus tsrFunctionValueType(tsrFunction fn, int32_t value, tsrTensorInfo* info) {
  return api("tsrFunctionValueType", [&] {
    if (tsrStatus s = check_function(fn)) return s;
    if (tsrStatus s = check_value(fn, value)) return s;
    if (!info) return invalid("info is NULL");
    const ir::Type& t = fn->values[size_t(value)]->type;
    std::vector<int64_t>& dims = fn->shapes[value];  // the IR keeps Dims: a copy that lives with fn
    dims = t.static_shape();
    info->dtype = to_tsr(t.dtype);
    info->ndim = int32_t(dims.size());
    info->shape = dims.data();
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrFunctionSetOutputs(tsrFunction fn, const int32_t* values, int32_t num_values) {
  return api("tsrFunctionSetOutputs", [&] {
    if (tsrStatus s = check_function(fn)) return s;
    if (fn->finished) return invalid("the function is finished already");
    if (num_values < 1 || !values) return invalid("a function returns at least one value");
    std::vector<ir::Value*> out;
    for (int32_t i = 0; i < num_values; ++i) {
      if (tsrStatus s = check_value(fn, values[i])) return s;
      out.push_back(fn->values[size_t(values[i])]);
    }
    for (ir::Value* v : out) fn->fn().result_types.push_back(v->type);
    fn->fn().body.append(ir::Op::make("return", out, {}));
    fn->finished = true;
    fn->text.clear();
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrFunctionNumOutputs(tsrFunction fn, int32_t* count) {
  return api("tsrFunctionNumOutputs", [&] {
    if (tsrStatus s = check_function(fn)) return s;
    if (!count) return invalid("count is NULL");
    *count = fn->finished ? int32_t(fn->fn().result_types.size()) : 0;
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrFunctionText(tsrFunction fn, const char** text) {
  return api("tsrFunctionText", [&] {
    if (tsrStatus s = check_function(fn)) return s;
    if (!text) return invalid("text is NULL");
    if (fn->text.empty()) fn->text = ir::print(fn->module);
    *text = fn->text.c_str();
    return TSR_SUCCESS;
  });
}

namespace {

tsrStatus check_finished(tsrFunction fn) {
  if (tsrStatus s = check_function(fn)) return s;
  if (!fn->finished) return invalid("the function is not finished: call tsrFunctionSetOutputs first");
  return TSR_SUCCESS;
}

// The function's module as text, with the functions it calls linked in.
std::string module_text(tsrFunction fn) {
  ir::link_functions(fn->module);
  return ir::print(fn->module);
}

}  // namespace

TSR_API tsrStatus tsrFunctionGrad(tsrFunction fn, const int32_t* wrt, int32_t num_wrt, tsrFunction* grad) {
  return api("tsrFunctionGrad", [&] {
    if (tsrStatus s = check_finished(fn)) return s;
    if (!grad || num_wrt < 1 || !wrt) return invalid("grad is NULL, or no parameter to differentiate");
    const size_t params = fn->fn().body.args.size();
    std::vector<int> w;
    for (int32_t i = 0; i < num_wrt; ++i) {
      if (wrt[i] < 0 || size_t(wrt[i]) >= params)
        return invalid(cat("wrt[", i, "] = ", wrt[i], " is not a parameter (the function has ", params, ")"));
      w.push_back(wrt[i]);
    }
    return guarded(TSR_ERROR_INVALID_ARGUMENT, [&] {
      std::unique_ptr<ir::Module> d = passes::vjp_transform(fn->module, w, {0}, /*seed_ones=*/true);
      ir::register_functions(*d);
      auto g = std::make_unique<tsrFunction_t>();
      g->module = std::move(*ir::parse(ir::print(*d), "<gradient>"));  // its own values, owned by g
      for (const auto& a : g->fn().body.args) g->values.push_back(a.get());
      g->finished = true;
      *grad = adopt(std::move(g));
      return TSR_SUCCESS;
    });
  });
}

TSR_API tsrStatus tsrFunctionCompile(tsrFunction fn, tsrDevice device, const char* target, tsrExecutable* exe) {
  return api("tsrFunctionCompile", [&] {
    if (tsrStatus s = check_finished(fn)) return s;
    if (!exe) return invalid("exe is NULL");
    *exe = nullptr;
    if (tsrStatus s = check_device("device", device)) return s;
    return guarded(TSR_ERROR_INVALID_ARGUMENT, [&] {
      auto e = std::make_unique<tsrExecutable_t>();
      e->exe = compiler::compile(module_text(fn), Device{device.type, device.index}, target ? target : "");
      *exe = e.release();
      live_executables().add(*exe);
      return TSR_SUCCESS;
    });
  });
}

TSR_API tsrStatus tsrExecutableDestroy(tsrExecutable exe) {
  return api("tsrExecutableDestroy", [&] {
    if (!exe || !live_executables().remove(exe)) return invalid("exe is not a live tsrExecutable");
    delete exe;
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrExecutableNumOutputs(tsrExecutable exe, int32_t* count) {
  return api("tsrExecutableNumOutputs", [&] {
    if (!exe || !live_executables().contains(exe)) return invalid("exe is not a live tsrExecutable");
    if (!count) return invalid("count is NULL");
    *count = int32_t(exe->exe->program().main().output_types.size());
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrExecutableRun(tsrExecutable exe, const DLTensor* inputs, int32_t num_inputs,
                                   DLManagedTensorVersioned** outputs, int32_t num_outputs) {
  return api("tsrExecutableRun", [&] {
    if (!exe || !live_executables().contains(exe)) return invalid("exe is not a live tsrExecutable");
    const Plan& entry = exe->exe->program().main();
    if (num_inputs != int32_t(entry.input_types.size()))
      return invalid(cat("the executable takes ", entry.input_types.size(), " inputs, got ", num_inputs));
    if (num_outputs != int32_t(entry.output_types.size()))
      return invalid(cat("the executable has ", entry.output_types.size(), " outputs, got ", num_outputs));
    if ((num_inputs > 0 && !inputs) || (num_outputs > 0 && !outputs)) return invalid("inputs or outputs is NULL");
    return guarded(TSR_ERROR_INVALID_ARGUMENT, [&] {
      dlpack::run_borrowed(inputs, num_inputs, outputs, num_outputs,
                           [&](const std::vector<Array>& in) { return exe->exe->run(in); });
      return TSR_SUCCESS;
    });
  });
}

TSR_API tsrStatus tsrFunctionExport(tsrFunction fn, const char* target, const char* path) {
  return api("tsrFunctionExport", [&] {
    if (tsrStatus s = check_finished(fn)) return s;
    if (!path) return invalid("path is NULL");
    return guarded(TSR_ERROR_INVALID_ARGUMENT, [&] {
      std::string bytes = compiler::export_program(module_text(fn), target && *target ? target : "cpu",
                                                   int(fn->fn().body.args.size()), {}, "");
      if (std::string why = cache::write_atomically(path, bytes); !why.empty())
        fail(ErrorCode::Value, std::string(path) + ": cannot write the file (" + why + ")");
      return TSR_SUCCESS;
    });
  });
}
