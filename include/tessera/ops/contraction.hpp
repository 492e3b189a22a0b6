// The C++ op API, contraction ops: one function per registry op, appending it to a Builder's block.
// Generated from the op registry by `python -m tessera._opgen --write .`; do not edit.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/builder.hpp"

namespace tessera::ops {

// Scaled dot-product attention softmax(q @ k^T * scale) @ v over the last two dims of q [..., Sq, D], k [..., Skv, D] and v [..., Skv, Dv] (equal batch dims and dtypes): result [..., Sq, Dv]. NVIDIA bf16/f16 with D = Dv in {64, 128} runs a flash-attention kernel (memory O(S)); elsewhere it is computed as those ops (f16/bf16 in f32).
inline ir::Value* attention(ir::Builder& b, ir::Value* q, ir::Value* k, ir::Value* v, std::optional<double> scale = std::nullopt, bool causal = false) {
  ir::AttrMap attrs;
  if (scale) attrs["scale"] = *scale;
  attrs["causal"] = causal;
  std::vector<ir::Value*> operands{q, k, v};
  return b.value("attention", operands, attrs);
}

// One gradient of attention (FlashAttention-2's backward): dq, dk or dv (`wrt`) of o = softmax(q @ k^T * scale) @ v given dout, lse = attention_lse(q, k) and delta = sum(dout * o, -1) ([..., Sq] in the compute dtype: f32 for 16-bit q). Result: the type of that operand.
inline ir::Value* attention_grad(ir::Builder& b, ir::Value* q, ir::Value* k, ir::Value* v, ir::Value* dout, ir::Value* lse, ir::Value* delta, double scale, std::string wrt, bool causal = false) {
  ir::AttrMap attrs;
  attrs["scale"] = scale;
  attrs["causal"] = causal;
  attrs["wrt"] = wrt;
  std::vector<ir::Value*> operands{q, k, v, dout, lse, delta};
  return b.value("attention_grad", operands, attrs);
}

// The log-normaliser of attention's softmax per query row, in f32: lse[..., i] = log(sum over keys j of exp(scale * q[..., i, :] . k[..., j, :])) (j <= i when causal), f32 for 16-bit inputs. Part of attention's gradient; on NVIDIA the flash-attention forward kernel writes it.
inline ir::Value* attention_lse(ir::Builder& b, ir::Value* q, ir::Value* k, double scale, bool causal = false) {
  ir::AttrMap attrs;
  attrs["scale"] = scale;
  attrs["causal"] = causal;
  std::vector<ir::Value*> operands{q, k};
  return b.value("attention_lse", operands, attrs);
}

// Block-sparse matrix [Mb * bm, Kb * bk] (nonzero blocks [nnzb, bm, bk] at (block_rows[j], block_cols[j]); duplicates add) times dense [Kb * bk, N]: [Mb * bm, N]. Differentiable w.r.t. the blocks and dense.
inline ir::Value* bsmm(ir::Builder& b, ir::Value* blocks, ir::Value* block_rows, ir::Value* block_cols, ir::Value* dense, int64_t num_block_rows) {
  ir::AttrMap attrs;
  attrs["num_block_rows"] = num_block_rows;
  std::vector<ir::Value*> operands{blocks, block_rows, block_cols, dense};
  return b.value("bsmm", operands, attrs);
}

// The Cholesky factor L (lower triangular, a = L L^T) of symmetric positive-definite a [..., n, n]. Factors (a + a^T)/2, as jax.numpy.linalg.cholesky, so the gradient is symmetric (as PyTorch's and JAX's). A matrix that is not positive definite is an error when the program runs.
inline ir::Value* cholesky(ir::Builder& b, ir::Value* a, bool upper = false) {
  ir::AttrMap attrs;
  attrs["upper"] = upper;
  std::vector<ir::Value*> operands{a};
  return b.value("cholesky", operands, attrs);
}

// Convolution (cross-correlation, as torch.nn.functional.conv1d) of x [N, C_in, *S] with weight [C_out, C_in/groups, *K] and optional bias [C_out]: im2col (windows) and one GEMM per group.
inline ir::Value* conv1d(ir::Builder& b, ir::Value* x, ir::Value* weight, ir::Value* bias = nullptr, ir::Sizes stride = 1, ir::Padding padding = 0, ir::Sizes dilation = 1, int64_t groups = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["stride"] = stride.value;
  attrs["padding"] = padding.value;
  attrs["dilation"] = dilation.value;
  attrs["groups"] = groups;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x, weight};
  if (bias) operands.push_back(bias);
  return b.value("conv1d", operands, attrs);
}

// Convolution (cross-correlation, as torch.nn.functional.conv2d) of x [N, C_in, *S] with weight [C_out, C_in/groups, *K] and optional bias [C_out]: im2col (windows) and one GEMM per group.
inline ir::Value* conv2d(ir::Builder& b, ir::Value* x, ir::Value* weight, ir::Value* bias = nullptr, ir::Sizes stride = 1, ir::Padding padding = 0, ir::Sizes dilation = 1, int64_t groups = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["stride"] = stride.value;
  attrs["padding"] = padding.value;
  attrs["dilation"] = dilation.value;
  attrs["groups"] = groups;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x, weight};
  if (bias) operands.push_back(bias);
  return b.value("conv2d", operands, attrs);
}

// Convolution (cross-correlation, as torch.nn.functional.conv3d) of x [N, C_in, *S] with weight [C_out, C_in/groups, *K] and optional bias [C_out]: im2col (windows) and one GEMM per group.
inline ir::Value* conv3d(ir::Builder& b, ir::Value* x, ir::Value* weight, ir::Value* bias = nullptr, ir::Sizes stride = 1, ir::Padding padding = 0, ir::Sizes dilation = 1, int64_t groups = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["stride"] = stride.value;
  attrs["padding"] = padding.value;
  attrs["dilation"] = dilation.value;
  attrs["groups"] = groups;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x, weight};
  if (bias) operands.push_back(bias);
  return b.value("conv3d", operands, attrs);
}

// Transposed convolution (the gradient of conv1d w.r.t. its input) of x [N, C_in, *S] with weight [C_in, C_out/groups, *K] and optional bias [C_out], as torch.nn.functional.conv_transpose1d.
inline ir::Value* conv_transpose1d(ir::Builder& b, ir::Value* x, ir::Value* weight, ir::Value* bias = nullptr, ir::Sizes stride = 1, ir::Padding padding = 0, ir::Sizes output_padding = 0, ir::Sizes dilation = 1, int64_t groups = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["stride"] = stride.value;
  attrs["padding"] = padding.value;
  attrs["output_padding"] = output_padding.value;
  attrs["dilation"] = dilation.value;
  attrs["groups"] = groups;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x, weight};
  if (bias) operands.push_back(bias);
  return b.value("conv_transpose1d", operands, attrs);
}

// Transposed convolution (the gradient of conv2d w.r.t. its input) of x [N, C_in, *S] with weight [C_in, C_out/groups, *K] and optional bias [C_out], as torch.nn.functional.conv_transpose2d.
inline ir::Value* conv_transpose2d(ir::Builder& b, ir::Value* x, ir::Value* weight, ir::Value* bias = nullptr, ir::Sizes stride = 1, ir::Padding padding = 0, ir::Sizes output_padding = 0, ir::Sizes dilation = 1, int64_t groups = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["stride"] = stride.value;
  attrs["padding"] = padding.value;
  attrs["output_padding"] = output_padding.value;
  attrs["dilation"] = dilation.value;
  attrs["groups"] = groups;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x, weight};
  if (bias) operands.push_back(bias);
  return b.value("conv_transpose2d", operands, attrs);
}

// Transposed convolution (the gradient of conv3d w.r.t. its input) of x [N, C_in, *S] with weight [C_in, C_out/groups, *K] and optional bias [C_out], as torch.nn.functional.conv_transpose3d.
inline ir::Value* conv_transpose3d(ir::Builder& b, ir::Value* x, ir::Value* weight, ir::Value* bias = nullptr, ir::Sizes stride = 1, ir::Padding padding = 0, ir::Sizes output_padding = 0, ir::Sizes dilation = 1, int64_t groups = 1, bool channels_last = false) {
  ir::AttrMap attrs;
  attrs["stride"] = stride.value;
  attrs["padding"] = padding.value;
  attrs["output_padding"] = output_padding.value;
  attrs["dilation"] = dilation.value;
  attrs["groups"] = groups;
  attrs["channels_last"] = channels_last;
  std::vector<ir::Value*> operands{x, weight};
  if (bias) operands.push_back(bias);
  return b.value("conv_transpose3d", operands, attrs);
}

// The determinant of square a [..., n, n] (from its LU factorization); 1 for n = 0.
inline ir::Value* det(ir::Builder& b, ir::Value* a) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{a};
  return b.value("det", operands, attrs);
}

// The sign of det a (-1, 0 or 1) of square a [..., n, n]; no derivative.
inline ir::Value* det_sign(ir::Builder& b, ir::Value* a) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{a};
  return b.value("det_sign", operands, attrs);
}

// The eigenvectors (columns, in the order of eigvalsh) of symmetric a [..., n, n], factored as (a + a^T)/2 (Jacobi rotations).
inline ir::Value* eigh_vectors(ir::Builder& b, ir::Value* a) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{a};
  return b.value("eigh_vectors", operands, attrs);
}

// The eigenvalues, ascending, of symmetric a [..., n, n], factored as (a + a^T)/2 (cyclic Jacobi: O(n^3) per sweep, best up to a few hundred).
inline ir::Value* eigvalsh(ir::Builder& b, ir::Value* a) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{a};
  return b.value("eigvalsh", operands, attrs);
}

// Einstein summation of one or more tensors (as numpy.einsum), built from sums, transposes, reshapes and batched matmuls; operands are contracted left to right.
inline ir::Value* einsum(ir::Builder& b, const std::vector<ir::Value*>& xs, std::string equation) {
  ir::AttrMap attrs;
  attrs["equation"] = equation;
  return b.value("einsum", xs, attrs);
}

// x @ (u @ v) for a low-rank factorization u [..., k, r], v [..., r, n], computed as (x @ u) @ v: about r (m k + m n) multiply-adds instead of m k n (and no k x n matrix).
inline ir::Value* factorized_matmul(ir::Builder& b, ir::Value* x, ir::Value* u, ir::Value* v) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{x, u, v};
  return b.value("factorized_matmul", operands, attrs);
}

// The inverse of square a [..., n, n] (LU with partial pivoting).
inline ir::Value* inv(ir::Builder& b, ir::Value* a, bool check = true) {
  ir::AttrMap attrs;
  attrs["check"] = check;
  std::vector<ir::Value*> operands{a};
  return b.value("inv", operands, attrs);
}

// log |det a| of square a [..., n, n]; -inf where a is singular. With det_sign, NumPy's slogdet: finite where det itself over- or underflows.
inline ir::Value* logabsdet(ir::Builder& b, ir::Value* a) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{a};
  return b.value("logabsdet", operands, attrs);
}

// The minimum-norm least-squares solution x of a @ x = b for a [..., m, n] and b [..., m, k] (or [m]: a vector when 1-D, for every matrix of a), through the SVD (as numpy.linalg.lstsq; only the solution). Its derivatives come from the pseudo-inverse's (finite for repeated or zero singular values, where the rank does not change).
inline ir::Value* lstsq(ir::Builder& b, ir::Value* a, ir::Value* rhs, double rcond = -1.0) {
  ir::AttrMap attrs;
  attrs["rcond"] = rcond;
  std::vector<ir::Value*> operands{a, rhs};
  return b.value("lstsq", operands, attrs);
}

// Matrix product with NumPy semantics: [...,M,K] @ [...,K,N] -> [...,M,N] with broadcast batch dims; a 1-D left operand is a row vector and a 1-D right operand a column vector (their dim is dropped from the result). Operands of different dtypes promote. Accumulates in the compute dtype; K = 0 gives zeros.
inline ir::Value* matmul(ir::Builder& b, ir::Value* x, ir::Value* y, std::string precision = "highest") {
  ir::AttrMap attrs;
  attrs["precision"] = precision;
  std::vector<ir::Value*> operands{x, y};
  return b.value("matmul", operands, attrs);
}

// One part of a fused query/key/value projection: x [..., S, D] @ weight [D, (H + 2 KV) * hd] (columns: the H query heads, then the KV key heads, then the KV value heads), split into heads as [..., H or KV, S, hd]. The three parts of one x and weight share one GEMM.
inline ir::Value* qkv_projection(ir::Builder& b, ir::Value* x, ir::Value* weight, int64_t heads, int64_t kv_heads, std::string part) {
  ir::AttrMap attrs;
  attrs["heads"] = heads;
  attrs["kv_heads"] = kv_heads;
  attrs["part"] = part;
  std::vector<ir::Value*> operands{x, weight};
  return b.value("qkv_projection", operands, attrs);
}

// Q of the QR factorization a = Q R of a [..., m, n] (Householder, as LAPACK's geqrf: R's diagonal may be negative): orthonormal columns.
inline ir::Value* qr_q(ir::Builder& b, ir::Value* a, std::optional<std::string> mode = std::nullopt) {
  ir::AttrMap attrs;
  if (mode) attrs["mode"] = *mode;
  std::vector<ir::Value*> operands{a};
  return b.value("qr_q", operands, attrs);
}

// R of the QR factorization a = Q R of a [..., m, n] (upper triangular).
inline ir::Value* qr_r(ir::Builder& b, ir::Value* a, std::optional<std::string> mode = std::nullopt) {
  ir::AttrMap attrs;
  if (mode) attrs["mode"] = *mode;
  std::vector<ir::Value*> operands{a};
  return b.value("qr_r", operands, attrs);
}

// Sampled dense-dense product: values[j] = (mat1 @ mat2)[rows[j], cols[j]] for mat1 [M, K], mat2 [K, N], computed only at those entries.
inline ir::Value* sddmm(ir::Builder& b, ir::Value* rows, ir::Value* cols, ir::Value* mat1, ir::Value* mat2) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{rows, cols, mat1, mat2};
  return b.value("sddmm", operands, attrs);
}

// x with a @ x = b for square a [..., n, n] (LU with partial pivoting) and b [..., n, k], or b [n] (a vector: only when b is 1-D, as NumPy 2); batch dims broadcast. A singular a is an error when the program runs.
inline ir::Value* solve(ir::Builder& b, ir::Value* a, ir::Value* rhs) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{a, rhs};
  return b.value("solve", operands, attrs);
}

// The sparse matrix [M, K] with entries values[j] at (rows[j], cols[j]) (COO; duplicates add) times dense [K, N]: [M, N]. Differentiable w.r.t. values and dense.
inline ir::Value* spmm_coo(ir::Builder& b, ir::Value* rows, ir::Value* cols, ir::Value* values, ir::Value* dense, int64_t num_rows) {
  ir::AttrMap attrs;
  attrs["num_rows"] = num_rows;
  std::vector<ir::Value*> operands{rows, cols, values, dense};
  return b.value("spmm_coo", operands, attrs);
}

// The sparse matrix [M, K] in CSR form (row i's entries are values[indptr[i]:indptr[i+1]] in columns indices[...]) times dense [K, N]: [M, N], M = len(indptr) - 1.
inline ir::Value* spmm_csr(ir::Builder& b, ir::Value* indptr, ir::Value* indices, ir::Value* values, ir::Value* dense) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{indptr, indices, values, dense};
  return b.value("spmm_csr", operands, attrs);
}

// U [..., m, k] of the reduced SVD a = U diag(S) Vh (k = min(m, n)); columns for zero singular values are zero. One-sided Jacobi (Hestenes): accurate, O(m n k) per sweep.
inline ir::Value* svd_u(ir::Builder& b, ir::Value* a) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{a};
  return b.value("svd_u", operands, attrs);
}

// Vh [..., k, n] of the reduced SVD a = U diag(S) Vh (k = min(m, n)). One-sided Jacobi (Hestenes): accurate, O(m n k) per sweep.
inline ir::Value* svd_vh(ir::Builder& b, ir::Value* a) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{a};
  return b.value("svd_vh", operands, attrs);
}

// The singular values, descending, of a [..., m, n]: [..., min(m, n)]. One-sided Jacobi (Hestenes): accurate, O(m n k) per sweep.
inline ir::Value* svdvals(ir::Builder& b, ir::Value* a) {
  ir::AttrMap attrs;
  std::vector<ir::Value*> operands{a};
  return b.value("svdvals", operands, attrs);
}

// x with a @ x = b (left) or x @ a = b, for triangular a [..., n, n] and b [..., n, k] (left) or [..., k, n]; batch dims broadcast. As scipy.linalg.solve_triangular.
inline ir::Value* tri_solve(ir::Builder& b, ir::Value* a, ir::Value* rhs, bool lower = true, bool left = true, bool unit_diagonal = false) {
  ir::AttrMap attrs;
  attrs["lower"] = lower;
  attrs["left"] = left;
  attrs["unit_diagonal"] = unit_diagonal;
  std::vector<ir::Value*> operands{a, rhs};
  return b.value("tri_solve", operands, attrs);
}

}  // namespace tessera::ops
