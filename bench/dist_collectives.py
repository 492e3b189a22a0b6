"""Collective bandwidth on CPU ranks: tessera.dist against mpi4py on the same MPI (the mpich
wheel: Tessera through its MPI-5 standard-ABI library, mpi4py through libmpi.so.12; one
process cannot hold both, so each runs its own job, back to back in this run).

    pip install mpi4py   # the reference (its wheel finds the mpich wheel's libmpi.so.12)
    python bench/dist_collectives.py --ranks 2 --out bench/results/...md

Bus bandwidth as nccl-tests defines it: all-reduce moves 2(n-1)/n of the buffer per rank,
all-gather, reduce-scatter and all-to-all (n-1)/n of the whole. Tessera's time is the eager op
(dispatch of a cached one-op program, a new output buffer, the MPI call); mpi4py's is one call
into preallocated buffers. Ratio = mpi4py time / Tessera time (>= 1: Tessera is as fast).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import dist_job  # noqa: E402
from report import publish  # noqa: E402

OPS = ["all_reduce", "all_gather", "reduce_scatter", "all_to_all"]
# bytes of the per-rank buffer, up to --max-bytes (passed to the jobs in the environment)
SIZES = [s for s in (1 << 10, 1 << 14, 1 << 18, 1 << 22, 1 << 24, 1 << 26)
         if s <= int(os.environ.get("BENCH_MAX_BYTES", 1 << 26))]


def bus_factor(op, n):
    return 2 * (n - 1) / n if op == "all_reduce" else (n - 1) / n


def timed(fn, barrier, size):
    """Median seconds of fn(). The repetition count depends on the size only: every rank must
    make the same number of calls."""
    fn()
    times = []
    for _ in range(max(5, min(200, (1 << 24) // size))):
        barrier()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def tessera_calls(x):
    from tessera import dist
    return {"all_reduce": lambda: dist.all_reduce(x), "all_gather": lambda: dist.all_gather(x),
            "reduce_scatter": lambda: dist.reduce_scatter(x), "all_to_all": lambda: dist.all_to_all(x)}


def mpi4py_calls(comm, x):
    import numpy as np
    n = comm.size
    big, small, same = np.empty(n * x.size, np.float32), np.empty(x.size // n, np.float32), np.empty_like(x)
    return {"all_reduce": lambda: comm.Allreduce(x, same), "all_gather": lambda: comm.Allgather(x, big),
            "reduce_scatter": lambda: comm.Reduce_scatter_block(x, small), "all_to_all": lambda: comm.Alltoall(x, same)}


def worker(engine):
    """{op/size: seconds} on this job's ranks."""
    import numpy as np
    if engine == "tessera":
        import tessera as ts
        from tessera import dist
        dist.Mesh(["x"])
        n, barrier = dist.world_size(), dist.barrier
        calls = lambda size: tessera_calls(ts.tensor(np.ones(size // 4, np.float32)))  # noqa: E731
    else:
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
        n, barrier = comm.size, comm.Barrier
        calls = lambda size: mpi4py_calls(comm, np.ones(size // 4, np.float32))  # noqa: E731
    out = {}
    for size in SIZES:
        fns = calls(size)
        for op in OPS:
            out[f"{op}/{size}"] = timed(fns[op], barrier, size)
    return n, out


def run_job(n, engine):
    return dist_job.run(__file__, n, "--worker", engine)


def bytes_moved(op, size, n):
    whole = size if op in ("all_reduce", "reduce_scatter", "all_to_all") else size * n
    return whole * bus_factor(op, n)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ranks", default="2")
    p.add_argument("--worker", choices=["tessera", "mpi4py"])
    p.add_argument("--max-bytes", type=int)
    p.add_argument("--out")
    a = p.parse_args()
    if a.max_bytes:
        os.environ["BENCH_MAX_BYTES"] = str(a.max_bytes)
    if a.worker:
        n, out = worker(a.worker)
        dist_job.report({"ranks": n, "times": out})
        return
    lines = ["| ranks | op | bytes/rank | Tessera GB/s | mpi4py GB/s | ratio |", "|---|---|---|---|---|---|"]
    sizes = [s for s in SIZES if s <= int(os.environ.get("BENCH_MAX_BYTES", 1 << 26))]
    for n in [int(v) for v in a.ranks.split(",")]:
        mine, ref = run_job(n, "tessera")["times"], run_job(n, "mpi4py")["times"]
        for op in OPS:
            for size in sizes:
                k = f"{op}/{size}"
                gb = bytes_moved(op, size, n) / 1e9
                ratio = ref[k] / mine[k]
                lines.append(f"| {n} | {op} | {size} | {gb / mine[k]:.2f} | {gb / ref[k]:.2f} | {ratio:.2f} |")
    publish(["# CPU collectives, tessera.dist vs mpi4py (MPICH 5.0.2 wheel)", "",
             f"`python bench/dist_collectives.py --ranks {a.ranks}` on {os.cpu_count()} cores; median time per "
             f"call; bus bandwidth as nccl-tests.", "", *lines], a.out)

if __name__ == "__main__":
    main()
