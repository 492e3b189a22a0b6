"""GEMM on an NVIDIA GPU: Tessera's kernels vs torch (cuBLAS), same run: bf16 (tensor cores),
bf16 with a bias + gelu epilogue (against cuBLAS + torch's epilogue), f32 with TF32 off
(CUDA cores; torch.backends.cuda.matmul.allow_tf32 = False), and f32 with precision = "tf32"
(tensor cores) against cuBLAS with TF32 allowed (error bound 1e-3 there).

    python3 bench/gpu_gemm.py [--sizes 4096 8192] [--f32-sizes 4096] [--epilogue-sizes 8192] [--tf32-sizes 4096]
                              [--small-shapes 128x2048x512 ...] [--out DIR]

Each case checks Tessera's result against torch first (relative error < 1e-2 on poisoned
outputs), then times both with triton.testing.do_bench (median, device events) and prints
the TFLOP/s and the ratio. Results go to DIR/gpu_gemm.json and DIR/gpu_gemm.md (DIR defaults
to $OUT, else bench/results)."""
import argparse
import json
import os
import time

import torch
import triton.testing

import tessera as ts


def bench_case(n, dtype, epilogue=False, tf32=False, mnk=None):
    m, n, k = mnk or (n, n, n)
    a = torch.randn(m, k, device="cuda", dtype=dtype)
    b = torch.randn(k, n, device="cuda", dtype=dtype)
    bias = torch.randn(n, device="cuda", dtype=dtype)
    ta, tb, tbias = ts.from_dlpack(a), ts.from_dlpack(b), ts.from_dlpack(bias)
    if epilogue:
        f = ts.jit(lambda x, y, c: ts.ops.gelu(x @ y + c))
        run_ts, run_ref = (lambda: f(ta, tb, tbias)), (lambda: torch.nn.functional.gelu(a @ b + bias))
    elif tf32:  # precision = "tf32" against cuBLAS with TF32 allowed
        f = ts.jit(lambda x, y: ts.ops.matmul(x, y, precision="tf32"))

        def run_ref():
            torch.backends.cuda.matmul.allow_tf32 = True
            try:
                return a @ b
            finally:
                torch.backends.cuda.matmul.allow_tf32 = False
        run_ts = lambda: f(ta, tb)  # noqa: E731
    else:
        f = ts.jit(lambda x, y: x @ y)
        run_ts, run_ref = (lambda: f(ta, tb)), (lambda: a @ b)
    os.environ["TESSERA_POISON_OUTPUTS"] = "1"
    got = torch.from_dlpack(run_ts())
    want = (a.double() @ b.double()) if dtype == torch.float32 else run_ref()
    err = ((got.double() - want.double()).abs().max() / want.double().abs().max()).item()
    tol = 1e-3 if tf32 else 1e-5 if dtype == torch.float32 else 1e-2
    size = f"{m}x{n}x{k}" if mnk else f"{n}^3"
    assert torch.isfinite(got).all() and err < tol, f"{size}: Tessera differs from torch (rel err {err:.3g})"
    os.environ.pop("TESSERA_POISON_OUTPUTS")
    run_ts()  # the timed calls reuse the compiled program
    ms_ts = triton.testing.do_bench(run_ts, warmup=50, rep=300, return_mode="median")
    ms_ref = triton.testing.do_bench(run_ref, warmup=50, rep=300, return_mode="median")
    flop = 2.0 * m * n * k
    name = f"GEMM {'tf32' if tf32 else str(dtype).split('.')[-1]}{' + bias + gelu' if epilogue else ''} {size}"
    return {"case": name, "tessera_ms": ms_ts, "cublas_ms": ms_ref,
            "tessera_tflops": flop / ms_ts / 1e9, "cublas_tflops": flop / ms_ref / 1e9, "ratio": ms_ref / ms_ts,
            "rel_err": err}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="*", default=[4096, 8192])
    p.add_argument("--f32-sizes", type=int, nargs="*", default=[4096])
    p.add_argument("--epilogue-sizes", type=int, nargs="*", default=[8192])
    p.add_argument("--tf32-sizes", type=int, nargs="*", default=[4096])
    p.add_argument("--small-shapes", nargs="*", default=[], metavar="MxNxK",
                   help="GEMMs with few block tiles, bf16 and f32, e.g. 128x2048x512 1024x1024x1024")
    p.add_argument("--out", default=os.environ.get("OUT") or os.path.join(os.path.dirname(__file__), "results"))
    args = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    rows = [bench_case(n, torch.bfloat16) for n in args.sizes]
    rows += [bench_case(n, torch.bfloat16, epilogue=True) for n in args.epilogue_sizes]
    rows += [bench_case(n, torch.float32) for n in args.f32_sizes]
    rows += [bench_case(n, torch.float32, tf32=True) for n in args.tf32_sizes]
    for dtype in (torch.bfloat16, torch.float32):
        rows += [bench_case(0, dtype, mnk=tuple(int(x) for x in s.split("x"))) for s in args.small_shapes]
    gpu = torch.cuda.get_device_name()
    kernel = "tile.wgmma_gemm" if torch.cuda.get_device_capability() == (9, 0) else "tile.mma_sync"
    lines = [f"# GEMM, Tessera (bf16: {kernel}; f32: tile.fma_gemm) vs cuBLAS (TF32 off but for the tf32 rows) "
             f"— {gpu}, {time.strftime('%Y-%m-%d')}", "",
             "| case | Tessera ms | cuBLAS ms | Tessera TFLOP/s | cuBLAS TFLOP/s | ratio |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['tessera_ms']:.3f} | {r['cublas_ms']:.3f} | {r['tessera_tflops']:.0f} | "
                     f"{r['cublas_tflops']:.0f} | {r['ratio']:.2f}x |")
    print("\n".join(lines))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "gpu_gemm.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "gpu_gemm.json"), "w") as fh:
        json.dump({"gpu": gpu, "torch": torch.__version__, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
