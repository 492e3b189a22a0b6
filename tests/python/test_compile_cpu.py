"""The compiled path on the CPU: every first op through Graph, Schedule and Tile IR to x86 code,
checked against NumPy in float64 on fresh random inputs, at awkward sizes."""
import os

import numpy as np
import pytest

import tessera as ts

SHAPES = [(1,), (7,), (1, 1), (3, 5), (13, 1031), (2, 3, 257), (0,), (4, 0)]
RNG = np.random.default_rng()


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    # New buffers start as NaN, so an element a kernel fails to write shows up as a mismatch.
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")


def rand(shape, dtype=np.float32):
    if np.issubdtype(dtype, np.integer):
        return RNG.integers(-50, 50, size=shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


TOL = {np.float32: 2e-6, np.float64: 1e-13, np.float16: 2e-3}


def check(got, want, dtype):
    got = np.asarray(got, dtype=np.float64)
    if np.issubdtype(dtype, np.integer):
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.int64])
@pytest.mark.parametrize("name", ["add", "sub", "mul", "maximum"])
def test_binary(name, shape, dtype):
    x, y = rand(shape, dtype), rand(shape, dtype)
    got = getattr(ts, name)(ts.tensor(x), ts.tensor(y)).numpy()
    want = getattr(np, {"sub": "subtract", "mul": "multiply"}.get(name, name))(x.astype(np.float64),
                                                                             y.astype(np.float64))
    if dtype == np.float16:  # the op rounds once to f16 from an f32 result
        want = want.astype(np.float16).astype(np.float64)
    check(got, want, dtype)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_unary_float(shape, dtype):
    x = rand(shape, dtype) * 3
    t = ts.tensor(x)
    x64 = x.astype(np.float64)
    for got, want in [(ts.exp(t), np.exp(x64)), (ts.relu(t), np.maximum(x64, 0)), (ts.neg(t), -x64)]:
        want = want.astype(dtype).astype(np.float64) if dtype == np.float16 else want
        check(got.numpy(), want, dtype)


def test_exp_special_values():
    x = np.array([0, 1, -1, 88.7, 89, -87.3, -103, -104, 1e-30, np.inf, -np.inf, np.nan, 709.7, -745], np.float64)
    for dtype in (np.float32, np.float64):
        xs = x.astype(dtype)
        got = ts.exp(ts.tensor(xs)).numpy()
        with np.errstate(over="ignore", under="ignore"):
            want = np.exp(xs.astype(np.float64)).astype(dtype)
        np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=0, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_unary_int(dtype):
    x = rand((5, 9), dtype)
    np.testing.assert_array_equal(ts.relu(ts.tensor(x)).numpy(), np.maximum(x, 0))
    np.testing.assert_array_equal(ts.neg(ts.tensor(x)).numpy(), -x)


@pytest.mark.parametrize("a,b", [((3, 5), (5,)), ((3, 1), (1, 4)), ((2, 1, 7), (3, 1)), ((1,), (6, 5)), ((), (4, 2))])
def test_broadcasting(a, b):
    x, y = rand(a), rand(b)
    got = (ts.tensor(x) * ts.tensor(y) + ts.tensor(x)).numpy()
    check(got, x.astype(np.float64) * y + x, np.float32)


def test_python_scalars_become_constants():
    x = rand((4, 6))
    got = (2.0 * ts.tensor(x) - 1 + ts.tensor(x) * 0.5).numpy()
    check(got, 2.0 * x.astype(np.float64) - 1 + x * 0.5, np.float32)


@pytest.mark.parametrize("shape,axis", [((1,), 0), ((7, 1), -1), ((5, 1000), -1), ((3, 4099), 1), ((6, 5, 3), 1),
                                        ((6, 5, 3), 0), ((2, 3, 4, 5), 2), ((4, 0), -1), ((0, 4), 1), ((3, 2), 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_sum(shape, axis, dtype):
    x = rand(shape, dtype)
    got = ts.sum(ts.tensor(x), axis=axis).numpy()
    want = x.astype(np.float64).sum(axis=axis)
    if np.issubdtype(dtype, np.integer):
        np.testing.assert_array_equal(got, want)
    else:  # one rounding per addition: error grows with the length of the sum
        n = max(1, shape[axis])
        np.testing.assert_allclose(got, want, rtol=0, atol=np.finfo(dtype).eps * n * max(1, np.abs(x).max(initial=0)))


def test_sum_keepdims():
    x = rand((3, 4, 5))
    got = ts.tensor(x).sum(axis=1, keepdims=True)
    assert got.shape == (3, 1, 5)
    check(got.numpy(), x.astype(np.float64).sum(axis=1, keepdims=True), np.float32)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (3, 5, 7), (17, 31, 65), (64, 128, 96), (97, 13, 1), (5, 0, 3),
                                   (0, 4, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul(m, k, n, dtype):
    a, b = rand((m, k), dtype), rand((k, n), dtype)
    got = (ts.tensor(a) @ ts.tensor(b)).numpy()
    want = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=0, atol=np.finfo(dtype).eps * max(k, 1) * 8)


def test_fused_chain_matches_numpy_and_fuses():
    x, y = rand((33, 65)), rand((33, 65))
    f = ts.jit(lambda x, y: ts.relu(ts.exp(x * y) + x) - y)
    got = f(ts.tensor(x), ts.tensor(y)).numpy()
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    check(got, np.maximum(np.exp(x64 * y64) + x64, 0) - y64, np.float32)
    assert f.ir("schedule").count("sched.kernel") == 1  # one pass over memory


def test_multi_threaded_results_are_identical():
    x = ts.tensor(rand((64, 3001)))
    results = []
    for threads in (1, 2, 3):
        ts.set_num_threads(threads)
        results.append(ts.sum(ts.exp(x), axis=-1).numpy())
    ts.set_num_threads(os.cpu_count() or 1)
    assert all(np.array_equal(results[0], r) for r in results[1:])  # same bits


def test_empty_result_and_zero_size_inputs():
    x = ts.zeros(0, 5)
    assert (x + x).numpy().shape == (0, 5)
    assert ts.sum(x, axis=0).numpy().tolist() == [0.0] * 5


def test_constants_round_to_their_dtype():
    x = ts.tensor(np.full(4, 0.9, np.float16))
    # 0.9 as f16 is 0.89990234375 on both sides: the comparison is false everywhere.
    assert not (x > 0.9).numpy().any()
    assert (ts.full((3,), 0.1, dtype=ts.float16) * 1.0).numpy().tolist() == [np.float16(0.1)] * 3
