"""Sorting and scans (argsort, sort, topk, cumsum, cumprod, cummax, cummin, cumargmax,
cumargmin) against NumPy / PyTorch on fresh random inputs: ties (small integer values), NaN,
every axis, sizes 0, 1, primes and non-powers of two (the bitonic network's padding), reverse
scans; gradients against torch autograd including cumprod with zeros; errors for bad input.
Integer and float64 results are exact or within 1e-12 (sums of a few hundred terms)."""
import numpy as np
import pytest

import tessera as ts

torch = pytest.importorskip("torch")
RNG = np.random.default_rng()
SHAPES = [((0,), 0), ((1,), 0), ((2,), 0), ((7,), 0), ((3, 13), 1), ((13, 3), 0), ((4, 5, 6), 1), ((2, 1000), 1),
          ((3, 0, 2), 1)]


def ties_and_nan(shape, dtype=np.float64):
    x = RNG.integers(-3, 4, shape).astype(dtype)
    if x.size > 2 and np.issubdtype(dtype, np.floating):
        x.flat[RNG.integers(0, x.size, 2)] = np.nan
    return x


@pytest.mark.parametrize("shape, axis", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int64])
def test_argsort_is_stable_and_puts_nan_last(shape, axis, dtype):
    x = ties_and_nan(shape, dtype)
    np.testing.assert_array_equal(ts.argsort(ts.tensor(x), axis=axis).numpy(), np.argsort(x, axis=axis, kind="stable"))
    key = np.where(np.isnan(x), -np.inf, -x.astype(np.float64)) if x.dtype.kind == "f" else -x.astype(np.int64)
    np.testing.assert_array_equal(ts.argsort(ts.tensor(x), axis=axis, descending=True).numpy(),
                                  np.argsort(key, axis=axis, kind="stable"))
    np.testing.assert_array_equal(ts.sort(ts.tensor(x), axis=axis).numpy(), np.sort(x, axis=axis))


def test_sort_matches_torch_descending_and_float16():
    x = RNG.standard_normal((5, 37)).astype(np.float16)
    ref = torch.sort(torch.tensor(x), dim=1, descending=True, stable=True)
    np.testing.assert_array_equal(ts.sort(ts.tensor(x), axis=1, descending=True).numpy(), ref.values.numpy())
    np.testing.assert_array_equal(ts.argsort(ts.tensor(x), axis=1, descending=True).numpy(), ref.indices.numpy())


@pytest.mark.parametrize("largest", [True, False])
def test_topk(largest):
    x = ties_and_nan((6, 50))
    for k in (0, 1, 5, 50):
        v, i = ts.topk(ts.tensor(x), k, axis=1, largest=largest)
        ref = torch.topk(torch.tensor(x), k, dim=1, largest=largest, sorted=True)
        # torch's topk does not promise an order for ties; the stable sort's first k do.
        order = np.argsort(np.where(np.isnan(x), -np.inf, -x) if largest else x, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(i.numpy(), order)
        np.testing.assert_array_equal(v.numpy(), ref.values.numpy())
    with pytest.raises(ts.ShapeError, match="k = 51 is out of range"):
        ts.topk(ts.tensor(x), 51, axis=1)


def reverse_scan(fn, x, axis):
    return np.flip(fn(np.flip(x, axis), axis=axis), axis)


SCANS = {"cumsum": np.cumsum, "cumprod": np.cumprod, "cummax": np.maximum.accumulate,
         "cummin": np.minimum.accumulate}


@pytest.mark.parametrize("name", sorted(SCANS))
@pytest.mark.parametrize("shape, axis", SHAPES)
def test_scans_match_numpy(name, shape, axis):
    x = RNG.uniform(-1.5, 1.5, shape)
    op, ref = getattr(ts, name), SCANS[name]
    np.testing.assert_allclose(op(ts.tensor(x), axis=axis).numpy(), ref(x, axis=axis), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op(ts.tensor(x), axis=axis, reverse=True).numpy(), reverse_scan(ref, x, axis),
                               rtol=1e-12, atol=1e-12)


def test_scan_dtypes_nan_and_indices():
    xi = RNG.integers(-5, 5, (4, 9)).astype(np.int32)
    y = ts.cumsum(ts.tensor(xi), axis=1)
    assert y.dtype == ts.int64  # as NumPy: integer sums in int64
    np.testing.assert_array_equal(y.numpy(), np.cumsum(xi, axis=1))
    assert ts.cumsum(ts.tensor(xi > 0), axis=0).dtype == ts.int64
    x = ties_and_nan((3, 11))
    np.testing.assert_array_equal(ts.cummax(ts.tensor(x), axis=1).numpy(), np.maximum.accumulate(x, axis=1))
    tv = torch.tensor(np.nan_to_num(x))
    for name in ("cummax", "cummin"):
        got = getattr(ts, "cumarg" + name[3:])(ts.tensor(np.nan_to_num(x)), axis=1).numpy()
        vals = np.take_along_axis(np.nan_to_num(x), got, axis=1)
        np.testing.assert_array_equal(vals, getattr(torch, name)(tv, dim=1).values.numpy())
        best = getattr(np, "maximum" if name == "cummax" else "minimum").accumulate(np.nan_to_num(x), axis=1)
        first = np.array([[np.flatnonzero(r[: j + 1] == b[j])[0] for j in range(r.size)]
                          for r, b in zip(np.nan_to_num(x), best)])
        np.testing.assert_array_equal(got, first)  # the first occurrence of the running extremum


def grads_match(tfn, sfn, x):
    tx = torch.tensor(x, requires_grad=True)
    out = tfn(tx)
    w = RNG.standard_normal(tuple(out.shape))
    (out * torch.tensor(w)).sum().backward()
    g = ts.grad(lambda a: (sfn(a) * ts.tensor(w)).sum())(ts.tensor(x))
    np.testing.assert_allclose(g.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    t = RNG.standard_normal(x.shape)
    _, got = ts.jvp(sfn, [ts.tensor(x)], [ts.tensor(t)])
    _, ref = torch.func.jvp(tfn, (torch.tensor(x),), (torch.tensor(t),))
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)


def test_gradients_match_torch_including_cumprod_zeros():
    x = RNG.standard_normal((4, 7))
    x0 = x.copy()
    x0[0, 2] = x0[1, 1] = x0[1, 4] = x0[2, 6] = x0[3, 0] = 0.0  # one zero, two zeros, last, first
    grads_match(lambda a: torch.cumsum(a, 1), lambda a: ts.cumsum(a, axis=1), x)
    grads_match(lambda a: torch.cumprod(a, 1), lambda a: ts.cumprod(a, axis=1), x0)
    grads_match(lambda a: torch.cumprod(a.flip(1), 1).flip(1), lambda a: ts.cumprod(a, axis=1, reverse=True), x0)
    grads_match(lambda a: torch.cummax(a, 0).values, lambda a: ts.cummax(a, axis=0), x)
    grads_match(lambda a: torch.cummin(a, 1).values, lambda a: ts.cummin(a, axis=1), x)
    grads_match(lambda a: torch.sort(a, dim=1, stable=True).values, lambda a: ts.sort(a, axis=1), x)


def test_default_axis_and_array_api_dtypes():
    x = RNG.standard_normal((3, 5))
    np.testing.assert_array_equal(ts.ops.apply("argsort", (ts.tensor(x),), {}).numpy(), np.argsort(x, axis=-1))
    np.testing.assert_array_equal(ts.vmap(lambda r: ts.ops.apply("sort", (r,), {}))(ts.tensor(x)).numpy(),
                                  np.sort(x, axis=-1))
    xp = ts.array_api
    xi = ts.tensor(RNG.integers(-4, 4, 6).astype(np.int32))
    assert xp.cumulative_sum(xi, dtype=xp.int32).dtype == ts.int32
    assert xp.cumulative_sum(xi).dtype == ts.int64


@pytest.mark.parametrize("m", [0, 1, 2, 7, 64, 100])
@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_matches_numpy(m, side):
    seq = np.sort(RNG.integers(-5, 5, m).astype(np.float64))
    if m > 3:
        seq[-1] = np.nan  # NaN sorts last
    vals = np.concatenate([RNG.integers(-7, 7, 20).astype(np.float64), [np.nan, -np.inf, np.inf]])
    got = ts.searchsorted(ts.tensor(seq), ts.tensor(vals.reshape(1, -1)), side=side).numpy()
    np.testing.assert_array_equal(got[0], np.searchsorted(seq, vals, side=side))
    batched = np.sort(RNG.standard_normal((3, m)), axis=1)
    v = RNG.standard_normal((3, 5))
    got = ts.searchsorted(ts.tensor(batched), ts.tensor(v), side=side).numpy()
    np.testing.assert_array_equal(got, [np.searchsorted(r, q, side=side) for r, q in zip(batched, v)])


def test_unique_with_a_static_size():
    x = np.array([[3.0, 1.0, np.nan], [1.0, 2.0, np.nan]])
    np.testing.assert_array_equal(ts.unique(ts.tensor(x), size=5, fill_value=-1.0).numpy(), [1, 2, 3, np.nan, -1])
    np.testing.assert_array_equal(ts.unique(ts.tensor(x), size=2).numpy(), [1, 2])  # the first `size` kept
    xi = RNG.integers(0, 6, 40)
    u = np.unique(xi)
    np.testing.assert_array_equal(ts.unique(ts.tensor(xi), size=8).numpy(), np.pad(u, (0, 8 - u.size)))
    assert ts.unique(ts.tensor(np.zeros(0)), size=3).numpy().tolist() == [0, 0, 0]


def test_jit_and_vmap():
    x = RNG.standard_normal((3, 4, 10))
    f = ts.jit(lambda a: ts.sort(ts.cumsum(a, axis=-1), axis=-1, descending=True))
    np.testing.assert_allclose(f(ts.tensor(x)).numpy(), -np.sort(-np.cumsum(x, axis=-1), axis=-1), rtol=1e-12)
    g = ts.vmap(lambda a: ts.argsort(a, axis=0))
    np.testing.assert_array_equal(g(ts.tensor(x)).numpy(), np.argsort(x, axis=1, kind="stable"))


@pytest.mark.parametrize("call, message", [
    (lambda: ts.argsort(ts.zeros(())), "rank >= 1"),
    (lambda: ts.argsort(ts.zeros(3, 4), axis=2), "axis"),
    (lambda: ts.argsort(ts.zeros(3, dtype="bool")), "bool"),
    (lambda: ts.cummax(ts.zeros(3, dtype="bool"), axis=0), "bool"),
    (lambda: ts.cumsum(ts.zeros(3, 4), axis=-3), "axis"),
    (lambda: ts.searchsorted(ts.zeros(2, 4), ts.zeros(3, 4)), "leading dims"),
    (lambda: ts.searchsorted(ts.zeros(4), ts.zeros(3), side="middle"), "side"),
    (lambda: ts.unique(ts.zeros(4), size=-1), "size must be >= 0"),
])
def test_bad_input_names_the_op_and_line(call, message):
    with pytest.raises(ts.TesseraError) as e:
        call()
    assert message in str(e.value) and "test_sort_scan.py" in str(e.value)
