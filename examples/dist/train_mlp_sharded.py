"""Data-parallel training the compiler's way: the batch is a sharded tensor (rows split over
"dp"), the parameters are held whole, and the training step is examples/train_mlp.py's, unchanged:
propagate-sharding and spmd-partition turn the gradient program into per-rank work plus the
reductions over the batch.

    python -m tessera.launch -n 4 examples/dist/train_mlp_sharded.py [steps] [--deterministic]

With --deterministic (tessera.dist.deterministic()), reductions over the batch are not split:
the ranks gather the rows they need and reduce them in the single-process order, so the loss
curve equals one process's bit for bit on any number of ranks. Without it, each rank reduces its
rows and the partial sums are all-reduced: the same curve up to float32 rounding. Rank 0 prints
the curve.
"""
import contextlib
import json
import os
import sys

import tessera as ts
from tessera import dist

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_mlp import loss_fn  # noqa: E402 - the single-process example's loss
from train_mlp_dp import data  # noqa: E402 - and its data


def main(steps=100, lr=0.5, deterministic=False):
    mesh = dist.Mesh(["dp"])
    points, labels = data()
    x = dist.shard(ts.tensor(points), dist.PartitionSpec("dp", None), mesh)
    y = dist.shard(ts.tensor(labels), dist.PartitionSpec("dp"), mesh)
    params = {"w1": ts.randn(2, 32, seed=1) * 0.5, "b1": ts.zeros(32),
              "w2": ts.randn(32, 3, seed=2) * 0.2, "b2": ts.zeros(3)}
    step = ts.jit(ts.value_and_grad(loss_fn))
    losses = []
    with dist.deterministic() if deterministic else contextlib.nullcontext():
        for _ in range(steps):
            loss, grads = step(params, x, y)
            params = {k: params[k] - grads[k] * lr for k in params}
            losses.append(loss.item())
    if dist.rank() == 0:
        print(json.dumps({"ranks": mesh.size(), "deterministic": deterministic, "losses": losses}))
    return losses


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(steps=int(args[0]) if args else 100, deterministic="--deterministic" in sys.argv)
