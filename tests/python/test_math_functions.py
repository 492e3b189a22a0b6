"""The elementwise functions added for everyday code, against references: the transcendental
ones in ulps against mpmath (float32 and float64), rounding / classification / integer division
/ bitwise ops exactly against NumPy, on fresh random inputs and the special values."""
import numpy as np
import pytest

import tessera as ts

mp = pytest.importorskip("mpmath")
mp.mp.dps = 40
RNG = np.random.default_rng()


def ulps(got, want, dt):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    spacing = np.maximum(np.spacing(np.abs(want).astype(dt)).astype(np.float64), np.finfo(dt).smallest_subnormal)
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    return np.where(same, 0.0, np.abs(got - want) / spacing).max(initial=0.0)


def magnitudes(n):
    return RNG.standard_normal(n) * 10 ** RNG.uniform(-6, 6, n)


# name: (mpmath reference, input generator, max ulps). asinh and acosh chain four roundings into
# log1p's argument (a product, a sum, a square root, a sum: up to 1.5 ulp relative, which log1p's
# condition number, at most 1, passes on) and log1p's own ulp: 3 ulps (2.54 was seen in f32).
FUNCTIONS = {
    "atan": (mp.atan, magnitudes, 2),
    "asin": (mp.asin, lambda n: RNG.uniform(-1, 1, n), 3),
    "acos": (mp.acos, lambda n: RNG.uniform(-1, 1, n), 3),
    "tan": (mp.tan, lambda n: RNG.uniform(-3, 3, n), 2.5),
    "sinh": (mp.sinh, lambda n: RNG.uniform(-30, 30, n), 2.5),
    "cosh": (mp.cosh, lambda n: RNG.uniform(-30, 30, n), 2.5),
    "asinh": (mp.asinh, magnitudes, 3),
    "acosh": (mp.acosh, lambda n: 1 + 10 ** RNG.uniform(-6, 6, n), 3),
    "atanh": (mp.atanh, lambda n: RNG.uniform(-1, 1, n), 2.5),
    "log2": (lambda x: mp.log(x, 2), lambda n: 10 ** RNG.uniform(-35, 35, n), 1),
    "log10": (mp.log10, lambda n: 10 ** RNG.uniform(-35, 35, n), 1),
    "exp2": (lambda x: mp.mpf(2) ** x, lambda n: RNG.uniform(-125, 125, n), 1),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_accuracy_in_ulps(name, dtype):
    ref, gen, bound = FUNCTIONS[name]
    x = gen(600).astype(dtype)
    got = getattr(ts, name)(ts.tensor(x)).numpy()
    want = np.array([float(ref(mp.mpf(float(v)))) for v in x])
    assert got.dtype == dtype
    assert ulps(got, want, dtype) <= bound, name


def test_special_values():
    inf, nan = np.inf, np.nan
    x = np.array([0.0, -0.0, inf, -inf, nan, 1.0, -1.0])
    with np.errstate(all="ignore"):
        for name, np_fn in [("atan", np.arctan), ("asin", np.arcsin), ("acos", np.arccos), ("sinh", np.sinh),
                            ("cosh", np.cosh), ("asinh", np.arcsinh), ("acosh", np.arccosh), ("atanh", np.arctanh),
                            ("log2", np.log2), ("log10", np.log10), ("exp2", np.exp2), ("tan", np.tan)]:
            got, want = getattr(ts, name)(ts.tensor(x)).numpy(), np_fn(x)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=name)
            np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], rtol=1e-15, err_msg=name)
            np.testing.assert_array_equal(np.signbit(got[want == 0]), np.signbit(want[want == 0]), err_msg=name)
    ys = np.array([0.0, -0.0, 0.0, -0.0, 1.0, -1.0, inf, -inf, inf, nan, 3.0])
    xs = np.array([0.0, 0.0, -0.0, -0.0, -inf, inf, inf, -inf, 2.0, 1.0, -4.0])
    got = ts.atan2(ts.tensor(ys), ts.tensor(xs)).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(np.arctan2(ys, xs)))
    np.testing.assert_allclose(got, np.arctan2(ys, xs), rtol=1e-15)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(np.arctan2(ys, xs)))
    f64 = ts.float64
    assert ts.log2(ts.tensor([8.0, 2.0 ** -1074, 2.0 ** 1023], dtype=f64)).tolist() == [3.0, -1074.0, 1023.0]
    assert ts.exp2(ts.tensor([3.0, -1074.0, 1023.0, 1024.0], dtype=f64)).tolist() == \
        [8.0, 2.0 ** -1074, 2.0 ** 1023, inf]
    assert ts.log10(ts.tensor([1000.0, 1e-5, 1e22], dtype=f64)).tolist() == [3.0, -5.0, 22.0]
    assert ts.log2(ts.tensor([8.0, 2.0 ** -149])).tolist() == [3.0, -149.0]  # float32, subnormal too


def test_rounding_and_classification_match_numpy():
    x = np.concatenate([RNG.standard_normal(200) * 5, [0.5, 1.5, 2.5, -0.5, -2.5, -0.0, np.inf, -np.inf, np.nan]])
    for name, np_fn in [("floor", np.floor), ("ceil", np.ceil), ("round", np.round), ("trunc", np.trunc),
                        ("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite), ("signbit", np.signbit)]:
        for dt in (np.float32, np.float64):
            np.testing.assert_array_equal(getattr(ts, name)(ts.tensor(x.astype(dt))).numpy(), np_fn(x.astype(dt)),
                                          err_msg=name)
    i = RNG.integers(-50, 50, 30)
    assert ts.floor(ts.tensor(i)).dtype == ts.int64 and ts.floor(ts.tensor(i)).tolist() == i.tolist()
    assert not ts.isnan(ts.tensor(i)).numpy().any() and ts.isfinite(ts.tensor(i)).numpy().all()


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8", "float32", "float64"])
def test_floor_divide_remainder_fmod_match_numpy(dtype):
    if dtype.startswith("float"):
        a, b = RNG.standard_normal(400) * 10, RNG.standard_normal(400)
        b[:5] = [0.0, -0.0, np.inf, -np.inf, 1.0]
        a[5:8] = [0.0, -0.0, 7.0]
    else:
        info = np.iinfo(dtype)
        a = RNG.integers(max(info.min, -100), min(info.max, 100), 400)
        b = RNG.integers(max(info.min, -9), min(info.max, 9), 400)
        b[:3] = 0
    a, b = a.astype(dtype), b.astype(dtype)
    with np.errstate(all="ignore"):
        for name, np_fn in [("floor_divide", np.floor_divide), ("remainder", np.remainder), ("fmod", np.fmod)]:
            got = getattr(ts, name)(ts.tensor(a), ts.tensor(b)).numpy()
            np.testing.assert_array_equal(got, np_fn(a, b), err_msg=name)
    assert (ts.tensor(a) // ts.tensor(b)).dtype == ts.dtype(dtype)


def test_integer_division_edge_cases_do_not_trap():
    m = np.iinfo(np.int64).min
    x, y = ts.tensor([m, m, 5, -5]), ts.tensor([-1, 0, 0, -1])
    assert ts.floor_divide(x, y).tolist() == [m, 0, 0, 5]  # MIN // -1 wraps, // 0 is 0 (NumPy)
    assert ts.remainder(x, y).tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8"])
def test_bitwise_and_shifts_match_numpy(dtype):
    info = np.iinfo(dtype)
    a = RNG.integers(info.min, info.max, 100, dtype=dtype, endpoint=True)
    b = RNG.integers(info.min, info.max, 100, dtype=dtype, endpoint=True)
    bits = 8 * np.dtype(dtype).itemsize
    s = RNG.integers(0, bits, 100).astype(dtype)
    ta, tb, tsh = ts.tensor(a), ts.tensor(b), ts.tensor(s)
    np.testing.assert_array_equal((ta & tb).numpy(), a & b)
    np.testing.assert_array_equal((ta | tb).numpy(), a | b)
    np.testing.assert_array_equal((ta ^ tb).numpy(), a ^ b)
    np.testing.assert_array_equal((~ta).numpy(), ~a)
    np.testing.assert_array_equal((ta << tsh).numpy(), a << s)
    np.testing.assert_array_equal((ta >> tsh).numpy(), a >> s)
    far = ts.tensor(np.full(100, bits + 3).astype(dtype))  # by the width or more
    np.testing.assert_array_equal(ts.left_shift(ta, far).numpy(), np.zeros(100, dtype))
    want_right = np.where(a < 0, -1, 0).astype(dtype)
    np.testing.assert_array_equal(ts.right_shift(ta, far).numpy(), want_right)
    with pytest.raises(ts.DTypeError, match="left_shift: needs integer tensors"):
        ts.left_shift(ts.ones(2), ts.tensor([1, 2]))


def test_hypot_logaddexp_copysign():
    x, y = RNG.standard_normal(300) * 1e3, RNG.standard_normal(300)
    np.testing.assert_allclose(ts.hypot(ts.tensor(x), ts.tensor(y)).numpy(), np.hypot(x, y), rtol=4.5e-16)  # 2 ulp
    big = ts.hypot(ts.tensor([1e300, 1e-300, np.inf], dtype=ts.f64), ts.tensor([1e300, 1e-300, np.nan], dtype=ts.f64))
    np.testing.assert_allclose(big.numpy(), np.hypot([1e300, 1e-300, np.inf], [1e300, 1e-300, np.nan]), rtol=4.5e-16)
    # max(x, y) + log1p(exp(-|x - y|)) cancels when the result is near 0: the bound is a few ulps
    # of the larger term, not of the result.
    terms = np.abs(np.maximum(x, y)) + np.log(2.0)
    err = np.abs(ts.logaddexp(ts.tensor(x), ts.tensor(y)).numpy() - np.logaddexp(x, y))
    assert np.all(err <= 4 * np.finfo(np.float64).eps * terms), err.max()
    special = [(-np.inf, -np.inf), (np.inf, np.inf), (1000.0, 1000.0), (-np.inf, 3.0)]
    for a, b in special:
        assert ts.logaddexp(ts.tensor(a, dtype=ts.f64), ts.tensor(b, dtype=ts.f64)).item() == np.logaddexp(a, b)
    np.testing.assert_array_equal(ts.copysign(ts.tensor(x), ts.tensor(y)).numpy(), np.copysign(x, y))


def test_numpy_ufuncs_on_tensors_run_as_tessera_ops():
    x = RNG.standard_normal(5)
    for np_fn in (np.arctan, np.sinh, np.floor, np.log2):
        out = np_fn(ts.tensor(x))
        assert isinstance(out, ts.Tensor)
        np.testing.assert_allclose(out.numpy(), np_fn(x), rtol=1e-15)
    assert isinstance(np.arctan2(ts.tensor(x), 1.0), ts.Tensor)
