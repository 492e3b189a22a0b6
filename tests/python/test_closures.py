"""Transforms that close over values of an enclosing trace or transform (JAX's semantics: a
closed-over value is a constant of the inner transform and a variable of the outer one), at
several nesting depths, eagerly and under jit, against torch.func and finite differences in
float64: the PINN pattern, MAML-style adaptation, an implicit layer via custom_vjp."""
import numpy as np
import pytest

import tessera as ts

torch = pytest.importorskip("torch")
tf = torch.func


def t64(a):
    return ts.tensor(np.asarray(a, dtype=np.float64))


def fd_grad(f, x, eps=1e-6):
    """Central finite differences of a scalar function of a float64 NumPy array."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


def test_issue_example_jit_of_grad_closing_over_an_argument():
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal(7), rng.standard_normal(7)
    f = ts.jit(lambda w, x: ts.grad(lambda x: ts.sum(ts.sin(w * x), axis=None))(x))
    np.testing.assert_allclose(f(t64(w), t64(x)).numpy(), w * np.cos(w * x), rtol=1e-14)
    # and d/dw of that inner gradient: d/dw sum(w cos(wx)) = cos(wx) - w x sin(wx)
    outer = ts.grad(lambda w, x: ts.sum(ts.grad(lambda x: ts.sum(ts.sin(w * x), axis=None))(x), axis=None))
    want = np.cos(w * x) - w * x * np.sin(w * x)
    np.testing.assert_allclose(outer(t64(w), t64(x)).numpy(), want, rtol=1e-13)
    np.testing.assert_allclose(ts.jit(outer)(t64(w), t64(x)).numpy(), want, rtol=1e-13)


def mlp(params, xy):
    h = ts.tanh(xy @ params["w1"] + params["b1"])
    return ts.sum(h @ params["w2"], axis=-1)


def torch_mlp(params, xy):
    return (torch.tanh(xy @ params["w1"] + params["b1"]) @ params["w2"]).sum(-1)


def pinn_params(rng, hidden=9):
    return {"w1": rng.standard_normal((2, hidden)), "b1": rng.standard_normal(hidden),
            "w2": rng.standard_normal((hidden, 1)) / 3}


@pytest.mark.parametrize("jitted", [False, True])
def test_pinn_residual_with_second_derivatives_of_closed_over_network(jitted):
    # Poisson residual u_xx + u_yy - f at collocation points; u's derivatives in the inputs are
    # nested grads that close over the parameters, which the outer value_and_grad differentiates.
    rng = np.random.default_rng(1)
    params = pinn_params(rng)
    pts = rng.uniform(-1, 1, (5, 2))
    src = np.sin(pts[:, 0]) * pts[:, 1]

    def loss(params, pts, src):
        u = lambda p: mlp(params, p.reshape(1, 2))[0]  # noqa: E731 - u at one point, closing over params
        rows = []
        for i in range(pts.shape[0]):
            p = pts[i]
            ux = lambda p: ts.grad(u)(p)[0]  # noqa: E731
            uy = lambda p: ts.grad(u)(p)[1]  # noqa: E731
            rows.append(ts.grad(ux)(p)[0] + ts.grad(uy)(p)[1])
        lap = ts.stack(rows, axis=0)
        return ts.mean((lap - src) ** 2, axis=None)

    def torch_loss(params, pts, src):
        def u(p):
            return torch_mlp(params, p.reshape(1, 2))[0]
        lap = torch.stack([torch.trace(tf.hessian(u)(p)) for p in pts])
        return ((lap - src) ** 2).mean()

    step = ts.value_and_grad(loss)
    if jitted:
        step = ts.jit(step)
    value, grads = step({k: t64(v) for k, v in params.items()}, t64(pts), t64(src))
    tp = {k: torch.tensor(v) for k, v in params.items()}
    want_value, want_grads = tf.grad_and_value(torch_loss)(tp, torch.tensor(pts), torch.tensor(src))[::-1]
    np.testing.assert_allclose(value.item(), want_value.item(), rtol=1e-12)
    for k in params:
        np.testing.assert_allclose(grads[k].numpy(), want_grads[k].numpy(), rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("jitted", [False, True])
def test_maml_adaptation_differentiated_by_the_outer_loss(jitted):
    # A head adapted by two inner gradient steps on training data (closing over the body
    # weights); the outer loss on validation data differentiates through the adaptation into
    # both the body and the head's initial value.
    rng = np.random.default_rng(2)
    body, head = rng.standard_normal((4, 6)) / 2, rng.standard_normal((6, 1)) / 2
    x_tr, y_tr, x_va, y_va = (rng.standard_normal(s) for s in [(8, 4), (8, 1), (5, 4), (5, 1)])
    alpha = 0.3

    def outer(body, head, x_tr, y_tr, x_va, y_va):
        feats = lambda x: ts.tanh(x @ body)  # noqa: E731 - closes over body
        train = lambda h: ts.mean((feats(x_tr) @ h - y_tr) ** 2, axis=None)  # noqa: E731
        h = head
        for _ in range(2):
            h = h - alpha * ts.grad(train)(h)
        return ts.mean((feats(x_va) @ h - y_va) ** 2, axis=None)

    def torch_outer(body, head, x_tr, y_tr, x_va, y_va):
        feats = lambda x: torch.tanh(x @ body)  # noqa: E731
        train = lambda h: ((feats(x_tr) @ h - y_tr) ** 2).mean()  # noqa: E731
        h = head
        for _ in range(2):
            h = h - alpha * tf.grad(train)(h)
        return ((feats(x_va) @ h - y_va) ** 2).mean()

    g = ts.grad(outer, argnums=(0, 1))
    if jitted:
        g = ts.jit(g)
    got = g(*map(t64, (body, head, x_tr, y_tr, x_va, y_va)))
    want = tf.grad(torch_outer, argnums=(0, 1))(*map(torch.tensor, (body, head, x_tr, y_tr, x_va, y_va)))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-13)


def _fixed_point(w, x, iters=30):
    z = ts.zeros_like(x) if hasattr(ts, "zeros_like") else x * 0.0
    for _ in range(iters):
        z = ts.tanh(z @ w + x)
    return z


def test_implicit_layer_via_custom_vjp_with_closed_over_weights():
    # z* = tanh(z* W + x) by fixed-point iteration; the custom rule gives dz*/dx by the implicit
    # function theorem (an adjoint fixed point); W is closed over, so its gradient comes from
    # differentiating the solver. Both must match finite differences of the solution.
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((4, 4)) * 0.1  # a strong contraction: 30 iterations converge
    x0 = rng.standard_normal((2, 4))

    def loss(w, x):
        @ts.custom_vjp
        def solve(x):
            return _fixed_point(w, x)

        def fwd(x):
            z = solve(x)
            return z, z

        def bwd(z, g):
            d = 1 - z * z  # tanh' at the fixed point
            u = g
            for _ in range(30):  # u = g + (u * d) W^T
                u = g + (u * d) @ w.T
            return (u * d,)

        solve.defvjp(fwd, bwd)
        return ts.sum(solve(x) ** 2, axis=None)

    def np_loss(w, x):
        z = np.zeros_like(x)
        for _ in range(30):
            z = np.tanh(z @ w + x)
        return (z ** 2).sum()

    gw, gx = ts.grad(loss, argnums=(0, 1))(t64(w0), t64(x0))
    np.testing.assert_allclose(gx.numpy(), fd_grad(lambda x: np_loss(w0, x), x0), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gw.numpy(), fd_grad(lambda w: np_loss(w, x0), w0), rtol=1e-7, atol=1e-9)
    jgw, jgx = ts.jit(ts.grad(loss, argnums=(0, 1)))(t64(w0), t64(x0))
    np.testing.assert_allclose(jgw.numpy(), gw.numpy(), rtol=1e-12)
    np.testing.assert_allclose(jgx.numpy(), gx.numpy(), rtol=1e-12)


def test_vjp_jvp_hessian_close_over_outer_values():
    rng = np.random.default_rng(4)
    a, x, v = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3)

    def through_jvp(a):
        _, t = ts.jvp(lambda x: ts.sin(a * x), (t64(x),), (t64(v),))
        return ts.sum(t * t, axis=None)

    def through_vjp(a):
        _, pull = ts.vjp(lambda x: ts.exp(a * x), t64(x))
        return ts.sum(pull(t64(v))[0] ** 2, axis=None)

    def through_hessian(a):
        h = ts.hessian(lambda x: ts.sum(a * x ** 3, axis=None))(t64(x))
        return ts.sum(h * h, axis=None)

    torch_fns = {
        through_jvp: lambda a: (
            tf.jvp(lambda x: torch.sin(a * x), (torch.tensor(x),), (torch.tensor(v),))[1] ** 2).sum(),
        through_vjp: lambda a: (tf.vjp(lambda x: torch.exp(a * x), torch.tensor(x))[1](torch.tensor(v))[0] ** 2).sum(),
        through_hessian: lambda a: (tf.hessian(lambda x: (a * x ** 3).sum())(torch.tensor(x)) ** 2).sum(),
    }
    for fn, ref in torch_fns.items():
        want = tf.grad(ref)(torch.tensor(a)).numpy()
        np.testing.assert_allclose(ts.grad(fn)(t64(a)).numpy(), want, rtol=1e-12, err_msg=fn.__name__)
        np.testing.assert_allclose(ts.jit(ts.grad(fn))(t64(a)).numpy(), want, rtol=1e-12, err_msg=fn.__name__)


def test_jit_function_called_inside_a_transform_is_traced_into_it():
    calls = []

    @ts.jit
    def inner(x, w):
        calls.append(1)
        return ts.sum(ts.tanh(x * w), axis=None)

    x, w = t64([0.5, -1.0, 2.0]), t64([1.5, 0.25, -0.5])
    g = ts.grad(inner, argnums=1)(x, w)
    np.testing.assert_allclose(g.numpy(), x.numpy() * (1 - np.tanh(x.numpy() * w.numpy()) ** 2), rtol=1e-14)
    # closing over a traced value from inside the jit function's caller
    g2 = ts.grad(lambda w: inner(x, w) * ts.sum(w, axis=None))(w)
    s = np.tanh(x.numpy() * w.numpy())
    want = x.numpy() * (1 - s ** 2) * w.numpy().sum() + s.sum()
    np.testing.assert_allclose(g2.numpy(), want, rtol=1e-13)
    assert inner(x, w).item() == pytest.approx(s.sum(), rel=1e-14)


def test_three_levels_of_closure():
    # Each grad closes over the arguments of the ones around it.
    def f(a):
        inner = lambda b: ts.sum(ts.grad(lambda c: ts.sum((a * b * c) ** 3, axis=None))(b * 0 + 1.5), axis=None)  # noqa
        return ts.grad(inner)(a)

    def tref(a):
        inner = lambda b: tf.grad(lambda c: ((a * b * c) ** 3).sum())(b * 0 + 1.5).sum()  # noqa
        return tf.grad(inner)(a)

    a = t64([0.7, -1.1])
    ta = torch.tensor(a.numpy())
    np.testing.assert_allclose(f(a).numpy(), tref(ta).numpy(), rtol=1e-13)
    np.testing.assert_allclose(ts.grad(lambda a: ts.sum(f(a), axis=None))(a).numpy(),
                               tf.grad(lambda a: tref(a).sum())(ta).numpy(), rtol=1e-12)


def test_escaped_tracer_error_names_the_transform_and_the_line():
    leaked = []

    def keep(x):
        leaked.append(x * 2)
        return ts.sum(x, axis=None)

    ts.grad(keep)(t64([1.0, 2.0]))
    with pytest.raises(ts.TracingError) as e:
        leaked[0].numpy()
    msg = str(e.value)
    assert "tessera.grad(keep)" in msg and "escaped" in msg and "test_closures.py" in msg
    assert "jit" not in msg.split("escaped")[0]
    with pytest.raises(ts.TracingError, match=r"tessera\.grad\(keep\)"):
        ts.jit(lambda y: y + leaked[0])(t64([1.0, 2.0]))
