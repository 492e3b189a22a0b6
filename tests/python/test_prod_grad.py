"""prod's derivative where the input has zeros (none, one, several along the reduced axis):
VJP and JVP against central finite differences and torch autograd in float64."""
import numpy as np
import pytest
import torch

import tessera as ts

RNG = np.random.default_rng(5)


def with_zeros(shape, count, axis):
    x = RNG.uniform(0.5, 1.5, shape) * RNG.choice([-1.0, 1.0], shape)
    if x.size and count:
        moved = np.moveaxis(x, axis, -1)
        for row in np.ndindex(moved.shape[:-1]):
            moved[row][RNG.choice(moved.shape[-1], min(count, moved.shape[-1]), replace=False)] = 0.0
    return x


def numeric_jacobian_vector(f, x, t, eps=1e-6):
    return (f(x + eps * t) - f(x - eps * t)) / (2 * eps)


CASES = [((5,), 0), ((7,), 0), ((3, 4), 1), ((4, 3), 0), ((2, 3, 5), 1), ((1, 6), -1), ((6, 1), 0), ((3, 0), 1),
         ((0, 3), 1)]


@pytest.mark.parametrize("zeros", [0, 1, 2, 3])
@pytest.mark.parametrize("shape,axis", CASES, ids=[f"{s}-{a}" for s, a in CASES])
def test_vjp_and_jvp_with_zeros(shape, axis, zeros):
    x = with_zeros(shape, zeros, axis)
    c = RNG.standard_normal(np.prod(x, axis=axis).shape)

    def loss(z):
        y = ts.prod(z, axis=axis) * ts.tensor(c)
        return ts.sum(y, axis=None) if c.ndim else y
    got = ts.grad(loss)(ts.tensor(x)).numpy()
    tx = torch.tensor(x, requires_grad=True)
    (torch.prod(tx, dim=axis) * torch.tensor(c)).sum().backward()
    np.testing.assert_allclose(got, tx.grad.numpy(), rtol=1e-13, atol=1e-14)
    numeric = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = 1.0
        numeric[i] = numeric_jacobian_vector(lambda a: (np.prod(a, axis=axis) * c).sum(), x, e)
    np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)
    t = RNG.standard_normal(shape)
    _, tangent = ts.jvp(lambda z: ts.prod(z, axis=axis), (ts.tensor(x),), (ts.tensor(t),))
    np.testing.assert_allclose(tangent.numpy(), numeric_jacobian_vector(lambda a: np.prod(a, axis=axis), x, t),
                               rtol=1e-6, atol=1e-8)


def test_keepdims_and_every_axis():
    x = with_zeros((3, 4), 1, 1)
    g = ts.grad(lambda z: ts.sum(ts.prod(z, axis=1, keepdims=True), axis=None))(ts.tensor(x)).numpy()
    tx = torch.tensor(x, requires_grad=True)
    torch.prod(tx, dim=1).sum().backward()
    np.testing.assert_allclose(g, tx.grad.numpy(), rtol=1e-13)
    x = np.array([[2.0, 0.0], [3.0, 5.0]])
    np.testing.assert_array_equal(ts.grad(lambda z: ts.prod(z))(ts.tensor(x)).numpy(), [[0.0, 30.0], [0.0, 0.0]])
