"""Walking-skeleton GPU benchmark: Tessera's NVPTX kernels against torch in the same run.

Checks each result against torch before timing it, then reports the median device time
(triton.testing.do_bench when available, else CUDA events), bandwidth or FLOP/s, and the
ratio. The kernels are the skeleton's untuned ones (no vector loads, no tensor cores); the
numbers are a baseline for the GPU issue, not a claim.

    python bench/gpu_skeleton.py [--out results.md]
"""
import argparse
import datetime
import statistics

import torch
from report import publish

import tessera as ts


def bench(fn, reps=50):
    try:
        from triton.testing import do_bench
        return do_bench(fn, warmup=25, rep=reps * 2, return_mode="median") * 1e-3
    except ImportError:
        for _ in range(5):
            fn()
        times = []
        for _ in range(reps):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            e.synchronize()
            times.append(s.elapsed_time(e) * 1e-3)
        return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=None)
    args = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    rows = []

    # Elementwise: exp(x) * y + x over 2^26 fp32 (768 MiB moved per call).
    n = 2**26
    x, y = torch.randn(n, device="cuda"), torch.randn(n, device="cuda")
    tx, ty = ts.from_dlpack(x), ts.from_dlpack(y)
    f = ts.jit(lambda x, y: ts.exp(x) * y + x)
    torch.testing.assert_close(torch.from_dlpack(f(tx, ty)), torch.exp(x) * y + x, rtol=1e-5, atol=1e-5)
    t_ts = bench(lambda: f(tx, ty))
    t_ref = bench(lambda: torch.exp(x) * y + x)
    gb = 3 * n * 4 / 1e9
    rows.append(("exp(x)*y+x fp32 2^26", t_ts, t_ref, "torch eager", f"{gb / t_ts:.0f} GB/s", f"{gb / t_ref:.0f} GB/s"))

    # Row sum 8192 x 8192 fp32.
    a = torch.randn(8192, 8192, device="cuda")
    ta = ts.from_dlpack(a)
    g = ts.jit(lambda a: ts.sum(a, axis=-1))
    torch.testing.assert_close(torch.from_dlpack(g(ta)), a.sum(-1), rtol=1e-4, atol=1e-3)
    t_ts, t_ref = bench(lambda: g(ta)), bench(lambda: a.sum(-1))
    gb = a.numel() * 4 / 1e9
    rows.append(("row sum fp32 8192^2", t_ts, t_ref, "torch eager", f"{gb / t_ts:.0f} GB/s", f"{gb / t_ref:.0f} GB/s"))

    # Matmul fp32 (TF32 off) 1024^3 and 2048^3.
    for size in (1024, 2048):
        a, b = torch.randn(size, size, device="cuda"), torch.randn(size, size, device="cuda")
        mm = ts.jit(lambda a, b: a @ b)
        ta, tb = ts.from_dlpack(a), ts.from_dlpack(b)
        torch.testing.assert_close(torch.from_dlpack(mm(ta, tb)), a @ b, rtol=1e-3, atol=1e-3)
        t_ts, t_ref = bench(lambda mm=mm, ta=ta, tb=tb: mm(ta, tb)), bench(lambda a=a, b=b: a @ b)
        tf = 2 * size**3 / 1e12
        rows.append((f"matmul fp32 {size}^3", t_ts, t_ref, "cuBLAS (TF32 off)", f"{tf / t_ts:.2f} TFLOP/s",
                     f"{tf / t_ref:.2f} TFLOP/s"))

    name = torch.cuda.get_device_name()
    lines = [f"# Walking-skeleton GPU benchmark, {datetime.date.today()}, {name}", "",
             f"torch {torch.__version__}; median device time; ratio = reference time / Tessera time "
             "(> 1 means Tessera is faster).", "",
             "| case | Tessera | reference | ratio | Tessera rate | reference rate |", "|---|---|---|---|---|---|"]
    for case, t_ts, t_ref, ref, r_ts, r_ref in rows:
        lines.append(f"| {case} | {t_ts * 1e3:.3f} ms | {ref}: {t_ref * 1e3:.3f} ms | {t_ref / t_ts:.2f}x | "
                     f"{r_ts} | {r_ref} |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
