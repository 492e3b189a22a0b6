"""A physics-informed network for the Poisson equation u_xx + u_yy = f on the unit square.

The network u(x, y) is a small tanh MLP. Its second derivatives at the collocation points come
from nested tessera.grad calls that close over the network's parameters, and the training
loss's gradient with respect to those parameters differentiates through them (third-order
derivatives of the network): the pattern PINNs, meta-learning and implicit layers need. The
exact solution is u = sin(pi x) sin(pi y) (f = -2 pi^2 u, zero on the boundary).

    python examples/pinn_poisson.py [--steps 300] [--points 64]
"""
import argparse
import math
import time

import numpy as np

import tessera as ts


def init(rng, hidden=24):
    def normal(*shape):
        return ts.tensor(rng.standard_normal(shape) / math.sqrt(shape[0]))
    return {"w1": normal(2, hidden), "b1": ts.zeros(hidden, dtype="f64"), "w2": normal(hidden, hidden),
            "b2": ts.zeros(hidden, dtype="f64"), "w3": normal(hidden, 1)}


def net(params, p):
    """u at one point p = (x, y)."""
    h = ts.tanh(p @ params["w1"] + params["b1"])
    h = ts.tanh(h @ params["w2"] + params["b2"])
    return ts.sum(h @ params["w3"], axis=None)


def laplacian(params, p):
    u = lambda q: net(params, q)  # noqa: E731 - closes over the parameters being differentiated
    ux = lambda q: ts.grad(u)(q)[0]  # noqa: E731
    uy = lambda q: ts.grad(u)(q)[1]  # noqa: E731
    return ts.grad(ux)(p)[0] + ts.grad(uy)(p)[1]


def loss_fn(params, interior, boundary):
    lap = ts.vmap(lambda p: laplacian(params, p))(interior)  # the residual at every point at once
    x, y = interior[:, 0], interior[:, 1]
    source = -2 * math.pi ** 2 * ts.sin(math.pi * x) * ts.sin(math.pi * y)
    u_b = ts.vmap(lambda p: net(params, p))(boundary)
    return ts.mean((lap - source) ** 2, axis=None) + 10.0 * ts.mean(u_b ** 2, axis=None)


def points(rng, n):
    interior = rng.uniform(0, 1, (n, 2))
    t = rng.uniform(0, 1, n)
    side = rng.integers(0, 4, n)
    boundary = np.stack([np.where(side < 2, side % 2, t), np.where(side < 2, t, side % 2)], axis=1)
    return ts.tensor(interior), ts.tensor(boundary.astype(np.float64))


def train(steps=300, n=64, lr=0.01, seed=0, log_every=50):
    rng = np.random.default_rng(seed)
    params = init(rng)
    interior, boundary = points(rng, n)
    m = {k: ts.zeros_like(v) for k, v in params.items()}
    v = {k: ts.zeros_like(p) for k, p in params.items()}
    grad = ts.jit(ts.value_and_grad(loss_fn))
    losses = []
    start = time.perf_counter()
    for t in range(1, steps + 1):
        loss, g = grad(params, interior, boundary)
        for k in params:  # Adam
            m[k] = 0.9 * m[k] + 0.1 * g[k]
            v[k] = 0.999 * v[k] + 0.001 * g[k] * g[k]
            params[k] = params[k] - lr * (m[k] / (1 - 0.9 ** t)) / (ts.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
        losses.append(loss.item())
        if log_every and (t % log_every == 0 or t == 1):
            print(f"step {t:4d}  loss {losses[-1]:.5f}", flush=True)
    return losses, params, (time.perf_counter() - start) / steps


def error(params, n=200, seed=1):
    """Max |u - exact| over random points."""
    pts = np.random.default_rng(seed).uniform(0, 1, (n, 2))
    u = ts.vmap(lambda p: net(params, p))(ts.tensor(pts)).numpy()
    return float(np.abs(u - np.sin(math.pi * pts[:, 0]) * np.sin(math.pi * pts[:, 1])).max())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--points", type=int, default=64)
    args = ap.parse_args()
    losses, params, per_step = train(args.steps, args.points)
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.5f}; max error {error(params):.4f} ({per_step * 1e3:.1f} ms per step)")


if __name__ == "__main__":
    main()
