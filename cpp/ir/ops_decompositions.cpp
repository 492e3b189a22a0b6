// The orthogonal decompositions (issue 18) on batches of matrices. Internal primitives with
// kernels of their own (tilegen/linalg_orthogonal.cpp), each a packed result:
//   geqrf(a)   Householder QR of a [m, n]: [n + 1, m] (R^T and the reflectors, then tau)
//   orgqr(p)   Q^T [c, m] from geqrf's result (c = min(m, n), or m with `complete`)
//   syevj(a)   Jacobi eigh: [2n + 1, n] (workspace, eigenvectors as rows, eigenvalues)
//   gesvj(a)   one-sided Jacobi SVD: [2k + 1, max(m, n)], k = min(m, n)
// Public ops, one per result (the matching kernels are shared: CSE merges them), with
// derivative rules of their own (derivatives_decompositions.cpp): qr_q, qr_r, eigvalsh,
// eigh_vectors, svdvals, svd_u, svd_vh; and lstsq, a composite of the SVD.
#include <cfloat>

#include "ir/composite.hpp"
#include "ir/linalg.hpp"

namespace tessera::ir {
namespace {

using namespace composite;
using namespace linalg;

int64_t rows(const Type& t) { return t.shape[t.shape.size() - 2].size; }
int64_t cols(const Type& t) { return t.shape.back().size; }

// (a / s, s [..., 1, 1]) with s = max |a| per matrix (1 for a zero matrix): the Householder and
// Jacobi kernels sum squares, which over- or underflow for entries far from 1 (f32 past about
// 1e19 or below 1e-19); their scale-free results (Q, U, Vh) come from a / s and R, S scale back.
std::pair<Value*, Value*> normalized(Builder& b, Value* a) {
  if (a->type.numel() == 0)  // nothing to scale (and max has no identity)
    return {a, b.graph_constant(Type::tensor(a->type.dtype, concat(batch_of(a->type, 2), {1, 1})), 1.0)};
  Value* m = b.value("max", {b.value("abs", {a})}, {{"axis", IntList{-2, -1}}, {"keepdims", true}});
  Value* zero = op2(b, "equal", m, b.graph_constant(a->type.dtype, 0.0));
  Value* s = b.value("where", {zero, b.graph_constant(a->type.dtype, 1.0), m});
  s = b.value("stop_gradient", {s});
  return {op2(b, "div", a, s), s};
}

const AttrSpec kMode{"mode", "str", false,
                     "\"reduced\": Q [m, k], R [k, n] with k = min(m, n); \"complete\": Q [m, m], R [m, n]",
                     "\"reduced\""};

bool complete(const std::string& op, const AttrMap& a) {
  std::string m = a.count("mode") ? std::get<std::string>(a.at("mode")) : "reduced";
  if (m != "reduced" && m != "complete")
    fail(ErrorCode::Value, op + ": mode must be \"reduced\" or \"complete\", got \"" + m + "\"");
  return m == "complete";
}

// Q's column count (= R's row count).
int64_t qr_k(const std::string& op, const Type& a, const AttrMap& at) {
  return complete(op, at) ? rows(a) : std::min(rows(a), cols(a));
}

OpInfo qr_part(bool q) {
  std::string name = q ? "qr_q" : "qr_r";
  OpInfo info = matrix_op(name, {"a"}, {kMode},
                          q ? "Q of the QR factorization a = Q R of a [..., m, n] (Householder, as LAPACK's geqrf: R's "
                              "diagonal may be negative): orthonormal columns."
                            : "R of the QR factorization a = Q R of a [..., m, n] (upper triangular).",
                          false, [name, q](const Type& a, const AttrMap& at) {
                            int64_t k = qr_k(name, a, at);
                            return q ? Shape{rows(a), k} : Shape{k, cols(a)};
                          });
  info.decompose = [q](Builder& b, const Op& op) -> std::vector<Value*> {
    const Type& t = op.operands[0]->type;
    auto [a, scale] = normalized(b, op.operands[0]);
    int64_t k = qr_k(op.name, t, op.attrs);
    Value* f = b.value("geqrf", {a});
    if (q) return {mT(b, b.value("orgqr", {f}, {{"complete", complete(op.name, op.attrs)}}))};
    Value* rt = mT(b, rows_of(b, f, 0, cols(t)));  // [m, n]: R on and above the diagonal
    return {op2(b, "mul", b.value("triu", {rows_of(b, rt, 0, k)}), scale)};
  };
  return info;
}

OpInfo eigh_part(bool vectors) {
  std::string name = vectors ? "eigh_vectors" : "eigvalsh";
  OpInfo info = matrix_op(
      name, {"a"}, {},
      vectors ? "The eigenvectors (columns, in the order of eigvalsh) of symmetric a [..., n, n], "
                "factored as (a + a^T)/2 (Jacobi rotations)."
              : "The eigenvalues, ascending, of symmetric a [..., n, n], factored as (a + a^T)/2 "
                "(cyclic Jacobi: O(n^3) per sweep, best up to a few hundred).",
      true, [vectors](const Type& a, const AttrMap&) { return vectors ? Shape{cols(a), cols(a)} : Shape{cols(a)}; });
  info.decompose = [vectors](Builder& b, const Op& op) -> std::vector<Value*> {
    int64_t n = cols(op.operands[0]->type);
    Value* p = b.value("syevj", {op.operands[0]});
    if (vectors) return {mT(b, rows_of(b, p, n, 2 * n))};
    return {reshape_to(b, rows_of(b, p, 2 * n, 2 * n + 1), op.result()->type)};
  };
  return info;
}

// U [m, k], S [k], Vh [k, n] of the reduced SVD, from gesvj's rows: for m >= n the k rows
// are U^T's and the rotations Vh; for m < n they are Vh's and the rotations U^T.
OpInfo svd_part(const std::string& part) {
  std::string name = part == "s" ? "svdvals" : "svd_" + part;
  std::string what = part == "s"   ? "The singular values, descending, of a [..., m, n]: [..., min(m, n)]."
                     : part == "u" ? "U [..., m, k] of the reduced SVD a = U diag(S) Vh (k = min(m, n)); columns "
                                     "for zero singular values are zero."
                                   : "Vh [..., k, n] of the reduced SVD a = U diag(S) Vh (k = min(m, n)).";
  OpInfo info = matrix_op(name, {"a"}, {}, what + " One-sided Jacobi (Hestenes): accurate, O(m n k) per sweep.", false,
                          [part](const Type& a, const AttrMap&) {
                            int64_t k = std::min(rows(a), cols(a));
                            return part == "s" ? Shape{k} : part == "u" ? Shape{rows(a), k} : Shape{k, cols(a)};
                          });
  info.decompose = [part](Builder& b, const Op& op) -> std::vector<Value*> {
    const Type& t = op.operands[0]->type;
    int64_t k = std::min(rows(t), cols(t));
    bool tall = rows(t) >= cols(t);
    auto [a, scale] = normalized(b, op.operands[0]);
    Value* p = b.value("gesvj", {a});
    if (part == "s")
      return {
          reshape_to(b, op2(b, "mul", cols_of(b, rows_of(b, p, 2 * k, 2 * k + 1), 0, k), scale), op.result()->type)};
    Value* vectors = rows_of(b, p, 0, k);                          // [k, max(m, n)]
    Value* rotations = cols_of(b, rows_of(b, p, k, 2 * k), 0, k);  // [k, k]
    if (part == "u") return {mT(b, tall ? vectors : rotations)};
    return {tall ? rotations : vectors};
  };
  return info;
}

OpInfo lstsq() {
  OpInfo info = make("lstsq", OpClass::Contraction, {"a", "rhs"},
                     {{"rcond", "float", false,
                       "singular values below rcond * the largest count as zero; negative: eps * max(m, n) (NumPy's "
                       "default)",
                       "-1.0"}},
                     "The minimum-norm least-squares solution x of a @ x = b for a [..., m, n] and b [..., m, k] (or "
                     "[m]: a vector when 1-D, for every matrix of a), through the SVD (as numpy.linalg.lstsq; only the "
                     "solution). Its derivatives come from the pseudo-inverse's (finite for repeated or zero singular "
                     "values, where the rank does not change).");
  info.infer = [](const std::vector<Type>& in, const AttrMap&) {
    require_matrix("lstsq", in[0]);
    require_tensor("lstsq", in[1]);
    if (in[1].dtype != in[0].dtype)
      fail(ErrorCode::DType, "lstsq: a " + in[0].str() + " and b " + in[1].str() + " must have one dtype");
    Shape bs = in[1].static_shape();
    bool vector = bs.size() == 1;
    if (bs.empty() || (vector ? bs[0] : bs[bs.size() - 2]) != rows(in[0]))
      fail(ErrorCode::Shape, "lstsq: a " + in[0].str() + " and b " + in[1].str() + " do not match: b's " +
                                 (vector ? "length" : "rows") + " must be m = " + std::to_string(rows(in[0])));
    if (!vector && batch_of(in[1], 2) != batch_of(in[0], 2))
      fail(ErrorCode::Shape, "lstsq: a " + in[0].str() + " and b " + in[1].str() + " must have the same batch dims");
    Shape tail = vector ? Shape{cols(in[0])} : Shape{cols(in[0]), bs.back()};
    return std::vector<Type>{Type::tensor(in[0].dtype, concat(batch_of(in[0], 2), tail))};
  };
  info.decompose = [](Builder& b, const Op& op) -> std::vector<Value*> {
    Value *a = op.operands[0], *rhs = op.operands[1];
    const Type& t = a->type;
    bool vector = rhs->type.rank() == 1;
    if (vector)  // one column, the same for every matrix of a
      rhs = b.value("broadcast_to", {b.value("expand_dims", {rhs}, {{"axis", int64_t(-1)}})},
                    {{"shape", IntList(concat(batch_of(t, 2), {rows(t), 1}))}});
    double rcond = op.has_attr("rcond") ? number_attr(op, "rcond") : -1.0;
    if (rcond < 0) rcond = (t.dtype == DType::F64 ? DBL_EPSILON : FLT_EPSILON) * double(std::max(rows(t), cols(t)));
    Value* s = b.value("svdvals", {a});
    Value* top = b.value("max", {s}, {{"axis", int64_t(-1)}, {"keepdims", true}});
    Value* keep = op2(b, "greater", s, op2(b, "mul", top, b.graph_constant(t.dtype, rcond)));
    Value* one = b.graph_constant(t.dtype, 1.0);  // 1/s only where kept: no inf, so no NaN gradient
    Value* inv =
        b.value("where", {keep, op2(b, "div", one, b.value("where", {keep, s, one})), b.graph_constant(t.dtype, 0.0)});
    Value* utb = matmul(b, mT(b, b.value("svd_u", {a})), rhs);
    Value* x = matmul(b, mT(b, b.value("svd_vh", {a})),
                      op2(b, "mul", b.value("expand_dims", {inv}, {{"axis", int64_t(-1)}}), utb));
    return {vector ? reshape_to(b, x, op.result()->type) : x};
  };
  return info;
}

}  // namespace

void register_decomposition_ops(std::vector<OpInfo>& out) {
  size_t first = out.size();
  out.push_back(matrix_op("geqrf", {"a"}, {},
                          "Householder QR of a [..., m, n], packed [..., n + 1, m] (LAPACK's geqrf, "
                          "transposed). Internal: qr_q and qr_r are the ops to use.",
                          false, [](const Type& a, const AttrMap&) { return Shape{cols(a) + 1, rows(a)}; }));
  OpInfo org = matrix_op("orgqr", {"packed"}, {{"complete", "bool", false, "all m rows of Q^T", "false"}},
                         "Q^T [..., c, m] from geqrf's packed result (LAPACK's orgqr). Internal.", false,
                         [](const Type& p, const AttrMap& a) {
                           int64_t n = rows(p) - 1, m = cols(p);
                           bool all = a.count("complete") && std::get<bool>(a.at("complete"));
                           return Shape{all ? m : std::min(m, n), m};
                         });
  out.push_back(org);
  out.push_back(matrix_op("syevj", {"a"}, {},
                          "Jacobi eigh, packed [..., 2n + 1, n]. Internal: eigvalsh and eigh_vectors.", true,
                          [](const Type& a, const AttrMap&) { return Shape{2 * cols(a) + 1, cols(a)}; }));
  out.push_back(matrix_op("gesvj", {"a"}, {}, "One-sided Jacobi SVD, packed. Internal: svdvals, svd_u and svd_vh.",
                          false, [](const Type& a, const AttrMap&) {
                            int64_t k = std::min(rows(a), cols(a));
                            return Shape{2 * k + 1, std::max(rows(a), cols(a))};
                          }));
  out.push_back(qr_part(true));
  out.push_back(qr_part(false));
  out.push_back(eigh_part(false));
  out.push_back(eigh_part(true));
  for (const char* part : {"s", "u", "vh"}) out.push_back(svd_part(part));
  out.push_back(lstsq());
  for (size_t i = first; i < out.size(); ++i) {
    out[i].cpu_only = kCpuOnly;
    out[i].jvp_covers_composite = true;
  }
}

}  // namespace tessera::ir
