// tsrGraph on CUDA: a CUDA graph of kernel nodes in a chain (each depends on the one before),
// instantiated lazily, its nodes' arguments updated in place on the executable graph so that
// a replay with new buffers costs no re-instantiation.
#include "runtime/cuda_driver.hpp"
#include "runtime/internal.hpp"

namespace tessera::rt::cuda {
namespace {

const Driver& D() { return *driver(); }

CudaKernelNodeParams node_params(const tsrGraph_t::Node& n, void** args) {
  const tsrLaunchConfig& c = n.config;
  return {static_cast<CUfunction>(n.kernel->cu),
          c.grid[0],
          c.grid[1],
          c.grid[2],
          c.block[0],
          c.block[1],
          c.block[2],
          c.shared_bytes,
          args,
          nullptr,
          nullptr,
          nullptr};
}

void drop_exec(tsrGraph g) {
  if (g->exec) D().cuGraphExecDestroy(static_cast<CUgraphExec>(g->exec));
  g->exec = nullptr;
}

}  // namespace

tsrStatus graph_create(tsrGraph g) {
  if (!D().cuGraphCreate)
    return set_error(TSR_ERROR_NOT_SUPPORTED, "this CUDA driver has no graph API (CUDA 12 or newer is needed)");
  if (tsrStatus s = make_current(g->device.index)) return s;
  CUgraph cu = nullptr;
  if (tsrStatus s = check(D().cuGraphCreate(&cu, 0), "cuGraphCreate")) return s;
  g->cu = cu;
  return TSR_SUCCESS;
}

tsrStatus graph_destroy(tsrGraph g) {
  if (tsrStatus s = make_current(g->device.index)) return s;
  drop_exec(g);
  return check(D().cuGraphDestroy(static_cast<CUgraph>(g->cu)), "cuGraphDestroy");
}

tsrStatus graph_add_kernel(tsrGraph g, tsrKernel kernel, const tsrLaunchConfig* config, void** args) {
  if (tsrStatus s = make_current(g->device.index)) return s;
  if (tsrStatus s = raise_shared_limit(kernel, config->shared_bytes)) return s;
  tsrGraph_t::Node n{kernel, *config, nullptr};
  const CudaKernelNodeParams p = node_params(n, args);
  CUgraphNode node = nullptr;
  const auto* after = g->nodes.empty() ? nullptr : reinterpret_cast<CUgraphNode*>(&g->nodes.back().cu);
  const CUresult r = D().cuGraphAddKernelNode_v2(&node, static_cast<CUgraph>(g->cu), after, after ? 1 : 0, &p);
  if (r != CUDA_SUCCESS) return fail(r, "cuGraphAddKernelNode_v2", cat(" (kernel '", kernel->name, "')"));
  n.cu = node;
  g->nodes.push_back(n);
  drop_exec(g);  // instantiated again at the next launch
  return TSR_SUCCESS;
}

tsrStatus graph_set_kernel_args(tsrGraph g, size_t index, void** args) {
  if (tsrStatus s = make_current(g->device.index)) return s;
  const tsrGraph_t::Node& n = g->nodes[index];
  const CudaKernelNodeParams p = node_params(n, args);
  // The graph's node too, so that a later re-instantiation keeps these arguments.
  if (tsrStatus s =
          check(D().cuGraphKernelNodeSetParams_v2(static_cast<CUgraphNode>(n.cu), &p), "cuGraphKernelNodeSetParams_v2"))
    return s;
  if (!g->exec) return TSR_SUCCESS;
  return check(
      D().cuGraphExecKernelNodeSetParams_v2(static_cast<CUgraphExec>(g->exec), static_cast<CUgraphNode>(n.cu), &p),
      "cuGraphExecKernelNodeSetParams_v2");
}

tsrStatus graph_launch(tsrGraph g, tsrStream stream) {
  if (tsrStatus s = make_current(g->device.index)) return s;
  if (!g->exec) {
    CUgraphExec exec = nullptr;
    if (tsrStatus s = check(D().cuGraphInstantiateWithFlags(&exec, static_cast<CUgraph>(g->cu), 0),
                            "cuGraphInstantiateWithFlags"))
      return s;
    g->exec = exec;
  }
  const CUresult r =
      D().cuGraphLaunch(static_cast<CUgraphExec>(g->exec), stream ? static_cast<CUstream>(stream->cu) : nullptr);
  if (r == CUDA_SUCCESS) return TSR_SUCCESS;
  std::string names;
  for (const auto& n : g->nodes) names += cat(names.empty() ? "" : ", ", n.kernel->name);
  return fail(r, "cuGraphLaunch", cat(" (graph of kernels ", names, ")"));
}

}  // namespace tessera::rt::cuda
