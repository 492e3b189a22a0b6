"""The programming model as users meet it: eager ops run at once (nothing pending grows across
training steps), tessera.defer/realize fuse on request, NumPy scalars and arrays act as numbers
and tensors, jit's float arguments are run-time values (static_argnames for the others), and
recompiles are visible."""
import sys
import time
import warnings

import numpy as np
import pytest

import tessera as ts
from tessera import lazy


def test_eager_ops_run_at_once_and_reuse_their_kernel():
    a, b = ts.randn(8, 8, seed=0), ts.randn(8, 8, seed=1)
    c = a + b
    assert not c.is_lazy  # computed already
    before = ts._C.compile_stats()["backend_compiles"]
    for scale in (0.5, 1.5, 2.5):  # new numbers are run-time values: the same program runs
        d = a * scale + b
        np.testing.assert_allclose(d.numpy(), a.numpy() * scale + b.numpy(), rtol=1e-6)
    assert ts._C.compile_stats()["backend_compiles"] - before <= 2  # mul and add, once each


def test_an_eager_training_loop_stays_flat():
    # The failure: parameters stayed lazy, the pending graph grew every step.
    rng = np.random.default_rng(0)
    x, y = ts.tensor(rng.standard_normal((64, 8)).astype(np.float32)), ts.tensor(rng.integers(0, 3, 64))
    params = {"w": ts.randn(8, 16, seed=1) * 0.3, "v": ts.randn(16, 3, seed=2) * 0.3}
    m = {k: ts.zeros_like(p) for k, p in params.items()}
    loss_fn = ts.value_and_grad(lambda p: ts.cross_entropy(ts.relu(x @ p["w"]) @ p["v"], y))
    times, losses = [], []
    for _ in range(1, 31):
        start = time.perf_counter()
        loss, g = loss_fn(params)
        m = {k: 0.9 * m[k] + g[k] for k in params}
        params = {k: params[k] - 0.1 * m[k] for k in params}
        losses.append(loss.item())
        times.append(time.perf_counter() - start)
        assert all(not p.is_lazy for p in params.values())
    assert losses[-1] < losses[0] * 0.7
    assert np.median(times[20:]) < 3 * np.median(times[5:10]) + 0.005  # flat, not growing


def test_defer_fuses_and_realize_computes_many_tensors_in_one_program():
    x = ts.randn(1000, seed=3)
    with ts.defer():
        y = ts.gelu(2 * x + 1) * ts.sigmoid(x)
        z = ts.sum(y, axis=None)
        assert y.is_lazy and z.is_lazy
    before = len(lazy._executables)
    ts.realize(y, z)
    assert len(lazy._executables) - before <= 1 and not y.is_lazy and not z.is_lazy
    np.testing.assert_allclose(z.item(), y.numpy().sum(), rtol=1e-5)
    with ts.defer():
        w = x * 3
    np.testing.assert_allclose((w + 1).numpy(), x.numpy() * 3 + 1, rtol=1e-6)  # an eager op realizes what it reads
    assert ts.realize() == ()
    with pytest.raises(ts.TesseraError, match="realize: expected tensors"):
        ts.realize(1.0)


def test_numpy_scalars_and_arrays_act_as_numbers_and_tensors():
    t = ts.tensor([1.0, 2.0], dtype="f16")
    for v in (np.float64(2.0), np.float32(2.0), np.int64(2), np.array(2.0)):
        for out in (v * t, t * v, t - v, v - t, t / v, t ** v):
            assert isinstance(out, ts.Tensor) and out.dtype == ts.float16  # weak, like a Python number
    assert (np.float64(2.0) * t).tolist() == [2.0, 4.0]
    assert (t == np.float32(2.0)).tolist() == [False, True]
    f = ts.jit(lambda a, s: a * s)
    assert f(t, np.float64(3.0)).tolist() == [3.0, 6.0]
    arr = np.arange(4, dtype=np.float32)
    assert f(arr, 2.0).tolist() == [0.0, 2.0, 4.0, 6.0]  # a NumPy array argument is a tensor
    assert isinstance(np.exp(ts.tensor([0.0])), ts.Tensor)


def test_jit_floats_are_run_time_values_and_weak():
    calls = []

    @ts.jit
    def step(p, lr):
        calls.append(1)
        return p - lr * p

    p16 = ts.ones(3, dtype="f16")
    for lr in (0.1, 0.01, 0.001, 0.5):
        out = step(p16, lr)
        assert out.dtype == ts.float16 and out.tolist()[0] == pytest.approx(1 - lr, abs=1e-3)
    assert len(calls) == 1
    step(p16, 3)  # an int is static
    assert len(calls) == 2


def test_static_argnames_and_a_helpful_error_for_floats_used_as_numbers():
    @ts.jit
    def clip(x, hi):
        return ts.clamp(x, max=hi)

    with pytest.raises(ts.TracingError, match="static_argnames"):
        clip(ts.ones(2), 0.5)
    clip_static = ts.jit(lambda x, hi: ts.clamp(x, max=hi), static_argnames=("hi",))
    assert clip_static(ts.ones(2) * 3, 0.5).tolist() == [0.5, 0.5]
    by_num = ts.jit(lambda x, n: x.reshape(n, -1), static_argnums=(1,))
    assert by_num(ts.ones(6), 2).shape == (2, 3)
    with pytest.raises(ts.TesseraError, match="static_argnames names 'nope'"):
        ts.jit(lambda x: x, static_argnames=("nope",))
    with pytest.raises(ts.TracingError, match="must be hashable"):
        ts.jit(lambda x, cfg: x)(ts.ones(2), {1, 2})


def test_recompile_warning_names_the_changing_argument():
    f = ts.jit(lambda x, k: x * k)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(sys.modules["tessera.jit"].RECOMPILE_LIMIT + 2):
            f(ts.ones(2), k)
    msgs = [str(w.message) for w in caught if issubclass(w.category, ts.RecompileWarning)]
    assert len(msgs) == 1 and "argument 1 static value" in msgs[0] and "tessera.tensor" in msgs[0]


def test_transforms_of_jit_functions_and_jit_inside_grad_share_one_model():
    @ts.jit
    def loss(w, x):
        return ts.sum(ts.tanh(x @ w), axis=None)

    w, x = ts.randn(3, 2, seed=1, dtype="f64"), ts.randn(4, 3, seed=2, dtype="f64")
    g = ts.grad(loss)(w, x)
    want = x.numpy().T @ (1 - np.tanh(x.numpy() @ w.numpy()) ** 2)
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-13)


def test_debug_print_prints_when_programs_run(capsys):
    x = ts.tensor([1.0, 2.0])
    ts.debug_print("eager {}", x)

    @ts.jit
    def f(x):
        y = x * 2
        ts.debug_print("y = {}, total {}", y, ts.sum(y, axis=None))
        return y + 1

    f(x)
    f(x * 3)  # the compiled program prints each time it runs
    ts.grad(lambda a: (ts.debug_print("a = {}", a), ts.sum(a * a, axis=None))[1])(x)
    ts.vmap(lambda a: (ts.debug_print("row {}", a), a)[1])(ts.ones(2, 2))
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == ["eager [1. 2.]", "y = [2. 4.], total 6.0", "y = [ 6. 12.], total 18.0", "a = [1. 2.]"]
    assert out[4] == "row [[1. 1.]"
    with pytest.raises(ts.TracingError, match="debug_print inside scan bodies"):
        ts.scan(lambda c, x: (ts.debug_print("{}", c), (c, x))[1], ts.zeros(()), ts.zeros(3))
