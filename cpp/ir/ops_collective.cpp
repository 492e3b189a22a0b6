// Collectives: ops of a per-member (SPMD) program that exchange data with the other members of a
// communicator group. Every op names its group (`group`, a key the runtime resolves to a
// communicator: tessera.dist registers one per mesh axis) and the group's `size`, which the
// shape rules need. They run on the host between kernels (the executor calls the runtime's
// collectives, executable_collective.cpp), so they are never fused.
//
// Derivatives follow JAX's shard_map (and Megatron's conjugate pairs): a value is either the
// same on every member (replicated) or member-specific (varying). all_reduce's result is
// replicated, so its cotangent is too and passes through unchanged; mark_varying (the identity)
// takes a replicated value into member-specific work, so its cotangent is summed over the group.
// all_gather's and broadcast's results stay member-specific (their transposes sum the members'
// cotangents: reduce_scatter, and a sum into the root), reduce_scatter's transpose is all_gather,
// all_to_all's and ppermute's are their inverses.
#include "ir/builder.hpp"
#include "ir/op_rules.hpp"
#include "ir/ops.hpp"

namespace tessera::ir {
namespace {

const AttrSpec kGroup{"group", "str", true, "the communicator group (tessera.dist: one per mesh axis)"};
const AttrSpec kSize{"size", "int", true, "the number of members of the group"};
const AttrSpec kReduce{"reduce", "str", false, "sum | mean | max | min | prod", "\"sum\""};
const AttrSpec kDeterministic{"deterministic", "bool", false,
                              "floating sums and products add the members' values in member order, the same "
                              "on every member and every run (tessera.dist.deterministic)",
                              "false"};

OpInfo collective(const std::string& name, int operands, std::vector<AttrSpec> attrs, const std::string& summary) {
  OpInfo info;
  info.name = name;
  info.cls = OpClass::Collective;
  info.min_operands = info.max_operands = operands;
  if (operands) info.operand_names = {"x"};
  info.attrs = {kGroup, kSize, kDeterministic};  // any collective: derivatives' reductions inherit it
  info.attrs.insert(info.attrs.end(), attrs.begin(), attrs.end());
  info.summary = summary;
  return info;
}

int64_t group_size(const std::string& op, const AttrMap& a) {
  int64_t n = std::get<int64_t>(a.at("size"));
  if (n < 1) fail(ErrorCode::Value, op + ": group size must be >= 1, got " + std::to_string(n));
  return n;
}

std::string reduce_of(const std::string& op, const AttrMap& a) {
  auto it = a.find("reduce");
  std::string r = it == a.end() ? "sum" : std::get<std::string>(it->second);
  if (r != "sum" && r != "mean" && r != "max" && r != "min" && r != "prod")
    fail(ErrorCode::Value, op + ": reduce must be sum, mean, max, min or prod, got '" + r + "'");
  return r;
}

// x's static shape (collectives move whole buffers) and a checked axis.
std::vector<int64_t> static_dims(const std::string& op, const Type& x) {
  require_tensor(op, x);
  if (!x.has_static_shape()) fail(ErrorCode::Shape, op + ": needs a static shape, got " + x.str());
  return x.static_shape();
}

int64_t axis_of(const std::string& op, const AttrMap& a, const std::string& key, const Type& x) {
  int64_t axis = std::get<int64_t>(a.at(key));
  if (axis < -x.rank() || axis >= x.rank())
    fail(ErrorCode::Value, op + ": " + key + " " + std::to_string(axis) + " is out of range for " + x.str());
  return axis < 0 ? axis + x.rank() : axis;
}

void require_divisible(const std::string& op, const Type& x, int64_t axis, int64_t n) {
  int64_t d = x.static_shape()[size_t(axis)];
  if (d % n)
    fail(ErrorCode::Shape, op + ": dim " + std::to_string(axis) + " of " + x.str() + " (" + std::to_string(d) +
                               ") does not divide over the " + std::to_string(n) + " members of the group");
}

Type with_dim(const Type& x, int64_t axis, int64_t size) {
  std::vector<int64_t> s = x.static_shape();
  s[size_t(axis)] = size;
  return Type::tensor(x.dtype, s);
}

// The same collective on another value (cotangents, tangents), with `changes` applied.
// The same group (and determinism) for a derivative's collective.
Value* again(Builder& b, const std::string& name, const Op& op, Value* v, AttrMap changes = {}) {
  AttrMap a{{"group", op.attrs.at("group")}, {"size", op.attrs.at("size")}};
  if (op.bool_attr("deterministic", false) && (name == "all_reduce" || name == "reduce_scatter"))
    a["deterministic"] = true;
  for (auto& [k, val] : changes) a[k] = val;
  return b.value(name, {v}, a);
}

// reduce="mean" runs as a sum scaled by 1/size (the runtime reduces with sum, prod, max, min);
// a deterministic floating sum or product, in member order (ordered_all_reduce).
std::vector<Value*> decompose_reduction(Builder& b, const Op& op) {
  const std::string r = reduce_of(op.name, op.attrs);
  Value* x = op.operands[0];
  const std::string group = op.str_attr("group");
  const int64_t n = op.int_attr("size");
  if (r == "mean") {
    AttrMap a = op.attrs;
    a["reduce"] = std::string("sum");
    Value* sum = b.value(op.name, {x}, a);
    return {b.value("mul", {sum, b.graph_constant(sum->type.dtype, 1.0 / double(n))})};
  }
  if (!op.bool_attr("deterministic", false) || !is_float(x->type.dtype) || (r != "sum" && r != "prod")) return {};
  if (op.name == "all_reduce") return {ordered_all_reduce(b, x, group, n, r)};
  return {ordered_reduce_scatter(b, x, group, n, op.int_attr("axis"), r)};
}

OpInfo all_reduce() {
  OpInfo info = collective("all_reduce", 1, {kReduce},
                           "Every member gets the reduction (sum, mean, max, min or prod) of x over the group. The "
                           "result is replicated: its cotangent passes to x unchanged (sum; mean divides it by the "
                           "size).");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    static_dims("all_reduce", in[0]);
    group_size("all_reduce", a);
    std::string r = reduce_of("all_reduce", a);
    if (r == "mean" && !is_float(in[0].dtype))
      fail(ErrorCode::DType, "all_reduce: mean needs a floating-point tensor, got " + in[0].str());
    return std::vector<Type>{in[0]};
  };
  auto linear = [](Builder& b, const Op& op, Value* v) {
    std::string r = reduce_of("all_reduce", op.attrs);
    if (r == "mean") return b.value("mul", {v, b.graph_constant(v->type.dtype, 1.0 / double(op.int_attr("size")))});
    if (r != "sum")
      fail(ErrorCode::Value, "all_reduce: reduce='" + r + "' has no derivative rule (only sum and mean)", op.loc.str());
    return v;
  };
  info.vjp = [linear](Builder& b, const Op& op, Value* g) { return std::vector<Value*>{linear(b, op, g)}; };
  info.decompose = decompose_reduction;
  info.jvp = [](Builder& b, const Op& op, const std::vector<Value*>& t) {
    return t[0] ? again(b, "all_reduce", op, t[0], {{"reduce", reduce_of("all_reduce", op.attrs)}}) : nullptr;
  };
  return info;
}

OpInfo mark_varying() {
  OpInfo info = collective("mark_varying", 1, {},
                           "The identity on a replicated x that member-specific work uses; its cotangent (one "
                           "part per member) is summed over the group. Megatron's `f`, JAX's pvary.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    static_dims("mark_varying", in[0]);
    group_size("mark_varying", a);
    return std::vector<Type>{in[0]};
  };
  info.vjp = [](Builder& b, const Op& op, Value* g) {
    return std::vector<Value*>{again(b, "all_reduce", op, g, {{"reduce", std::string("sum")}})};
  };
  info.jvp = [](Builder&, const Op&, const std::vector<Value*>& t) { return t[0]; };
  info.decompose = [](Builder&, const Op& op) { return std::vector<Value*>{op.operands[0]}; };  // after autodiff
  return info;
}

OpInfo all_gather() {
  OpInfo info = collective("all_gather", 1, {{"axis", "int", true, "the dim along which the parts are concatenated"}},
                           "Concatenates every member's x along `axis`, in member order. The cotangent is "
                           "reduce-scattered back (the gathered value feeds member-specific work).");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    std::vector<int64_t> s = static_dims("all_gather", in[0]);
    int64_t n = group_size("all_gather", a), axis = axis_of("all_gather", a, "axis", in[0]);
    return std::vector<Type>{with_dim(in[0], axis, s[size_t(axis)] * n)};
  };
  info.vjp = [](Builder& b, const Op& op, Value* g) {
    return std::vector<Value*>{
        again(b, "reduce_scatter", op, g, {{"axis", op.attrs.at("axis")}, {"reduce", std::string("sum")}})};
  };
  info.jvp = [](Builder& b, const Op& op, const std::vector<Value*>& t) {
    return t[0] ? again(b, "all_gather", op, t[0], {{"axis", op.attrs.at("axis")}}) : nullptr;
  };
  return info;
}

OpInfo reduce_scatter() {
  OpInfo info =
      collective("reduce_scatter", 1, {{"axis", "int", true, "the dim split into one block per member"}, kReduce},
                 "Reduces x over the group and gives member i block i of the result along `axis` (which "
                 "must divide by the group size). The cotangent is all-gathered back.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    std::vector<int64_t> s = static_dims("reduce_scatter", in[0]);
    int64_t n = group_size("reduce_scatter", a), axis = axis_of("reduce_scatter", a, "axis", in[0]);
    std::string r = reduce_of("reduce_scatter", a);
    if (r == "mean" && !is_float(in[0].dtype))
      fail(ErrorCode::DType, "reduce_scatter: mean needs a floating-point tensor, got " + in[0].str());
    require_divisible("reduce_scatter", in[0], axis, n);
    return std::vector<Type>{with_dim(in[0], axis, s[size_t(axis)] / n)};
  };
  info.vjp = [](Builder& b, const Op& op, Value* g) {
    std::string r = reduce_of("reduce_scatter", op.attrs);
    if (r != "sum" && r != "mean")
      fail(ErrorCode::Value, "reduce_scatter: reduce='" + r + "' has no derivative rule (only sum and mean)",
           op.loc.str());
    Value* full = again(b, "all_gather", op, g, {{"axis", op.attrs.at("axis")}});
    if (r == "mean") full = b.value("mul", {full, b.graph_constant(g->type.dtype, 1.0 / double(op.int_attr("size")))});
    return std::vector<Value*>{full};
  };
  info.decompose = decompose_reduction;
  info.jvp = [](Builder& b, const Op& op, const std::vector<Value*>& t) {
    return t[0] ? again(b, "reduce_scatter", op, t[0],
                        {{"axis", op.attrs.at("axis")}, {"reduce", reduce_of("reduce_scatter", op.attrs)}})
                : nullptr;
  };
  return info;
}

OpInfo all_to_all() {
  OpInfo info =
      collective("all_to_all", 1,
                 {{"split_axis", "int", true, "the dim cut into one block per member (block j goes to member j)"},
                  {"concat_axis", "int", true, "the dim along which the received blocks are concatenated"}},
                 "Member i sends block j of x (along split_axis) to member j, and concatenates the blocks it "
                 "receives along concat_axis in member order. Its transpose swaps the two axes.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    static_dims("all_to_all", in[0]);
    int64_t n = group_size("all_to_all", a);
    int64_t split = axis_of("all_to_all", a, "split_axis", in[0]), cat = axis_of("all_to_all", a, "concat_axis", in[0]);
    require_divisible("all_to_all", in[0], split, n);
    Type t = with_dim(in[0], split, in[0].static_shape()[size_t(split)] / n);
    return std::vector<Type>{with_dim(t, cat, t.static_shape()[size_t(cat)] * n)};
  };
  info.vjp = [](Builder& b, const Op& op, Value* g) {
    return std::vector<Value*>{
        again(b, "all_to_all", op, g,
              {{"split_axis", op.attrs.at("concat_axis")}, {"concat_axis", op.attrs.at("split_axis")}})};
  };
  info.jvp = [](Builder& b, const Op& op, const std::vector<Value*>& t) {
    return t[0] ? again(b, "all_to_all", op, t[0],
                        {{"split_axis", op.attrs.at("split_axis")}, {"concat_axis", op.attrs.at("concat_axis")}})
                : nullptr;
  };
  return info;
}

// perm: flat (source, destination) pairs; each member sends at most once and receives at most once.
IntList checked_perm(const AttrMap& a, int64_t n) {
  const IntList& p = std::get<IntList>(a.at("perm"));
  if (p.size() % 2) fail(ErrorCode::Value, "ppermute: perm must hold (source, destination) pairs");
  std::vector<int> sends(size_t(n), 0), recvs(size_t(n), 0);
  for (size_t i = 0; i < p.size(); i += 2) {
    for (int64_t r : {p[i], p[i + 1]})
      if (r < 0 || r >= n)
        fail(ErrorCode::Value, "ppermute: member " + std::to_string(r) + " is not in a group of " + std::to_string(n));
    if (sends[size_t(p[i])]++ || recvs[size_t(p[i + 1])]++)
      fail(ErrorCode::Value, "ppermute: perm is not a permutation (a member sends or receives twice)");
  }
  return p;
}

OpInfo ppermute() {
  OpInfo info = collective("ppermute", 1, {{"perm", "ints", true, "flat (source, destination) member pairs"}},
                           "Member d gets x of member s for each pair (s, d) of perm; members that receive nothing "
                           "get zeros. Its transpose is the inverse permutation.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    static_dims("ppermute", in[0]);
    checked_perm(a, group_size("ppermute", a));
    return std::vector<Type>{in[0]};
  };
  info.vjp = [](Builder& b, const Op& op, Value* g) {
    IntList p = op.ints_attr("perm");
    for (size_t i = 0; i < p.size(); i += 2) std::swap(p[i], p[i + 1]);
    return std::vector<Value*>{again(b, "ppermute", op, g, {{"perm", p}})};
  };
  info.jvp = [](Builder& b, const Op& op, const std::vector<Value*>& t) {
    return t[0] ? again(b, "ppermute", op, t[0], {{"perm", op.attrs.at("perm")}}) : nullptr;
  };
  return info;
}

OpInfo broadcast() {
  OpInfo info = collective("broadcast", 1, {{"root", "int", true, "the member whose x every member gets"}},
                           "Every member gets the root's x. As with all_gather, the result feeds member-specific work: "
                           "the members' cotangents are summed into the root's x (the others get zero).");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    static_dims("broadcast", in[0]);
    int64_t n = group_size("broadcast", a), root = std::get<int64_t>(a.at("root"));
    if (root < 0 || root >= n)
      fail(ErrorCode::Value, "broadcast: root " + std::to_string(root) + " is not in a group of " + std::to_string(n));
    return std::vector<Type>{in[0]};
  };
  info.vjp = [](Builder& b, const Op& op, Value* g) {
    Value* me = b.value("axis_index", {}, {{"group", op.attrs.at("group")}, {"size", op.attrs.at("size")}});
    Value* is_root = b.value("equal", {me, b.graph_constant(DType::I32, double(op.int_attr("root")))});
    Value* sum = again(b, "all_reduce", op, g, {{"reduce", std::string("sum")}});
    return std::vector<Value*>{b.value("where", {is_root, sum, b.graph_constant(g->type.dtype, 0.0)})};
  };
  info.jvp = [](Builder& b, const Op& op, const std::vector<Value*>& t) {
    return t[0] ? again(b, "broadcast", op, t[0], {{"root", op.attrs.at("root")}}) : nullptr;
  };
  return info;
}

OpInfo axis_index() {
  OpInfo info = collective("axis_index", 0, {}, "This member's index in the group (a rank-0 i32 tensor).");
  info.infer = [](const std::vector<Type>&, const AttrMap& a) {
    group_size("axis_index", a);
    return std::vector<Type>{Type::tensor(DType::I32, std::vector<Dim>{})};
  };
  info.vjp = [](Builder&, const Op&, Value*) { return std::vector<Value*>{}; };
  info.jvp = [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); };
  return info;
}

// Not a collective: a global program's request that x be split as `sharding` (propagate-sharding
// starts from it; spmd-partition reshards to it and drops it). The cotangent and tangent are
// constrained alike, as in JAX's with_sharding_constraint.
OpInfo sharding_constraint() {
  OpInfo info;
  info.name = "sharding_constraint";
  info.cls = OpClass::DataMovement;
  info.min_operands = info.max_operands = 1;
  info.operand_names = {"x"};
  info.attrs = {{"sharding", "str", true, "how x is split over the module's mesh, e.g. [dp, -] (rows split over dp)"}};
  info.summary = "x, split over the mesh as `sharding` (tessera.dist.with_sharding_constraint).";
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    require_tensor("sharding_constraint", in[0]);
    return std::vector<Type>{in[0]};
  };
  info.vjp = [](Builder& b, const Op& op, Value* g) {
    return std::vector<Value*>{b.value("sharding_constraint", {g}, op.attrs)};
  };
  info.jvp = [](Builder& b, const Op& op, const std::vector<Value*>& t) {
    return t[0] ? b.value("sharding_constraint", {t[0]}, op.attrs) : nullptr;
  };
  // vmap: the batch dim leads, whole.
  info.batch = [](Builder& b, const Op& op, const std::vector<Value*>& xs, const std::vector<bool>& batched, int64_t) {
    AttrMap a = op.attrs;
    if (batched[0]) {
      const std::string& s = op.str_attr("sharding");
      a["sharding"] = s.rfind("[]", 0) == 0 ? "[-" + s.substr(1) : "[-, " + s.substr(1);
    }
    return b.value("sharding_constraint", xs, a);
  };
  return info;
}

}  // namespace

Value* ordered_all_reduce(Builder& b, Value* x, const std::string& group, int64_t size, const std::string& reduce) {
  Value* one = b.value("expand_dims", {x}, {{"axis", int64_t(0)}});
  Value* all = b.value("all_gather", {one}, {{"group", group}, {"size", size}, {"axis", int64_t(0)}});
  return b.value(reduce, {all}, {{"axis", int64_t(0)}});
}

Value* ordered_reduce_scatter(Builder& b, Value* x, const std::string& group, int64_t size, int64_t axis,
                              const std::string& reduce) {
  const int64_t rank = x->type.rank();
  axis = normalize_axis("reduce_scatter", axis, rank);
  IntList to_front{axis}, back;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis) to_front.push_back(d);
  for (int64_t d = 0; d < rank; ++d) back.push_back(d == axis ? 0 : d < axis ? d + 1 : d);
  Value* t = axis == 0 ? x : b.value("transpose", {x}, {{"perm", to_front}});
  IntList blocks = t->type.static_shape();
  blocks[0] /= size;
  blocks.insert(blocks.begin(), size);
  t = b.value("reshape", {t}, {{"shape", blocks}});
  // Member i receives block i of every member's x, stacked in member order, and reduces them.
  t = b.value("all_to_all", {t},
              {{"group", group}, {"size", size}, {"split_axis", int64_t(0)}, {"concat_axis", int64_t(0)}});
  t = b.value(reduce, {t}, {{"axis", int64_t(0)}});
  return axis == 0 ? t : b.value("transpose", {t}, {{"perm", back}});
}

bool is_collective(const Op& op) {
  const OpInfo* info = lookup_op(op.name);
  return info && info->cls == OpClass::Collective;
}

void register_collective_ops(std::vector<OpInfo>& out) {
  for (OpInfo info : {all_reduce(), mark_varying(), all_gather(), reduce_scatter(), all_to_all(), ppermute(),
                      broadcast(), axis_index(), sharding_constraint()})
    out.push_back(std::move(info));
}

}  // namespace tessera::ir
