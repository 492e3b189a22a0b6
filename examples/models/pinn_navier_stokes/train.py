"""Train the Navier-Stokes PINN on the Taylor-Green vortex with Adam.

    python examples/models/pinn_navier_stokes/train.py              # CI size: 32-wide, ~1 minute on 2 cores
    python examples/models/pinn_navier_stokes/train.py --size full  # 256-wide, 3 hidden layers (the paper's shape)

Prints step, loss and collocation points per second; then the velocity error against the
closed form on fresh points.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pinn import StreamNet, points, tg_velocity, training_step  # noqa: E402

import tessera as ts  # noqa: E402
from tessera import optim  # noqa: E402

SIZES = {"ci": ((32, 32, 32), 64, 32), "full": ((256, 256, 256), 1024, 256)}  # hidden, interior, boundary


def velocity_error(model, n=200, seed=7):
    rng = np.random.default_rng(seed)
    q = np.stack([rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 1, n)], 1)
    g = ts.vmap(lambda p: ts.grad(lambda r: model(r)[0])(p))(ts.tensor(q)).numpy()
    u, v = tg_velocity(q[:, 0], q[:, 1], q[:, 2])
    return float(np.sqrt(np.mean((g[:, 1] - u) ** 2 + (-g[:, 0] - v) ** 2) / np.mean(u ** 2 + v ** 2)))


def train(size="ci", steps=1000, lr=1e-2, seed=0, log_every=100, quiet=False):
    hidden, n_in, n_b = SIZES[size]
    rng = np.random.default_rng(seed)
    model = StreamNet(hidden, seed=seed)
    inner, known, uv = points(rng, n_in, n_b)
    opt = optim.Adam(optim.cosine(lr, total=steps, final=lr / 10))
    state = opt.init(model)
    step = training_step(opt, inner, known, uv)

    losses, start = [], time.perf_counter()
    for i in range(1, steps + 1):
        model, state, loss = step(model, state)
        losses.append(loss.item())
        if not quiet and (i == 1 or i % log_every == 0 or i == steps):
            rate = i * (n_in + 2 * n_b) / (time.perf_counter() - start)
            print(f"step {i:5d}  loss {losses[-1]:.3e}  {rate:,.0f} points/s", flush=True)
    err = velocity_error(model)
    if not quiet:
        print(f"relative velocity error {err:.3f}; loss fell {losses[0] / losses[-1]:.0f}x")
    return model, losses, err


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", default="ci", choices=sorted(SIZES))
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=1e-2)
    args = p.parse_args()
    train(args.size, args.steps, args.lr)


if __name__ == "__main__":
    main()
