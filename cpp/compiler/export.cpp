// Ahead-of-time export (compiler.hpp: export_program): the compiler's pipeline for a target,
// without loading anything, then the plans, the kernels (the CPU's linked into one shared
// object), the constants and the signature written as one file (runtime/artifact.hpp).
#include "backends/cpu/cpu_backend.hpp"
#include "common/profiler.hpp"
#include "compiler/compiler.hpp"
#include "compiler/disk_cache.hpp"
#include "compiler/pipeline.hpp"
#include "compiler/plan.hpp"
#include "runtime/artifact.hpp"

namespace tessera::compiler {
namespace {

// The compiled code as the runtime loads it: the CPU's parts linked into one shared object,
// a GPU's parts (PTX) one image each.
std::vector<artifact::KernelImage> kernel_images(const backends::CompiledKernels& k, const ir::Module& tile) {
  const std::vector<std::string>& names = k.kernel_names;
  if (names.empty()) return {};
  auto params = [&](size_t begin, size_t end) {  // each kernel function's parameter count
    std::vector<int32_t> out;
    for (size_t i = begin; i < end; ++i) {
      const ir::Function* f = tile.find(names[i]);
      if (!f) fail(ErrorCode::Internal, "export: kernel " + names[i] + " is not in the Tile IR module");
      out.push_back(int32_t(f->body.args.size()));
    }
    return out;
  };
  std::vector<backends::CodePart> parts = backends::decode_parts(k.binary, names.size());
  if (k.target.cpu()) {
    std::vector<std::string> objects;
    for (const backends::CodePart& p : parts) objects.push_back(p.image);
    return {{names, params(0, names.size()), backends::link_shared_object(objects)}};
  }
  std::vector<artifact::KernelImage> images;
  size_t at = 0;
  for (const backends::CodePart& p : parts) {
    images.push_back(
        {{names.begin() + long(at), names.begin() + long(at + p.kernels)}, params(at, at + p.kernels), p.image});
    at += p.kernels;
  }
  return images;
}

}  // namespace

std::string export_program(const std::string& text, const std::string& target, int num_inputs,
                           const std::vector<Array>& constants, const std::string& metadata) {
  profiler::Scope span("compile", "export for " + target);
  ir::Target spec = build_target(target, nullptr);
  if (!spec.cpu() && !spec.nvptx())
    fail(ErrorCode::Value, "export: target " + spec.str() +
                               " cannot be exported yet (the runtime loads 'cpu' and 'nvptx:sm_XY' programs)");
  Lowered l = lower(text, spec, nullptr);
  artifact::Contents c;
  c.plans = build_plans(*l.module);
  const Plan& entry = c.plans.front();
  if (num_inputs < 0 || size_t(num_inputs) + constants.size() != entry.input_types.size())
    fail(ErrorCode::Value, "export: the program takes " + std::to_string(entry.input_types.size()) + " inputs, not " +
                               std::to_string(num_inputs) + " and " + std::to_string(constants.size()) + " constants");
  for (size_t i = 0; i < constants.size(); ++i)
    if (!(TensorType{constants[i].dtype, constants[i].shape} == entry.input_types[size_t(num_inputs) + i]))
      fail(ErrorCode::Value, "export: constant " + std::to_string(i) + " is " +
                                 TensorType{constants[i].dtype, constants[i].shape}.str() + ", the program takes " +
                                 entry.input_types[size_t(num_inputs) + i].str());
  for (const Plan& p : c.plans)
    for (const Step& s : p.steps)
      if (s.kind == Step::Collective)
        fail(ErrorCode::Value,
             "export: the program runs the collective " + s.op +
                 "; exporting programs over a device mesh is not supported yet",
             s.loc);
  c.images = kernel_images(run_backend(*l.module, spec), *l.module);
  c.target = spec.cpu() ? "cpu" : spec.str();
  c.compiler = cache::build_id();
  if (spec.cpu()) c.cpu_features = artifact::host_cpu_features();  // the code is compiled for this host
  c.num_inputs = num_inputs;
  c.constants = constants;
  c.metadata = metadata;
  return artifact::write(c);
}

}  // namespace tessera::compiler
