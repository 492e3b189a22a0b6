// Linear algebra (issue 18) on batches of matrices: the last two dims, leading dims a batch.
// Primitives with kernels of their own (tilegen/linalg.cpp: one matrix per program instance):
//   potrf(a)          the upper Cholesky factor of (a + a^T)/2 (internal)
//   getrf(a)          LU with partial pivoting, packed [..., n + 2, n] (internal): L and U, the
//                     row permutation, the steps that swapped rows
//   tri_solve(a, b)   triangular solve, a's other triangle never read
// Composites with derivative rules of their own (derivatives_linalg.cpp: the matrix-calculus
// identities, not derivatives through the factorization loops): cholesky, solve, inv, det,
// logabsdet, det_sign. Plain composites: vector_norm, matrix_norm, factorized_matmul.
// Singular matrices (solve, inv) and matrices that are not positive definite (cholesky) are
// errors raised when the program runs.
#include <cmath>

#include "ir/composite.hpp"
#include "ir/derivatives.hpp"
#include "ir/linalg.hpp"

namespace tessera::ir {
namespace linalg {

using composite::cast_to;
using composite::op1;
using composite::op2;

void require_matrix(const std::string& op, const Type& t) {
  require_tensor(op, t);
  if (t.dtype != DType::F32 && t.dtype != DType::F64)
    fail(ErrorCode::DType, op + ": needs float32 or float64 matrices, got " + t.str() +
                               (is_float(t.dtype) ? " (cast 16-bit floats to float32 first)" : ""));
  if (t.rank() < 2) fail(ErrorCode::Shape, op + ": needs a matrix (rank >= 2), got " + t.str());
  for (size_t d = 0; d < t.shape.size(); ++d)
    if (!t.shape[d].is_static()) symbolic_dim_error(op, t, d, "linear algebra needs every size");
}

void require_square(const std::string& op, const Type& t) {
  require_matrix(op, t);
  if (t.shape.back() != t.shape[t.shape.size() - 2])
    fail(ErrorCode::Shape, op + ": needs square matrices, got " + t.str());
}

Shape batch_of(const Type& t, size_t matrix_dims) {
  Shape s = t.static_shape();
  s.resize(s.size() - matrix_dims);
  return s;
}

OpInfo matrix_op(const std::string& name, std::vector<std::string> operands, std::vector<AttrSpec> attrs,
                 const std::string& summary, bool square, std::function<Shape(const Type&, const AttrMap&)> matrix) {
  OpInfo info = composite::make(name, OpClass::Contraction, std::move(operands), std::move(attrs), summary);
  info.infer = [name, square, matrix](const std::vector<Type>& in, const AttrMap& a) {
    square ? require_square(name, in[0]) : require_matrix(name, in[0]);
    return std::vector<Type>{Type::tensor(in[0].dtype, concat(batch_of(in[0], 2), matrix(in[0], a)))};
  };
  return info;
}

Shape concat(Shape a, const Shape& c) {
  a.insert(a.end(), c.begin(), c.end());
  return a;
}

Value* rows_of(Builder& b, Value* x, int64_t from, int64_t to) {
  return derivative::slice_dim(b, x, size_t(x->type.rank() - 2), from, to, 1);
}

Value* cols_of(Builder& b, Value* x, int64_t from, int64_t to) {
  return derivative::slice_dim(b, x, size_t(x->type.rank() - 1), from, to, 1);
}

Value* mT(Builder& b, Value* x) {
  IntList perm;
  for (int64_t d = 0; d < x->type.rank(); ++d) perm.push_back(d);
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return b.value("transpose", {x}, {{"perm", perm}});
}

Value* matmul(Builder& b, Value* x, Value* y) {
  return b.value("matmul", {x, y}, {{"precision", std::string("highest")}});
}

Value* diagonal(Builder& b, Value* x) {  // every (n + 1)-th element of the flattened matrix
  std::vector<int64_t> shape = x->type.static_shape();
  int64_t n = shape.back();
  shape.pop_back();
  shape.back() = n * n;
  Value* flat = b.value("reshape", {x}, {{"shape", IntList(shape)}});
  return derivative::slice_dim(b, flat, shape.size() - 1, 0, n * n, n + 1);
}

Value* trace(Builder& b, Value* x) { return b.value("sum", {diagonal(b, x)}, {{"axis", int64_t(-1)}}); }

Value* eye(Builder& b, const Type& t) {
  Type it = Type::tensor(DType::I64, t.shape);
  int64_t r = t.rank();
  Value* rows = b.value("iota", {}, {{"type", it}, {"axis", r - 2}});
  Value* cols = b.value("iota", {}, {{"type", it}, {"axis", r - 1}});
  return cast_to(b, op2(b, "equal", rows, cols), t.dtype);
}

Value* sym(Builder& b, Value* x) {
  return op2(b, "mul", op2(b, "add", x, mT(b, x)), b.graph_constant(x->type.dtype, 0.5));
}

Value* triangle(Builder& b, Value* x, bool lower, bool unit) {
  int64_t d = unit ? 1 : 0;
  if (lower) return b.value("tril", {x}, {{"diagonal", -d}});
  return b.value("triu", {x}, {{"diagonal", d}});
}

Value* tri_solve(Builder& b, Value* a, Value* rhs, bool lower, bool left, bool unit) {
  return b.value("tri_solve", {a, rhs}, {{"lower", lower}, {"left", left}, {"unit_diagonal", unit}});
}

Value* solve(Builder& b, Value* a, Value* rhs) { return b.value("solve", {a, rhs}); }
Value* inv(Builder& b, Value* a) { return b.value("inv", {a}); }

Value* per_matrix(Builder& b, Value* x) {
  std::vector<Dim> shape = x->type.shape;
  shape.push_back(Dim::of(1));
  shape.push_back(Dim::of(1));
  return reshape_value(b, x, Type::tensor(x->type.dtype, shape));
}

}  // namespace linalg

namespace {

using namespace composite;
using namespace linalg;

// The broadcast of two batch shapes (the leading dims before the matrices).
Shape batch_broadcast(const std::string& op, const Shape& a, const Shape& c) {
  std::vector<Dim> d = broadcast_shapes(op, Type::tensor(DType::F32, a), Type::tensor(DType::F32, c));
  Shape out;
  for (const Dim& x : d) out.push_back(x.size);
  return out;
}

Value* fit(Builder& b, Value* x, const Shape& shape, DType dt) {
  x = cast_to(b, x, dt);
  if (x->type.static_shape() == shape) return x;
  return b.value("broadcast_to", {x}, {{"shape", IntList(shape)}});
}

// A right-hand side: float32/float64, rank >= 2 with static sizes.
void require_rhs(const std::string& op, const Type& t, int64_t min_rank) {
  require_tensor(op, t);
  if (t.dtype != DType::F32 && t.dtype != DType::F64)
    fail(ErrorCode::DType, op + ": needs float32 or float64 operands, got " + t.str());
  if (t.rank() < min_rank)
    fail(ErrorCode::Shape, op + ": b must have rank >= " + std::to_string(min_rank) + ", got " + t.str());
  for (size_t d = 0; d < t.shape.size(); ++d)
    if (!t.shape[d].is_static()) symbolic_dim_error(op, t, d, "linear algebra needs every size");
}

OpInfo tri_solve_op() {
  OpInfo info =
      make("tri_solve", OpClass::Contraction, {"a", "rhs"},
           {{"lower", "bool", false, "a is lower triangular (else upper); its other triangle is not read", "true"},
            {"left", "bool", false, "solve a @ x = b (else x @ a = b)", "true"},
            {"unit_diagonal", "bool", false, "take a's diagonal as ones (it is not read)", "false"}},
           "x with a @ x = b (left) or x @ a = b, for triangular a [..., n, n] and b [..., n, k] (left) or "
           "[..., k, n]; batch dims broadcast. As scipy.linalg.solve_triangular.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_square("tri_solve", in[0]);
    require_rhs("tri_solve", in[1], 2);
    bool left = a.count("left") ? std::get<bool>(a.at("left")) : true;
    Shape bs = in[1].static_shape();
    int64_t n = in[0].shape.back().size, along = left ? bs[bs.size() - 2] : bs.back();
    if (along != n)
      fail(ErrorCode::Shape, "tri_solve: a " + in[0].str() + " and b " + in[1].str() + " do not match: b's " +
                                 (left ? "rows" : "columns") + " must number n = " + std::to_string(n));
    Shape batch = batch_broadcast("tri_solve", batch_of(in[0], 2), batch_of(in[1], 2));
    Shape mat(bs.end() - 2, bs.end());
    return std::vector<Type>{Type::tensor(promote_types(in[0].dtype, in[1].dtype), concat(batch, mat))};
  };
  // The kernel's form: left, both operands in the result's dtype and batch.
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    const Type& out = op.result()->type;
    Shape shape = out.static_shape(), batch = batch_of(out, 2);
    int64_t n = op.operands[0]->type.shape.back().size;
    Shape ashape = concat(batch, {n, n});
    bool left = op.bool_attr("left", true), lower = op.bool_attr("lower", true);
    bool unit = op.bool_attr("unit_diagonal", false);
    Value* a = op.operands[0];
    Value* rhs = op.operands[1];
    if (left && a->type == Type::tensor(out.dtype, ashape) && rhs->type == out) return {};
    a = fit(b, a, ashape, out.dtype);
    rhs = fit(b, rhs, shape, out.dtype);
    if (left) return {linalg::tri_solve(b, a, rhs, lower, true, unit)};
    return {mT(b, linalg::tri_solve(b, mT(b, a), mT(b, rhs), !lower, true, unit))};  // x a = b: a^T x^T = b^T
  };
  return info;
}

OpInfo cholesky_op() {
  OpInfo info = make("cholesky", OpClass::Contraction, {"a"},
                     {{"upper", "bool", false, "return U (a = U^T U) instead of L", "false"}},
                     "The Cholesky factor L (lower triangular, a = L L^T) of symmetric positive-definite a [..., n, "
                     "n]. Factors (a + a^T)/2, as jax.numpy.linalg.cholesky, so the gradient is symmetric (as "
                     "PyTorch's and JAX's). A matrix that is not positive definite is an error when the program runs.");
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    require_square("cholesky", in[0]);
    return std::vector<Type>{in[0]};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* u = b.value("potrf", {op.operands[0]});
    Value* ok = op1(b, "all", op2(b, "greater", diagonal(b, u), b.graph_constant(u->type.dtype, 0.0)));
    std::string msg = "cholesky: a " + op.operands[0]->type.str() + " is not positive definite (or not finite)";
    u = b.value("checked", {u, ok}, {{"message", msg}});
    return {op.bool_attr("upper", false) ? u : mT(b, u)};
  };
  return info;
}

// The pieces of getrf's packed result for a [..., n, n].
struct Lu {
  Value* lu;     // [..., n, n]: L below the diagonal (unit diagonal implied), U on and above
  Value* perm;   // [..., n] row permutation (as a's dtype)
  Value* swaps;  // [..., n] 1 where a step swapped rows
};

Lu lu_of(Builder& b, Value* a) {
  Value* p = b.value("getrf", {a});
  int64_t n = a->type.shape.back().size;
  Shape vec = concat(batch_of(a->type, 2), {n});
  auto row = [&](int64_t i) { return reshape_to(b, rows_of(b, p, i, i + 1), Type::tensor(a->type.dtype, vec)); };
  return {rows_of(b, p, 0, n), row(n), row(n + 1)};
}

// x with a x = rhs by LU (rhs [..., n, k], batches broadcast). With `check`, a singular a is an
// error naming `op`; without, x holds inf and NaN there.
Value* lu_solve(Builder& b, const std::string& op, Value* a, Value* rhs, const Type& out, bool check = true) {
  Lu f = lu_of(b, a);
  Value* lu = f.lu;
  if (check) {
    Value* ok = op1(b, "all", op2(b, "not_equal", diagonal(b, f.lu), b.graph_constant(a->type.dtype, 0.0)));
    lu = b.value("checked", {f.lu, ok}, {{"message", op + ": a " + a->type.str() + " is singular"}});
  }
  Shape shape = out.static_shape();
  rhs = fit(b, rhs, shape, out.dtype);
  Shape col = concat(batch_of(a->type, 2), {shape[shape.size() - 2], 1});
  Value* idx = b.value("broadcast_to", {reshape_to(b, cast_to(b, f.perm, DType::I64), Type::tensor(DType::I64, col))},
                       {{"shape", IntList(shape)}});
  Value* pb = b.value("gather", {rhs, idx}, {{"axis", int64_t(shape.size() - 2)}});
  Value* y = linalg::tri_solve(b, lu, pb, true, true, true);
  return linalg::tri_solve(b, lu, y, false, true, false);
}

OpInfo solve_op() {
  OpInfo info = make("solve", OpClass::Contraction, {"a", "rhs"}, {},
                     "x with a @ x = b for square a [..., n, n] (LU with partial pivoting) and b [..., n, k], or b "
                     "[n] (a vector: only when b is 1-D, as NumPy 2); batch dims broadcast. A singular a is an error "
                     "when the program runs.");
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    require_square("solve", in[0]);
    require_rhs("solve", in[1], 1);
    Shape bs = in[1].static_shape(), batch = batch_of(in[0], 2);
    int64_t n = in[0].shape.back().size;
    bool vector = bs.size() == 1;
    if ((vector ? bs[0] : bs[bs.size() - 2]) != n)
      fail(ErrorCode::Shape, "solve: a " + in[0].str() + " and b " + in[1].str() + " do not match: b's " +
                                 (vector ? "length" : "rows") + " must be n = " + std::to_string(n));
    DType dt = promote_types(in[0].dtype, in[1].dtype);
    if (vector) return std::vector<Type>{Type::tensor(dt, concat(batch, {n}))};
    batch = batch_broadcast("solve", batch, batch_of(in[1], 2));
    return std::vector<Type>{Type::tensor(dt, concat(batch, {n, bs.back()}))};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    const Type& out = op.result()->type;
    Value* a = cast_to(b, op.operands[0], out.dtype);
    if (op.operands[1]->type.rank() > 1) return {lu_solve(b, "solve", a, op.operands[1], out)};
    Shape col = concat(out.static_shape(), {1});
    Type column = Type::tensor(op.operands[1]->type.dtype, Shape{col[col.size() - 2], 1});
    Value* rhs = b.value("broadcast_to", {reshape_to(b, op.operands[1], column)}, {{"shape", IntList(col)}});
    return {reshape_to(b, lu_solve(b, "solve", a, rhs, Type::tensor(out.dtype, col)), out)};
  };
  return info;
}

OpInfo inv_op() {
  OpInfo info = make("inv", OpClass::Contraction, {"a"},
                     {{"check", "bool", false,
                       "a singular a is an error when the program runs (else the result holds inf and NaN)", "true"}},
                     "The inverse of square a [..., n, n] (LU with partial pivoting).");
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    require_square("inv", in[0]);
    return std::vector<Type>{in[0]};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    const Type& t = op.result()->type;
    return {lu_solve(b, "inv", op.operands[0], eye(b, t), t, op.bool_attr("check", true))};
  };
  return info;
}

// det, logabsdet, det_sign: from the diagonal of U and the permutation's sign.
OpInfo determinant(const std::string& name, const std::string& summary) {
  OpInfo info = make(name, OpClass::Contraction, {"a"}, {}, summary);
  info.infer = [name](const std::vector<Type>& in, const AttrMap&) {
    require_square(name, in[0]);
    return std::vector<Type>{Type::tensor(in[0].dtype, batch_of(in[0], 2))};
  };
  info.decompose = [name](Builder& b, const Op& op) -> std::vector<Value*> {
    Lu f = lu_of(b, op.operands[0]);
    Value* d = diagonal(b, f.lu);
    AttrMap last{{"axis", int64_t(-1)}};
    if (name == "logabsdet") return {b.value("sum", {op1(b, "log", op1(b, "abs", d))}, last)};
    Value* flips = op2(b, "sub", b.graph_constant(d->type.dtype, 1.0),
                       op2(b, "mul", f.swaps, b.graph_constant(d->type.dtype, 2.0)));
    Value* sign = b.value("prod", {flips}, last);
    if (name == "det") return {op2(b, "mul", sign, b.value("prod", {d}, last))};
    return {op2(b, "mul", sign, b.value("prod", {op1(b, "sign", d)}, last))};
  };
  return info;
}

// ---- norms and low-rank products ----

AttrMap reduce_attrs(const Op& op, const AttrMap& keep) {
  AttrMap a = keep;
  if (op.has_attr("axis")) a["axis"] = op.attrs.at("axis");
  return a;
}

Value* norm_of(Builder& b, Value* x, double ord, const AttrMap& a) {
  Value* ax = op1(b, "abs", x);
  if (std::isinf(ord)) return b.value(ord > 0 ? "max" : "min", {ax}, a);
  if (ord == 0)
    return b.value("sum", {cast_to(b, op2(b, "not_equal", x, b.graph_constant(x->type.dtype, 0.0)), x->type.dtype)}, a);
  if (ord == 1) return b.value("sum", {ax}, a);
  if (ord == 2) return op1(b, "sqrt", b.value("sum", {op2(b, "mul", x, x)}, a));
  Value* p = b.graph_constant(x->type.dtype, ord);
  Value* s = b.value("sum", {op2(b, "pow", ax, p)}, a);
  return op2(b, "pow", s, b.graph_constant(x->type.dtype, 1.0 / ord));
}

OpInfo vector_norm() {
  OpInfo info =
      make("vector_norm", OpClass::Reduction, {"x"},
           {{"ord", "float", false, "p: inf (largest |x|), -inf (smallest), 0 (nonzero count), any other p", "2.0"},
            {"axis", "axes", false, "axis, or list of axes, to reduce; absent: every axis", ""},
            {"keepdims", "bool", false, "keep reduced axes with size 1", "false"}},
           "The p-norm of x over `axis` (every axis by default), (sum |x|^p)^(1/p), as "
           "torch.linalg.vector_norm; 16-bit floats computed in float32. Its gradient at 0 is not finite "
           "for p > 0 (as JAX's).");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_float("vector_norm", in[0]);
    AttrMap r = a;
    r.erase("ord");
    return infer_as("sum", in, r);
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    AttrMap a = reduce_attrs(op, {{"keepdims", op.bool_attr("keepdims", false)}});
    double ord = op.has_attr("ord") ? number_attr(op, "ord") : 2.0;
    return {cast_to(b, norm_of(b, widen(b, op.operands[0]), ord, a), op.result()->type.dtype)};
  };
  return info;
}

const char* const kMatrixOrds = "\"fro\", \"nuc\", \"1\", \"-1\", \"2\", \"-2\", \"inf\" or \"-inf\"";

OpInfo matrix_norm() {
  OpInfo info = make("matrix_norm", OpClass::Reduction, {"x"},
                     {{"ord", "str", false,
                       "\"fro\" (Frobenius), \"nuc\" (sum of singular values), \"2\" / \"-2\" (largest / "
                       "smallest singular value), \"1\" / \"-1\" (largest / smallest column sum of |x|), \"inf\" / "
                       "\"-inf\" (row sums)",
                       "\"fro\""},
                      {"keepdims", "bool", false, "keep the matrix dims with size 1", "false"}},
                     "A norm of each matrix of x [..., m, n], as torch.linalg.matrix_norm; 16-bit floats computed in "
                     "float32.");
  info.infer = [](const std::vector<Type>& in, const AttrMap& a) {
    require_float("matrix_norm", in[0]);
    if (in[0].rank() < 2) fail(ErrorCode::Shape, "matrix_norm: needs a matrix (rank >= 2), got " + in[0].str());
    std::string ord = a.count("ord") ? std::get<std::string>(a.at("ord")) : "fro";
    if (ord != "fro" && ord != "nuc" && ord != "1" && ord != "-1" && ord != "2" && ord != "-2" && ord != "inf" &&
        ord != "-inf")
      fail(ErrorCode::Value, "matrix_norm: ord must be " + std::string(kMatrixOrds) + ", got \"" + ord + "\"");
    bool keep = a.count("keepdims") && std::get<bool>(a.at("keepdims"));
    return infer_as("sum", in, {{"axis", IntList{-2, -1}}, {"keepdims", keep}});
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    std::string ord = op.has_attr("ord") ? op.str_attr("ord") : "fro";
    bool keep = op.bool_attr("keepdims", false);
    Value* x = widen(b, op.operands[0]);
    Value* r;
    if (ord == "fro") {
      r = op1(b, "sqrt", b.value("sum", {op2(b, "mul", x, x)}, {{"axis", IntList{-2, -1}}, {"keepdims", keep}}));
    } else if (ord == "nuc" || ord == "2" || ord == "-2") {  // from the singular values
      r = b.value(ord == "nuc" ? "sum"
                  : ord == "2" ? "max"
                               : "min",
                  {b.value("svdvals", {x})}, {{"axis", int64_t(-1)}});
      if (keep) r = per_matrix(b, r);
    } else {
      bool columns = ord == "1" || ord == "-1";  // sums down the columns, then the extreme over them
      Value* sums = b.value("sum", {op1(b, "abs", x)}, {{"axis", int64_t(columns ? -2 : -1)}, {"keepdims", true}});
      r = b.value(ord[0] == '-' ? "min" : "max", {sums}, {{"axis", int64_t(columns ? -1 : -2)}, {"keepdims", true}});
      if (!keep) r = reshape_to(b, r, Type::tensor(r->type.dtype, batch_of(r->type, 2)));
    }
    return {cast_to(b, r, op.result()->type.dtype)};
  };
  return info;
}

OpInfo factorized_matmul() {
  OpInfo info = make("factorized_matmul", OpClass::Contraction, {"x", "u", "v"}, {},
                     "x @ (u @ v) for a low-rank factorization u [..., k, r], v [..., r, n], computed as (x @ u) @ v: "
                     "about r (m k + m n) multiply-adds instead of m k n (and no k x n matrix).");
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    std::vector<Type> xu = infer_as("matmul", {in[0], in[1]}, {});
    return infer_as("matmul", {xu[0], in[2]}, {});
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value* xu = b.value("matmul", {op.operands[0], op.operands[1]});
    return {b.value("matmul", {xu, op.operands[2]})};
  };
  return info;
}

}  // namespace

void register_linalg_ops(std::vector<OpInfo>& out) {
  size_t first = out.size();
  auto square_plus = [](int64_t rows) {
    return [rows](const Type& a, const AttrMap&) {
      int64_t n = a.shape.back().size;
      return Shape{n + rows, n};
    };
  };
  out.push_back(matrix_op("potrf", {"a"}, {},
                          "The upper Cholesky factor U of (a + a^T)/2 (LAPACK's potrf); NaN where a is not positive "
                          "definite. Internal: cholesky is the op to use.",
                          true, square_plus(0)));
  out.push_back(matrix_op("getrf", {"a"}, {},
                          "LU with partial pivoting (LAPACK's getrf), packed [..., n + 2, n]: L (unit, below the "
                          "diagonal) and U, then the row permutation, then 1 for each step that swapped rows. "
                          "Internal: solve, inv and det use it.",
                          true, square_plus(2)));
  out.push_back(tri_solve_op());
  out.push_back(cholesky_op());
  out.push_back(solve_op());
  out.push_back(inv_op());
  out.push_back(
      determinant("det", "The determinant of square a [..., n, n] (from its LU factorization); 1 for n = 0."));
  out.push_back(determinant("logabsdet",
                            "log |det a| of square a [..., n, n]; -inf where a is singular. With det_sign, "
                            "NumPy's slogdet: finite where det itself over- or underflows."));
  out.push_back(determinant("det_sign", "The sign of det a (-1, 0 or 1) of square a [..., n, n]; no derivative."));
  for (size_t i = first; i < out.size(); ++i) {
    out[i].cpu_only = kCpuOnly;
    out[i].jvp_covers_composite = true;
  }
  out.push_back(vector_norm());
  out.push_back(matrix_norm());
  out.push_back(factorized_matmul());
}

}  // namespace tessera::ir
