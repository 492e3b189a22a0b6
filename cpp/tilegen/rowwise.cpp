// Tile IR for row-wise kernels: reductions over the innermost axis fused with the element-wise
// ops around them (softmax, layernorm, sum(f(x)), ...).
//
// One program instance owns one row of the reductions' operand shape S = [rows..., R]. When
// the lanes cover the row (CPUs: lanes = R up to 8192; GPUs: R <= 1024 threads) the row is
// one tile: every value is computed once (CPU lane arrays stay in cache) and each reduction
// is one tile.reduce. Longer rows get a few passes while the row is in cache: each pass runs a tile.for along
// the row (lanes stride it) folding some reductions into per-lane states (the full tiles
// unmasked, then a masked one-trip loop over the tail), then tile.reduce turns each state
// into a scalar for the row. A pass holds every reduction that does not depend on another reduction of the same
// pass. The last pass computes the row's S-shaped outputs. Everything is evaluated through
// the value emitter, so prologue ops (before a reduction) are recomputed per element on load
// and never stored; a reduction's result is bound to its scalar for the later passes.
// Per-row outputs (reduced shapes) are stored once per row. The order of every sum is fixed
// by the shape and the lane count, so results are the same bits on any number of threads.
#include <algorithm>
#include <limits>
#include <set>

#include "ir/op_rules.hpp"
#include "tilegen/tilegen.hpp"
#include "tilegen/value_emitter.hpp"

namespace tessera::tilegen {
using namespace ir;

namespace {

bool is_arg(const std::string& kind) { return kind == "argmax" || kind == "argmin"; }

bool is_row_reduction(const Op& op) {
  const OpInfo* info = lookup_op(op.name);
  return info && info->cls == OpClass::Reduction;
}

// Does `v` depend (inside the region) on one of `ops`?
bool depends_on(const Value* v, const std::set<const Op*>& ops, std::map<const Value*, bool>& memo) {
  if (!v->def) return false;
  if (auto it = memo.find(v); it != memo.end()) return it->second;
  bool r = ops.count(v->def) != 0;
  for (const Value* x : v->def->operands) r = r || depends_on(x, ops, memo);
  return memo[v] = r;
}

struct Reduction {
  const Op* op;
  DType ct;  // the dtype the states accumulate in
};

// A counted tile.for carrying `inits`; `body(builder, iv, carried) -> next`.
template <class Body>
std::vector<Value*> emit_loop(Builder& b, int64_t lb, int64_t ub, int64_t step, const std::vector<Value*>& inits,
                              Body body) {
  std::vector<Value*> ops = {b.i64(lb), b.i64(ub), b.i64(step)};
  std::vector<Type> types;
  for (Value* v : inits) ops.push_back(v), types.push_back(v->type);
  Op* loop = b.create_typed("tile.for", ops, types);
  Block* region = loop->add_region();
  Value* iv = region->add_arg(Type::scalar(DType::I64));
  std::vector<Value*> carried;
  for (Value* v : inits) carried.push_back(region->add_arg(v->type));
  Builder inner(region, loop->loc);
  std::vector<Value*> next = body(inner, iv, carried);
  inner.create_typed("tile.yield", next, {});
  std::vector<Value*> results;
  for (auto& r : loop->results) results.push_back(r.get());
  return results;
}

class RowKernel {
 public:
  RowKernel(const Op& kernel, Function& fn)
      : kernel_(kernel), fn_(fn), region_(*kernel.region), b_(&fn.body, kernel.loc) {}

  Grid emit() {
    collect();
    Value* row = b_.program_id(0);
    Value* col = b_.arange(lanes_);
    Value* mask = lanes_ > extent_ ? b_.cmp("lt", col, b_.i64(extent_)) : nullptr;
    ValueEmitter top(b_, region_, fn_, mask);
    row_coords_ = top.unflatten(row, rows_shape_);
    if (lanes_ >= extent_) {
      single_tile(top, col, mask);
    } else {
      for (const auto& pass : passes()) reduce_pass(pass);
      store_row_outputs(row);
    }
    store_per_row_outputs(top, row);
    erase_dead_ops(fn_.body);
    int64_t rows = 1;
    for (int64_t d : rows_shape_) rows *= d;
    return {rows, 1, 1};
  }

 private:
  void collect() {
    for (const auto& op : region_.ops)
      if (is_row_reduction(*op)) {
        const std::string& kind = op->name;
        if (kind != "sum" && kind != "prod" && kind != "max" && kind != "min" && !is_arg(kind))
          fail(ErrorCode::Compile, "row-wise kernels do not support '" + kind + "' (decompose it first)",
               op->loc.str());
        std::vector<int64_t> s = op->operands[0]->type.static_shape();
        if (s.empty() || normalize_axis(kind, op->int_attr("axis"), int64_t(s.size())) != int64_t(s.size()) - 1)
          fail(ErrorCode::Compile, "row-wise kernel: " + kind + " must reduce the innermost axis", op->loc.str());
        if (reductions_.empty())
          row_shape_ = s;
        else if (s != row_shape_)
          fail(ErrorCode::Compile, "row-wise kernel: reductions over different shapes " + op->operands[0]->type.str(),
               op->loc.str());
        DType out = op->result()->type.dtype;
        reductions_.push_back({op.get(), compute_dtype(is_arg(kind) ? op->operands[0]->type.dtype : out)});
      }
    if (reductions_.empty()) fail(ErrorCode::Compile, "row-wise kernel without a reduction", kernel_.loc.str());
    rows_shape_.assign(row_shape_.begin(), row_shape_.end() - 1);
    extent_ = row_shape_.back();
    lanes_ = kernel_.int_attr("lanes");
  }

  // Reductions grouped into passes over the row, in region order.
  std::vector<std::vector<const Reduction*>> passes() {
    std::vector<std::vector<const Reduction*>> out;
    std::set<const Op*> current;
    std::map<const Value*, bool> memo;
    for (const Reduction& r : reductions_) {
      if (out.empty() || depends_on(r.op->operands[0], current, memo)) {
        out.emplace_back();
        current.clear();
        memo.clear();
      }
      out.back().push_back(&r);
      current.insert(r.op);
    }
    return out;
  }

  // Binds the results of the reductions done so far, so emitters read them as scalars.
  void bind_done(ValueEmitter& e) {
    for (auto& [v, s] : done_) e.bind(v, s);
  }

  // Column coordinate col (a tile) appended to the row's coordinates.
  ValueAt::Coords coords(Value* col) {
    ValueAt::Coords c = row_coords_;
    c.push_back(col);
    return c;
  }

  void reduce_pass(const std::vector<const Reduction*>& pass) {
    std::vector<Value*> states;
    for (const Reduction* r : pass) {
      states.push_back(b_.splat(reduce_identity(b_, r->op->name, r->ct), lanes_));
      if (is_arg(r->op->name)) states.push_back(b_.splat(b_.i64(std::numeric_limits<int64_t>::max()), lanes_));
    }
    // Folds the tile starting at column j into the states (masked lanes keep their state).
    auto fold_tile = [&](Builder& ib, Value* j, std::vector<Value*> s, bool masked) {
      Value* col = ib.arith("add", ib.arange(lanes_), j);
      Value* mask = masked ? ib.cmp("lt", col, ib.i64(extent_)) : nullptr;
      ValueEmitter e(ib, region_, fn_, mask);
      bind_done(e);
      size_t k = 0;
      for (const Reduction* r : pass) {
        Value* x = ib.cast(e.at(r->op->operands[0], coords(col)), r->ct);
        if (!x->type.is_tile()) x = ib.splat(x, lanes_);
        Value* idx = col;
        if (mask) {
          x = ib.value("arith.select", {mask, x, ib.splat(reduce_identity(ib, r->op->name, r->ct), lanes_)});
          idx = ib.value("arith.select", {mask, col, ib.splat(ib.i64(std::numeric_limits<int64_t>::max()), lanes_)});
        }
        bool arg = is_arg(r->op->name);
        ReduceState st{s[k], arg ? s[k + 1] : nullptr};
        ReduceState next = reduce_fold(ib, r->op->name, st, x, idx);
        s[k] = next.v;
        if (arg) s[k + 1] = next.i;
        k += arg ? 2 : 1;
      }
      return s;
    };
    int64_t full = extent_ / lanes_ * lanes_;
    if (full > 0)
      states = emit_loop(b_, 0, full, lanes_, states, [&](Builder& ib, Value* j, const std::vector<Value*>& s) {
        return fold_tile(ib, j, s, false);
      });
    // The tail is a one-trip loop too: GPU structurizers (SPIR-V) want masked loads in loops.
    if (full < extent_)
      states = emit_loop(b_, full, extent_, lanes_, states, [&](Builder& ib, Value* j, const std::vector<Value*>& s) {
        return fold_tile(ib, j, s, true);
      });
    size_t k = 0;
    for (const Reduction* r : pass) {
      bool arg = is_arg(r->op->name);
      finish(*r, states[k], arg ? states[k + 1] : nullptr);
      k += arg ? 2 : 1;
    }
  }

  // The whole row is one tile (lanes >= R): each value is computed once, in lane arrays that
  // stay in cache, and every reduction is one tile.reduce.
  void single_tile(ValueEmitter& e, Value* col, Value* mask) {
    for (const Reduction& r : reductions_) {
      Value* x = b_.cast(e.at(r.op->operands[0], coords(col)), r.ct);
      if (!x->type.is_tile()) x = b_.splat(x, lanes_);
      Value* idx = col;
      if (mask) {
        x = b_.value("arith.select", {mask, x, b_.splat(reduce_identity(b_, r.op->name, r.ct), lanes_)});
        idx = b_.value("arith.select", {mask, col, b_.splat(b_.i64(std::numeric_limits<int64_t>::max()), lanes_)});
      }
      finish(r, x, is_arg(r.op->name) ? idx : nullptr);
      bind_done(e);
    }
    const Op& yield = *region_.ops.back();
    Value* offset = e.flatten(coords(col), row_shape_);  // the loads' offsets (emit_loops recomputes it)
    for (size_t i : outputs(true)) {
      Value* v = e.at(yield.operands[i], coords(col));
      store(b_, out_ptr(i), offset, v->type.is_tile() ? v : b_.splat(v, lanes_), mask);
    }
  }

  // tile.reduce of a reduction's lane states into the row's result (see done_).
  void finish(const Reduction& r, Value* state, Value* index) {
    const Op& op = *r.op;
    Value* result = index ? b_.create("tile.reduce", {state, index}, {{"kind", op.name}})->result(1)
                          : b_.create("tile.reduce", {state}, {{"kind", op.name}})->result(0);
    // Later ops see the result as the unfused kernel stored it: rounded to its dtype.
    DType storage = op.result()->type.dtype;
    done_[op.result()] = b_.cast(b_.cast(result, storage), compute_dtype(storage));
  }

  // The positions in the yield of the row-shaped (or else the per-row) outputs.
  std::vector<size_t> outputs(bool row_shaped) const {
    const Op& yield = *region_.ops.back();
    std::vector<size_t> out;
    for (size_t i = 0; i < yield.operands.size(); ++i) {
      bool full = yield.operands[i]->type.static_shape() == row_shape_ && extent_ != 1;
      if (full == row_shaped) out.push_back(i);
    }
    return out;
  }

  Value* out_ptr(size_t i) const { return fn_.body.args[region_.args.size() + i].get(); }

  // The last pass: every S-shaped output, one tile of the row at a time.
  void store_row_outputs(Value* row) {
    std::vector<size_t> outs = outputs(true);
    if (outs.empty()) return;
    const Op& yield = *region_.ops.back();
    Value* row_base = b_.arith("mul", row, b_.i64(extent_));
    auto store_tile = [&](Builder& ib, Value* j, bool masked) {
      Value* col = ib.arith("add", ib.arange(lanes_), j);
      Value* mask = masked ? ib.cmp("lt", col, ib.i64(extent_)) : nullptr;
      ValueEmitter e(ib, region_, fn_, mask);
      bind_done(e);
      for (size_t i : outs) {
        Value* v = e.at(yield.operands[i], coords(col));
        if (!v->type.is_tile()) v = ib.splat(v, lanes_);
        store(ib, out_ptr(i), ib.arith("add", row_base, col), v, mask);
      }
    };
    int64_t full = extent_ / lanes_ * lanes_;
    if (full > 0)
      emit_loop(b_, 0, full, lanes_, {}, [&](Builder& ib, Value* j, const std::vector<Value*>&) {
        store_tile(ib, j, false);
        return std::vector<Value*>{};
      });
    if (full < extent_)
      emit_loop(b_, full, extent_, lanes_, {}, [&](Builder& ib, Value* j, const std::vector<Value*>&) {
        store_tile(ib, j, true);
        return std::vector<Value*>{};
      });
  }

  // Outputs of a reduced shape (one element per row): computed once from the row's scalars.
  void store_per_row_outputs(ValueEmitter& top, Value* row) {
    const Op& yield = *region_.ops.back();
    bind_done(top);
    for (size_t i : outputs(false)) {
      Value* y = yield.operands[i];
      ValueAt::Coords c = row_coords_;
      if (y->type.rank() == int64_t(row_shape_.size())) c.push_back(top.i64(0));  // keepdims
      if (int64_t(c.size()) != y->type.rank())
        fail(ErrorCode::Compile, "row-wise kernel output " + y->type.str() + " is neither a row nor one value per row",
             kernel_.loc.str());
      store(b_, out_ptr(i), row, top.at(y, c), nullptr);
    }
  }

  const Op& kernel_;
  Function& fn_;
  const Block& region_;
  Builder b_;
  std::vector<Reduction> reductions_;
  std::vector<int64_t> row_shape_, rows_shape_;
  int64_t extent_ = 0, lanes_ = 0;
  ValueAt::Coords row_coords_;
  std::map<Value*, Value*> done_;  // reduction result -> its scalar for this row
};

}  // namespace

Grid emit_rowwise_kernel(const Op& kernel, Function& fn) {
  Grid grid = RowKernel(kernel, fn).emit();
  if (kernel.has_attr("vector")) {  // NVIDIA: lanes are vector components of fewer threads
    fn.attrs["vector"] = kernel.int_attr("vector");
    fn.attrs["block"] = IntList{kernel.int_attr("threads"), 1, 1};
  }
  return grid;
}

}  // namespace tessera::tilegen
