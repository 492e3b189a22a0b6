"""Per-step cost of data-parallel training on CPU ranks: one training step (value and gradients
of an MLP's loss over a global batch) on 1 rank against 2 (or more), same run, same data.

    python bench/dist_dp_step.py --ranks 1,2 --out bench/results/...md

Two ways to split the batch: "explicit" (examples/dist/train_mlp_dp.py's loss: mark_varying on
the weights, all_reduce of the loss; per-rank code) and "sharded" (the batch a sharded tensor,
the single-process loss unchanged: propagate-sharding and spmd-partition insert the reductions).
Time = median of jitted step calls after warm-up. Each rank runs its kernels on cores / ranks
threads (what tessera.dist sets), so 1 rank uses every core. speedup = 1-rank time / n-rank time;
overhead = n-rank time - 1-rank time / n, the time beyond a perfect split (communication, the
work that does not split, and kernels that run slower on fewer threads). The last row of each
split: one rank on the cores one of the n ranks gets, whole batch: n-rank time x n against it
says how much of the overhead is communication.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import dist_job  # noqa: E402
from report import publish  # noqa: E402

B, DIN, HID, OUT = 4096, 256, 1024, 16


def worker(kind, steps=30):
    import numpy as np

    import tessera as ts
    from tessera import dist
    if os.environ.get("BENCH_THREADS"):
        ts.set_num_threads(int(os.environ["BENCH_THREADS"]))
    mesh = dist.Mesh(["dp"])
    n, r = mesh.size(), mesh.axis_index("dp")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, DIN)).astype(np.float32)
    y = rng.integers(0, OUT, B)
    params = {"w1": ts.randn(DIN, HID, seed=1) * 0.05, "b1": ts.zeros(HID),
              "w2": ts.randn(HID, OUT, seed=2) * 0.05, "b2": ts.zeros(OUT)}

    def local_loss(p, x, y):
        h = ts.relu(x @ p["w1"] + p["b1"])
        return ts.cross_entropy(h @ p["w2"] + p["b2"], y)

    if kind == "explicit":
        rows = slice(r * B // n, (r + 1) * B // n)
        xs, ys = ts.tensor(x[rows]), ts.tensor(y[rows])

        def loss(p, x, y):
            p = {k: dist.mark_varying(v) for k, v in p.items()}
            return dist.all_reduce(local_loss(p, x, y) / n)
    else:
        xs = dist.shard(ts.tensor(x), dist.PartitionSpec("dp", None), mesh)
        ys = dist.shard(ts.tensor(y), dist.PartitionSpec("dp"), mesh)
        loss = local_loss
    step = ts.jit(ts.value_and_grad(loss))
    for _ in range(3):
        step(params, xs, ys)[0].item()
    times = []
    for _ in range(steps):
        dist.barrier()
        t0 = time.perf_counter()
        value, grads = step(params, xs, ys)
        value.item()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def run_job(n, kind, threads=None):
    env = {"BENCH_THREADS": str(threads)} if threads else {}
    return dist_job.run(__file__, n, "--worker", kind, env=env)["seconds"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ranks", default="1,2")
    p.add_argument("--worker", choices=["explicit", "sharded"])
    p.add_argument("--out")
    a = p.parse_args()
    if a.worker:
        seconds = worker(a.worker)
        dist_job.report({"seconds": seconds})
        return
    ranks = [int(v) for v in a.ranks.split(",")]
    lines = ["| split | ranks | step ms | speedup vs 1 rank | overhead ms |", "|---|---|---|---|---|"]
    per_core = (os.cpu_count() or 1) // max(ranks)
    for kind in ("explicit", "sharded"):
        base = run_job(1, kind)
        for n in ranks:
            t = base if n == 1 else run_job(n, kind)
            lines.append(f"| {kind} | {n} | {t * 1e3:.2f} | {base / t:.2f} | {(t - base / n) * 1e3:.2f} |")
        # one rank on the cores one of the n ranks gets: what each rank would take with no communication
        one = run_job(1, kind, threads=per_core)
        lines.append(f"| {kind} | 1 on {per_core} core(s), whole batch | {one * 1e3:.2f} | {base / one:.2f} | |")
    publish(["# Data-parallel training step on CPU ranks", "",
             f"`python bench/dist_dp_step.py --ranks {a.ranks}` on {os.cpu_count()} cores: an MLP {DIN}-{HID}-{OUT}, "
             f"global batch {B}, float32, value and gradients per step (median).", "", *lines], a.out)

if __name__ == "__main__":
    main()
