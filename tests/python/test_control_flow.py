"""scan, while_loop, cond and fori_loop: results against Python loops in float64, gradients
(reverse and forward mode, second order) against torch.func, eagerly and under jit, with
closures and pytrees; the Graph IR keeps them as control flow (not unrolled); bad input."""
import numpy as np
import pytest

import tessera as ts

torch = pytest.importorskip("torch")
tf = torch.func
RNG = np.random.default_rng(7)


def t64(a):
    return ts.tensor(np.asarray(a, dtype=np.float64))


def rnn(w, xs, h0):
    h, ys = ts.scan(lambda h, x: (ts.tanh(h @ w + x), h * 2.0), h0, xs)
    return ts.sum(h * h, axis=None) + ts.sum(ys ** 3, axis=None)


def torch_rnn(w, xs, h0):
    h, ys = h0, []
    for x in xs:
        ys.append(h * 2.0)
        h = torch.tanh(h @ w + x)
    return (h * h).sum() + (torch.stack(ys) ** 3).sum() if ys else (h * h).sum()


@pytest.mark.parametrize("steps", [0, 1, 7])
@pytest.mark.parametrize("jitted", [False, True])
def test_scan_forward_and_gradients_match_a_python_loop(steps, jitted):
    w, xs, h0 = RNG.standard_normal((3, 3)) / 2, RNG.standard_normal((steps, 3)), RNG.standard_normal(3)
    grad = ts.grad(rnn, argnums=(0, 1, 2))
    value = rnn
    if jitted:
        grad, value = ts.jit(grad), ts.jit(value)
    want = tf.grad(torch_rnn, argnums=(0, 1, 2))(*map(torch.tensor, (w, xs, h0)))
    np.testing.assert_allclose(value(t64(w), t64(xs), t64(h0)).item(),
                               torch_rnn(*map(torch.tensor, (w, xs, h0))).item(), rtol=1e-13)
    for got, ref in zip(grad(t64(w), t64(xs), t64(h0)), want):
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-11, atol=1e-13)


def test_scan_reverse_pytrees_and_several_ys():
    xs = {"a": RNG.standard_normal((5, 2)), "b": RNG.standard_normal(5)}

    def step(c, x):
        s, n = c
        return (s + x["a"] * x["b"], n + 1), {"cum": s, "b2": x["b"] * 2.0}

    (s, n), ys = ts.scan(step, (ts.zeros(2, dtype="f64"), ts.tensor(0)), {k: t64(v) for k, v in xs.items()},
                         reverse=True)
    order = range(4, -1, -1)
    acc, cum = np.zeros(2), {}
    for t in order:
        cum[t] = acc.copy()
        acc = acc + xs["a"][t] * xs["b"][t]
    np.testing.assert_allclose(s.numpy(), acc, rtol=1e-14)
    assert n.item() == 5 and n.dtype == ts.int64
    np.testing.assert_allclose(ys["cum"].numpy(), np.stack([cum[t] for t in range(5)]), rtol=1e-14)
    np.testing.assert_allclose(ys["b2"].numpy(), xs["b"] * 2)


def test_scan_is_control_flow_in_the_graph_ir():
    f = ts.jit(lambda xs: ts.scan(lambda c, x: (c + ts.exp(x), None), ts.zeros(4), xs)[0])
    f(ts.randn(100, 4, seed=0))
    graph = f.ir("graph")
    assert graph.count("= scan(") == 1 and graph.count("exp(") == 1  # one body, not 100 copies


def test_forward_mode_and_second_order_through_scan():
    w, xs, h0, v = (RNG.standard_normal(s) for s in [(3, 3), (4, 3), (3,), (3, 3)])
    w, v = w / 2, v / 2
    _, tangent = ts.jvp(lambda w: rnn(w, t64(xs), t64(h0)), (t64(w),), (t64(v),))
    _, want = tf.jvp(lambda w: torch_rnn(w, torch.tensor(xs), torch.tensor(h0)), (torch.tensor(w),), (torch.tensor(v),))
    np.testing.assert_allclose(tangent.item(), want.item(), rtol=1e-12)
    # Hessian-vector product: forward over reverse, through the backward scan.
    hvp = ts.jvp(ts.grad(lambda w: rnn(w, t64(xs), t64(h0))), (t64(w),), (t64(v),))[1]
    want = tf.jvp(tf.grad(lambda w: torch_rnn(w, torch.tensor(xs), torch.tensor(h0))), (torch.tensor(w),),
                  (torch.tensor(v),))[1]
    np.testing.assert_allclose(hvp.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    # Reverse over reverse.
    g2 = ts.grad(lambda w: ts.sum(ts.grad(lambda w: rnn(w, t64(xs), t64(h0)))(w) ** 2, axis=None))(t64(w))
    want = tf.grad(lambda w: (tf.grad(lambda w: torch_rnn(w, torch.tensor(xs), torch.tensor(h0)))(w) ** 2).sum())(
        torch.tensor(w))
    np.testing.assert_allclose(g2.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("jitted", [False, True])
def test_cond_picks_a_branch_at_run_time_and_differentiates(jitted):
    def f(x, p):
        return ts.sum(ts.cond(p, lambda a: ts.sin(a) * x, lambda a: a * a, x), axis=None)

    g = ts.jit(ts.grad(f)) if jitted else ts.grad(f)
    x = np.array([0.3, -1.2, 2.0])
    for p in (True, False):
        want = np.cos(x) * x + np.sin(x) if p else 2 * x
        np.testing.assert_allclose(g(t64(x), ts.tensor(p)).numpy(), want, rtol=1e-14)
        np.testing.assert_allclose(f(t64(x), ts.tensor(p)).item(), (np.sin(x) * x).sum() if p else (x * x).sum(),
                                   rtol=1e-14)
    _, tan = ts.jvp(lambda a: f(a, ts.tensor(True)), (t64(x),), (t64(np.ones(3)),))
    np.testing.assert_allclose(tan.item(), (np.cos(x) * x + np.sin(x)).sum(), rtol=1e-14)
    assert ts.cond(True, lambda: 1, lambda: 2) == 1  # a Python bool just calls a branch


def test_while_loop_runs_until_the_condition_fails_and_has_forward_mode():
    def power(x, n):
        return ts.while_loop(lambda s: s[0] < n, lambda s: (s[0] + 1, s[1] * x), (ts.tensor(0), ts.ones_like(x)))[1]

    x = np.array([1.1, 0.9, -1.3])
    for n in (0, 1, 6):
        np.testing.assert_allclose(power(t64(x), ts.tensor(n)).numpy(), x ** n, rtol=1e-14)
        np.testing.assert_allclose(ts.jit(power)(t64(x), ts.tensor(n)).numpy(), x ** n, rtol=1e-14)
    tan = ts.jvp(lambda a: power(a, ts.tensor(5)), (t64(x),), (t64(np.ones(3)),))[1]
    np.testing.assert_allclose(tan.numpy(), 5 * x ** 4, rtol=1e-13)
    with pytest.raises(ts.TesseraError, match="while_loop: no reverse-mode derivative"):
        ts.grad(lambda a: ts.sum(power(a, ts.tensor(3)), axis=None))(t64(x))


def test_fori_loop_int_bounds_differentiate_and_tensor_bounds_loop():
    x = np.array([0.5, -0.25])
    f = lambda a: ts.fori_loop(0, 4, lambda i, v: v * a + i.astype("f64"), ts.ones_like(a))  # noqa: E731
    want = np.ones(2)
    for i in range(4):
        want = want * x + i
    np.testing.assert_allclose(f(t64(x)).numpy(), want, rtol=1e-14)
    g = ts.grad(lambda a: ts.sum(f(a), axis=None))(t64(x))
    np.testing.assert_allclose(g.numpy(), tf.grad(lambda a: _torch_fori(a).sum())(torch.tensor(x)).numpy(), rtol=1e-13)
    out = ts.fori_loop(ts.tensor(2), ts.tensor(5), lambda i, v: v + i, ts.tensor(0))
    assert out.item() == 2 + 3 + 4


def _torch_fori(a):
    v = torch.ones_like(a)
    for i in range(4):
        v = v * a + i
    return v


def test_loops_close_over_outer_traced_values():
    # The body closes over w, a parameter of the outer grad: d/dw through the loop is right.
    xs = RNG.standard_normal((5, 2))

    def f(w):
        c, _ = ts.scan(lambda c, x: (c * w + x, None), ts.zeros(2, dtype="f64"), t64(xs))
        return ts.sum(c, axis=None)

    def tf_f(w):
        c = torch.zeros(2, dtype=torch.float64)
        for x in torch.tensor(xs):
            c = c * w + x
        return c.sum()

    w = np.array([0.7, -1.1])
    np.testing.assert_allclose(ts.grad(f)(t64(w)).numpy(), tf.grad(tf_f)(torch.tensor(w)).numpy(), rtol=1e-13)
    np.testing.assert_allclose(ts.jit(ts.grad(f))(t64(w)).numpy(), tf.grad(tf_f)(torch.tensor(w)).numpy(), rtol=1e-13)


def test_bad_loop_bodies_say_what_is_wrong():
    with pytest.raises(ts.TracingError, match="scan: the carry out of the body"):
        ts.scan(lambda c, x: (c.astype("f64"), x), ts.zeros(2), ts.zeros(3, 2))
    with pytest.raises(ts.TracingError, match="must return \\(carry, y\\)"):
        ts.scan(lambda c, x: c, ts.zeros(2), ts.zeros(3, 2))
    with pytest.raises(ts.ShapeError, match="same length along axis 0"):
        ts.scan(lambda c, x: (c, None), ts.zeros(2), (ts.zeros(3, 2), ts.zeros(4)))
    with pytest.raises(ts.TracingError, match="cond: false_fun's result"):
        ts.cond(ts.tensor(True), lambda: ts.zeros(2), lambda: ts.zeros(3))
    with pytest.raises(ts.TracingError, match="while_loop: the loop value's structure changed"):
        ts.while_loop(lambda s: s < 3, lambda s: (s, s), ts.tensor(0))


def test_recursive_equals_manual_composition_with_gradients():
    rng = np.random.default_rng()
    w = ts.tensor(rng.standard_normal((4, 4)) * 0.5)
    x = ts.tensor(rng.standard_normal((3, 4)))

    def f(h):
        return ts.tanh(h @ w + 0.1)
    manual = f(f(f(x)))
    np.testing.assert_allclose(ts.recursive(f, 3)(x).numpy(), manual.numpy(), rtol=1e-14)
    np.testing.assert_array_equal(ts.recursive(f, 0)(x).numpy(), x.numpy())
    g_rec = ts.grad(lambda w_: ts.sum(ts.recursive(lambda h: ts.tanh(h @ w_ + 0.1), 3)(x)))(w)
    g_man = ts.grad(lambda w_: ts.sum(ts.tanh(ts.tanh(ts.tanh(x @ w_ + 0.1) @ w_ + 0.1) @ w_ + 0.1)))(w)
    np.testing.assert_allclose(g_rec.numpy(), g_man.numpy(), rtol=1e-12)
    with pytest.raises(ts.TracingError, match="recursive: depth must be an int >= 0"):
        ts.recursive(f, -1)
