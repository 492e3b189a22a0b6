"""CPU benchmark of tessera.linalg against NumPy (LAPACK through OpenBLAS) and PyTorch (CPU) in one
run: a batch of small matrices (where one program instance per matrix pays off) and single
matrices of growing size (where LAPACK's blocked algorithms, which Tessera does not have yet,
pull ahead). Each case is checked against NumPy in float64 before it is timed; times are medians
after warm-up; ratio = reference / Tessera (> 1: Tessera is faster).

    python bench/linalg_cpu.py [--out results.md] [--quick]
"""
import argparse
import datetime
import os
import platform

import numpy as np
from cpu_ops import bench, fmt_time
from report import publish

import tessera as ts
from tessera import linalg as la

try:
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
except ImportError:
    torch = None

RNG = np.random.default_rng(7)


def spd(batch, n, dt):
    x = RNG.standard_normal(batch + (n, n))
    return (x @ np.swapaxes(x, -1, -2) + n * np.eye(n)).astype(dt)


def general(batch, n, dt):
    return (RNG.standard_normal(batch + (n, n)) + 2 * np.sqrt(n) * np.eye(n)).astype(dt)


# name: (input maker, tessera fn, numpy fn, torch fn, value compared (Tessera result -> array))
CASES = {
    "cholesky": (spd, la.cholesky, np.linalg.cholesky, lambda a: torch.linalg.cholesky(a)),
    "solve": (general, lambda a: la.solve(a, a[..., :1] * 1.0), lambda a: np.linalg.solve(a, a[..., :1]),
              lambda a: torch.linalg.solve(a, a[..., :1])),
    "inv": (general, la.inv, np.linalg.inv, lambda a: torch.linalg.inv(a)),
    "det": (general, la.det, np.linalg.det, lambda a: torch.linalg.det(a)),
    "qr (R)": (general, lambda a: la.qr(a, mode="r"), lambda a: np.linalg.qr(a, mode="r"),
               lambda a: torch.linalg.qr(a, mode="r")[1]),
    "eigvalsh": (spd, la.eigvalsh, np.linalg.eigvalsh, lambda a: torch.linalg.eigvalsh(a)),
    "svdvals": (general, la.svdvals, lambda a: np.linalg.svd(a, compute_uv=False),
                lambda a: torch.linalg.svdvals(a)),
}


def run_case(rows, name, batch, n, dt):
    make, fn, np_fn, torch_fn = CASES[name]
    a = make(batch, n, dt)
    f = ts.jit(fn)
    ta = ts.tensor(a)
    want = np_fn(a.astype(np.float64))
    tol = 1e-8 if dt == np.float64 else 2e-3
    got = np.asarray(f(ta).numpy(), dtype=np.float64)
    if not np.allclose(got, want, rtol=tol, atol=tol * max(1.0, float(np.abs(want).max(initial=0)))):
        raise SystemExit(f"{name} {batch} {n}: Tessera disagrees with NumPy")
    refs = {"NumPy": bench(lambda: np_fn(a), reps=5)}
    if torch is not None:
        ta_t = torch.from_numpy(a)
        refs["PyTorch"] = bench(lambda: torch_fn(ta_t), reps=5)
    label = f"{name} {'x'.join(map(str, batch)) + ' x ' if batch else ''}{n}x{n} {np.dtype(dt).name}"
    rows.append((label, bench(lambda: f(ta).numpy(), reps=5), refs))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    rows = []
    shapes = [((1024,), 8), ((), 64), ((), 256)] if not args.quick else [((64,), 8), ((), 32)]
    for name in CASES:
        for batch, n in shapes:
            if name in ("eigvalsh", "svdvals") and n > 64 and not args.quick:
                n = 128  # Jacobi: O(n^3) per sweep, ~10 sweeps
            run_case(rows, name, batch, n, np.float64)
    lines = [f"# CPU linear algebra, {datetime.date.today()}, {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores, float64", "",
             f"numpy {np.__version__}" + (f", torch {torch.__version__}" if torch else "") +
             f", tessera threads {ts.get_num_threads()}; median wall time of a jitted call (result read back); "
             "ratio = reference / Tessera.", "",
             "| case | Tessera | NumPy | ratio | PyTorch | ratio |", "|---|---|---|---|---|---|"]
    for case, t, r in rows:
        cells = [case, fmt_time(t)]
        for ref in ("NumPy", "PyTorch"):
            cells += [fmt_time(r[ref]), f"{r[ref] / t:.2f}x"] if ref in r else ["", ""]
        lines.append("| " + " | ".join(cells) + " |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
