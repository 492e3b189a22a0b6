"""A physics-informed network for 2-D incompressible Navier-Stokes.

An MLP maps (x, y, t) to a stream function psi and a pressure p (Raissi et al. 2019: psi makes
the velocity divergence-free by construction). The velocity is u = d(psi)/dy, v = -d(psi)/dx,
and the momentum residuals

    u_t + u u_x + v u_y + p_x - nu (u_xx + u_yy) = 0
    v_t + u v_x + v v_y + p_y - nu (v_xx + v_yy) = 0

need third derivatives of psi, taken by nested ``tessera.grad`` at each collocation point
(``tessera.vmap`` over the points); the loss's gradient with respect to the weights
differentiates through them (fourth order). Training data: the decaying Taylor-Green vortex on
[0, 2 pi]^2, whose closed form gives the initial and boundary values:

    psi = cos x cos y F,  u = -cos x sin y F,  v = sin x cos y F,
    p = -(cos 2x + cos 2y) F^2 / 4,  F = exp(-2 nu t).
"""
from __future__ import annotations

import math

import numpy as np

import tessera as ts
from tessera import nn

NU = 0.1


class StreamNet(nn.Module):
    """(x, y, t) -> (psi, p): tanh MLP, widths (3, hidden..., 2)."""

    def __init__(self, hidden=(32, 32, 32), seed=0, dtype=ts.float64):
        widths = (3,) + tuple(hidden) + (2,)
        self.layers = [nn.Linear(a, b, seed=nn.init.split(seed, i), dtype=dtype)
                       for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))]

    def __call__(self, q):
        h = q
        for layer in self.layers[:-1]:
            h = ts.tanh(layer(h))
        return self.layers[-1](h)


# ---- fields of any psi(q), p(q) at one point q = (x, y, t) ----

def velocity_and_residual(psi, p, q, nu=NU):
    """(u, v, momentum residual x, momentum residual y) at q, by nested autodiff."""
    u = lambda r: ts.grad(psi)(r)[1]  # noqa: E731
    v = lambda r: -ts.grad(psi)(r)[0]  # noqa: E731
    du, dv, dp = ts.grad(u)(q), ts.grad(v)(q), ts.grad(p)(q)
    u_xx = ts.grad(lambda r: ts.grad(u)(r)[0])(q)[0]
    u_yy = ts.grad(lambda r: ts.grad(u)(r)[1])(q)[1]
    v_xx = ts.grad(lambda r: ts.grad(v)(r)[0])(q)[0]
    v_yy = ts.grad(lambda r: ts.grad(v)(r)[1])(q)[1]
    uq, vq = u(q), v(q)
    rx = du[2] + uq * du[0] + vq * du[1] + dp[0] - nu * (u_xx + u_yy)
    ry = dv[2] + uq * dv[0] + vq * dv[1] + dp[1] - nu * (v_xx + v_yy)
    return uq, vq, rx, ry


def network_fields(model, q):
    return velocity_and_residual(lambda r: model(r)[0], lambda r: model(r)[1], q)


# ---- the Taylor-Green vortex, written with tessera ops (autodiff checks) and NumPy ----

def tg_psi(q, nu=NU):
    return ts.cos(q[0]) * ts.cos(q[1]) * ts.exp(-2 * nu * q[2])


def tg_p(q, nu=NU):
    return -(ts.cos(2 * q[0]) + ts.cos(2 * q[1])) * ts.exp(-4 * nu * q[2]) / 4


def tg_velocity(x, y, t, nu=NU):
    f = np.exp(-2 * nu * t)
    return -np.cos(x) * np.sin(y) * f, np.sin(x) * np.cos(y) * f


def points(rng, interior, boundary, t_max=1.0):
    """Collocation points inside, on the boundary of [0, 2 pi]^2 and at t = 0, with the exact
    velocity at the boundary and initial points."""
    L = 2 * math.pi
    inner = np.stack([rng.uniform(0, L, interior), rng.uniform(0, L, interior), rng.uniform(0, t_max, interior)], 1)
    s = rng.uniform(0, L, boundary)
    side = rng.integers(0, 4, boundary)
    bx = np.where(side == 0, 0.0, np.where(side == 1, L, s))
    by = np.where(side == 2, 0.0, np.where(side == 3, L, s))
    edge = np.stack([bx, by, rng.uniform(0, t_max, boundary)], 1)
    start = np.stack([rng.uniform(0, L, boundary), rng.uniform(0, L, boundary), np.zeros(boundary)], 1)
    known = np.concatenate([edge, start])
    uv = np.stack(tg_velocity(known[:, 0], known[:, 1], known[:, 2]), 1)
    return ts.tensor(inner), ts.tensor(known), ts.tensor(uv)


def loss_fn(model, inner, known, uv):
    """Mean squared momentum residual inside, plus the velocity misfit at the known points."""
    _, _, rx, ry = ts.vmap(lambda q: network_fields(model, q))(inner)
    g = ts.vmap(lambda q: ts.grad(lambda r: model(r)[0])(q))(known)  # grad psi: (v = -psi_x, u = psi_y)
    fit = ts.mean((g[:, 1] - uv[:, 0]) ** 2 + (-g[:, 0] - uv[:, 1]) ** 2)
    return ts.mean(rx ** 2 + ry ** 2) + fit


def training_step(opt, inner, known, uv):
    """One jitted step (loss, gradient, the optimizer's update) on these points:
    ``step(model, state) -> (model, state, loss)``."""
    @ts.jit
    def step(model, state):
        loss, grads = ts.value_and_grad(loss_fn)(model, inner, known, uv)
        model, state = opt.update(grads, state, model)
        return model, state, loss
    return step

