"""CPU benchmark for the scheduling issue: Tessera against NumPy and PyTorch (CPU, eager) in one
run, float32, on the cases of the issue's target table.

Each case is checked against NumPy (float64 where it matters) before it is timed; a timing is
the median of repeats after warm-up. Ratios are reference time / Tessera time (> 1 means
Tessera is faster).

    python bench/cpu_ops.py [--out results.md] [--quick]
"""
import argparse
import datetime
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from report import publish

import tessera as ts

try:
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
except ImportError:  # the table then has no PyTorch column
    torch = None


def bench(fn, reps=15, min_time=0.3):
    for _ in range(3):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < reps or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 200:
            break
    return statistics.median(times)


def check(got, want, rtol, atol, case):
    got = np.asarray(got, dtype=np.float64)
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        err = np.max(np.abs(got - want) / (atol + rtol * np.abs(want)))
        raise SystemExit(f"{case}: Tessera disagrees with the reference (worst error {err:.3g} x tolerance)")


def np_gelu(x):
    """Exact gelu in float64 (NumPy has no erf; this is only the reference, not timed)."""
    return 0.5 * x * (1.0 + np.frompyfunc(math.erf, 1, 1)(x * math.sqrt(0.5)).astype(np.float64))


def np_gelu_tanh(x):
    """The tanh form, which is what a NumPy user writes (NumPy has no erf): timed."""
    c = np.float32(math.sqrt(2 / math.pi))
    return np.float32(0.5) * x * (np.float32(1) + np.tanh(c * (x + np.float32(0.044715) * x * x * x)))


def elementwise_case(rows, n):
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(n, dtype=np.float32) for _ in range(3))
    f = ts.jit(lambda x, w, b: ts.gelu(x * w + b) * ts.sigmoid(x))
    tx, tw, tb = ts.from_dlpack(x), ts.from_dlpack(w), ts.from_dlpack(b)
    xd, wd, bd = x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)
    check(f(tx, tw, tb).numpy(), np_gelu(xd * wd + bd) / (1 + np.exp(-xd)), 1e-5, 1e-6, "elementwise")
    refs = {}
    refs["NumPy"] = bench(lambda: np_gelu_tanh(x * w + b) / (np.float32(1) + np.exp(-x)))
    if torch is not None:
        X, W, B = (torch.from_numpy(a) for a in (x, w, b))
        refs["PyTorch"] = bench(lambda: torch.nn.functional.gelu(X * W + B) * torch.sigmoid(X))
    rows.append((f"gelu(x*w+b)*sigmoid(x) 2^{n.bit_length() - 1}", bench(lambda: f(tx, tw, tb)), refs))


def softmax_case(rows, m, n):
    a = np.random.default_rng(1).standard_normal((m, n), dtype=np.float32)
    f = ts.jit(lambda a: ts.softmax(a, axis=-1))
    ta = ts.from_dlpack(a)
    ad = a.astype(np.float64)
    e = np.exp(ad - ad.max(-1, keepdims=True))
    check(f(ta).numpy(), e / e.sum(-1, keepdims=True), 1e-5, 1e-9, "softmax")

    def np_softmax():
        e = np.exp(a - a.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    refs = {"NumPy": bench(np_softmax)}
    if torch is not None:
        A = torch.from_numpy(a)
        refs["PyTorch"] = bench(lambda: torch.softmax(A, -1))
    rows.append((f"softmax rows {m}x{n}", bench(lambda: f(ta)), refs))


def layernorm_case(rows, m, n):
    a = np.random.default_rng(2).standard_normal((m, n), dtype=np.float32)
    f = ts.jit(lambda a: ts.layernorm(a))
    ta = ts.from_dlpack(a)
    ad = a.astype(np.float64)
    mu = ad.mean(-1, keepdims=True)
    check(f(ta).numpy(), (ad - mu) / np.sqrt(((ad - mu) ** 2).mean(-1, keepdims=True) + 1e-5), 1e-4, 1e-5,
          "layernorm")

    def np_ln():
        mu = a.mean(-1, keepdims=True)
        d = a - mu
        return d / np.sqrt((d * d).mean(-1, keepdims=True) + np.float32(1e-5))
    refs = {"NumPy": bench(np_ln)}
    if torch is not None:
        A = torch.from_numpy(a)
        refs["PyTorch"] = bench(lambda: torch.nn.functional.layer_norm(A, (n,)))
    rows.append((f"layernorm rows {m}x{n}", bench(lambda: f(ta)), refs))


def matmul_case(rows, size, epilogue=False):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((size, size), dtype=np.float32), rng.standard_normal((size, size), dtype=np.float32)
    bias = rng.standard_normal(size, dtype=np.float32)
    ta, tb, tbias = ts.from_dlpack(a), ts.from_dlpack(b), ts.from_dlpack(bias)
    if epilogue:
        f = ts.jit(lambda a, b, c: ts.relu(a @ b + c))
        want = np.maximum(a.astype(np.float64) @ b.astype(np.float64) + bias, 0)
        run = lambda: f(ta, tb, tbias)  # noqa: E731
        refs = {"NumPy": bench(lambda: np.maximum(a @ b + bias, 0), reps=5)}
        if torch is not None:
            A, B, C = (torch.from_numpy(v) for v in (a, b, bias))
            refs["PyTorch"] = bench(lambda: torch.relu(torch.addmm(C, A, B)), reps=5)
        case = f"matmul+bias+relu {size}^3"
    else:
        f = ts.jit(lambda a, b: a @ b)
        want = a.astype(np.float64) @ b.astype(np.float64)
        run = lambda: f(ta, tb)  # noqa: E731
        refs = {"NumPy": bench(lambda: a @ b, reps=5)}
        if torch is not None:
            A, B = torch.from_numpy(a), torch.from_numpy(b)
            refs["PyTorch"] = bench(lambda: A @ B, reps=5)
        case = f"matmul {size}^3"
    check(run().numpy(), want, 1e-4, 1e-3 * np.sqrt(size), case)
    t = bench(run, reps=5)
    rows.append((case + f" ({2 * size**3 / t / 1e9:.0f} GFLOP/s)", t, refs))


def sum_case(rows, n):
    x = np.random.default_rng(4).standard_normal(n, dtype=np.float32)
    f = ts.jit(lambda x: ts.sum(x))
    tx = ts.from_dlpack(x)
    check(f(tx).numpy(), x.astype(np.float64).sum(), 1e-5, 1e-2, "sum")
    refs = {"NumPy": bench(lambda: x.sum())}
    if torch is not None:
        X = torch.from_numpy(x)
        refs["PyTorch"] = bench(lambda: X.sum())
    rows.append((f"sum 2^{n.bit_length() - 1}", bench(lambda: f(tx)), refs))


TEN_OPS = "lambda x, y: ts.tanh(ts.exp(x * y + 1.0) - ts.sqrt(ts.abs(y)) * 0.5 + ts.sigmoid(x) / (1.0 + y * y))"


def overhead_rows(rows):
    # Cold compile: a cache directory of its own, so nothing comes from an earlier run.
    with tempfile.TemporaryDirectory() as d:
        script = ("import time,numpy,tessera as ts;x,y=ts.randn(8,seed=1),ts.randn(8,seed=2);f=ts.jit(" + TEN_OPS + ")"
                  ";t=time.perf_counter();f(x,y).numpy();print(time.perf_counter()-t)")
        env = dict(os.environ, TESSERA_CACHE_DIR=d)
        run = lambda: float(subprocess.run([sys.executable, "-c", script], env=env, check=True,  # noqa: E731
                                           capture_output=True, text=True).stdout)
        cold = run()
        # A new process whose first call hits the disk cache the first run filled (NumPy is
        # imported before the timer: its import is not Tessera's).
        warm = statistics.median(run() for _ in range(3))
    small = ts.jit(lambda a: a + 1.0)
    tiny = ts.ones(4)
    call = bench(lambda: small(tiny), reps=2000, min_time=0.5)
    rows.append(("cold compile, 10-op fused function (new process)", cold, {}))
    rows.append(("cached @jit call, tiny input", call, {}))
    rows.append(("new process, disk-cache hit, first call", warm, {}))


def fmt_time(t):
    return f"{t * 1e3:.3f} ms" if t < 1 else f"{t:.2f} s"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=None)
    p.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = p.parse_args()
    q = args.quick
    rows = []
    elementwise_case(rows, 2**20 if q else 2**24)
    softmax_case(rows, *((512, 512) if q else (4096, 4096)))
    layernorm_case(rows, *((1024, 256) if q else (8192, 1024)))
    for size in ((256,) if q else (1024, 2048)):
        matmul_case(rows, size)
    matmul_case(rows, 256 if q else 2048, epilogue=True)
    sum_case(rows, 2**20 if q else 2**26)
    overhead_rows(rows)

    refs = ["NumPy", "PyTorch"]
    lines = [f"# CPU benchmark, {datetime.date.today()}, {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores, float32", "",
             f"numpy {np.__version__}" + (f", torch {torch.__version__}" if torch else "") +
             f", tessera threads {ts.get_num_threads()}; median wall time; ratio = reference / Tessera.", "",
             "| case | Tessera | NumPy | ratio | PyTorch | ratio |", "|---|---|---|---|---|---|"]
    for case, t, r in rows:
        cells = [case, fmt_time(t)]
        for name in refs:
            cells += [fmt_time(r[name]), f"{r[name] / t:.2f}x"] if name in r else ["", ""]
        lines.append("| " + " | ".join(cells) + " |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
