"""Pipeline parallelism: a deep MLP cut into one stage per rank along a "pp" mesh axis, trained
on microbatches with the GPipe or the 1F1B schedule (tessera.dist.pipeline).

    python -m tessera.launch -n 4 examples/dist/pipeline_mlp.py [gpipe|1f1b] [microbatches]

Each rank holds its stage's weights. The check: the pipelined loss and every stage's gradients
equal the unpipelined model's (the whole network on one process, float64), and the stage's
most inputs held at once (1F1B: bounded by the stage count; GPipe: every microbatch).
"""
import sys

import numpy as np

import tessera as ts
from tessera import dist

D, BATCH = 8, 24


def stage(p, x):
    return ts.tanh(x @ p["w"] + p["b"])


def mse(y, t):
    return ts.mean((y - t) ** 2)


def main(schedule="1f1b", microbatches=6):
    n, r = dist.world_size(), dist.rank()
    mesh = dist.Mesh(["pp"])
    rng = np.random.default_rng(0)  # every rank makes every stage's weights, to check them
    weights = [{"w": rng.standard_normal((D, D)) * 0.5, "b": rng.standard_normal(D) * 0.1} for _ in range(n)]
    x, t = rng.standard_normal((BATCH, D)), rng.standard_normal((BATCH, D))
    mine = {k: ts.tensor(v) for k, v in weights[r].items()}
    loss, grads, stats = dist.pipeline(stage, mse, mine, ts.tensor(x), ts.tensor(t), microbatches,
                                       schedule=schedule, axis="pp", mesh=mesh)

    def whole(ws, x, t):  # the unpipelined model, microbatch losses averaged as the pipeline does
        parts = []
        for m in range(microbatches):
            size = BATCH // microbatches
            y = x[m * size:(m + 1) * size]
            for p in ws:
                y = stage(p, y)
            parts.append(mse(y, t[m * size:(m + 1) * size]))
        return sum(parts[1:], parts[0]) / microbatches

    every = [{k: ts.tensor(v) for k, v in w.items()} for w in weights]
    ref_loss, ref_grads = ts.value_and_grad(whole)(every, ts.tensor(x), ts.tensor(t))
    tol = dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(loss.item(), ref_loss.item(), **tol)
    for k in ("w", "b"):
        np.testing.assert_allclose(grads[k].numpy(), ref_grads[r][k].numpy(), **tol)
    bound = microbatches if schedule == "gpipe" else 2 * (n - 1 - r) + 1
    assert stats["max_in_flight"] <= bound, stats
    print(f"rank {r}: {schedule} pipeline of {n} stages matches the unpipelined model "
          f"(loss {loss.item():.6f}, {stats['max_in_flight']} inputs held at most)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "1f1b", int(sys.argv[2]) if len(sys.argv) > 2 else 6)
