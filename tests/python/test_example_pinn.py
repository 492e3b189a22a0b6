"""The Navier-Stokes PINN example (examples/models/pinn_navier_stokes): its nested-autodiff
fields are exact on the Taylor-Green vortex, the derived velocity is divergence-free, Adam
lowers the loss 100x in the CI configuration, and its Hessian-vector product matches finite
differences of the gradient."""

import numpy as np
import pytest
from examples_path import example_train

import tessera as ts

train = example_train("pinn_navier_stokes").train
from pinn import StreamNet, loss_fn, network_fields, points, tg_p, tg_psi, tg_velocity, velocity_and_residual  # noqa: E402,E501

RNG = np.random.default_rng()


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_taylor_green_fields_match_the_closed_form(dtype, tol):
    q = np.stack([RNG.uniform(0, 6.3, 20), RNG.uniform(0, 6.3, 20), RNG.uniform(0, 1, 20)], 1).astype(dtype)
    u, v, rx, ry = ts.vmap(lambda p: velocity_and_residual(tg_psi, tg_p, p))(ts.tensor(q))
    want_u, want_v = tg_velocity(*(q.astype(np.float64).T))
    np.testing.assert_allclose(u.numpy(), want_u, atol=tol)
    np.testing.assert_allclose(v.numpy(), want_v, atol=tol)
    # the exact solution satisfies the momentum equations: residuals are rounding
    assert np.abs(rx.numpy()).max() < tol and np.abs(ry.numpy()).max() < tol


def test_the_network_velocity_is_divergence_free():
    model = StreamNet((16, 16), seed=3)
    q = ts.tensor(np.stack([RNG.uniform(0, 6.3, 10), RNG.uniform(0, 6.3, 10), RNG.uniform(0, 1, 10)], 1))

    def divergence(p):
        u = lambda r: ts.grad(lambda s: model(s)[0])(r)[1]  # noqa: E731
        v = lambda r: -ts.grad(lambda s: model(s)[0])(r)[0]  # noqa: E731
        return ts.grad(u)(p)[0] + ts.grad(v)(p)[1]
    div = ts.vmap(divergence)(q).numpy()
    scale = np.abs(ts.vmap(lambda p: network_fields(model, p)[0])(q).numpy()).max()
    assert np.abs(div).max() < 1e-13 * max(scale, 1.0)


def test_adam_lowers_the_loss_100x():
    _, losses, _ = train("ci", quiet=True)  # 1000 steps, about 10 s on 2 cores
    assert losses[-1] < losses[0] / 100, (losses[0], losses[-1])


def test_hessian_vector_product_matches_finite_differences():
    model = StreamNet((8, 8), seed=1)
    inner, known, uv = points(np.random.default_rng(2), 6, 4)
    grad = lambda m: ts.grad(loss_fn)(m, inner, known, uv)  # noqa: E731
    d = ts.tree_map(lambda p: ts.tensor(RNG.standard_normal(p.shape)), model)
    _, hvp = ts.jvp(grad, [model], [d])
    eps = 1e-5
    hi = grad(ts.tree_map(lambda p, t: p + eps * t, model, d))
    lo = grad(ts.tree_map(lambda p, t: p - eps * t, model, d))
    for (name, h), (_, a), (_, b) in zip(hvp.named_parameters(), hi.named_parameters(), lo.named_parameters()):
        np.testing.assert_allclose(h.numpy(), (a.numpy() - b.numpy()) / (2 * eps), rtol=1e-5, atol=1e-7, err_msg=name)

