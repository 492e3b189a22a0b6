"""Symbolic dims: ``tessera.jit(fn, dynamic=...)`` traces once with named dims (``f32[B,16]``)
and specialises that Graph IR for each new size without running Python again; gradients under
dynamic=; clear errors for ops that need a static size, mismatched shared dims and unknown names."""
import inspect
import math

import numpy as np
import pytest

import tessera as ts
from tessera import Tensor

RNG = np.random.default_rng(7)


def this_line(offset=0):
    frame = inspect.currentframe().f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno + offset}"


def f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / np.sqrt(2)))


def layernorm(x, g, b, eps=1e-5):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g + b


MLP_PARAMS = [f32(16, 8), f32(8), f32(8), f32(8)]


def mlp_ref(x, w, b, g, beta):
    x, w, b, g, beta = (a.astype(np.float64) for a in (x, w, b, g, beta))
    h = layernorm(gelu(x @ w + b), g, beta)
    return h.sum(-1) + h.mean(0).sum()


@pytest.mark.parametrize("dynamic", [("B",), True])
def test_one_trace_serves_many_sizes(dynamic):
    traces = []

    @ts.jit(dynamic=dynamic)
    def mlp(x: Tensor["B", "D"], w: Tensor["D", "H"], b: Tensor["H"], g: Tensor["H"], beta: Tensor["H"]):
        traces.append(x.shape)
        h = ts.layernorm(ts.gelu(x @ w + b), g, beta)
        return h.sum(axis=-1) + h.mean(axis=0).sum()  # mean over the symbolic batch dim too

    for batch in (1, 7, 128, 7):
        x = f32(batch, 16)
        y = mlp(ts.tensor(x), *map(ts.tensor, MLP_PARAMS))
        assert y.shape == (batch,)
        np.testing.assert_allclose(y.numpy(), mlp_ref(x, *MLP_PARAMS), rtol=2e-4, atol=2e-4)
    assert len(traces) == 1  # Python ran once for every size
    traced = mlp.ir("traced")
    if dynamic is True:  # every named dim is symbolic
        assert traces[0] == ("B", "D")
        assert "%0: f32[B,D], %1: f32[D,H]" in traced and ": f32[B,H]" in traced
    else:
        assert traces[0] == ("B", 16)
        assert "%0: f32[B,16], %1: f32[16,8]" in traced and ": f32[B,8]" in traced
    assert "-> (f32[B])" in traced
    assert "f32[7,16]" in mlp.ir("graph")  # the compiled program is specialised to the last call


def test_dynamic_true_names_unannotated_dims():
    traces = []

    @ts.jit(dynamic=True)
    def f(x, y: Tensor["N", 3]):
        traces.append(1)
        return (x * 2.0).sum(axis=0) + y.sum()

    for n in (2, 5):
        x, y = f32(n + 1, 4), f32(n, 3)
        np.testing.assert_allclose(f(ts.tensor(x), ts.tensor(y)).numpy(), (x * 2).sum(0) + y.sum(), rtol=1e-5)
    assert len(traces) == 1
    assert "%0: f32[x.0,x.1], %1: f32[N,3]" in f.ir("traced")


def test_grad_under_dynamic():
    traces = []

    def loss(w, x):
        return ts.mean(ts.layernorm(ts.tanh(x @ w)) ** 2)

    @ts.jit(dynamic=("B",))
    def step(w: Tensor["D", "H"], x: Tensor["B", "D"]):
        traces.append(1)
        g = ts.grad(loss)(w, x)
        return w - 0.1 * g

    w = f32(6, 5)
    for batch in (1, 7, 33):
        x = f32(batch, 6)
        got = step(ts.tensor(w), ts.tensor(x)).numpy()
        eager = (ts.tensor(w) - 0.1 * ts.grad(loss)(ts.tensor(w), ts.tensor(x))).numpy()
        np.testing.assert_array_equal(got, eager)
    assert len(traces) == 1
    assert "dim_size" in step.ir("traced")  # the mean's count over B, folded per size


def test_grad_of_symbolic_mean_matches_finite_differences():
    @ts.jit(dynamic=("B",))
    def g(x: Tensor["B", "D"]):
        return ts.grad(lambda v: ts.mean(ts.var(v, axis=0, correction=1) * v.sum(axis=0)))(x)

    x = RNG.standard_normal((5, 3))
    got = g(ts.tensor(x)).numpy()

    def f(v):
        return np.mean(v.var(axis=0, ddof=1) * v.sum(axis=0))

    eps, num = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        d = np.zeros_like(x)
        d[idx] = eps
        num[idx] = (f(x + d) - f(x - d)) / (2 * eps)
    np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-8)


def test_shared_symbol_must_agree():
    @ts.jit(dynamic=("B",))
    def f(x: Tensor["B", "D"], y: Tensor["B", "D"]):
        return x + y

    f(ts.ones(3, 4), ts.ones(3, 4))
    line = this_line(2)
    with pytest.raises(ts.ShapeError, match=r"dim B is 3 in x \(shape \(3, 4\)\) but 5 in y \(shape \(5, 4\)\)") as e:
        f(ts.ones(3, 4), ts.ones(5, 4))
    assert e.value.location == line


def test_different_symbols_do_not_broadcast():
    @ts.jit(dynamic=True)
    def f(x, b):
        return x + b

    with pytest.raises(ts.ShapeError, match=r"add: .*f32\[x.0,x.1\].*f32\[b.0\].*dim x.1 vs b.0.*same name"):
        f(ts.ones(2, 4), ts.ones(4))


@pytest.mark.parametrize("body,message", [
    (lambda x: x.reshape(-1), r"reshape: dim B .* -1 can stand for only one symbolic dim, not B\*S"),
    (lambda x: x.sum(axis=1).reshape(2, -1), r"reshape: dim B .*-1 in \[2,-1\] would be B\*4/2"),
    (lambda x: x[1:], r"getitem: dim B \(axis 0 of f32\[B,S,4\]\) is symbolic.*mark B static"),
    (lambda x: ts.ops.pad(x, pad=(1, 0, 0, 0, 0, 0)), r"pad: dim B \(axis 0 of x Tensor\[B,S,4\]\) is symbolic"),
    (lambda x: x.split(2, axis=1), r"split: dim S .* splitting needs its size"),
    (lambda x: ts.ops.concat([x, x], axis=0), r"concat: dim B .*the joined axis must be static"),
    (lambda x: x.reshape(x.shape[0], -1), r"reshape: dim B is symbolic .*write -1 for it"),
    (lambda x: x * x.shape[1], r"dim S is symbolic .*cannot be used as a number"),
])
def test_ops_needing_static_dims_say_so(body, message):
    @ts.jit(dynamic=("B", "S"))
    def f(x: Tensor["B", "S", 4]):
        return body(x)

    with pytest.raises(ts.ShapeError, match=message) as e:
        f(ts.ones(2, 3, 4))
    assert e.value.location.startswith(__file__)  # the user's line (the lambda's)
    assert "static" in str(e.value)


def test_static_parts_still_work_around_symbols():
    @ts.jit(dynamic=("B",))
    def f(x: Tensor["B", 6]):
        y = x.reshape(-1, 2, 3)[:, 1:, ::-1]          # -1 stands for B; static axes slice freely
        z = ts.ops.concat([y, y], axis=2)               # joins a static axis
        return ts.softmax(z, axis=-1).sum(axis=(2)) + ts.log_softmax(x, axis=0)[:, :1]

    for batch in (1, 4):
        x = f32(batch, 6)
        y = x.reshape(-1, 2, 3)[:, 1:, ::-1]
        z = np.concatenate([y, y], axis=2)
        e = np.exp(z - z.max(-1, keepdims=True))
        lsm = x - np.log(np.exp(x).sum(0, keepdims=True))
        ref = (e / e.sum(-1, keepdims=True)).sum(2) + lsm[:, :1]
        np.testing.assert_allclose(f(ts.tensor(x)).numpy(), ref, rtol=1e-5, atol=1e-6)


def test_dynamic_rejects_unknown_names():
    def f(x: Tensor["B", "D"]):
        return x

    with pytest.raises(ts.TesseraError, match=r"dynamic= names 'N', which no Tensor\[...\] annotation .*B, D"):
        ts.jit(f, dynamic=("N",))
    with pytest.raises(ts.TesseraError, match="dynamic= must be True or dim names"):
        ts.jit(f, dynamic=(1,))


def test_without_dynamic_nothing_changes():
    traces = []

    @ts.jit
    def f(x: Tensor["B", "D"]):
        traces.append(x.shape)
        return x.mean(axis=0)

    for batch in (2, 3):
        f(ts.ones(batch, 4))
    assert traces == [(2, 4), (3, 4)]  # a trace per shape, with static sizes
    assert "f32[3,4]" in f.ir("traced")


def test_specialize_binding():
    text = ("module @main {\nfunc @main(%x: f32[B,4]) -> (f32[4]) {\n"
            "  %0 = mean(%x) {axis = 0} : f32[4]\n  return(%0)\n}\n}\n")
    out, key = ts._C.specialize(text, {"B": 9})
    assert "%x: f32[9,4]" in out and out == key
    with pytest.raises(ts.TesseraError, match="no size given for symbolic dim B"):
        ts._C.specialize(text, {})


def test_cross_entropy_custom_vjp_and_jvp_under_dynamic():
    @ts.custom_vjp
    def clip_grad(x):
        return x

    clip_grad.defvjp(lambda x: (x, ()), lambda res, g: (ts.clamp(g, -0.01, 0.01),))
    traces = []

    def body(logits, labels, w):
        g = ts.grad(lambda lg, lb, v: ts.cross_entropy(clip_grad(lg @ v), lb), argnums=2)(logits, labels, w)
        _, t = ts.jvp(lambda v, u: ts.softmax(v @ u, axis=0).sum(axis=0), (logits, w), (logits * 0.5, w))
        return g, t

    @ts.jit(dynamic=("N",))
    def f(logits: Tensor["N", "C"], labels: Tensor["N"], w: Tensor["C", "C"]):
        traces.append(1)
        return body(logits, labels, w)

    w = ts.tensor(f32(4, 4))
    for n in (1, 5, 9):
        args = ts.tensor(f32(n, 4)), ts.tensor(RNG.integers(0, 4, n)), w
        for got, eager in zip(f(*args), body(*args)):
            np.testing.assert_array_equal(got.numpy(), eager.numpy())
    assert len(traces) == 1


@pytest.mark.parametrize("loss", [
    lambda x, y: ts.rmsnorm(x).sum(),
    lambda x, y: ts.mse(x, y),
    lambda x, y: ts.logsumexp(x, axis=1).sum() + ts.logsumexp(x),
    lambda x, y: ts.std(x, axis=0).sum() + ts.var(x),
    lambda x, y: ts.log_softmax(x, axis=0).sum() + (ts.softmax(x) * y).sum(),
    lambda x, y: (x.T @ y).max() + ts.ops.stack([x, y], axis=1).sum(),
    lambda x, y: ts.logsumexp(ts.ops.stack([x, y], axis=2), axis=2).sum(),
])
def test_gradients_of_composites_under_dynamic(loss):
    traces = []

    @ts.jit(dynamic=("B", "S"))
    def g(x: Tensor["B", "S"], y: Tensor["B", "S"]):
        traces.append(1)
        return ts.grad(loss)(x, y)

    for b, s in ((1, 3), (4, 5), (6, 1)):
        x, y = ts.tensor(f32(b, s)), ts.tensor(f32(b, s))
        np.testing.assert_allclose(g(x, y).numpy(), ts.grad(loss)(x, y).numpy(), rtol=1e-6, atol=1e-7)
    assert len(traces) == 1


def test_sizes_the_trace_rejects_name_the_call():
    @ts.jit(dynamic=("B",))
    def f(x: Tensor["B", 3]):
        return ts.ops.take(x, ts.tensor([0, 1]), axis=0)

    assert f(ts.ones(4, 3)).shape == (2, 3)
    line = this_line(2)
    with pytest.raises(ts.TesseraError, match=r"tessera.jit\(f\) at B=0: .*take: cannot index the empty axis") as e:
        f(ts.ones(0, 3))
    assert e.value.location == line


def test_one_tensor_passed_for_two_annotated_parameters():
    # Each parameter keeps its own annotation even when both get the same tensor object.
    @ts.jit(dynamic=("B",))
    def f(x: Tensor["B", 4], y: Tensor[4, "B"]):  # noqa: F821
        return x @ y

    t = ts.tensor(np.arange(16, dtype=np.float32).reshape(4, 4))
    np.testing.assert_allclose(f(t, t).numpy(), t.numpy() @ t.numpy())
