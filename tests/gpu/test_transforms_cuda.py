"""The programming model on an NVIDIA GPU: closures in transforms, eager ops, control flow
(scan, cond, while_loop run their bodies' launch plans on the device), vmap, item assignment,
index checks (read back from the device), the new math functions, against torch on the GPU."""
import numpy as np
import pytest

import tessera as ts

torch = pytest.importorskip("torch")
tf = torch.func
DEV = "cuda"


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")


def cu(a, dtype=np.float64):
    return ts.tensor(np.asarray(a, dtype=dtype), device=DEV)


def close(got, want, rtol=1e-12):
    np.testing.assert_allclose(np.asarray(got.cpu().numpy() if isinstance(got, ts.Tensor) else got),
                               np.asarray(want), rtol=rtol, atol=rtol)


def test_closure_in_jit_of_grad():
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal(7), rng.standard_normal(7)
    f = ts.jit(lambda w, x: ts.grad(lambda x: ts.sum(ts.sin(w * x), axis=None))(x))
    close(f(cu(w), cu(x)), w * np.cos(w * x))
    outer = ts.grad(lambda w: ts.sum(ts.grad(lambda x: ts.sum(ts.sin(w * x), axis=None))(cu(x)), axis=None))
    close(outer(cu(w)), np.cos(w * x) - w * x * np.sin(w * x))


def test_eager_ops_and_run_time_scalars():
    a = ts.randn(64, 64, seed=0, device=DEV)
    for s in (0.5, 2.0):
        close(a * s + 1.0, a.cpu().numpy() * s + 1.0, rtol=1e-6)
    x = cu(np.arange(6.0).reshape(2, 3))
    x[0, 1:] = 7.0
    close(x, [[0.0, 7.0, 7.0], [3.0, 4.0, 5.0]])
    close(x.at[:, 0].add(1.0), [[1.0, 7.0, 7.0], [4.0, 4.0, 5.0]])


def rnn(w, xs, h0):
    h, ys = ts.scan(lambda h, x: (ts.tanh(h @ w + x), h * 2.0), h0, xs)
    return ts.sum(h * h, axis=None) + ts.sum(ys ** 3, axis=None)


def torch_rnn(w, xs, h0):
    h, ys = h0, []
    for x in xs:
        ys.append(h * 2.0)
        h = torch.tanh(h @ w + x)
    return (h * h).sum() + (torch.stack(ys) ** 3).sum()


@pytest.mark.parametrize("jitted", [False, True])
def test_scan_and_its_gradient_on_the_gpu(jitted):
    rng = np.random.default_rng(1)
    w, xs, h0 = rng.standard_normal((3, 3)) / 2, rng.standard_normal((9, 3)), rng.standard_normal(3)
    g = ts.grad(rnn, argnums=(0, 1, 2))
    g = ts.jit(g) if jitted else g
    want = tf.grad(torch_rnn, argnums=(0, 1, 2))(*(torch.tensor(a, device=DEV) for a in (w, xs, h0)))
    for got, ref in zip(g(cu(w), cu(xs), cu(h0)), want):
        close(got, ref.cpu().numpy(), rtol=1e-11)


def test_cond_and_while_loop_on_the_gpu():
    x = cu([0.5, -1.0])
    for p in (True, False):
        out = ts.cond(ts.tensor(p, device=DEV), lambda a: a * 3, lambda a: -a, x)
        close(out, np.array([0.5, -1.0]) * (3 if p else -1))
    n = ts.tensor(5, device=DEV)
    out = ts.while_loop(lambda s: s[0] < n, lambda s: (s[0] + 1, s[1] * 2.0), (ts.tensor(0, device=DEV), x))[1]
    close(out, np.array([0.5, -1.0]) * 32)


def test_vmap_on_the_gpu():
    rng = np.random.default_rng(2)
    w, x = rng.standard_normal((4, 3)), rng.standard_normal((6, 4))
    loss = lambda w, x: ts.sum(ts.tanh(x @ w) ** 2, axis=None)  # noqa: E731
    got = ts.jit(ts.vmap(ts.grad(loss), in_axes=(None, 0)))(cu(w), cu(x))
    want = tf.vmap(tf.grad(lambda w, x: (torch.tanh(x @ w) ** 2).sum()), in_dims=(None, 0))(
        torch.tensor(w, device=DEV), torch.tensor(x, device=DEV))
    close(got, want.cpu().numpy())


def test_index_checks_read_back_from_the_gpu():
    x = cu([1.0, 2.0, 3.0])
    assert ts.take(x, ts.tensor([5, -1], device=DEV), mode="wrap").cpu().tolist() == [3.0, 3.0]
    with pytest.raises(ts.TesseraValueError, match="take: an index is outside"):
        ts.take(x, ts.tensor([5], device=DEV), mode="error")
    f = ts.jit(lambda x, i: ts.take(x, i, mode="error"))
    with pytest.raises(ts.TesseraValueError, match="take: an index is outside"):
        f(x, ts.tensor([3], device=DEV))


@pytest.mark.parametrize("name", ["atan", "asin", "sinh", "cosh", "tan", "asinh", "atanh", "log2", "log10", "exp2",
                                  "floor", "round", "isfinite"])
@pytest.mark.parametrize("dtype,rtol", [(torch.float32, 3e-7), (torch.float64, 5e-16)])
def test_new_math_functions_match_torch(name, dtype, rtol):
    x = torch.rand(10000, dtype=dtype, device=DEV) * 1.8 - 0.9  # negatives: log2/log10 give NaN, as torch's
    got = getattr(ts, name)(ts.from_dlpack(x))
    want = getattr(torch, name)(x.double())
    torch.testing.assert_close(torch.from_dlpack(got).double(), want.to(torch.from_dlpack(got).dtype).double(),
                               rtol=rtol * 4, atol=rtol * 4, equal_nan=True)
