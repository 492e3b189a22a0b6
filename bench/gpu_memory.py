"""Memory-bound GPU kernels (issue 5): Tessera's NVPTX kernels against torch in the same run.

Each case is checked against torch before timing; times are medians of device time
(triton.testing.do_bench). Rates count bytes read + written once.

    python bench/gpu_memory.py [--out results.md]
"""
import argparse
import datetime
import time

import torch
from gpu_skeleton import bench  # noqa: E402  (same directory)
from report import publish

import tessera as ts


def case(rows, name, f_ts, f_ref, nbytes, ref_name, check, rtol):
    check_ts = torch.from_dlpack(f_ts()).double()
    torch.testing.assert_close(check_ts, check.double(), rtol=rtol, atol=rtol)
    t_ts, t_ref = bench(f_ts), bench(f_ref)
    rows.append((name, ref_name, t_ts, t_ref, nbytes / t_ts / 1e9, nbytes / t_ref / 1e9))


def host_time_per_call():
    """Microseconds of host time per cached call of a one-kernel function (launches are queued,
    not waited for; the device finishes them between runs)."""
    x = ts.from_dlpack(torch.randn(1024, device="cuda"))
    f = ts.jit(lambda a: a * 2 + 1)
    f(x)
    runs = []
    for _ in range(20):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(1000):
            f(x)
        runs.append((time.perf_counter() - t0) / 1000 * 1e6)
    return sorted(runs)[len(runs) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=None)
    args = p.parse_args()
    rows = []

    n = 2**28
    x = torch.randn(n, device="cuda")
    tx = ts.from_dlpack(x)
    g = ts.jit(lambda x: ts.ops.gelu(2 * x + 1) * ts.ops.sigmoid(x))
    ref = lambda: torch.nn.functional.gelu(2 * x + 1) * torch.sigmoid(x)  # noqa: E731
    want = ref()
    case(rows, "gelu(2x+1)*sigmoid(x) fp32 2^28", lambda: g(tx), ref, 2 * n * 4, "torch eager", want, 1e-5)
    try:
        comp = torch.compile(ref)
        comp()
        t_c = bench(comp)
        rows.append(("gelu(2x+1)*sigmoid(x) fp32 2^28", "torch.compile", rows[-1][2], t_c, rows[-1][4],
                     2 * n * 4 / t_c / 1e9))
    except Exception as e:  # noqa: BLE001
        print("torch.compile failed:", type(e).__name__, str(e)[:200])
    # Free the device memory before the next case. The names are rebound, not deleted: the lambdas above
    # close over them (they are not called again).
    x = tx = want = None

    m = 2**26
    a, b = torch.randn(m, device="cuda"), torch.randn(m, device="cuda")
    ta, tb = ts.from_dlpack(a), ts.from_dlpack(b)
    f = ts.jit(lambda x, y: ts.ops.exp(x) * y + x)
    case(rows, "exp(x)*y+x fp32 2^26", lambda: f(ta, tb), lambda: torch.exp(a) * b + a, 3 * m * 4, "torch eager",
         torch.exp(a) * b + a, 1e-5)
    a = b = ta = tb = None  # frees the device memory, as above

    s = torch.randn(8192, 8192, device="cuda")
    ts_s = ts.from_dlpack(s)
    sm = ts.jit(lambda x: ts.ops.softmax(x, axis=-1))
    case(rows, "softmax fp32 8192x8192", lambda: sm(ts_s), lambda: torch.softmax(s, -1), 2 * s.numel() * 4,
         "torch eager", torch.softmax(s, -1), 1e-5)
    rs = ts.jit(lambda x: ts.ops.sum(x, axis=-1))
    case(rows, "row sum fp32 8192x8192", lambda: rs(ts_s), lambda: s.sum(-1), s.numel() * 4, "torch eager",
         s.sum(-1), 1e-3)
    s = ts_s = None  # frees the device memory, as above

    h = torch.randn(16384, 4096, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(4096, device="cuda", dtype=torch.bfloat16)
    bb = torch.randn(4096, device="cuda", dtype=torch.bfloat16)
    th, tw, tbb = ts.from_dlpack(h), ts.from_dlpack(w), ts.from_dlpack(bb)
    ln = ts.jit(lambda x, w, b: ts.ops.layernorm(x, w, b))
    ref_ln = lambda: torch.nn.functional.layer_norm(h, (4096,), w, bb)  # noqa: E731
    case(rows, "layernorm bf16 16384x4096", lambda: ln(th, tw, tbb), ref_ln, 2 * h.numel() * 2, "torch eager",
         ref_ln(), 3e-2)

    host_us = host_time_per_call()
    lines = [f"# Memory-bound GPU kernels, {datetime.date.today()}, {torch.cuda.get_device_name()}", "",
             f"Host time of a cached one-kernel `@jit` call (x * 2 + 1 on 1024 floats, median of 20 runs of "
             f"1000 calls, no synchronisation): {host_us:.1f} us.", "",
             f"torch {torch.__version__}; median device time; ratio = reference time / Tessera time "
             "(> 1: Tessera is faster); GB/s counts bytes read + written once.", "",
             "| case | reference | Tessera ms | reference ms | ratio | Tessera GB/s | reference GB/s |",
             "|---|---|---|---|---|---|---|"]
    for name, ref_name, t_ts, t_ref, r_ts, r_ref in rows:
        lines.append(f"| {name} | {ref_name} | {t_ts * 1e3:.3f} | {t_ref * 1e3:.3f} | {t_ref / t_ts:.2f}x | "
                     f"{r_ts:.0f} | {r_ref:.0f} |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
