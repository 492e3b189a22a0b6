// Code generation in parts on parallel threads (parallel_codegen.hpp).
#include "backends/llvm/parallel_codegen.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <functional>
#include <map>
#include <thread>

#include "common/parallel.hpp"
#include "common/profiler.hpp"

namespace tessera::backends {
namespace {

// Tile IR ops in a function, nested regions included: the measure of its LLVM cost.
size_t op_count(const ir::Block& b) {
  size_t n = 0;
  for (const auto& op : b.ops) n += 1 + (op->region ? op_count(*op->region) : 0);
  return n;
}

int thread_count(size_t kernels) {
  int n = int(std::max(1u, std::thread::hardware_concurrency()));
  if (const char* env = std::getenv("TESSERA_COMPILE_THREADS"); env && *env) n = std::max(1, std::atoi(env));
  // A part costs a module's fixed overhead: below ~3 kernels a part it does not pay.
  return int(std::clamp<size_t>(kernels / 3, 1, size_t(n)));
}

}  // namespace

// The text of a kernel function without its name and source locations: kernels with equal
// keys compile to the same code.
std::string structural_key(const ir::Function& fn) {
  std::string text = ir::print(fn, false);
  const std::string head = "func @" + fn.name + "(";
  if (text.compare(0, head.size(), head) == 0) text.replace(0, head.size(), "func @k(");
  return text;
}

std::vector<std::vector<const ir::Function*>> partition_kernels(const std::vector<const ir::Function*>& kernels,
                                                                int parts) {
  // Largest first, each to the lightest part so far; then each part in program order.
  std::vector<const ir::Function*> by_cost = kernels;
  std::stable_sort(by_cost.begin(), by_cost.end(),
                   [](const ir::Function* a, const ir::Function* b) { return op_count(a->body) > op_count(b->body); });
  std::vector<std::vector<const ir::Function*>> out(size_t(std::max(1, parts)));
  std::vector<size_t> load(out.size(), 0);
  for (const ir::Function* fn : by_cost) {
    size_t p = size_t(std::min_element(load.begin(), load.end()) - load.begin());
    out[p].push_back(fn);
    load[p] += op_count(fn->body);
  }
  for (auto& part : out)
    std::sort(part.begin(), part.end(), [&](const ir::Function* a, const ir::Function* b) {
      return std::find(kernels.begin(), kernels.end(), a) < std::find(kernels.begin(), kernels.end(), b);
    });
  out.erase(std::remove_if(out.begin(), out.end(), [](const auto& p) { return p.empty(); }), out.end());
  return out;
}

std::vector<PartCode> compile_in_parts(const ir::Module& tile_module, int parts, bool share,
                                       const PartCompiler& compile_part) {
  // Kernels with the same code compile once; the others become aliases of the first.
  std::vector<const ir::Function*> unique;
  std::map<const ir::Function*, std::vector<std::string>> aliases;
  std::map<std::string, const ir::Function*> by_key;
  for (const auto& fn : tile_module.funcs) {
    if (!fn->attrs.count("kernel")) continue;
    if (share) {
      auto [it, fresh] = by_key.emplace(structural_key(*fn), fn.get());
      if (!fresh) {
        aliases[it->second].push_back(fn->name);
        continue;
      }
    }
    unique.push_back(fn.get());
  }
  if (parts <= 0) parts = thread_count(unique.size());
  std::vector<std::vector<const ir::Function*>> groups = partition_kernels(unique, parts);
  std::vector<PartCode> out(groups.size());
  std::vector<std::exception_ptr> errors(groups.size());
  auto run = [&](size_t i) {
    try {
      profiler::Scope span("codegen", "LLVM codegen part " + std::to_string(i + 1) + "/" +
                                          std::to_string(groups.size()) + " (" + std::to_string(groups[i].size()) +
                                          " kernels)");
      Part part{groups[i], {}, groups.size() == 1};
      for (const ir::Function* fn : groups[i])
        for (const std::string& a : aliases.at(fn)) part.aliases.push_back({a, fn->name});
      out[i] = compile_part(part);
      for (const ir::Function* fn : part.kernels) out[i].kernels.push_back(fn->name);
      for (const auto& a : part.aliases) out[i].kernels.push_back(a.first);
    } catch (...) { errors[i] = std::current_exception(); }
  };
  for (const ir::Function* fn : unique) aliases[fn];  // every entry exists: the threads only read
  run_in_parallel(groups.size(), run);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

void gather_parts(std::vector<PartCode>& parts, CompiledKernels& out) {
  std::vector<CodePart> images;
  for (PartCode& p : parts) {
    out.kernel_names.insert(out.kernel_names.end(), p.kernels.begin(), p.kernels.end());
    out.llvm_ir += p.llvm_ir;
    out.assembly += p.assembly;
    images.push_back({p.kernels.size(), std::move(p.image)});
  }
  if (images.size() > 1)
    out.binary = encode_parts(images);
  else if (!images.empty())  // one part, or none (a program without kernels)
    out.binary = std::move(images[0].image);
}

}  // namespace tessera::backends
