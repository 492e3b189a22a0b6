"""Automatic differentiation: gradients against analytic results and central finite differences
in float64, higher orders, forward mode, composition with jit, and clear errors."""
import numpy as np
import pytest

import tessera as ts

RNG = np.random.default_rng()


def t64(a):
    return ts.tensor(np.asarray(a, dtype=np.float64))


def numeric_grad(f, x, eps=1e-6):
    """Central differences of a scalar function of a float64 NumPy array."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[i] += eps
        lo[i] -= eps
        g[i] = (f(hi) - f(lo)) / (2 * eps)
    return g


def scalar(fn):
    """A tessera function of one float64 array as a NumPy scalar function."""
    return lambda a: fn(t64(a)).item()


@pytest.mark.parametrize("n", [1, 2, 7])
def test_grad_of_elementwise_chain_matches_finite_differences(n):
    def f(x):
        return ts.sum(ts.exp(x * 0.5) * x - x * x, axis=0)

    x = RNG.standard_normal(n)
    got = ts.grad(f)(t64(x)).numpy()
    np.testing.assert_allclose(got, np.exp(x / 2) * (1 + x / 2) - 2 * x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, numeric_grad(scalar(f), x), rtol=1e-6, atol=1e-7)


def test_grad_through_broadcasting_sums_back_to_operand_shape():
    def f(x, b, c):
        return ts.sum(ts.sum(x * b + c - x, axis=1), axis=0)

    x, b, c = RNG.standard_normal((3, 5)), RNG.standard_normal(5), RNG.standard_normal((3, 1))
    gx, gb, gc = ts.grad(f, argnums=(0, 1, 2))(t64(x), t64(b), t64(c))
    assert gb.shape == (5,) and gc.shape == (3, 1)
    np.testing.assert_allclose(gx.numpy(), np.broadcast_to(b - 1, (3, 5)), rtol=1e-12)
    np.testing.assert_allclose(gb.numpy(), x.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(gc.numpy(), np.full((3, 1), 5.0), rtol=1e-12)


def test_value_and_grad_and_has_aux():
    def f(x):
        y = ts.sum(x * x, axis=0)
        return y, x * 2.0

    x = RNG.standard_normal(4)
    (value, aux), g = ts.value_and_grad(f, has_aux=True)(t64(x))
    assert value.item() == pytest.approx((x * x).sum())
    np.testing.assert_allclose(aux.numpy(), 2 * x)
    np.testing.assert_allclose(g.numpy(), 2 * x)
    g2, aux2 = ts.grad(f, has_aux=True)(t64(x))
    np.testing.assert_allclose(g2.numpy(), 2 * x)


def test_nested_arguments():
    def f(params, x):
        return ts.sum(params["w"] * x + params["b"][0], axis=0)

    x = RNG.standard_normal(3)
    params = {"w": t64(RNG.standard_normal(3)), "b": [t64(RNG.standard_normal(3))]}
    g = ts.grad(f)(params, t64(x))
    np.testing.assert_allclose(g["w"].numpy(), x)
    np.testing.assert_allclose(g["b"][0].numpy(), np.ones(3))


def test_grad_of_grad_and_third_order():
    def f(x):
        return ts.sum(ts.exp(x) * x, axis=0)  # f' = e^x (1 + x), f'' = e^x (2 + x), f''' = e^x (3 + x)

    def df_sum(x):
        return ts.sum(ts.grad(f)(x), axis=0)

    def d2f_sum(x):
        return ts.sum(ts.grad(df_sum)(x), axis=0)

    x = RNG.standard_normal(5)
    np.testing.assert_allclose(ts.grad(df_sum)(t64(x)).numpy(), np.exp(x) * (2 + x), rtol=1e-12)
    np.testing.assert_allclose(ts.grad(d2f_sum)(t64(x)).numpy(), np.exp(x) * (3 + x), rtol=1e-12)


def test_jvp_and_hessian_vector_product():
    def f(x):
        return ts.sum(ts.exp(x) * x, axis=0)

    x, v = RNG.standard_normal(6), RNG.standard_normal(6)
    y, ty = ts.jvp(f, (t64(x),), (t64(v),))
    assert y.item() == pytest.approx((np.exp(x) * x).sum())
    assert ty.item() == pytest.approx((np.exp(x) * (1 + x) * v).sum())
    _, hvp = ts.jvp(ts.grad(f), (t64(x),), (t64(v),))  # forward-over-reverse
    np.testing.assert_allclose(hvp.numpy(), np.exp(x) * (2 + x) * v, rtol=1e-12)


def test_vjp_with_cotangents():
    def f(x, y):
        return x * y, ts.exp(x)

    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    (p, e), vjp_fn = ts.vjp(f, t64(x), t64(y))
    np.testing.assert_allclose(p.numpy(), x * y)
    c1, c2 = RNG.standard_normal(3), RNG.standard_normal(3)
    gx, gy = vjp_fn((t64(c1), t64(c2)))
    np.testing.assert_allclose(gx.numpy(), c1 * y + c2 * np.exp(x), rtol=1e-12)
    np.testing.assert_allclose(gy.numpy(), c1 * x, rtol=1e-12)


def test_grad_inside_and_outside_jit_agree():
    def loss(w, x):
        return ts.sum(ts.sum(ts.exp(x * w) - w, axis=1), axis=0)

    w, x = t64(RNG.standard_normal((2, 3))), t64(RNG.standard_normal((2, 3)))
    eager = ts.grad(loss)(w, x).numpy()
    jitted = ts.jit(ts.grad(loss))(w, x).numpy()
    assert np.array_equal(eager, jitted)


def test_stop_gradient():
    def f(x):
        return ts.sum(x * ts.stop_gradient(x), axis=0)

    x = RNG.standard_normal(4)
    np.testing.assert_allclose(ts.grad(f)(t64(x)).numpy(), x)


def test_errors():
    with pytest.raises(ts.ShapeError, match="single-element"):
        ts.grad(lambda x: x * 2.0)(t64([1.0, 2.0]))
    with pytest.raises(ts.DTypeError, match="floating-point"):
        ts.grad(lambda x: ts.sum(x, axis=0))(ts.tensor([1, 2]))
    with pytest.raises(ts.TracingError, match="one tensor"):
        ts.grad(lambda x: (ts.sum(x, axis=0), x))(t64([1.0]))
