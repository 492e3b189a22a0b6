// Graph IR on a mesh -> the program each device runs (after propagate-sharding). In place:
// parameters and results take their local shapes, shape-valued attributes are localised, and
// where an op needs its operands split otherwise than they are, collectives are inserted:
//
//   pending axis a, wanted split on dim d    reduce_scatter(d, a)       (else all_reduce(a))
//   dim d split on a, wanted on dim d2       all_to_all(split d2, concat d, a)
//   dim d split on a, wanted whole           all_gather(d, a)
//   dim d whole, wanted split on a           this member's block: reshape + take(axis_index(a))
//
// The first of each pair moves fewer bytes than the fallback after "else", and is taken when it
// applies. Ops without a sharding rule run on replicated operands. Results leave with their
// pending reductions resolved; their shardings go to the function's `out_shardings`.
// Without a mesh, sharding_constraint ops are dropped (a single device has one layout). In
// deterministic mode floating pending sums resolve in member order (ordered_all_reduce).
#include "ir/builder.hpp"
#include "ir/ops.hpp"
#include "ir/sharding.hpp"
#include "passes/passes.hpp"
#include "passes/sharding_rules.hpp"

namespace tessera::passes {
using namespace ir;
namespace {

using OpIt = std::list<std::unique_ptr<Op>>::iterator;

class Partitioner {
 public:
  Partitioner(Function& fn, const Mesh& mesh, bool deterministic)
      : fn_(fn), mesh_(mesh), deterministic_(deterministic) {}

  void run() {
    for (auto& op : fn_.body.ops) rules_[op.get()] = sharding_rule(*op);  // on the global types
    params();
    for (auto it = fn_.body.ops.begin(); it != fn_.body.ops.end();) {
      Op& op = **it;
      if (op.name == "sharding_constraint") {
        Value* x = reshard(op.operands[0], Sharding::parse(op.str_attr("sharding"), mesh_), it, op.loc);
        replace_all_uses(fn_.body, op.result(), x);
        it = fn_.body.ops.erase(it);
        continue;
      }
      if (op.name == "return")
        finish(op, it);
      else
        partition(op, it);
      ++it;
    }
  }

 private:
  Function& fn_;
  const Mesh& mesh_;
  const bool deterministic_;  // floating pending sums resolve in member order
  std::map<const Value*, Sharding> cur_;
  std::map<const Op*, std::optional<ShardingRule>> rules_;
  std::map<std::pair<const Value*, std::string>, Value*> memo_;

  void params() {
    std::vector<std::string> in = split_shardings(std::get<std::string>(fn_.attrs.at("in_shardings")));
    for (size_t i = 0; i < fn_.body.args.size(); ++i) {
      Value* p = fn_.body.args[i].get();
      cur_[p] = Sharding::parse(in[i], mesh_, p->type.rank());
      p->type.shape = cur_[p].local_shape(p->type.shape, mesh_, "argument " + std::to_string(i));
    }
    fn_.attrs.erase("in_shardings");
  }

  const Sharding& sharding_of(const Value* v) {
    auto it = cur_.find(v);
    if (it == cur_.end()) it = cur_.emplace(v, Sharding::replicated(size_t(v->type.rank()))).first;
    return it->second;
  }

  // Builds with `build(b)` into a scratch block, then moves the ops before `pos`.
  template <class F>
  Value* before(OpIt pos, const Location& loc, F build) {
    Block scratch;
    Builder b(&scratch, loc);
    Value* v = build(b);
    for (auto& p : scratch.ops) fn_.body.insert(pos, std::move(p));
    return v;
  }

  AttrMap group(const std::string& axis) const { return {{"group", mesh_.group(axis)}, {"size", mesh_.size(axis)}}; }

  Value* collective(const std::string& name, Value* x, const std::string& axis, AttrMap extra, OpIt pos,
                    const Location& loc) {
    AttrMap a = group(axis);
    a.insert(extra.begin(), extra.end());
    return before(pos, loc, [&](Builder& b) { return b.value(name, {x}, a); });
  }

  // This member's block of dim d (whole now) when split over `axis`.
  Value* local_block(Value* x, size_t d, const std::string& axis, OpIt pos, const Location& loc) {
    const int64_t n = mesh_.size(axis);
    std::vector<int64_t> shape = x->type.static_shape();
    shape[d] /= n;
    shape.insert(shape.begin() + long(d), n);
    return before(pos, loc, [&](Builder& b) {
      Value* blocks = b.value("reshape", {x}, {{"shape", IntList(shape)}});
      Value* me = b.value("axis_index", {}, group(axis));
      return b.value("take", {blocks, me}, {{"axis", int64_t(d)}});
    });
  }

  // Each value is resharded to a given sharding once; later uses share it (it dominates them:
  // one block, in order).
  Value* reshard(Value* x, const Sharding& to, OpIt pos, const Location& loc) {
    auto key = std::make_pair(static_cast<const Value*>(x), to.str());
    auto it = memo_.find(key);
    if (it != memo_.end()) return it->second;
    Value* y = convert(x, to, pos, loc);
    memo_[key] = y;
    return y;
  }

  Value* convert(Value* x, const Sharding& to, OpIt pos, const Location& loc) {
    Sharding s = sharding_of(x);
    x = resolve_pending(x, s, to, pos, loc);
    x = unsplit(x, s, to, pos, loc);
    for (size_t d = 0; d < s.dims.size(); ++d)
      if (!to.dims[d].empty() && s.dims[d] != to.dims[d]) {
        x = local_block(x, d, to.dims[d], pos, loc);
        s.dims[d] = to.dims[d];
      }
    s.reduce = to.reduce;
    cur_[x] = s;
    return x;
  }

  // The pending axes of `s` that `to` does not keep: reduce_scatter where `to` splits a whole
  // dim on the axis, else all_reduce (in member order in deterministic mode). Updates `s`.
  Value* resolve_pending(Value* x, Sharding& s, const Sharding& to, OpIt pos, const Location& loc) {
    const std::string from = s.str();
    for (const std::string& a : std::vector<std::string>(s.partial)) {
      if (s.reduce == to.reduce && std::find(to.partial.begin(), to.partial.end(), a) != to.partial.end()) continue;
      const int d = to.dim_of(a);
      const bool ordered = deterministic_ && s.reduce == "sum" && is_float(x->type.dtype);
      const std::string group = mesh_.group(a);
      const int64_t n = mesh_.size(a);
      if (d >= 0 && s.dims[size_t(d)].empty() && s.reduce == "sum" && x->type.shape[size_t(d)].size % n == 0) {
        x = ordered
                ? before(pos, loc, [&](Builder& b) { return ordered_reduce_scatter(b, x, group, n, d, "sum"); })
                : collective("reduce_scatter", x, a, {{"axis", int64_t(d)}, {"reduce", std::string("sum")}}, pos, loc);
        s.dims[size_t(d)] = a;
      } else {
        x = ordered ? before(pos, loc, [&](Builder& b) { return ordered_all_reduce(b, x, group, n, "sum"); })
                    : collective("all_reduce", x, a, {{"reduce", s.reduce}}, pos, loc);
      }
      s.partial.erase(std::find(s.partial.begin(), s.partial.end(), a));
    }
    if (s.partial != to.partial)  // a pending reduction cannot be made from a value (a user's constraint)
      fail(ErrorCode::Value, "spmd-partition: cannot make " + to.str() + " from " + from, loc.str());
    if (s.partial.empty()) s.reduce = "sum";
    return x;
  }

  // Dims split on another axis than `to` wants: all_to_all where the axis moves to a dim that is
  // whole now (and divides), else all_gather. Updates `s`.
  Value* unsplit(Value* x, Sharding& s, const Sharding& to, OpIt pos, const Location& loc) {
    for (size_t d = 0; d < s.dims.size(); ++d) {
      const std::string a = s.dims[d];
      if (a.empty() || a == to.dims[d]) continue;
      const int d2 = to.dim_of(a);
      if (d2 >= 0 && s.dims[size_t(d2)].empty() && x->type.shape[size_t(d2)].size % mesh_.size(a) == 0) {
        x = collective("all_to_all", x, a, {{"split_axis", int64_t(d2)}, {"concat_axis", int64_t(d)}}, pos, loc);
        s.dims[size_t(d2)] = a;
      } else {
        x = collective("all_gather", x, a, {{"axis", int64_t(d)}}, pos, loc);
      }
      s.dims[d].clear();
    }
    return x;
  }

  std::vector<Sharding> results_of(const Op& op) {
    auto it = op.attrs.find("sharding");
    if (it == op.attrs.end())
      fail(ErrorCode::Internal, "spmd-partition: " + op.name + " has no sharding (run propagate-sharding first)",
           op.loc.str());
    std::vector<Sharding> out;
    std::vector<std::string> texts = split_shardings(std::get<std::string>(it->second));
    for (size_t i = 0; i < op.results.size(); ++i)
      out.push_back(Sharding::parse(texts.at(i), mesh_, op.result(int(i))->type.rank()));
    return out;
  }

  // Shape-valued attributes name the local shape.
  void localise(Op& op, const std::vector<Dim>& local) {
    IntList shape;
    for (const Dim& d : local) shape.push_back(d.size);
    if (op.name == "reshape" || op.name == "broadcast_to") op.attrs["shape"] = shape;
    if (op.name == "constant") op.attrs["type"] = Type::tensor(op.result()->type.dtype, local);
    if (op.name == "slice") {  // only whole dims are split: they stay whole locally
      IntList stop = op.ints_attr("stop");
      for (size_t d = 0; d < stop.size() && d < local.size(); ++d)
        if (local[d] != op.result()->type.shape[d]) stop[d] = local[d].size;
      op.attrs["stop"] = stop;
    }
  }

  void partition(Op& op, OpIt pos) {
    if (is_collective(op))
      fail(ErrorCode::Value,
           op.name +
               ": collectives belong in per-device code (tessera.dist.shard_map); this program is global, on "
               "mesh " +
               mesh_.str(),
           op.loc.str());
    std::vector<Sharding> want = results_of(op);
    op.attrs.erase("sharding");
    const std::optional<ShardingRule>& rule = rules_.at(&op);
    std::vector<Sharding> ops;
    for (const Value* v : op.operands) ops.push_back(sharding_of(v));
    OpSplit split;
    if (rule) split = split_for_result(*rule, ops, want[0], mesh_);
    for (size_t i = 0; i < op.operands.size(); ++i) {
      Sharding need = rule ? operand_sharding(*rule, split, ops, i) : Sharding::replicated(ops[i].dims.size());
      if (need != ops[i]) op.operands[i] = reshard(op.operands[i], need, pos, op.loc);
    }
    for (size_t i = 0; i < op.results.size(); ++i) {
      Value* r = op.result(int(i));
      if (!rule && !want[i].is_replicated())
        fail(ErrorCode::Internal, "spmd-partition: " + op.name + " has no sharding rule but " + want[i].str(),
             op.loc.str());
      std::vector<Dim> local = want[i].local_shape(r->type.shape, mesh_, op.name);
      if (i == 0) localise(op, local);
      r->type.shape = local;
      cur_[r] = want[i];
    }
    check_op(op);  // the local op's own shape rule agrees with the local shapes
  }

  void finish(Op& ret, OpIt pos) {
    std::vector<Sharding> outs;
    for (size_t i = 0; i < ret.operands.size(); ++i) {
      Sharding s = sharding_of(ret.operands[i]);
      if (!s.partial.empty()) {
        Sharding whole = s;
        whole.partial.clear();
        whole.reduce = "sum";
        ret.operands[i] = reshard(ret.operands[i], whole, pos, ret.loc);
        s = whole;
      }
      outs.push_back(s);
      fn_.result_types.at(i) = ret.operands[i]->type;
    }
    fn_.attrs["out_shardings"] = join_shardings(outs);
  }
};

void drop_constraints(Function& fn) {
  for (auto it = fn.body.ops.begin(); it != fn.body.ops.end();) {
    if ((*it)->name != "sharding_constraint") {
      ++it;
      continue;
    }
    replace_all_uses(fn.body, (*it)->result(), (*it)->operands[0]);
    it = fn.body.ops.erase(it);
  }
}

}  // namespace

void spmd_partition(Module& m) {
  std::optional<Mesh> mesh = Mesh::of(m);
  for (auto& fn : m.funcs) {
    if (fn->attrs.count("kernel")) continue;
    if (mesh && fn->attrs.count("in_shardings"))
      Partitioner(*fn, *mesh, deterministic(m)).run();
    else
      drop_constraints(*fn);
  }
}

}  // namespace tessera::passes
