// The C ABI of exported programs (tessera.h: tsrProgram*): artifact.hpp's Loaded behind a
// handle, DLPack tensors in and out, Tessera errors turned into statuses with their messages.
#include <fstream>
#include <sstream>

#include "runtime/artifact.hpp"
#include "runtime/dlpack.hpp"
#include "runtime/internal.hpp"
#include "runtime/validate.hpp"

struct tsrProgram_t {
  std::unique_ptr<tessera::artifact::Loaded> loaded;
  std::vector<tessera::TensorType> inputs, outputs;
};

using namespace tessera;
using namespace tessera::rt;

namespace {

HandleSet<tsrProgram_t>& live_programs() { return live_handles<tsrProgram_t>(); }

tsrStatus check_program(tsrProgram p) {
  if (!p) return invalid("program is NULL");
  if (!live_programs().contains(p)) return invalid("program is not a live tsrProgram (destroyed, or never loaded)");
  return TSR_SUCCESS;
}

tsrStatus load(const std::string& bytes, const std::string& source, tsrDevice device, tsrProgram* program) {
  if (tsrStatus s = check_device("device", device)) return s;
  try {
    auto p = std::make_unique<tsrProgram_t>();
    Device d{device.type, device.index};
    p->loaded = std::make_unique<artifact::Loaded>(artifact::read(bytes, source), d);
    const auto& c = p->loaded->contents();
    const auto& entry = c.plans.front().input_types;
    p->inputs.assign(entry.begin(), entry.begin() + c.num_inputs);
    p->outputs = c.plans.front().output_types;
    *program = p.release();
    live_programs().add(*program);
    return TSR_SUCCESS;
  } catch (const Error& e) {  // all but the device check are the file's fault
    return e.code() == ErrorCode::Device ? error_status(e, TSR_ERROR_INVALID_PROGRAM)
                                         : set_error(TSR_ERROR_INVALID_PROGRAM, e.what());
  }
}

tsrStatus info(const std::vector<TensorType>& types, int32_t index, tsrTensorInfo* out, const char* what) {
  if (!out) return invalid("info is NULL");
  if (index < 0 || size_t(index) >= types.size())
    return invalid(cat(what, " index ", index, " is out of range (the program has ", types.size(), ")"));
  const TensorType& t = types[size_t(index)];
  out->dtype = to_tsr(t.dtype);
  out->ndim = int32_t(t.shape.size());
  out->shape = t.shape.data();
  return TSR_SUCCESS;
}

}  // namespace

TSR_API tsrStatus tsrProgramLoad(const char* path, tsrDevice device, tsrProgram* program) {
  return api("tsrProgramLoad", [&] {
    if (!program) return invalid("program is NULL");
    *program = nullptr;
    if (!path) return invalid("path is NULL");
    std::ifstream f(path, std::ios::binary);
    if (!f) return set_error(TSR_ERROR_NOT_FOUND, cat(path, ": cannot open the file"));
    std::ostringstream bytes;
    bytes << f.rdbuf();
    return load(bytes.str(), path, device, program);
  });
}

TSR_API tsrStatus tsrProgramLoadData(const void* data, size_t size, tsrDevice device, tsrProgram* program) {
  return api("tsrProgramLoadData", [&] {
    if (!program) return invalid("program is NULL");
    *program = nullptr;
    if (!data && size) return invalid("data is NULL");
    return load(std::string(static_cast<const char*>(data), size), "<program in memory>", device, program);
  });
}

TSR_API tsrStatus tsrProgramDestroy(tsrProgram program) {
  return api("tsrProgramDestroy", [&] {
    if (tsrStatus s = check_program(program)) return s;
    if (!live_programs().remove(program)) return check_program(program);
    delete program;
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrProgramNumInputs(tsrProgram program, int32_t* count) {
  return api("tsrProgramNumInputs", [&] {
    if (tsrStatus s = check_program(program)) return s;
    if (!count) return invalid("count is NULL");
    *count = int32_t(program->inputs.size());
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrProgramNumOutputs(tsrProgram program, int32_t* count) {
  return api("tsrProgramNumOutputs", [&] {
    if (tsrStatus s = check_program(program)) return s;
    if (!count) return invalid("count is NULL");
    *count = int32_t(program->outputs.size());
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrProgramInput(tsrProgram program, int32_t index, tsrTensorInfo* out) {
  return api("tsrProgramInput", [&] {
    if (tsrStatus s = check_program(program)) return s;
    return info(program->inputs, index, out, "input");
  });
}

TSR_API tsrStatus tsrProgramOutput(tsrProgram program, int32_t index, tsrTensorInfo* out) {
  return api("tsrProgramOutput", [&] {
    if (tsrStatus s = check_program(program)) return s;
    return info(program->outputs, index, out, "output");
  });
}

TSR_API tsrStatus tsrProgramManifest(tsrProgram program, const char** text) {
  return api("tsrProgramManifest", [&] {
    if (tsrStatus s = check_program(program)) return s;
    if (!text) return invalid("text is NULL");
    *text = program->loaded->manifest_text().c_str();
    return TSR_SUCCESS;
  });
}

TSR_API tsrStatus tsrProgramRun(tsrProgram program, const DLTensor* inputs, int32_t num_inputs,
                                DLManagedTensorVersioned** outputs, int32_t num_outputs) {
  return api("tsrProgramRun", [&] {
    if (tsrStatus s = check_program(program)) return s;
    if (num_inputs != int32_t(program->inputs.size()))
      return invalid(cat("the program takes ", program->inputs.size(), " inputs, got num_inputs = ", num_inputs));
    if (num_outputs != int32_t(program->outputs.size()))
      return invalid(cat("the program has ", program->outputs.size(), " outputs, got num_outputs = ", num_outputs));
    if (num_inputs > 0 && !inputs) return invalid("inputs is NULL");
    if (num_outputs > 0 && !outputs) return invalid("outputs is NULL");
    return guarded(TSR_ERROR_INVALID_ARGUMENT, [&] {
      dlpack::run_borrowed(inputs, num_inputs, outputs, num_outputs,
                           [&](const std::vector<Array>& in) { return program->loaded->run(in); });
      return TSR_SUCCESS;
    });
  });
}
