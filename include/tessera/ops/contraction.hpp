// The C++ op API, contraction ops: one function per registry op, appending it to its operands' function (tessera/function.hpp).
// Generated from the op registry by `python -m tessera._opgen --write .`; do not edit.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "tessera/function.hpp"

namespace tessera::ops {

// Scaled dot-product attention softmax(q @ k^T * scale) @ v over the last two dims of q [..., Sq, D], k [..., Skv, D] and v [..., Skv, Dv] (equal batch dims and dtypes): result [..., Sq, Dv]. NVIDIA bf16/f16 with D = Dv in {64, 128} runs a flash-attention kernel (memory O(S)); elsewhere it is computed as those ops (f16/bf16 in f32).
inline Value attention(const Value& q, const Value& k, const Value& v, const std::optional<double>& scale = std::nullopt, const bool& causal = false) {
  detail::Attrs attrs;
  attrs.add("scale", scale);
  attrs.add("causal", causal);
  std::vector<Value> operands{q, k, v};
  return detail::apply("attention", operands, attrs.text())[0];
}

// One gradient of attention (FlashAttention-2's backward): dq, dk or dv (`wrt`) of o = softmax(q @ k^T * scale) @ v given dout, lse = attention_lse(q, k) and delta = sum(dout * o, -1) ([..., Sq] in the compute dtype: f32 for 16-bit q). Result: the type of that operand.
inline Value attention_grad(const Value& q, const Value& k, const Value& v, const Value& dout, const Value& lse, const Value& delta, const double& scale, const std::string& wrt, const bool& causal = false) {
  detail::Attrs attrs;
  attrs.add("scale", scale);
  attrs.add("causal", causal);
  attrs.add("wrt", wrt);
  std::vector<Value> operands{q, k, v, dout, lse, delta};
  return detail::apply("attention_grad", operands, attrs.text())[0];
}

// The log-normaliser of attention's softmax per query row, in f32: lse[..., i] = log(sum over keys j of exp(scale * q[..., i, :] . k[..., j, :])) (j <= i when causal), f32 for 16-bit inputs. Part of attention's gradient; on NVIDIA the flash-attention forward kernel writes it.
inline Value attention_lse(const Value& q, const Value& k, const double& scale, const bool& causal = false) {
  detail::Attrs attrs;
  attrs.add("scale", scale);
  attrs.add("causal", causal);
  std::vector<Value> operands{q, k};
  return detail::apply("attention_lse", operands, attrs.text())[0];
}

// Block-sparse matrix [Mb * bm, Kb * bk] (nonzero blocks [nnzb, bm, bk] at (block_rows[j], block_cols[j]); duplicates add) times dense [Kb * bk, N]: [Mb * bm, N]. Differentiable w.r.t. the blocks and dense.
inline Value bsmm(const Value& blocks, const Value& block_rows, const Value& block_cols, const Value& dense, const int64_t& num_block_rows) {
  detail::Attrs attrs;
  attrs.add("num_block_rows", num_block_rows);
  std::vector<Value> operands{blocks, block_rows, block_cols, dense};
  return detail::apply("bsmm", operands, attrs.text())[0];
}

// The Cholesky factor L (lower triangular, a = L L^T) of symmetric positive-definite a [..., n, n]. Factors (a + a^T)/2, as jax.numpy.linalg.cholesky, so the gradient is symmetric (as PyTorch's and JAX's). A matrix that is not positive definite is an error when the program runs.
inline Value cholesky(const Value& a, const bool& upper = false) {
  detail::Attrs attrs;
  attrs.add("upper", upper);
  std::vector<Value> operands{a};
  return detail::apply("cholesky", operands, attrs.text())[0];
}

// Convolution (cross-correlation, as torch.nn.functional.conv1d) of x [N, C_in, *S] with weight [C_out, C_in/groups, *K] and optional bias [C_out]: im2col (windows) and one GEMM per group.
inline Value conv1d(const Value& x, const Value& weight, const std::optional<Value>& bias = std::nullopt, const Sizes& stride = 1, const Padding& padding = 0, const Sizes& dilation = 1, const int64_t& groups = 1, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("stride", stride);
  attrs.add("padding", padding);
  attrs.add("dilation", dilation);
  attrs.add("groups", groups);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x, weight};
  if (bias) operands.push_back(*bias);
  return detail::apply("conv1d", operands, attrs.text())[0];
}

// Convolution (cross-correlation, as torch.nn.functional.conv2d) of x [N, C_in, *S] with weight [C_out, C_in/groups, *K] and optional bias [C_out]: im2col (windows) and one GEMM per group.
inline Value conv2d(const Value& x, const Value& weight, const std::optional<Value>& bias = std::nullopt, const Sizes& stride = 1, const Padding& padding = 0, const Sizes& dilation = 1, const int64_t& groups = 1, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("stride", stride);
  attrs.add("padding", padding);
  attrs.add("dilation", dilation);
  attrs.add("groups", groups);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x, weight};
  if (bias) operands.push_back(*bias);
  return detail::apply("conv2d", operands, attrs.text())[0];
}

// Convolution (cross-correlation, as torch.nn.functional.conv3d) of x [N, C_in, *S] with weight [C_out, C_in/groups, *K] and optional bias [C_out]: im2col (windows) and one GEMM per group.
inline Value conv3d(const Value& x, const Value& weight, const std::optional<Value>& bias = std::nullopt, const Sizes& stride = 1, const Padding& padding = 0, const Sizes& dilation = 1, const int64_t& groups = 1, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("stride", stride);
  attrs.add("padding", padding);
  attrs.add("dilation", dilation);
  attrs.add("groups", groups);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x, weight};
  if (bias) operands.push_back(*bias);
  return detail::apply("conv3d", operands, attrs.text())[0];
}

// Transposed convolution (the gradient of conv1d w.r.t. its input) of x [N, C_in, *S] with weight [C_in, C_out/groups, *K] and optional bias [C_out], as torch.nn.functional.conv_transpose1d.
inline Value conv_transpose1d(const Value& x, const Value& weight, const std::optional<Value>& bias = std::nullopt, const Sizes& stride = 1, const Padding& padding = 0, const Sizes& output_padding = 0, const Sizes& dilation = 1, const int64_t& groups = 1, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("stride", stride);
  attrs.add("padding", padding);
  attrs.add("output_padding", output_padding);
  attrs.add("dilation", dilation);
  attrs.add("groups", groups);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x, weight};
  if (bias) operands.push_back(*bias);
  return detail::apply("conv_transpose1d", operands, attrs.text())[0];
}

// Transposed convolution (the gradient of conv2d w.r.t. its input) of x [N, C_in, *S] with weight [C_in, C_out/groups, *K] and optional bias [C_out], as torch.nn.functional.conv_transpose2d.
inline Value conv_transpose2d(const Value& x, const Value& weight, const std::optional<Value>& bias = std::nullopt, const Sizes& stride = 1, const Padding& padding = 0, const Sizes& output_padding = 0, const Sizes& dilation = 1, const int64_t& groups = 1, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("stride", stride);
  attrs.add("padding", padding);
  attrs.add("output_padding", output_padding);
  attrs.add("dilation", dilation);
  attrs.add("groups", groups);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x, weight};
  if (bias) operands.push_back(*bias);
  return detail::apply("conv_transpose2d", operands, attrs.text())[0];
}

// Transposed convolution (the gradient of conv3d w.r.t. its input) of x [N, C_in, *S] with weight [C_in, C_out/groups, *K] and optional bias [C_out], as torch.nn.functional.conv_transpose3d.
inline Value conv_transpose3d(const Value& x, const Value& weight, const std::optional<Value>& bias = std::nullopt, const Sizes& stride = 1, const Padding& padding = 0, const Sizes& output_padding = 0, const Sizes& dilation = 1, const int64_t& groups = 1, const bool& channels_last = false) {
  detail::Attrs attrs;
  attrs.add("stride", stride);
  attrs.add("padding", padding);
  attrs.add("output_padding", output_padding);
  attrs.add("dilation", dilation);
  attrs.add("groups", groups);
  attrs.add("channels_last", channels_last);
  std::vector<Value> operands{x, weight};
  if (bias) operands.push_back(*bias);
  return detail::apply("conv_transpose3d", operands, attrs.text())[0];
}

// The determinant of square a [..., n, n] (from its LU factorization); 1 for n = 0.
inline Value det(const Value& a) {
  detail::Attrs attrs;
  std::vector<Value> operands{a};
  return detail::apply("det", operands, attrs.text())[0];
}

// The sign of det a (-1, 0 or 1) of square a [..., n, n]; no derivative.
inline Value det_sign(const Value& a) {
  detail::Attrs attrs;
  std::vector<Value> operands{a};
  return detail::apply("det_sign", operands, attrs.text())[0];
}

// The eigenvectors (columns, in the order of eigvalsh) of symmetric a [..., n, n], factored as (a + a^T)/2 (Jacobi rotations).
inline Value eigh_vectors(const Value& a) {
  detail::Attrs attrs;
  std::vector<Value> operands{a};
  return detail::apply("eigh_vectors", operands, attrs.text())[0];
}

// The eigenvalues, ascending, of symmetric a [..., n, n], factored as (a + a^T)/2 (cyclic Jacobi: O(n^3) per sweep, best up to a few hundred).
inline Value eigvalsh(const Value& a) {
  detail::Attrs attrs;
  std::vector<Value> operands{a};
  return detail::apply("eigvalsh", operands, attrs.text())[0];
}

// Einstein summation of one or more tensors (as numpy.einsum), built from sums, transposes, reshapes and batched matmuls; operands are contracted left to right.
inline Value einsum(const std::vector<Value>& xs, const std::string& equation) {
  detail::Attrs attrs;
  attrs.add("equation", equation);
  return detail::apply("einsum", xs, attrs.text())[0];
}

// x @ (u @ v) for a low-rank factorization u [..., k, r], v [..., r, n], computed as (x @ u) @ v: about r (m k + m n) multiply-adds instead of m k n (and no k x n matrix).
inline Value factorized_matmul(const Value& x, const Value& u, const Value& v) {
  detail::Attrs attrs;
  std::vector<Value> operands{x, u, v};
  return detail::apply("factorized_matmul", operands, attrs.text())[0];
}

// The inverse of square a [..., n, n] (LU with partial pivoting).
inline Value inv(const Value& a, const bool& check = true) {
  detail::Attrs attrs;
  attrs.add("check", check);
  std::vector<Value> operands{a};
  return detail::apply("inv", operands, attrs.text())[0];
}

// log |det a| of square a [..., n, n]; -inf where a is singular. With det_sign, NumPy's slogdet: finite where det itself over- or underflows.
inline Value logabsdet(const Value& a) {
  detail::Attrs attrs;
  std::vector<Value> operands{a};
  return detail::apply("logabsdet", operands, attrs.text())[0];
}

// The minimum-norm least-squares solution x of a @ x = b for a [..., m, n] and b [..., m, k] (or [m]: a vector when 1-D, for every matrix of a), through the SVD (as numpy.linalg.lstsq; only the solution). Its derivatives come from the pseudo-inverse's (finite for repeated or zero singular values, where the rank does not change).
inline Value lstsq(const Value& a, const Value& rhs, const double& rcond = -1.0) {
  detail::Attrs attrs;
  attrs.add("rcond", rcond);
  std::vector<Value> operands{a, rhs};
  return detail::apply("lstsq", operands, attrs.text())[0];
}

// Matrix product with NumPy semantics: [...,M,K] @ [...,K,N] -> [...,M,N] with broadcast batch dims; a 1-D left operand is a row vector and a 1-D right operand a column vector (their dim is dropped from the result). Operands of different dtypes promote. Accumulates in the compute dtype; K = 0 gives zeros.
inline Value matmul(const Value& x, const Value& y, const std::string& precision = "highest") {
  detail::Attrs attrs;
  attrs.add("precision", precision);
  std::vector<Value> operands{x, y};
  return detail::apply("matmul", operands, attrs.text())[0];
}

// One part of a fused query/key/value projection: x [..., S, D] @ weight [D, (H + 2 KV) * hd] (columns: the H query heads, then the KV key heads, then the KV value heads), split into heads as [..., H or KV, S, hd]. The three parts of one x and weight share one GEMM.
inline Value qkv_projection(const Value& x, const Value& weight, const int64_t& heads, const int64_t& kv_heads, const std::string& part) {
  detail::Attrs attrs;
  attrs.add("heads", heads);
  attrs.add("kv_heads", kv_heads);
  attrs.add("part", part);
  std::vector<Value> operands{x, weight};
  return detail::apply("qkv_projection", operands, attrs.text())[0];
}

// Q of the QR factorization a = Q R of a [..., m, n] (Householder, as LAPACK's geqrf: R's diagonal may be negative): orthonormal columns.
inline Value qr_q(const Value& a, const std::optional<std::string>& mode = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("mode", mode);
  std::vector<Value> operands{a};
  return detail::apply("qr_q", operands, attrs.text())[0];
}

// R of the QR factorization a = Q R of a [..., m, n] (upper triangular).
inline Value qr_r(const Value& a, const std::optional<std::string>& mode = std::nullopt) {
  detail::Attrs attrs;
  attrs.add("mode", mode);
  std::vector<Value> operands{a};
  return detail::apply("qr_r", operands, attrs.text())[0];
}

// Sampled dense-dense product: values[j] = (mat1 @ mat2)[rows[j], cols[j]] for mat1 [M, K], mat2 [K, N], computed only at those entries.
inline Value sddmm(const Value& rows, const Value& cols, const Value& mat1, const Value& mat2) {
  detail::Attrs attrs;
  std::vector<Value> operands{rows, cols, mat1, mat2};
  return detail::apply("sddmm", operands, attrs.text())[0];
}

// x with a @ x = b for square a [..., n, n] (LU with partial pivoting) and b [..., n, k], or b [n] (a vector: only when b is 1-D, as NumPy 2); batch dims broadcast. A singular a is an error when the program runs.
inline Value solve(const Value& a, const Value& rhs) {
  detail::Attrs attrs;
  std::vector<Value> operands{a, rhs};
  return detail::apply("solve", operands, attrs.text())[0];
}

// The sparse matrix [M, K] with entries values[j] at (rows[j], cols[j]) (COO; duplicates add) times dense [K, N]: [M, N]. Differentiable w.r.t. values and dense.
inline Value spmm_coo(const Value& rows, const Value& cols, const Value& values, const Value& dense, const int64_t& num_rows) {
  detail::Attrs attrs;
  attrs.add("num_rows", num_rows);
  std::vector<Value> operands{rows, cols, values, dense};
  return detail::apply("spmm_coo", operands, attrs.text())[0];
}

// The sparse matrix [M, K] in CSR form (row i's entries are values[indptr[i]:indptr[i+1]] in columns indices[...]) times dense [K, N]: [M, N], M = len(indptr) - 1.
inline Value spmm_csr(const Value& indptr, const Value& indices, const Value& values, const Value& dense) {
  detail::Attrs attrs;
  std::vector<Value> operands{indptr, indices, values, dense};
  return detail::apply("spmm_csr", operands, attrs.text())[0];
}

// U [..., m, k] of the reduced SVD a = U diag(S) Vh (k = min(m, n)); columns for zero singular values are zero. One-sided Jacobi (Hestenes): accurate, O(m n k) per sweep.
inline Value svd_u(const Value& a) {
  detail::Attrs attrs;
  std::vector<Value> operands{a};
  return detail::apply("svd_u", operands, attrs.text())[0];
}

// Vh [..., k, n] of the reduced SVD a = U diag(S) Vh (k = min(m, n)). One-sided Jacobi (Hestenes): accurate, O(m n k) per sweep.
inline Value svd_vh(const Value& a) {
  detail::Attrs attrs;
  std::vector<Value> operands{a};
  return detail::apply("svd_vh", operands, attrs.text())[0];
}

// The singular values, descending, of a [..., m, n]: [..., min(m, n)]. One-sided Jacobi (Hestenes): accurate, O(m n k) per sweep.
inline Value svdvals(const Value& a) {
  detail::Attrs attrs;
  std::vector<Value> operands{a};
  return detail::apply("svdvals", operands, attrs.text())[0];
}

// x with a @ x = b (left) or x @ a = b, for triangular a [..., n, n] and b [..., n, k] (left) or [..., k, n]; batch dims broadcast. As scipy.linalg.solve_triangular.
inline Value tri_solve(const Value& a, const Value& rhs, const bool& lower = true, const bool& left = true, const bool& unit_diagonal = false) {
  detail::Attrs attrs;
  attrs.add("lower", lower);
  attrs.add("left", left);
  attrs.add("unit_diagonal", unit_diagonal);
  std::vector<Value> operands{a, rhs};
  return detail::apply("tri_solve", operands, attrs.text())[0];
}

}  // namespace tessera::ops
