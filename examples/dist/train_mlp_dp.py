"""Data-parallel training of examples/train_mlp.py's MLP: every rank holds the same parameters
and a slice of the batch; the global mean loss is one all_reduce, and `mark_varying` on the
parameters makes their gradients sum over the ranks (what DDP's gradient all-reduce does).

    python -m tessera.launch -n 4 examples/dist/train_mlp_dp.py

The loss curve matches the single-process run (up to float32 rounding of sums taken in
another order); rank 0 prints it.
"""
import json
import os
import sys

import numpy as np

import tessera as ts
from tessera import dist

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from train_mlp import cross_entropy  # noqa: E402 - the example next door


def data():
    rng = np.random.default_rng(0)  # the single-process example's data, on every rank
    centers = np.array([[0.0, 4.0], [-3.5, -2.0], [3.5, -2.0]])
    labels = rng.integers(0, 3, 300)
    return (centers[labels] + rng.standard_normal((300, 2))).astype(np.float32), labels


def loss_fn(params, x, labels, total):
    p = {k: dist.mark_varying(v) for k, v in params.items()}
    hidden = ts.relu(x @ p["w1"] + p["b1"])
    local = cross_entropy(hidden @ p["w2"] + p["b2"], labels, 3) * (x.shape[0] / total)
    return dist.all_reduce(local)


def main(steps=100, lr=0.5):
    mesh = dist.Mesh(["dp"])
    n, r = mesh.size(), mesh.axis_index("dp")
    points, labels = data()
    if len(points) % n:
        raise SystemExit(f"300 points do not split over {n} ranks")
    rows = slice(r * len(points) // n, (r + 1) * len(points) // n)
    x, y = ts.tensor(points[rows]), ts.tensor(labels[rows])
    params = {"w1": ts.randn(2, 32, seed=1) * 0.5, "b1": ts.zeros(32),
              "w2": ts.randn(32, 3, seed=2) * 0.2, "b2": ts.zeros(3)}
    step = ts.jit(ts.value_and_grad(loss_fn), static_argnums=3)
    losses = []
    for _ in range(steps):
        loss, grads = step(params, x, y, len(points))
        params = {k: params[k] - grads[k] * lr for k in params}
        losses.append(loss.item())
    if r == 0:
        print(json.dumps({"ranks": n, "losses": losses}))
    return losses


if __name__ == "__main__":
    main(steps=int(sys.argv[1]) if len(sys.argv) > 1 else 100)
