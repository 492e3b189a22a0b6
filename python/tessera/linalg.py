"""Linear algebra in the style of ``numpy.linalg`` and ``torch.linalg``, over batches of matrices
(the last two dims; leading dims broadcast).

Each function is a registry op (``tessera.ops``: ``cholesky``, ``tri_solve``, ``solve``, ``inv``,
``det``, ``logabsdet``, ``det_sign``, ``qr_q``, ``qr_r``, ``eigvalsh``, ``eigh_vectors``,
``svdvals``, ``svd_u``, ``svd_vh``, ``lstsq``, ``vector_norm``, ``matrix_norm``,
``factorized_matmul``) or a few of them (one op per result), so it works eagerly, under ``jit``,
``vmap`` and ``grad`` (any order, both modes). The factorizations run as kernels of their own
on the CPU (docs/operators.md, "Linear algebra"); float32 and float64. A singular matrix given
to ``solve`` or ``inv``, or a matrix that is not positive definite given to ``cholesky``, raises
``TesseraValueError`` when the program runs.
"""
from __future__ import annotations

import math

from . import ops
from .errors import TesseraValueError
from .lazy import user_location

__all__ = ["cholesky", "solve_triangular", "tri_solve", "solve", "inv", "det", "slogdet", "qr", "eigh", "eigvalsh",
           "svd", "svdvals", "lstsq", "pinv", "norm", "vector_norm", "matrix_norm", "factorized_matmul"]

tri_solve = ops.tri_solve
vector_norm = ops.vector_norm
factorized_matmul = ops.factorized_matmul
eigvalsh = ops.eigvalsh
svdvals = ops.svdvals


def cholesky(a, upper=False):
    """The Cholesky factor L of symmetric positive-definite ``a`` (``a = L @ L.mT``), or U with
    ``upper=True``. Factors ``(a + a.mT) / 2`` (as JAX), so its gradient is symmetric."""
    return ops.cholesky(a, upper=upper)


def solve_triangular(a, b, *, lower=True, left=True, unit_diagonal=False):
    """x with ``a @ x = b`` (or ``x @ a = b`` with ``left=False``) for triangular ``a``; the other
    triangle of ``a`` is never read. As ``scipy.linalg.solve_triangular``."""
    return ops.tri_solve(a, b, lower=lower, left=left, unit_diagonal=unit_diagonal)


def solve(a, b):
    """x with ``a @ x = b`` (LU with partial pivoting). ``b`` is a vector only when it is 1-D (as
    NumPy 2); otherwise ``[..., n, k]``, its batch dims broadcasting against ``a``'s."""
    return ops.solve(a, b)


def inv(a):
    """The inverse of square ``a``."""
    return ops.inv(a)


def det(a):
    """The determinant of square ``a``. Its derivatives are not finite where ``a`` is singular (they
    go through a^-1; JAX's cofactor rule is finite at rank n - 1)."""
    return ops.det(a)


def slogdet(a):
    """(sign, log|det a|), as ``numpy.linalg.slogdet``: finite where ``det`` over- or underflows."""
    return ops.det_sign(a), ops.logabsdet(a)


def qr(a, mode="reduced"):
    """(Q, R) with ``a = Q @ R`` (Householder, as LAPACK: R's diagonal may be negative). ``mode``:
    ``"reduced"`` (Q [m, k], R [k, n], k = min(m, n)), ``"complete"`` (Q [m, m]) or ``"r"``
    (R alone), as ``numpy.linalg.qr``."""
    if mode == "r":
        return ops.qr_r(a)
    if mode not in ("reduced", "complete"):
        raise TesseraValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}", user_location())
    return ops.qr_q(a, mode=mode), ops.qr_r(a, mode=mode)


def eigh(a):
    """(eigenvalues ascending, eigenvectors as columns) of symmetric ``a``, factored as
    ``(a + a.mT) / 2`` (as JAX), by cyclic Jacobi rotations."""
    return ops.eigvalsh(a), ops.eigh_vectors(a)


def svd(a, full_matrices=False):
    """(U, S, Vh) with ``a = U @ diag(S) @ Vh``, S descending (one-sided Jacobi). Reduced by default
    (k = min(m, n) columns of U and rows of Vh); ``full_matrices=True`` completes U or Vh to square
    orthogonal matrices (an orthonormal basis of the rest, from a complete QR)."""
    u, s, vh = ops.svd_u(a), ops.svdvals(a), ops.svd_vh(a)
    if full_matrices:
        m, n = a.shape[-2], a.shape[-1]
        if m > n:
            u = ops.concat([u, ops.qr_q(u, mode="complete")[..., :, n:]], axis=-1)
        elif n > m:
            vt = ops.transpose(vh, perm=list(range(vh.ndim - 2)) + [vh.ndim - 1, vh.ndim - 2])
            rest = ops.qr_q(vt, mode="complete")[..., :, m:]
            vh = ops.concat([vh, ops.transpose(rest, perm=list(range(rest.ndim - 2)) + [rest.ndim - 1, rest.ndim - 2])],
                            axis=-2)
    return u, s, vh


def lstsq(a, b, rcond=None):
    """The minimum-norm least-squares solution x of ``a @ x = b`` (singular values below ``rcond``
    times the largest count as zero; default eps * max(m, n), NumPy's). Only the solution, not
    NumPy's (x, residuals, rank, s)."""
    return ops.lstsq(a, b, rcond=-1.0 if rcond is None else float(rcond))


def pinv(a, rcond=None):
    """The Moore-Penrose pseudo-inverse of ``a`` [..., m, n]: ``lstsq(a, I)``."""
    from .functions import eye
    m = a.shape[-2]
    return ops.lstsq(a, ops.broadcast_to(eye(m, dtype=a.dtype), shape=tuple(a.shape[:-2]) + (m, m)),
                     rcond=-1.0 if rcond is None else float(rcond))


_MATRIX_ORDS = {"fro": "fro", "nuc": "nuc", 1: "1", -1: "-1", 2: "2", -2: "-2", math.inf: "inf", -math.inf: "-inf"}


def matrix_norm(x, ord="fro", keepdims=False):
    """A norm of each matrix of ``x`` [..., m, n]: ``"fro"``, ``"nuc"``, 2 / -2 (largest / smallest
    singular value), 1 / -1 (column sums of |x|), inf / -inf (row sums), as
    ``torch.linalg.matrix_norm``."""
    if ord not in _MATRIX_ORDS:
        raise TesseraValueError(f"matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, got {ord!r}",
                                user_location())
    return ops.matrix_norm(x, ord=_MATRIX_ORDS[ord], keepdims=keepdims)


def norm(x, ord=None, axis=None, keepdims=False):
    """``numpy.linalg.norm``: without ``axis``, the 2-norm of the flattened ``x`` (``ord=None``) or
    the vector / matrix norm of a 1-D / 2-D ``x``; an int ``axis`` gives vector norms, a pair of
    axes matrix norms."""
    if axis is None:
        if ord is None:
            return ops.vector_norm(x)
        axis = tuple(range(x.ndim))
        if len(axis) not in (1, 2):
            raise TesseraValueError(f"norm: ord={ord!r} needs a 1-D or 2-D x or an axis, got shape {tuple(x.shape)}",
                                    user_location())
    if isinstance(axis, int) or len(axis) == 1:
        return ops.vector_norm(x, ord=2.0 if ord is None else float(ord), axis=axis, keepdims=keepdims)
    if len(axis) != 2:
        raise TesseraValueError(f"norm: axis must be an int or a pair, got {axis!r}", user_location())
    moved = ops.transpose(x, perm=[d for d in range(x.ndim) if d not in _normal(axis, x.ndim)] + _normal(axis, x.ndim))
    y = matrix_norm(moved, "fro" if ord is None else ord)
    if keepdims:
        for d in sorted(_normal(axis, x.ndim)):
            y = ops.expand_dims(y, axis=d)
    return y


def _normal(axes, ndim):
    return [a % ndim for a in axes]
