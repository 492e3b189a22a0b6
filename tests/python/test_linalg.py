"""Linear algebra (tessera.linalg) against NumPy/SciPy (LAPACK) in float64 and float32, on batches
and awkward sizes (0, 1, primes), with gradients against torch.autograd. Tolerances: float64
results agree to 1e-10 relative (the matrices below have condition numbers under about 1e3, so
backward-stable algorithms lose at most cond * n * eps ~ 1e-11); float32 to 1e-4."""
import numpy as np
import pytest
import scipy.linalg as sla
import torch

import tessera as ts
from tessera import linalg as la

RNG = np.random.default_rng()
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-4)}


def general(*shape):  # well-conditioned: a standard normal matrix plus a diagonal shift
    a = RNG.standard_normal(shape)
    return a + 2 * np.sqrt(shape[-1]) * np.eye(shape[-1])


def spd(*shape):
    x = RNG.standard_normal(shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


SQUARE = [(0, 0), (1, 1), (2, 2), (5, 5), (13, 13), (3, 7, 7), (2, 2, 4, 4), (67, 67)]


@pytest.mark.parametrize("shape", SQUARE)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cholesky_matches_numpy(shape, dtype):
    a = spd(*shape).astype(dtype)
    got = la.cholesky(ts.tensor(a)).numpy()
    np.testing.assert_allclose(got, np.linalg.cholesky(a.astype(np.float64)), **TOL[dtype])
    up = la.cholesky(ts.tensor(a), upper=True).numpy()
    np.testing.assert_allclose(up, np.swapaxes(got, -1, -2), rtol=0, atol=0)


def test_cholesky_factors_the_symmetric_part_and_rejects_indefinite_matrices():
    a = spd(6, 6)
    skew = RNG.standard_normal((6, 6))
    got = la.cholesky(ts.tensor(a + skew - skew.T)).numpy()  # (a + a^T)/2 = a
    np.testing.assert_allclose(got, np.linalg.cholesky(a), rtol=1e-12, atol=1e-12)
    bad = np.diag([1.0, 2.0, -1.0, 3.0])
    with pytest.raises(ts.TesseraValueError, match=r"cholesky: a f64\[4,4\] is not positive definite"):
        la.cholesky(ts.tensor(bad)).numpy()


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [False, True])
def test_tri_solve_matches_scipy(lower, left, unit):
    for ashape, bshape in [((1, 1), (1, 3)), ((7, 7), (7, 1)), ((5, 5), (5, 11)), ((3, 6, 6), (6, 2)),
                           ((6, 6), (2, 6, 70)), ((0, 0), (0, 4))]:
        a, n = general(*ashape), ashape[-1]
        b = RNG.standard_normal(bshape if left else bshape[:-2] + (bshape[-1], bshape[-2]))
        got = la.solve_triangular(ts.tensor(a), ts.tensor(b), lower=lower, left=left, unit_diagonal=unit).numpy()
        t = np.tril(a) if lower else np.triu(a)
        if unit:
            t = t - t * np.eye(n) + np.eye(n)
        want = np.linalg.solve(t, b) if left else np.swapaxes(np.linalg.solve(np.swapaxes(t, -1, -2),
                                                                             np.swapaxes(b, -1, -2)), -1, -2)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10, err_msg=f"{ashape} {bshape}")
    a2 = general(4, 4)
    x = la.solve_triangular(ts.tensor(a2), ts.tensor(np.eye(4)), lower=lower).numpy()
    np.testing.assert_allclose(x, sla.solve_triangular(a2, np.eye(4), lower=lower), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_solve_matches_numpy(dtype):
    for ashape, bshape in [((1, 1), (1,)), ((5, 5), (5,)), ((13, 13), (13, 3)), ((3, 4, 4), (4, 2)),
                           ((2, 1, 3, 3), (4, 3, 5)), ((4, 6, 6), (6,)), ((0, 0), (0, 2)), ((2, 0, 0), (0,))]:
        a, b = general(*ashape).astype(dtype), RNG.standard_normal(bshape).astype(dtype)
        got = la.solve(ts.tensor(a), ts.tensor(b)).numpy()
        want = np.linalg.solve(a.astype(np.float64), b if b.ndim > 1 else b[:, None])
        want = want if b.ndim > 1 else want[..., 0]
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOL[dtype], err_msg=f"{ashape} {bshape}")


def test_solve_pivots_and_promotes():
    a = np.array([[0.0, 2.0, 1.0], [1.0, 0.0, 0.0], [3.0, 1.0, 0.0]])  # a zero leading pivot
    b = RNG.standard_normal((3, 2)).astype(np.float32)
    got = la.solve(ts.tensor(a), ts.tensor(b))
    assert got.dtype == ts.float64
    np.testing.assert_allclose(got.numpy(), np.linalg.solve(a, b), rtol=1e-13, atol=1e-13)


def test_singular_matrices():
    s = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(ts.TesseraValueError, match=r"solve: a f64\[2,2\] is singular"):
        la.solve(ts.tensor(s), ts.tensor(np.ones(2))).numpy()
    with pytest.raises(ts.TesseraValueError, match=r"inv: a f64\[2,2\] is singular"):
        la.inv(ts.tensor(s)).numpy()
    z = np.zeros((3, 3))
    assert la.det(ts.tensor(s)).item() == 0.0 and la.det(ts.tensor(z)).item() == 0.0
    sign, logabs = la.slogdet(ts.tensor(s))
    assert sign.item() == 0.0 and logabs.item() == -np.inf


@pytest.mark.parametrize("shape", SQUARE)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inv_det_slogdet_match_numpy(shape, dtype):
    a = general(*shape).astype(dtype)
    a64 = a.astype(np.float64)
    np.testing.assert_allclose(la.inv(ts.tensor(a)).numpy(), np.linalg.inv(a64), **TOL[dtype])
    sign, logabs = la.slogdet(ts.tensor(a))
    want_sign, want_log = np.linalg.slogdet(a64)
    np.testing.assert_array_equal(sign.numpy(), want_sign)
    np.testing.assert_allclose(logabs.numpy(), want_log, **TOL[dtype])
    if shape[-1] <= 13:  # the determinant itself overflows nothing here
        np.testing.assert_allclose(la.det(ts.tensor(a)).numpy(), np.linalg.det(a64), rtol=TOL[dtype]["rtol"] * 10)


def test_det_sign_follows_row_swaps():
    p = np.eye(5)[[1, 0, 2, 4, 3]]  # two swaps: +1
    assert la.det(ts.tensor(p)).item() == 1.0
    assert la.det(ts.tensor(p[[1, 0, 2, 3, 4]])).item() == -1.0
    big = np.diag(np.full(400, 10.0))  # det = 1e400 overflows; slogdet does not
    sign, logabs = la.slogdet(ts.tensor(big))
    assert sign.item() == 1.0 and logabs.item() == pytest.approx(400 * np.log(10.0), rel=1e-14)


@pytest.mark.parametrize("ord", [None, 1, 2, np.inf, -np.inf, 0, 3, 0.5])
def test_vector_norms_match_numpy(ord):
    x = RNG.standard_normal((4, 7))
    x[0, 2] = 0.0
    for axis in [0, 1, -1]:
        np.testing.assert_allclose(la.norm(ts.tensor(x), ord=ord, axis=axis).numpy(),
                                   np.linalg.norm(x, ord=ord, axis=axis), rtol=1e-13)
    np.testing.assert_allclose(la.norm(ts.tensor(x[1]), ord=ord).numpy(), np.linalg.norm(x[1], ord=ord), rtol=1e-13)
    kept = la.vector_norm(ts.tensor(x), ord=2.0 if ord is None else float(ord), axis=1, keepdims=True)
    assert kept.shape == (4, 1)


@pytest.mark.parametrize("ord", [None, "fro", 1, -1, np.inf, -np.inf])
def test_matrix_norms_match_numpy(ord):
    x = RNG.standard_normal((3, 5, 4))
    got = la.matrix_norm(ts.tensor(x), "fro" if ord is None else ord).numpy()
    np.testing.assert_allclose(got, np.linalg.norm(x, ord=ord, axis=(-2, -1)), rtol=1e-13)
    np.testing.assert_allclose(la.norm(ts.tensor(x[0]), ord=ord).numpy(), np.linalg.norm(x[0], ord=ord), rtol=1e-13)
    np.testing.assert_allclose(la.norm(ts.tensor(x), ord=ord, axis=(0, 2), keepdims=True).numpy(),
                               np.linalg.norm(x, ord=ord, axis=(0, 2), keepdims=True), rtol=1e-13)
    h = ts.tensor(x.astype(np.float32)).astype(ts.bfloat16)
    assert la.matrix_norm(h).dtype == ts.bfloat16


def test_factorized_matmul():
    x, u, v = RNG.standard_normal((2, 5, 9)), RNG.standard_normal((9, 3)), RNG.standard_normal((3, 7))
    got = la.factorized_matmul(ts.tensor(x), ts.tensor(u), ts.tensor(v)).numpy()
    np.testing.assert_allclose(got, x @ (u @ v), rtol=1e-12, atol=1e-12)


def test_bad_input_names_the_op_and_shapes():
    with pytest.raises(ts.ShapeError, match=r"solve: needs square matrices, got f64\[3,4\]"):
        la.solve(ts.tensor(np.ones((3, 4))), ts.tensor(np.ones(3)))
    with pytest.raises(ts.ShapeError, match=r"solve: a f64\[3,3\] and b f64\[4\] do not match"):
        la.solve(ts.tensor(np.eye(3)), ts.tensor(np.ones(4)))
    with pytest.raises(ts.DTypeError, match=r"cholesky: needs float32 or float64 matrices, got bf16\[2,2\]"):
        la.cholesky(ts.tensor(np.eye(2, dtype=np.float32)).astype(ts.bfloat16))
    with pytest.raises(ts.DTypeError, match=r"det: needs float32 or float64"):
        la.det(ts.tensor(np.eye(2, dtype=np.int64)))
    with pytest.raises(ts.ShapeError, match=r"tri_solve: a f64\[3,3\] and b f64\[2,3\] do not match: b's rows"):
        la.solve_triangular(ts.tensor(np.eye(3)), ts.tensor(np.ones((2, 3))))
    with pytest.raises(ts.TesseraValueError, match="matrix_norm: ord must be 'fro', 'nuc'"):
        la.matrix_norm(ts.tensor(np.eye(3)), 3)
    with pytest.raises(ts.TesseraValueError, match="qr: mode must be"):
        la.qr(ts.tensor(np.eye(3)), mode="full")
    with pytest.raises(ts.ShapeError, match=r"lstsq: a f64\[4,3\] and b f64\[3\] do not match"):
        la.lstsq(ts.tensor(np.ones((4, 3))), ts.tensor(np.ones(3)))


def test_jit_and_vmap():
    a, b = general(4, 5, 5), RNG.standard_normal((4, 5))
    f = ts.jit(lambda a, b: la.solve(a, b[..., None])[..., 0] + la.det(a)[:, None])
    want = np.linalg.solve(a, b[..., None])[..., 0] + np.linalg.det(a)[:, None]
    np.testing.assert_allclose(f(ts.tensor(a), ts.tensor(b)).numpy(), want, rtol=1e-10)
    with pytest.raises(ts.ShapeError, match=r"b's rows must be n = 5"):  # b [4, 5] is a matrix (NumPy 2)
        la.solve(ts.tensor(a), ts.tensor(b))
    v = ts.vmap(lambda a, b: la.solve(a, b))(ts.tensor(a), ts.tensor(b))
    np.testing.assert_allclose(v.numpy(), np.linalg.solve(a, b[..., None])[..., 0], rtol=1e-10)
    w = ts.vmap(lambda b: la.solve_triangular(ts.tensor(a[0]), b), in_axes=0)(ts.tensor(RNG.standard_normal((3, 5, 2))))
    assert w.shape == (3, 5, 2)


def _torch_grads(fn, *arrays):
    ts_args = [torch.tensor(x, requires_grad=True) for x in arrays]
    out = fn(*ts_args)
    w = RNG.standard_normal(tuple(out.shape))
    (out * torch.tensor(w)).sum().backward()
    return w, [t.grad.numpy() for t in ts_args]


@pytest.mark.parametrize("case", ["cholesky", "cholesky_upper", "solve", "solve_vec", "inv", "det", "logabsdet",
                                  "tri_solve", "tri_solve_right"])
def test_gradients_match_torch(case):
    n = 5
    x, a, b = RNG.standard_normal((2, n, n)), general(2, n, n), RNG.standard_normal((2, n, 3))
    fns = {
        "cholesky": ((lambda x: la.cholesky(x @ x.mT + n * ts.eye(n, dtype=ts.float64))),
                     (lambda x: torch.linalg.cholesky(x @ x.mT + n * torch.eye(n, dtype=torch.float64))), [x]),
        "cholesky_upper": ((lambda x: la.cholesky(x @ x.mT + n * ts.eye(n, dtype=ts.float64), upper=True)),
                           (lambda x: torch.linalg.cholesky(x @ x.mT + n * torch.eye(n, dtype=torch.float64),
                                                            upper=True)), [x]),
        "solve": (la.solve, torch.linalg.solve, [a, b]),
        "solve_vec": (la.solve, torch.linalg.solve, [a[0], b[0, :, 0]]),
        "inv": (la.inv, torch.linalg.inv, [a]),
        "det": (la.det, torch.linalg.det, [a]),
        "logabsdet": ((lambda a: la.slogdet(a)[1]), (lambda a: torch.linalg.slogdet(a)[1]), [a]),
        "tri_solve": ((lambda a, b: la.solve_triangular(a, b, lower=False)),
                      (lambda a, b: torch.linalg.solve_triangular(a, b, upper=True)), [a, b]),
        "tri_solve_right": ((lambda a, b: la.solve_triangular(a, b, left=False, unit_diagonal=True)),
                            (lambda a, b: torch.linalg.solve_triangular(a, b, upper=False, left=False,
                                                                        unitriangular=True)),
                            [a, np.swapaxes(b, -1, -2)]),
    }
    f, tf, args = fns[case]
    w, want = _torch_grads(tf, *args)
    got = ts.grad(lambda *xs: ts.sum(f(*xs) * ts.tensor(w)), argnums=tuple(range(len(args))))(
        *[ts.tensor(v) for v in args])
    for g, t in zip(got, want):
        np.testing.assert_allclose(g.numpy(), t, rtol=1e-9, atol=1e-10, err_msg=case)


def test_second_derivative_of_logabsdet():
    # d/dA log|det A| = A^-T; its derivative along E is -(A^-1 E A^-1)^T.
    a, e = general(4, 4), RNG.standard_normal((4, 4))
    g = ts.grad(lambda a: la.slogdet(a)[1])
    _, tangent = ts.jvp(g, [ts.tensor(a)], [ts.tensor(e)])
    ai = np.linalg.inv(a)
    np.testing.assert_allclose(tangent.numpy(), -(ai @ e @ ai).T, rtol=1e-10, atol=1e-12)


RECT = [(0, 0), (1, 1), (1, 4), (4, 1), (5, 3), (3, 5), (7, 7), (2, 11, 6), (2, 3, 4, 9), (40, 23)]


@pytest.mark.parametrize("shape", RECT)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_qr_matches_numpy(shape, dtype):
    a = RNG.standard_normal(shape).astype(dtype)
    for mode in ["reduced", "complete"]:
        q, r = la.qr(ts.tensor(a), mode=mode)
        wq, wr = np.linalg.qr(a.astype(np.float64), mode=mode)  # the same Householder signs as LAPACK
        np.testing.assert_allclose(q.numpy(), wq, **TOL[dtype], err_msg=mode)
        np.testing.assert_allclose(r.numpy(), wr, **TOL[dtype], err_msg=mode)
    np.testing.assert_allclose(la.qr(ts.tensor(a), mode="r").numpy(), np.linalg.qr(a.astype(np.float64), mode="r"),
                               **TOL[dtype])


@pytest.mark.parametrize("shape", SQUARE[:-1] + [(40, 40)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_eigh_matches_numpy(shape, dtype):
    a = RNG.standard_normal(shape)
    a = (a + np.swapaxes(a, -1, -2)).astype(dtype)
    w, v = la.eigh(ts.tensor(a))
    ww, wv = np.linalg.eigh(a.astype(np.float64))
    scale = max(1.0, float(np.abs(ww).max(initial=0)))
    np.testing.assert_allclose(w.numpy(), ww, rtol=0, atol=TOL[dtype]["atol"] * scale)
    vv = v.numpy().astype(np.float64)  # eigenvectors up to sign: compare the reconstruction and V^T V
    np.testing.assert_allclose(vv @ (ww[..., :, None] * np.swapaxes(vv, -1, -2)), a, rtol=0,
                               atol=TOL[dtype]["atol"] * scale * 10)
    np.testing.assert_allclose(np.swapaxes(vv, -1, -2) @ vv, np.broadcast_to(np.eye(shape[-1]), vv.shape), rtol=0,
                               atol=TOL[dtype]["atol"] * 10)
    np.testing.assert_allclose(np.abs(np.sum(vv * wv, axis=-2)), 1.0, atol=TOL[dtype]["atol"] * 100)  # same vectors


@pytest.mark.parametrize("shape", RECT)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_svd_matches_numpy(shape, dtype):
    a = RNG.standard_normal(shape).astype(dtype)
    u, s, vh = la.svd(ts.tensor(a))
    wu, ws, wvh = np.linalg.svd(a.astype(np.float64), full_matrices=False)
    np.testing.assert_allclose(s.numpy(), ws, **TOL[dtype])
    np.testing.assert_allclose(la.svdvals(ts.tensor(a)).numpy(), ws, **TOL[dtype])
    un, vn = u.numpy().astype(np.float64), vh.numpy().astype(np.float64)
    np.testing.assert_allclose((un * ws[..., None, :]) @ vn, a, **TOL[dtype])
    k = min(shape[-2:])
    eye = np.broadcast_to(np.eye(k), tuple(shape[:-2]) + (k, k))
    np.testing.assert_allclose(np.swapaxes(un, -1, -2) @ un, eye, atol=TOL[dtype]["atol"])
    np.testing.assert_allclose(vn @ np.swapaxes(vn, -1, -2), eye, atol=TOL[dtype]["atol"])
    fu, _, fvh = la.svd(ts.tensor(a), full_matrices=True)
    m, n = shape[-2:]
    assert fu.shape[-2:] == (m, m) and fvh.shape[-2:] == (n, n)
    np.testing.assert_allclose(np.swapaxes(fu.numpy(), -1, -2) @ fu.numpy(),
                               np.broadcast_to(np.eye(m), tuple(shape[:-2]) + (m, m)), atol=TOL[dtype]["atol"])


def test_svd_of_rank_deficient_and_lstsq():
    x = RNG.standard_normal((8, 2)) @ RNG.standard_normal((2, 5))  # rank 2
    s = la.svdvals(ts.tensor(x)).numpy()
    np.testing.assert_allclose(s, np.linalg.svd(x, compute_uv=False), rtol=1e-10, atol=1e-12)
    u, s, vh = la.svd(ts.tensor(x))
    assert np.isfinite(u.numpy()).all()
    b = RNG.standard_normal((8, 3))
    np.testing.assert_allclose(la.lstsq(ts.tensor(x), ts.tensor(b)).numpy(), np.linalg.lstsq(x, b, rcond=None)[0],
                               rtol=1e-9, atol=1e-10)
    a = RNG.standard_normal((2, 9, 4))
    bv = RNG.standard_normal(9)
    np.testing.assert_allclose(la.lstsq(ts.tensor(a[0]), ts.tensor(bv)).numpy(), np.linalg.lstsq(a[0], bv)[0],
                               rtol=1e-10)
    np.testing.assert_allclose(la.pinv(ts.tensor(a)).numpy(), np.linalg.pinv(a), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("ord", [2, -2, "nuc"])
def test_spectral_and_nuclear_norms(ord):
    x = RNG.standard_normal((3, 6, 4))
    np.testing.assert_allclose(la.matrix_norm(ts.tensor(x), ord).numpy(), np.linalg.norm(x, ord=ord, axis=(-2, -1)),
                               rtol=1e-12)
    np.testing.assert_allclose(la.norm(ts.tensor(x[0]), ord=ord).numpy(), np.linalg.norm(x[0], ord=ord), rtol=1e-12)


@pytest.mark.parametrize("case", ["qr_q", "qr_r", "qr_square", "eigvalsh", "eigh_vectors", "svdvals", "svd_u_tall",
                                  "svd_vh_tall", "svd_u_wide", "svd_vh_wide", "lstsq", "nuc"])
def test_decomposition_gradients_match_torch(case):
    # Sign-invariant functions of the vectors (eigen/singular vectors are defined up to sign):
    # u * u, and products like U @ diag(S) that torch and Tessera agree on.
    a4, a53, a35 = RNG.standard_normal((2, 4, 4)), RNG.standard_normal((2, 5, 3)), RNG.standard_normal((3, 5))
    sym4 = a4 + np.swapaxes(a4, -1, -2)
    tl, tt = la, torch.linalg
    cases = {
        "qr_q": (lambda a: tl.qr(a)[0], lambda a: tt.qr(a)[0], a53),
        "qr_r": (lambda a: tl.qr(a)[1], lambda a: tt.qr(a)[1], a53),
        "qr_square": (lambda a: tl.qr(a)[0] @ tl.qr(a)[1] * 2, lambda a: tt.qr(a)[0] @ tt.qr(a)[1] * 2, a4),
        "eigvalsh": (lambda a: tl.eigh(a)[0], lambda a: tt.eigh(a)[0], sym4),
        "eigh_vectors": (lambda a: tl.eigh(a)[1] ** 2, lambda a: tt.eigh(a)[1] ** 2, sym4),
        "svdvals": (tl.svdvals, tt.svdvals, a53),
        "svd_u_tall": (lambda a: tl.svd(a)[0] ** 2, lambda a: tt.svd(a, full_matrices=False)[0] ** 2, a53),
        "svd_vh_tall": (lambda a: tl.svd(a)[2] ** 2, lambda a: tt.svd(a, full_matrices=False)[2] ** 2, a53),
        "svd_u_wide": (lambda a: tl.svd(a)[0] ** 2, lambda a: tt.svd(a, full_matrices=False)[0] ** 2, a35),
        "svd_vh_wide": (lambda a: tl.svd(a)[2] ** 2, lambda a: tt.svd(a, full_matrices=False)[2] ** 2, a35),
        "lstsq": (lambda a: tl.lstsq(a, a[..., :2] * 1.5), lambda a: torch.linalg.pinv(a) @ (a[..., :2] * 1.5), a53),
        "nuc": (lambda a: tl.matrix_norm(a, "nuc"), lambda a: tt.matrix_norm(a, "nuc"), a53),
    }
    f, tf, x = cases[case]
    if case.startswith("eigh"):  # torch reads the lower triangle; Tessera (a + a^T)/2: compare on symmetric input
        f0, tf0 = f, tf
        f = lambda a: f0((a + a.mT) / 2)  # noqa: E731
        tf = lambda a: tf0((a + a.mT) / 2)  # noqa: E731
    w, (want,) = _torch_grads(tf, x)
    (got,) = ts.grad(lambda a: ts.sum(f(a) * ts.tensor(w)), argnums=(0,))(ts.tensor(x))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-8, atol=1e-9, err_msg=case)


def test_gpu_targets_refuse_the_kernels_with_a_clear_error():
    ir = "module @m {\nfunc @main(%0: f64[3,3]) -> (f64[3,3]) {\n  %1 = inv(%0) : f64[3,3]\n  return(%1)\n}\n}\n"
    assert "asm" in ts.compile_for_target(ir.replace("inv(%0)", "tril(%0)"), "nvptx:sm_90")
    with pytest.raises(ts.CompileError, match=r"getrf \(linear algebra\) does not run on GPU targets yet"):
        ts.compile_for_target(ir, "nvptx:sm_90")


def _fd_check(f, x, rtol=1e-6):
    """<grad f(x), d> and the forward derivative along d, against central differences."""
    d = RNG.standard_normal(x.shape)
    eps = 1e-6
    fd = (f(ts.tensor(x + eps * d)).item() - f(ts.tensor(x - eps * d)).item()) / (2 * eps)
    g = ts.grad(f)(ts.tensor(x)).numpy()
    _, t = ts.jvp(f, [ts.tensor(x)], [ts.tensor(d)])
    assert np.sum(g * d) == pytest.approx(fd, rel=rtol, abs=1e-8)
    assert t.item() == pytest.approx(fd, rel=rtol, abs=1e-8)


def test_lstsq_and_pinv_gradients_where_singular_values_repeat():
    b = RNG.standard_normal((4, 2))
    w = RNG.standard_normal((4, 4))
    _fd_check(lambda a: ts.sum(la.pinv(a) * ts.tensor(w)), np.eye(4))
    _fd_check(lambda a: ts.sum(la.lstsq(a, ts.tensor(b)) ** 2), 2 * np.eye(4))
    q, _ = np.linalg.qr(RNG.standard_normal((5, 3)))  # orthonormal columns: three singular values of 1
    b5 = ts.tensor(RNG.standard_normal(5))
    _fd_check(lambda a: ts.sum(la.lstsq(a, b5)), q)
    a = RNG.standard_normal((3, 6, 4))
    bv = RNG.standard_normal(6)  # one right-hand side for every matrix of the batch
    want = np.stack([np.linalg.lstsq(m, bv, rcond=None)[0] for m in a])
    np.testing.assert_allclose(la.lstsq(ts.tensor(a), ts.tensor(bv)).numpy(), want, rtol=1e-10)


def test_det_derivatives_at_a_singular_matrix_are_not_an_error():
    s = np.array([[1.0, 2.0], [2.0, 4.0]])
    ts.grad(la.det)(ts.tensor(s)).numpy()
    ts.jvp(la.det, [ts.tensor(s)], [ts.tensor(np.eye(2))])[1].numpy()


def test_norm_gradients_over_several_axes():
    x = RNG.standard_normal((3, 4, 5))
    _fd_check(lambda x: ts.sum(la.matrix_norm(x)), x)
    _fd_check(lambda x: ts.sum(la.vector_norm(x, ord=3.0, axis=(0, 2))), x)
    _fd_check(lambda x: ts.sum(ts.max(x, axis=(0, 1))), x)


def test_forward_mode_of_kept_composites():
    # concat with an integer operand: the integer part has no tangent
    _, t = ts.jvp(lambda z: ts.concat([z, ts.tensor([7.0, 7.0])], axis=0), [ts.tensor([1.0, 2.0])],
                  [ts.tensor([1.0, 1.0])])
    assert t.tolist() == [1.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("scale", [1e-25, 1e20])
def test_qr_and_svd_of_tiny_and_huge_float32_matrices(scale):
    a = RNG.standard_normal((6, 4))
    x = (a * scale).astype(np.float32)
    s = la.svdvals(ts.tensor(x)).numpy()
    np.testing.assert_allclose(s / scale, np.linalg.svd(a, compute_uv=False), rtol=1e-4)
    q, r = la.qr(ts.tensor(x))
    np.testing.assert_allclose((q.numpy().astype(np.float64) @ r.numpy()) / scale, a, rtol=1e-4, atol=1e-4)
