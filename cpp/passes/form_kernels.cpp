// Graph IR -> Schedule IR.
//
// Walks each function in program order and groups ops into kernels: consecutive elementwise
// and data-movement ops fuse into one kernel (one pass over memory) iterating over the shape
// of its outputs; members may read each other at other shapes (value_emitter.hpp maps the
// coordinates). A reduction, a matmul or a scatter_add is a kernel of its own. Constants are not kernel inputs: each kernel that uses one
// gets its own copy, so they cost no memory traffic. Knobs (lanes, tile sizes) are chosen for
// the module's target; the autotuner (a later issue) will refine them by measurement.
#include <algorithm>
#include <set>

#include "ir/builder.hpp"
#include "ir/ops.hpp"
#include "ir/pass_manager.hpp"
#include "passes/lowering.hpp"

namespace tessera::passes {
using namespace ir;

std::string module_target(const Module& m) {
  auto it = m.attrs.find("target");
  return it == m.attrs.end() ? "cpu" : std::get<std::string>(it->second);
}

bool target_is_gpu(const std::string& target) { return target != "cpu"; }

namespace {

int64_t pow2_at_least(int64_t n) {
  int64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

const char* kernel_kind(const Op& op) {
  const OpInfo* info = lookup_op(op.name);
  if (!info) fail(ErrorCode::Compile, "form-kernels: unknown op '" + op.name + "'", op.loc.str());
  if (op.name == "scatter_add") return "scatter";  // many-to-one: cannot be computed per output element
  switch (info->cls) {
    case OpClass::ElementwiseUnary:
    case OpClass::ElementwiseBinary:
    case OpClass::DataMovement: return "elementwise";
    case OpClass::Reduction: return "reduce";
    case OpClass::Contraction: return "matmul";
    default: return nullptr;
  }
}

AttrMap knobs(const std::string& kind, const Op& root, const std::string& target) {
  bool gpu = target_is_gpu(target);
  if (kind == "elementwise" || kind == "scatter") return {{"kind", kind}, {"lanes", int64_t(gpu ? 256 : 1024)}};
  if (kind == "matmul") {
    IntList tile = gpu ? IntList{16, 16} : IntList{16, 64};
    return {{"kind", kind}, {"lanes", tile[0] * tile[1]}, {"tile", tile}};
  }
  // Reductions: one lane per element of a row, up to a block's worth; at least a warp on GPUs.
  const Type& in = root.operands[0]->type;
  int64_t axis = normalize_axis(root.name, root.int_attr("axis"), in.rank());
  int64_t extent = in.shape[size_t(axis)].is_static() ? in.shape[size_t(axis)].size : 1024;
  int64_t lanes = std::clamp<int64_t>(pow2_at_least(extent), gpu ? 32 : 16, gpu ? 1024 : 1024);
  return {{"kind", kind}, {"lanes", lanes}};
}

struct Group {
  std::vector<Op*> ops;
  std::string kind;
};

// Values of `ops[0..end)` used outside those ops (later ops of the function, or its return).
std::vector<Value*> group_outputs(const Block& body, const std::vector<Op*>& ops, size_t end) {
  std::vector<Value*> outputs;
  for (size_t i = 0; i < end; ++i)
    for (auto& r : ops[i]->results) {
      int inside = 0;
      for (size_t j = 0; j < end; ++j)
        for (Value* u : ops[j]->operands) inside += (u == r.get());
      if (count_uses(body, r.get()) > inside) outputs.push_back(r.get());
    }
  return outputs;
}

// An elementwise group iterates over the shape of its last op; members may read each other
// at other shapes (a transpose, a slice, a broadcast operand), but every value the group
// produces for others must have that shape. Cuts the group after the last member that breaks
// this, and checks the front part the same way.
void split_by_output_shape(const Block& body, const Group& g, std::vector<Group>& out) {
  if (g.kind != "elementwise") { out.push_back(g); return; }
  std::vector<Group> pieces;  // back to front
  for (size_t end = g.ops.size(); end > 0;) {
    const auto& space = g.ops[end - 1]->result()->type.shape;
    size_t cut = 0;
    for (Value* v : group_outputs(body, g.ops, end))
      if (v->type.shape != space)
        cut = std::max(cut, size_t(std::find(g.ops.begin(), g.ops.end(), v->def) - g.ops.begin()) + 1);
    pieces.push_back(Group{{g.ops.begin() + long(cut), g.ops.begin() + long(end)}, g.kind});
    end = cut;
  }
  out.insert(out.end(), pieces.rbegin(), pieces.rend());
}

// Builds the sched.kernel for `group` before `pos` in `body` and rewires later uses.
void emit_kernel(Function& fn, const Group& group, const std::string& target) {
  Block& body = fn.body;
  std::set<Op*> members(group.ops.begin(), group.ops.end());
  std::vector<Value*> inputs;
  std::vector<Op*> constants;
  for (Op* op : group.ops)
    for (Value* v : op->operands) {
      if (v->def && members.count(v->def)) continue;
      if (v->def && v->def->name == "constant") {
        if (std::find(constants.begin(), constants.end(), v->def) == constants.end()) constants.push_back(v->def);
        continue;
      }
      if (std::find(inputs.begin(), inputs.end(), v) == inputs.end()) inputs.push_back(v);
    }
  std::vector<Value*> outputs = group_outputs(body, group.ops, group.ops.size());

  auto kernel = std::make_unique<Op>();
  kernel->name = "sched.kernel";
  kernel->operands = inputs;
  kernel->attrs = knobs(group.kind, *group.ops.back(), target);
  kernel->loc = group.ops.back()->loc;
  Block* region = kernel->add_region();
  std::map<Value*, Value*> map;
  for (Value* v : inputs) map[v] = region->add_arg(v->type);
  for (Op* c : constants) {
    Op* copy = region->append(clone_op(*c, map));
    map[c->result()] = copy->result();
  }
  for (Op* op : group.ops) {
    Op* copy = region->append(clone_op(*op, map));
    for (size_t i = 0; i < op->results.size(); ++i) map[op->result(int(i))] = copy->result(int(i));
  }
  std::vector<Value*> yielded;
  for (Value* v : outputs) yielded.push_back(map[v]);
  region->append(Op::make("sched.yield", yielded, {}, {}, kernel->loc));
  for (Value* v : outputs) {
    auto r = std::make_unique<Value>();
    r->type = v->type;
    r->def = kernel.get();
    r->index = int(kernel->results.size());
    kernel->results.push_back(std::move(r));
  }

  // Insert the kernel where the group's last op was, rewire uses, then drop the group.
  auto pos = std::find_if(body.ops.begin(), body.ops.end(), [&](auto& o) { return o.get() == group.ops.back(); });
  Op* k = body.insert(std::next(pos), std::move(kernel));
  for (size_t i = 0; i < outputs.size(); ++i) replace_all_uses(body, outputs[i], k->result(int(i)));
  body.ops.remove_if([&](auto& o) { return members.count(o.get()) != 0; });
}

bool returned(const Function& fn, const Value* v) {
  const Op* ret = fn.terminator();
  return ret && std::find(ret->operands.begin(), ret->operands.end(), v) != ret->operands.end();
}

void form_kernels_in(Function& fn, const std::string& target) {
  std::vector<Group> groups;
  Group open;
  auto close = [&] {
    if (!open.ops.empty()) groups.push_back(open);
    open = Group{};
  };
  for (auto& op_ptr : fn.body.ops) {
    Op* op = op_ptr.get();
    if (op->name == "return") continue;
    // Constants are copied into the kernels that use them, unless the function returns one.
    if (op->name == "constant" && !returned(fn, op->result())) continue;
    const char* kind = kernel_kind(*op);
    if (!kind) fail(ErrorCode::Compile, "form-kernels: op '" + op->name + "' cannot appear in Graph IR", op->loc.str());
    // Consecutive elementwise and movement ops form one group, split below by output shape.
    if (std::string(kind) == "elementwise" && open.kind == "elementwise") {
      open.ops.push_back(op);
      continue;
    }
    close();
    open = Group{{op}, kind};
    if (std::string(kind) != "elementwise") close();
  }
  close();
  std::vector<Group> split;
  for (const Group& g : groups) split_by_output_shape(fn.body, g, split);
  groups = split;
  for (const Group& g : groups) emit_kernel(fn, g, target);
  // Constants now live inside the kernels that use them.
  fn.body.ops.remove_if([&](auto& o) { return o->name == "constant" && count_uses(fn.body, o->result()) == 0; });
}

}  // namespace

void form_kernels(Module& m) {
  std::string target = module_target(m);
  for (auto& fn : m.funcs)
    if (!fn->attrs.count("kernel")) form_kernels_in(*fn, target);
}

}  // namespace tessera::passes

TESSERA_REGISTER_PASS(form_kernels, "form-kernels",
                      "Graph IR -> Schedule IR: fuse ops into sched.kernel groups and pick their knobs",
                      tessera::passes::form_kernels);
