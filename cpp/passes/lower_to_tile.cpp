// Schedule IR -> Tile IR.
//
// Each sched.kernel becomes a kernel function (attribute kernel = true) whose parameters are
// pointers to its inputs and outputs, and in the host function an rt.alloc per output plus an
// rt.launch carrying the grid and block sizes; a kernel that only reshapes becomes an rt.view.
// The executor runs the host function.
#include <algorithm>

#include "ir/target.hpp"
#include "passes/lowering.hpp"
#include "passes/passes.hpp"
#include "tilegen/tilegen.hpp"

namespace tessera::passes {
using namespace ir;

namespace {

std::string kernel_name(const Function& host, int index, const Op& kernel) {
  std::string name = host.name + "_k" + std::to_string(index);
  int shown = 0;
  for (const auto& op : kernel.region->ops) {
    if (op->name == "sched.yield" || op->name == "constant") continue;
    if (shown++ == 3) {
      name += "_etc";
      break;
    }
    name += "_" + op->name;
  }
  return name;
}

Function* make_kernel_function(Module& m, const std::string& name, const Op& kernel, bool gpu) {
  Function* fn = m.add_function(name);
  for (size_t i = 0; i < kernel.operands.size(); ++i)
    fn->body.add_arg(Type::ptr(kernel.operands[i]->type.dtype), "in" + std::to_string(i));
  for (size_t i = 0; i < kernel.results.size(); ++i)
    fn->body.add_arg(Type::ptr(kernel.results[i]->type.dtype), "out" + std::to_string(i));
  int64_t lanes = kernel.int_attr("lanes");
  fn->attrs["kernel"] = true;
  fn->attrs["block"] = IntList{gpu ? lanes : 1, 1, 1};
  fn->attrs["lanes"] = lanes;
  fn->loc = kernel.loc;
  return fn;
}

// A kernel that only reshapes one input (reshape, squeeze, expand_dims keep the row-major
// order) moves no data: the host sees the same buffer with the new shape (rt.view). Returned
// results stay copies, so that outputs never alias inputs or each other.
bool is_view_kernel(const Op& kernel, const Function& host) {
  const auto& ops = kernel.region->ops;
  if (kernel.operands.size() != 1 || kernel.results.size() != 1 || ops.size() != 2) return false;
  const Op& op = *ops.front();
  if (!keeps_row_major_order(op)) return false;
  if (op.operands[0] != kernel.region->args[0].get() || !kernel.operands[0]->type.has_static_shape()) return false;
  const Op* ret = host.terminator();
  return !ret || std::find(ret->operands.begin(), ret->operands.end(), kernel.result()) == ret->operands.end();
}

void lower_function(Module& m, Function& host, bool gpu) {
  int index = 0;
  for (auto it = host.body.ops.begin(); it != host.body.ops.end();) {
    Op& kernel = **it;
    if (kernel.name != "sched.kernel") {
      ++it;
      continue;
    }
    if (is_view_kernel(kernel, host)) {
      Op* view =
          host.body.insert(it, Op::make("rt.view", {kernel.operands[0]}, {kernel.result()->type}, {}, kernel.loc));
      replace_all_uses(host.body, kernel.result(), view->result());
      it = host.body.ops.erase(it);
      continue;
    }
    for (const auto& r : kernel.results)
      if (!r->type.has_static_shape())
        fail(ErrorCode::Compile, "symbolic shapes are not compiled yet: kernel result " + r->type.str(),
             kernel.loc.str());
    Function* fn = make_kernel_function(m, kernel_name(host, index++, kernel), kernel, gpu);
    const std::string& kind = kernel.str_attr("kind");
    if (kind == "scatter" && gpu)
      fail(ErrorCode::Compile,
           "scatter and scatter_add (also the gradients of take, gather and embedding, and "
           "x[int tensor] = v) do not run on GPU targets yet: they need atomics or a sorted "
           "update kernel; compute them on the CPU",
           kernel.loc.str());
    // Their kernels put barriers between phases (tile.barrier), but no GPU run has checked
    // them yet: until one does, a clear error rather than a possible race.
    if ((kind == "sort" || kind == "linalg") && gpu)
      fail(ErrorCode::Compile,
           kernel.region->ops.back()->operands[0]->def->name +
               (kind == "sort" ? " (argsort, and sort, topk and unique built on it)" : " (linear algebra)") +
               " does not run on GPU targets yet: its kernel walks a row or matrix in one program instance and "
               "has not been validated on a GPU; compute it on the CPU",
           kernel.loc.str());
    using namespace tilegen;
    Grid grid = kind == "elementwise" ? emit_elementwise_kernel(kernel, *fn)
                : kind == "reduce"    ? emit_reduce_kernel(kernel, *fn)
                : kind == "rowwise"   ? emit_rowwise_kernel(kernel, *fn)
                : kind == "scatter"   ? emit_scatter_kernel(kernel, *fn)
                : kind == "sort"      ? emit_sort_kernel(kernel, *fn)
                : kind == "scan"      ? emit_scan_kernel(kernel, *fn)
                : kind == "linalg"    ? emit_linalg_kernel(kernel, *fn)
                : kind == "pack"      ? emit_pack_kernel(kernel, *fn)
                : kind == "attention" ? emit_attention_kernel(kernel, *fn)
                                      : emit_matmul_kernel(kernel, *fn);
    fn->body.append(Op::make("return", {}, {}, {}, kernel.loc));

    std::vector<Value*> buffers(kernel.operands.begin(), kernel.operands.end());
    std::vector<Value*> outputs;
    for (const auto& r : kernel.results) {
      Op* alloc = host.body.insert(it, Op::make("rt.alloc", {}, {r->type}, {}, kernel.loc));
      buffers.push_back(alloc->result());
      outputs.push_back(alloc->result());
    }
    AttrMap launch_attrs = {{"kernel", fn->name},
                            {"grid", IntList{grid[0], grid[1], grid[2]}},
                            {"block", std::get<IntList>(fn->attrs.at("block"))}};
    for (const char* k : {"shared", "tensor_maps"})  // dynamic shared memory, TMA descriptors
      if (fn->attrs.count(k)) launch_attrs[k] = fn->attrs.at(k);
    if (int64_t flops = kernel_flops(kernel); flops > 0) launch_attrs["flops"] = flops;
    host.body.insert(it, Op::make("rt.launch", buffers, {}, launch_attrs, kernel.loc));
    for (size_t i = 0; i < outputs.size(); ++i) replace_all_uses(host.body, kernel.result(int(i)), outputs[i]);
    it = host.body.ops.erase(it);
  }
}

}  // namespace

void lower_to_tile(Module& m) {
  bool gpu = ir::Target::of(m).gpu();
  std::vector<Function*> hosts;
  for (auto& fn : m.funcs)
    if (!fn->attrs.count("kernel")) hosts.push_back(fn.get());
  for (Function* host : hosts) lower_function(m, *host, gpu);
}

}  // namespace tessera::passes
