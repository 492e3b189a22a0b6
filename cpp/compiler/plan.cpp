// Host function -> launch plan (plan.hpp).
#include "compiler/plan.hpp"

#include <map>

#include "compiler/memory_plan.hpp"
#include "ir/control_flow.hpp"
#include "ir/registry.hpp"

namespace tessera::compiler {
namespace {

TensorType tensor_type(const ir::Type& t) { return {t.dtype, t.static_shape()}; }

Step launch_step(const ir::Op& op, const std::map<const ir::Value*, int>& slot) {
  Step s;
  s.kind = Step::Launch;
  s.kernel_name = op.str_attr("kernel");
  for (ir::Value* v : op.operands) s.args.push_back(slot.at(v));
  const auto& grid = op.ints_attr("grid");
  const auto& block = op.ints_attr("block");
  for (int i = 0; i < 3; ++i) {
    if (grid[size_t(i)] > int64_t(UINT32_MAX)) fail(ErrorCode::Compile, s.kernel_name + ": grid too large");
    s.config.grid[i] = uint32_t(grid[size_t(i)]);
    s.config.block[i] = uint32_t(block[size_t(i)]);
  }
  if (op.attrs.count("shared")) s.config.shared_bytes = uint32_t(op.int_attr("shared"));
  if (op.attrs.count("tensor_maps")) s.tensor_maps = op.ints_attr("tensor_maps");
  s.flops = op.int_attr("flops", 0);
  return s;
}

Step control_step(const ir::Op& op, std::map<const ir::Value*, int>& slot, int& num_slots) {
  Step s;
  s.kind = Step::Control;
  s.op = op.name;
  s.loc = op.loc.str();
  for (const std::string& role : ir::callee_roles(op)) s.callees.push_back(op.str_attr(role));
  for (ir::Value* v : op.operands) s.args.push_back(slot.at(v));
  for (const auto& r : op.results) {
    s.results.push_back(slot[r.get()] = num_slots++);
    s.result_types.push_back(tensor_type(r->type));
  }
  if (op.name == "scan") {
    s.length = op.int_attr("length");
    s.n_xs = op.int_attr("n_xs");
    s.reverse = op.bool_attr("reverse", false);
  }
  if (op.name != "cond") s.n_carry = op.int_attr("n_carry");
  return s;
}

Step collective_step(const ir::Op& op, std::map<const ir::Value*, int>& slot, int& num_slots) {
  Step s;
  s.kind = Step::Collective;
  s.op = op.name;
  s.loc = op.loc.str();
  for (ir::Value* v : op.operands) s.args.push_back(slot.at(v));
  s.results.push_back(slot[op.result()] = num_slots++);
  s.result_types.push_back(tensor_type(op.result()->type));
  s.group = op.str_attr("group");
  s.group_size = op.int_attr("size");
  s.reduce = op.attrs.count("reduce") ? op.str_attr("reduce") : "sum";
  if (op.name == "all_gather" || op.name == "reduce_scatter") s.ints = {op.int_attr("axis")};
  if (op.name == "all_to_all") s.ints = {op.int_attr("split_axis"), op.int_attr("concat_axis")};
  if (op.name == "broadcast") s.ints = {op.int_attr("root")};
  if (op.name == "ppermute") s.ints = op.ints_attr("perm");
  for (int64_t& axis : s.ints)  // negative axes count from the end
    if (op.name != "ppermute" && op.name != "broadcast" && axis < 0) axis += op.operands[0]->type.rank();
  return s;
}

}  // namespace

Plan build_plan(const ir::Function& host) {
  Plan p;
  p.name = host.name;
  std::map<const ir::Value*, int> slot;
  for (const auto& arg : host.body.args) {
    slot[arg.get()] = p.num_slots++;
    p.input_types.push_back(tensor_type(arg->type));
  }
  for (const auto& op : host.body.ops) {
    Step s;
    if (op->name == "rt.alloc" || op->name == "rt.view") {  // a view: the same buffer, another shape
      s.kind = op->name == "rt.alloc" ? Step::Alloc : Step::View;
      if (s.kind == Step::View) s.view_of = slot.at(op->operands[0]);
      s.slot = slot[op->result()] = p.num_slots++;
      s.type = tensor_type(op->result()->type);
    } else if (op->name == "rt.launch") {
      s = launch_step(*op, slot);
      if (s.has_work()) ++p.launches;
    } else if (op->name == "rt.assert") {
      s.kind = Step::Assert;
      s.args = {slot.at(op->operands[0])};
      s.message = op->str_attr("message");
    } else if (op->name == "rt.print") {
      s.kind = Step::Print;
      for (ir::Value* v : op->operands) s.args.push_back(slot.at(v));
      s.message = op->str_attr("format");
    } else if (ir::is_control_flow(*op)) {
      s = control_step(*op, slot, p.num_slots);
      p.has_control = true;
    } else if (ir::is_collective(*op)) {
      s = collective_step(*op, slot, p.num_slots);
      p.has_control = true;
    } else if (op->name == "return") {
      for (ir::Value* v : op->operands) {
        p.output_slots.push_back(slot.at(v));
        p.output_types.push_back(tensor_type(v->type));
      }
      continue;
    } else {
      fail(ErrorCode::Internal, "executor: unexpected host op '" + op->name + "'", op->loc.str());
    }
    p.steps.push_back(std::move(s));
  }
  plan_memory(p);
  return p;
}

std::vector<Plan> build_plans(const ir::Module& tile_module) {
  std::vector<Plan> plans;
  for (const auto& fn : tile_module.funcs)
    if (!fn->attrs.count("kernel")) plans.push_back(build_plan(*fn));
  if (plans.empty()) fail(ErrorCode::Internal, "the Tile IR module has no host function");
  return plans;
}

}  // namespace tessera::compiler
