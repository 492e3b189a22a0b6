// Derivative rules of reductions, matmul, data movement and indexing ops.
#include <algorithm>

#include "ir/derivatives.hpp"

namespace tessera::ir::derivative {

namespace {

// A reduction's result (or its cotangent) with the reduced axes put back as size 1, so it
// broadcasts against the operand (an axis or a list of axes; kept composites such as
// sum(axis=[-2, -1]) come here whole). Without an axis the result is rank 0 and broadcasts
// as it is.
Value* unreduce(Builder& b, const Op& op, Value* v) {
  if (!op.has_attr("axis") || op.bool_attr("keepdims", false)) return v;
  int64_t rank = op.operands[0]->type.rank();
  const Attr& a = op.attrs.at("axis");
  IntList axes = std::holds_alternative<IntList>(a) ? std::get<IntList>(a) : IntList{std::get<int64_t>(a)};
  for (int64_t& x : axes) x = normalize_axis(op.name, x, rank);
  std::sort(axes.begin(), axes.end());  // ascending: each inserted dim lands at its final index
  for (int64_t x : axes) v = b.value("expand_dims", {v}, {{"axis", x}});
  return v;
}

// 1 where x attains the reduced max/min, divided by how many times it does: the gradient is
// shared evenly between ties (as torch.amax does).
Value* extremum_weights(Builder& b, const Op& op) {
  Value* x = op.operands[0];
  Value* hit = b.value("cast", {op2(b, "equal", x, unreduce(b, op, op.result()))},
                       {{"dtype", std::string(dtype_name(x->type.dtype))}});
  AttrMap count_attrs = op.attrs;
  count_attrs["keepdims"] = true;
  return op2(b, "div", hit, b.value("sum", {hit}, count_attrs));
}

Value* reduce_like(Builder& b, const Op& op, Value* v) {
  AttrMap attrs = op.attrs;
  attrs.erase("dtype");
  return b.value("sum", {v}, attrs);
}

// d prod / d x_i, the product of the other elements, exact where x has zeros: with no zero
// it is prod / x_i; with one zero it is the product of the nonzero elements at the zero and 0
// elsewhere; with more it is 0. Dividing by x with its zeros replaced by 1 keeps the branches
// that `where` drops finite, so their derivatives are too. (At zeros, the derivative of this
// share, i.e. second order, misses the terms of the 0 branches.)
Value* prod_share(Builder& b, const Op& op) {
  Value* x = op.operands[0];
  DType dt = x->type.dtype;
  if (x->type.rank() == 0) return b.graph_constant(dt, 1.0);
  AttrMap keep = op.attrs;
  keep["keepdims"] = true;
  keep.erase("dtype");
  Value* zero = b.graph_constant(dt, 0.0);
  Value* one = b.graph_constant(dt, 1.0);
  Value* is_zero = op2(b, "equal", x, zero);
  Value* nonzero = b.value("where", {is_zero, one, x});
  Value* p = b.value("prod", {nonzero}, keep);  // product of the nonzero elements
  Value* zeros_count = b.value("sum", {b.value("cast", {is_zero}, {{"dtype", std::string(dtype_name(dt))}})}, keep);
  Value* none = op2(b, "equal", zeros_count, zero);
  Value* the_one = b.value("logical_and", {is_zero, op2(b, "equal", zeros_count, one)});
  return b.value("where", {none, op2(b, "div", p, nonzero), b.value("where", {the_one, p, zero})});
}

// A matmul's precision attribute, for the products of its derivatives.
AttrMap precision_of(const Op& op) {
  AttrMap a;
  if (op.has_attr("precision")) a["precision"] = op.attrs.at("precision");
  return a;
}

// windows and overlap_add are each other's transpose: the same geometry, the window dims read
// from the windows side, `size` from the other.
void attach_windows(Table& table) {
  attach(
      table, "windows",
      [](Builder& b, const Op& op, Value* g) {
        const Type& x = op.operands[0]->type;
        const size_t k = op.ints_attr("window").size();
        AttrMap a = op.attrs;
        a.erase("window");
        a.erase("value");
        IntList size;
        for (size_t d = x.shape.size() - k; d < x.shape.size(); ++d) size.push_back(x.shape[d].size);
        a["size"] = size;
        return std::vector<Value*>{b.value("overlap_add", {g}, a)};
      },
      padded_linear_jvp());
  attach(
      table, "overlap_add",
      [](Builder& b, const Op& op, Value* g) {
        const Type& x = op.operands[0]->type;
        const size_t k = op.ints_attr("size").size();
        AttrMap a = op.attrs;
        a.erase("size");
        IntList window;
        for (size_t d = x.shape.size() - 2 * k; d < x.shape.size() - k; ++d) window.push_back(x.shape[d].size);
        a["window"] = window;
        return std::vector<Value*>{b.value("windows", {g}, a)};
      },
      linear_jvp());
  attach(
      table, "iota", [](Builder&, const Op&, Value*) { return std::vector<Value*>{}; },
      [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });
}

}  // namespace

void attach_reductions(Table& table) {
  attach(
      table, "sum",
      [](Builder& b, const Op& op, Value* g) {
        const Type& in = op.operands[0]->type;
        Value* full = op2(b, "add", unreduce(b, op, g), zeros(b, Type::tensor(g->type.dtype, in.shape)));
        return std::vector<Value*>{to_operand(b, full, in)};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) { return b.value("sum", {t[0]}, op.attrs); });
  attach(
      table, "prod",
      [](Builder& b, const Op& op, Value* g) {
        Value* x = op.operands[0];
        return std::vector<Value*>{to_operand(b, op2(b, "mul", unreduce(b, op, g), prod_share(b, op)), x->type)};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) {
        return reduce_like(b, op, op2(b, "mul", t[0], prod_share(b, op)));
      });
  for (const char* name : {"max", "min"})
    attach(
        table, name,
        [](Builder& b, const Op& op, Value* g) {
          return std::vector<Value*>{op2(b, "mul", unreduce(b, op, g), extremum_weights(b, op))};
        },
        [](Builder& b, const Op& op, const std::vector<Value*>& t) {
          return reduce_like(b, op, op2(b, "mul", t[0], extremum_weights(b, op)));
        });
  for (const char* name : {"argmax", "argmin", "dim_size"})  // integer-valued or sizes: no derivative
    attach(
        table, name, [](Builder&, const Op&, Value*) { return std::vector<Value*>{nullptr}; },
        [](Builder&, const Op&, const std::vector<Value*>&) { return static_cast<Value*>(nullptr); });

  // matmul with NumPy semantics: batch dims broadcast, 1-D operands act as a row / a column.
  // Derivative products keep the op's precision attribute (precision_of).
  attach(
      table, "matmul",
      [](Builder& b, const Op& op, Value* g) {
        Value *x = op.operands[0], *y = op.operands[1];
        bool xv = x->type.rank() == 1, yv = y->type.rank() == 1;
        if (xv) x = b.value("expand_dims", {x}, {{"axis", int64_t(0)}});
        if (yv) y = b.value("expand_dims", {y}, {{"axis", int64_t(-1)}});
        // The cotangent with the dims a 1-D operand dropped put back as size 1.
        if (xv || yv) g = reshape_to(b, g, lookup_op("matmul")->infer({x->type, y->type}, {})[0]);
        auto swap = [&](Value* v) {
          IntList perm;
          for (int64_t i = 0; i < v->type.rank(); ++i) perm.push_back(i);
          std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
          return b.value("transpose", {v}, {{"perm", perm}});
        };
        AttrMap same = precision_of(op);  // the gradients may use TF32 where the product may
        Value* gx = to_operand(b, b.value("matmul", {g, swap(y)}, same), x->type);
        Value* gy = to_operand(b, b.value("matmul", {swap(x), g}, same), y->type);
        if (xv) gx = reshape_to(b, gx, op.operands[0]->type);
        if (yv) gy = reshape_to(b, gy, op.operands[1]->type);
        return std::vector<Value*>{gx, gy};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) {
        Value* a = t[0] ? b.value("matmul", {t[0], op.operands[1]}, precision_of(op)) : nullptr;
        Value* c = t[1] ? b.value("matmul", {op.operands[0], t[1]}, precision_of(op)) : nullptr;
        return add_maybe(b, a, c);
      });
}

// Indexing ops. Their cotangents scatter-add back into the source, so like scatter_add
// itself they compile for the CPU only until GPU kernels get atomics.
// The index attributes of a gradient's scatter/gather: the axis and the same out-of-range
// mode, so each gradient goes where (or nowhere, for "fill") the forward read from.
AttrMap index_attrs(const Op& op, int64_t axis) {
  AttrMap a{{"axis", axis}};
  if (op.has_attr("mode")) a["mode"] = op.attrs.at("mode");
  return a;
}

void attach_indexing(Table& table) {
  attach(
      table, "gather",  // out[i][j] = x[idx[i][j]][j]  ->  dx = scatter_add(0, idx, g)
      [](Builder& b, const Op& op, Value* g) {
        Value* x = op.operands[0];
        AttrMap a = index_attrs(op, op.int_attr("axis"));
        return std::vector<Value*>{b.value("scatter_add", {zeros(b, x->type), op.operands[1], g}, a), nullptr};
      },
      linear_jvp());
  attach(
      table, "scatter_add",  // out = x + scatter(src)  ->  dx = g, dsrc = gather(g, idx)
      [](Builder& b, const Op& op, Value* g) {
        AttrMap a = index_attrs(op, op.int_attr("axis"));
        if (op.has_attr("mode") && op.str_attr("mode") == "fill") a["fill_value"] = 0.0;  // dropped: no gradient
        return std::vector<Value*>{g, nullptr, b.value("gather", {g, op.operands[1]}, a)};
      },
      linear_jvp());
  // scatter set: the overwritten slots pass nothing back to x; each update gets g at its slot
  // (exact for distinct indices; with repeats only the winner should). add: as scatter_add.
  attach(
      table, "scatter",
      [](Builder& b, const Op& op, Value* g) {
        std::string reduce = op.has_attr("reduce") ? op.str_attr("reduce") : "set";
        if (reduce != "set" && reduce != "add")
          fail(ErrorCode::Value, "scatter: no gradient rule for reduce \"" + reduce + "\"", op.loc.str());
        AttrMap a = index_attrs(op, op.int_attr("axis"));
        Value* dx = g;
        if (reduce == "set") {
          AttrMap s = a;
          s["reduce"] = std::string("set");
          dx = b.value("scatter", {g, op.operands[1], zeros(b, op.operands[2]->type)}, s);
        }
        if (op.has_attr("mode") && op.str_attr("mode") == "fill") a["fill_value"] = 0.0;
        return std::vector<Value*>{dx, nullptr, b.value("gather", {g, op.operands[1]}, a)};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) {
        std::string reduce = op.has_attr("reduce") ? op.str_attr("reduce") : "set";
        if (reduce != "set" && reduce != "add")
          fail(ErrorCode::Value, "scatter: no forward-mode rule for reduce \"" + reduce + "\"", op.loc.str());
        return linear_jvp()(b, op, t);
      });
  attach(
      table, "take",  // x.take(idx, axis): dx scatters g's rows back, as gather's does
      [](Builder& b, const Op& op, Value* g) {
        Value *x = op.operands[0], *idx = op.operands[1];
        for (const Type* t : {&x->type, &idx->type})
          for (size_t d = 0; d < t->shape.size(); ++d)
            if (!t->shape[d].is_static()) symbolic_dim_error("take", *t, d, "its gradient reshapes by sizes");
        std::vector<int64_t> xs = x->type.static_shape(), is = idx->type.static_shape();
        int64_t axis = normalize_axis("take", op.int_attr("axis", 0), int64_t(xs.size()));
        int64_t pre = 1, post = 1, k = 1;
        for (int64_t d = 0; d < axis; ++d) pre *= xs[size_t(d)];
        for (size_t d = size_t(axis) + 1; d < xs.size(); ++d) post *= xs[d];
        for (int64_t d : is) k *= d;
        // g is [pre..., idx..., post...]: as [pre, k, post], scatter rows of axis 1 into [pre, n, post].
        Value* g3 = b.value("reshape", {g}, {{"shape", IntList{pre, k, post}}});
        Value* i3 = b.value("broadcast_to", {b.value("reshape", {idx}, {{"shape", IntList{1, k, 1}}})},
                            {{"shape", IntList{pre, k, post}}});
        Type acc = Type::tensor(x->type.dtype, std::vector<int64_t>{pre, xs[size_t(axis)], post});
        Value* dx = b.value("scatter_add", {zeros(b, acc), i3, g3}, index_attrs(op, 1));
        return std::vector<Value*>{reshape_to(b, dx, x->type), nullptr};
      },
      linear_jvp());
}

void attach_movement(Table& table) {
  attach_windows(table);
  attach(
      table, "slice_update",  // dx: g outside the region; dv: g's region, summed to v's shape
      [](Builder& b, const Op& op, Value* g) {
        Value* dx = b.value("slice_update", {g, zeros(b, Type::tensor(g->type.dtype, std::vector<Dim>{}))}, op.attrs);
        AttrMap a = op.attrs;
        Value* dv = to_operand(b, b.value("slice", {g}, a), op.operands[1]->type);
        return std::vector<Value*>{dx, dv};
      },
      [](Builder& b, const Op& op, const std::vector<Value*>& t) -> Value* {
        const Type& x = op.result()->type;
        Value* tv =
            t[1] && is_float(op.operands[1]->type.dtype) ? t[1] : zeros(b, Type::tensor(x.dtype, std::vector<Dim>{}));
        return b.value("slice_update", {t[0] ? t[0] : zeros(b, x), tv}, op.attrs);
      });
  // Ops that only rearrange elements one-to-one: the cotangent is reshaped back.
  for (const char* name : {"reshape", "expand_dims", "squeeze"})
    attach(
        table, name,
        [](Builder& b, const Op& op, Value* g) { return std::vector<Value*>{reshape_to(b, g, op.operands[0]->type)}; },
        linear_jvp());
  attach(
      table, "transpose",
      [](Builder& b, const Op& op, Value* g) {
        IntList perm = op.has_attr("perm") ? op.ints_attr("perm") : IntList{};
        int64_t rank = op.operands[0]->type.rank();
        if (perm.empty())
          for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
        IntList inverse(perm.size());
        for (size_t i = 0; i < perm.size(); ++i) inverse[size_t(perm[i] < 0 ? perm[i] + rank : perm[i])] = int64_t(i);
        return std::vector<Value*>{b.value("transpose", {g}, {{"perm", inverse}})};
      },
      linear_jvp());
  attach(
      table, "slice",
      [](Builder& b, const Op& op, Value* g) {
        const Type& in = op.operands[0]->type;
        if (g->type.has_static_shape() && g->type.numel() == 0) return std::vector<Value*>{zeros(b, in)};
        auto bounds = slice_bounds(in, op.attrs);  // symbolic dims are kept whole: {0, 1, -1}
        for (size_t d = 0; d < bounds.size(); ++d) {
          auto [start, step, n] = bounds[d];
          int64_t size = in.shape[d].size;
          if (in.shape[d].is_static() && !(start == 0 && step == 1 && n == size))
            g = unslice_dim(b, g, d, start, step, n, size);
        }
        return std::vector<Value*>{g};
      },
      linear_jvp());
  attach(
      table, "pad",
      [](Builder& b, const Op& op, Value* g) {
        const IntList& p = op.ints_attr("pad");
        const std::vector<Dim>& shape = op.operands[0]->type.shape;
        IntList start, stop;
        for (size_t d = 0; d < shape.size(); ++d) {  // symbolic dims have no padding: kept whole
          start.push_back(p[2 * d]);
          stop.push_back(shape[d].is_static() ? p[2 * d] + shape[d].size : kWholeStop);
        }
        return std::vector<Value*>{
            b.value("slice", {g}, {{"start", start}, {"stop", stop}, {"step", IntList(shape.size(), 1)}})};
      },
      padded_linear_jvp());
  attach(
      table, "concat",
      [](Builder& b, const Op& op, Value* g) {
        size_t axis = size_t(normalize_axis("concat", op.int_attr("axis", 0), g->type.rank()));
        std::vector<Value*> grads;
        int64_t offset = 0;
        for (Value* x : op.operands) {
          int64_t size = x->type.shape[axis].size;  // the type rule keeps the joined axis static
          grads.push_back(slice_dim(b, g, axis, offset, offset + size, 1));
          offset += size;
        }
        return grads;
      },
      linear_jvp());
  attach(
      table, "stack",
      [](Builder& b, const Op& op, Value* g) {
        size_t axis = size_t(normalize_axis("stack", op.int_attr("axis", 0), g->type.rank()));
        std::vector<Value*> grads;
        for (size_t i = 0; i < op.operands.size(); ++i)
          grads.push_back(reshape_to(b, slice_dim(b, g, axis, int64_t(i), int64_t(i) + 1, 1), op.operands[i]->type));
        return grads;
      },
      linear_jvp());
  attach(
      table, "broadcast_to",
      [](Builder& b, const Op& op, Value* g) { return std::vector<Value*>{unbroadcast(b, g, op.operands[0]->type)}; },
      linear_jvp());
}

}  // namespace tessera::ir::derivative
