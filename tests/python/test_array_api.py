"""tessera.array_api, the array API standard (2023.12) namespace: its functions against NumPy 2
(which follows the standard) on random inputs, the standard's type promotion and inspection
rules, and libraries written against the standard (scikit-learn, SciPy) running on tensors.
The external conformance suite's results are in docs/array_api.md."""
import os

import numpy as np
import pytest

import tessera as ts

xp = ts.ones(1).__array_namespace__()
RNG = np.random.default_rng(5)


def test_namespace_and_inspection():
    assert xp is ts.array_api and xp.__array_api_version__ == "2023.12"
    info = xp.__array_namespace_info__()
    assert info.capabilities() == {"boolean indexing": False, "data-dependent shapes": False}
    assert info.default_dtypes()["real floating"] == xp.float32 and info.default_dtypes()["indexing"] == xp.int64
    assert set(info.dtypes(kind="integral")) == {"int8", "int32", "int64", "uint8"}
    assert xp.isdtype(xp.float64, "real floating") and xp.isdtype(xp.uint8, ("bool", "unsigned integer"))
    assert not xp.isdtype(xp.int8, "real floating") and not xp.isdtype(xp.float32, "complex floating")


def test_type_promotion_follows_the_standard():
    # the standard's table for the dtypes Tessera has (int8 + uint8 -> int16 there; int32 here)
    pairs = {("int8", "int32"): "int32", ("int32", "int64"): "int64", ("uint8", "int64"): "int64",
             ("float32", "float64"): "float64", ("bool", "int8"): "int8", ("bool", "bool"): "bool",
             ("int8", "uint8"): "int32"}
    for (a, b), want in pairs.items():
        assert xp.result_type(getattr(xp, a), getattr(xp, b)) == getattr(xp, want), (a, b)
        assert xp.result_type(xp.ones(1, dtype=getattr(xp, a)), getattr(xp, b)) == getattr(xp, want)
    assert xp.result_type(xp.ones(2, dtype=xp.float32), 1.0) == xp.float32  # Python scalars are weak
    assert xp.can_cast(xp.int8, xp.int64) and not xp.can_cast(xp.int64, xp.int8)
    assert not xp.can_cast(xp.float32, xp.int64) and xp.can_cast(xp.bool, xp.float32)
    assert xp.finfo(xp.float64).eps == np.finfo(np.float64).eps and xp.iinfo(xp.uint8).max == 255


UNARY = ["abs", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh", "exp", "expm1", "floor",
         "isfinite", "isinf", "isnan", "log", "log1p", "log2", "log10", "negative", "positive", "reciprocal", "round",
         "sign", "signbit", "sin", "sinh", "sqrt", "square", "tan", "tanh", "trunc"]
BINARY = ["add", "atan2", "copysign", "divide", "equal", "floor_divide", "greater", "greater_equal", "hypot", "less",
          "less_equal", "logaddexp", "maximum", "minimum", "multiply", "not_equal", "pow", "remainder", "subtract"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_functions_match_numpy(name):
    x = RNG.uniform(-0.9, 0.9, 50) if name in ("acos", "asin", "atanh") else RNG.uniform(1.1, 5, 50) \
        if name == "acosh" else RNG.uniform(0.1, 5, 50) if name.startswith("log") or name == "sqrt" \
        else RNG.standard_normal(50) * 3
    got = getattr(xp, name)(xp.asarray(x)).numpy()
    np.testing.assert_allclose(got, getattr(np, name)(x), rtol=5e-15, atol=1e-300)


@pytest.mark.parametrize("name", BINARY)
def test_binary_functions_match_numpy(name):
    a, b = RNG.standard_normal(40) * 3, RNG.standard_normal(40) * 3
    if name == "pow":
        a = np.abs(a)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(getattr(xp, name)(xp.asarray(a), xp.asarray(b)).numpy(), getattr(np, name)(a, b),
                                   rtol=5e-15)


def test_manipulation_and_statistics_match_numpy():
    x = RNG.standard_normal((3, 4, 5))
    t = xp.asarray(x)
    checks = [
        (xp.permute_dims(t, (2, 0, 1)), np.permute_dims(x, (2, 0, 1))),
        (xp.matrix_transpose(t), np.matrix_transpose(x)),
        (xp.moveaxis(t, (0, 1), (2, 0)), np.moveaxis(x, (0, 1), (2, 0))),
        (xp.concat([t, t], axis=None), np.concat([x, x], axis=None)),
        (xp.stack([t, t], axis=-1), np.stack([x, x], axis=-1)),
        (xp.flip(t, axis=(0, 2)), np.flip(x, axis=(0, 2))),
        (xp.roll(t, 3, axis=(0, 2)), np.roll(x, 3, axis=(0, 2))),
        (xp.repeat(t, xp.asarray([1, 0, 2, 1]), axis=1), np.repeat(x, [1, 0, 2, 1], axis=1)),
        (xp.tile(t, (2, 1, 1)), np.tile(x, (2, 1, 1))),
        (xp.cumulative_sum(t, axis=1), np.cumulative_sum(x, axis=1)),
        (xp.cumulative_sum(t, axis=2, include_initial=True), np.cumulative_sum(x, axis=2, include_initial=True)),
        (xp.cumulative_prod(t, axis=0), np.cumulative_prod(x, axis=0)),
        (xp.diff(t, axis=1, n=2), np.diff(x, axis=1, n=2)),
        (xp.std(t, axis=(0, 2), correction=1), np.std(x, axis=(0, 2), ddof=1)),
        (xp.var(t, axis=1, keepdims=True), np.var(x, axis=1, keepdims=True)),
        (xp.vecdot(t, t, axis=1), np.vecdot(x, x, axis=1)),
        (xp.tensordot(t, xp.asarray(x[0]), axes=([1, 2], [0, 1])), np.tensordot(x, x[0], axes=([1, 2], [0, 1]))),
        (xp.sort(t, axis=-1), np.sort(x, axis=-1)),
        (xp.argsort(t, axis=0, descending=True), np.argsort(-x, axis=0, stable=True)),
        (xp.count_nonzero(t > 0, axis=1), np.count_nonzero(x > 0, axis=1)),
        (xp.clip(t, -0.5, 0.5), np.clip(x, -0.5, 0.5)),
        (xp.linalg.outer(xp.asarray(x[0, 0]), xp.asarray(x[0, 1])), np.outer(x[0, 0], x[0, 1])),
        (xp.linalg.trace(t[:, :4, :4], offset=1), np.trace(x[:, :4, :4], offset=1, axis1=-2, axis2=-1)),
        (xp.linalg.vector_norm(t, axis=-1, ord=3), np.linalg.vector_norm(x, axis=-1, ord=3)),
        (xp.linalg.matrix_power(t[:, :4, :4], 3), np.linalg.matrix_power(x[:, :4, :4], 3)),
    ]
    for i, (got, want) in enumerate(checks):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12, err_msg=f"check {i}")
    sx = np.sort(x[0, 0])
    np.testing.assert_array_equal(xp.searchsorted(xp.asarray(sx), xp.asarray(x[1, 1]), side="right").numpy(),
                                  np.searchsorted(sx, x[1, 1], side="right"))
    parts = xp.unstack(t, axis=1)
    assert len(parts) == 4 and np.array_equal(parts[2].numpy(), x[:, 2])


def test_data_dependent_shapes_work_eagerly_only():
    x = xp.asarray([[0, 3, 0], [1, 0, 2]])
    for got, want in zip(xp.nonzero(x), np.nonzero(np.array([[0, 3, 0], [1, 0, 2]]))):
        np.testing.assert_array_equal(got.numpy(), want)
    v = xp.asarray([1.0, -2.0, 3.0, -4.0])
    assert v[v > 0].tolist() == [1.0, 3.0]
    v[v < 0] = 0.0
    assert v.tolist() == [1.0, 0.0, 3.0, 0.0]
    with pytest.raises(ts.ShapeError, match="nonzero: needs a tensor of rank >= 1"):
        xp.nonzero(xp.asarray(1.0))
    with pytest.raises(ts.TracingError, match="nonzero: the number of nonzero elements"):
        ts.jit(lambda a: a[a > 0])(v)
    with pytest.raises(ts.TesseraError, match="output shape depends on the data"):
        xp.unique_values(v)


def test_libraries_written_against_the_standard_run_on_tensors():
    pytest.importorskip("array_api_compat")
    if os.environ.get("SCIPY_ARRAY_API") != "1":
        pytest.skip("SciPy's and scikit-learn's array API paths need SCIPY_ARRAY_API=1 before they are imported")
    sklearn = pytest.importorskip("sklearn")
    import scipy.special
    from sklearn.metrics import mean_squared_error, r2_score
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

    X = RNG.standard_normal((20, 3))
    with sklearn.config_context(array_api_dispatch=True):
        for est in (MinMaxScaler, MaxAbsScaler, StandardScaler):
            out = est().fit_transform(xp.asarray(X))
            assert isinstance(out, ts.Tensor)
            np.testing.assert_allclose(out.numpy(), est().fit_transform(X), rtol=1e-13, atol=1e-14)
        y, p = X[:, 0], X[:, 1]
        assert r2_score(xp.asarray(y), xp.asarray(p)) == pytest.approx(r2_score(y, p), rel=1e-13)
        assert mean_squared_error(xp.asarray(y), xp.asarray(p)) == pytest.approx(mean_squared_error(y, p), rel=1e-13)
    np.testing.assert_allclose(scipy.special.logsumexp(xp.asarray(X), axis=0).numpy(),
                               scipy.special.logsumexp(X, axis=0), rtol=1e-14)


def test_linalg_extension_decompositions():
    rng = np.random.default_rng()
    a = rng.standard_normal((3, 5, 5)) + 3 * np.eye(5)
    spd = a @ np.swapaxes(a, -1, -2)
    t, ts_spd = xp.asarray(a), xp.asarray(spd)
    la = xp.linalg
    np.testing.assert_allclose(la.cholesky(ts_spd).numpy(), np.linalg.cholesky(spd), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(la.det(t).numpy(), np.linalg.det(a), rtol=1e-10)
    np.testing.assert_allclose(la.inv(t).numpy(), np.linalg.inv(a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(la.solve(t, t[:, :, :2]).numpy(), np.linalg.solve(a, a[:, :, :2]), rtol=1e-10,
                               atol=1e-12)
    sign, logabs = la.slogdet(t)
    np.testing.assert_allclose(logabs.numpy(), np.linalg.slogdet(a)[1], rtol=1e-12)
    w = la.eigh(ts_spd)
    np.testing.assert_allclose(w.eigenvalues.numpy(), np.linalg.eigvalsh(spd), rtol=1e-10)
    q, r = la.qr(t)
    np.testing.assert_allclose((q.numpy() @ r.numpy()), a, rtol=1e-10, atol=1e-12)
    u, s, vh = la.svd(xp.asarray(a[0, :, :3]))
    assert u.shape == (5, 5) and s.shape == (3,) and vh.shape == (3, 3)  # full_matrices=True, the standard's default
    np.testing.assert_allclose(la.svdvals(t).numpy(), np.linalg.svd(a, compute_uv=False), rtol=1e-10)
    low = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 4))
    assert la.matrix_rank(xp.asarray(low)).item() == 2
    np.testing.assert_allclose(la.pinv(xp.asarray(low)).numpy(), np.linalg.pinv(low), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(la.matrix_norm(t, ord=2).numpy(), np.linalg.norm(a, ord=2, axis=(-2, -1)), rtol=1e-10)
    np.testing.assert_allclose(la.matrix_power(t, -2).numpy(), np.linalg.matrix_power(a, -2), rtol=1e-9)

