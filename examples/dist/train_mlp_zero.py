"""Data parallelism with a sharded optimizer state (ZeRO's first two stages), written as one
global program: the batch is split over "dp", the weights are held whole, and the momentum of
each weight is split over "dp" by rows. Constraints say where each value lives; the compiler
does the rest: the gradients' pending sums over the batch become reduce-scatters into the
state's split, each rank updates its rows, and the new weights are all-gathered.

    python -m tessera.launch -n 4 examples/dist/train_mlp_zero.py [steps]

The loss curve equals the same SGD with momentum in one process (up to float32 rounding of
sums taken in another order); rank 0 prints it and the collectives of the compiled step.
"""
import json
import os
import sys

import tessera as ts
from tessera import dist

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_mlp import loss_fn  # noqa: E402 - the single-process example's loss
from train_mlp_dp import data  # noqa: E402 - and its data

LR, MOMENTUM = 0.2, 0.9


def init():
    return {"w1": ts.randn(2, 32, seed=1) * 0.5, "b1": ts.zeros(32),
            "w2": ts.randn(32, 3, seed=2) * 0.2, "b2": ts.zeros(3)}


def rows_spec(t, mesh):
    """Split dim 0 over dp where it divides, else whole."""
    return dist.PartitionSpec("dp", *[None] * (t.ndim - 1)) if t.shape[0] % mesh.size("dp") == 0 else None


def make_step(mesh):
    def step(params, state, x, y):
        loss, grads = ts.value_and_grad(loss_fn)(params, x, y)
        new_params, new_state = {}, {}
        for k, p in params.items():
            spec = rows_spec(p, mesh)
            g = dist.with_sharding_constraint(grads[k], spec, mesh)  # a reduce-scatter of the pending sum
            m = state[k] * MOMENTUM + g
            mine = dist.with_sharding_constraint(p, spec, mesh) - m * LR  # this rank's rows of the update
            new_state[k] = m
            new_params[k] = dist.with_sharding_constraint(mine, None, mesh)  # all-gathered
        return loss, new_params, new_state
    return ts.jit(step)


def train(steps, mesh=None):
    points, labels = data()
    params = init()
    if mesh is None:  # one process: the same SGD with momentum, nothing split
        x, y = ts.tensor(points), ts.tensor(labels)
        state = {k: ts.zeros(v.shape) for k, v in params.items()}
        step = ts.jit(lambda p, s, x, y: _plain(p, s, x, y))
    else:
        x = dist.shard(ts.tensor(points), dist.PartitionSpec("dp", None), mesh)
        y = dist.shard(ts.tensor(labels), dist.PartitionSpec("dp"), mesh)
        state = {k: dist.tensor(v.shape, layout=rows_spec(v, mesh), mesh=mesh) for k, v in params.items()}
        step = make_step(mesh)
    losses = []
    for _ in range(steps):
        loss, params, state = step(params, state, x, y)
        losses.append(loss.item())
    return losses, step


def _plain(params, state, x, y):
    loss, grads = ts.value_and_grad(loss_fn)(params, x, y)
    state = {k: state[k] * MOMENTUM + grads[k] for k in params}
    return loss, {k: params[k] - state[k] * LR for k in params}, state


def main(steps=100):
    mesh = dist.Mesh(["dp"])
    losses, step = train(steps, mesh)
    if dist.rank() == 0:
        program = step.ir("schedule")
        ops = {op: program.count(f"= {op}(") for op in ("reduce_scatter", "all_gather", "all_reduce")}
        print(json.dumps({"ranks": mesh.size(), "collectives": ops, "losses": losses}))
    return losses


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
