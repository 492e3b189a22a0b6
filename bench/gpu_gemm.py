"""bf16 GEMM on an NVIDIA GPU: Tessera's tensor-core kernel vs torch (cuBLAS), same run.

    python3 bench/gpu_gemm.py [--sizes 4096 8192] [--out DIR]

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


def bench_case(n, dtype):
    a = torch.randn(n, n, device="cuda", dtype=dtype)
    b = torch.randn(n, n, device="cuda", dtype=dtype)
    f = ts.jit(lambda x, y: x @ y)
    ta, tb = ts.from_dlpack(a), ts.from_dlpack(b)
    os.environ["TESSERA_POISON_OUTPUTS"] = "1"
    got = torch.from_dlpack(f(ta, tb))
    want = a @ b
    err = ((got.float() - want.float()).abs().max() / want.float().abs().max()).item()
    assert torch.isfinite(got).all() and err < 1e-2, f"{n}^3: Tessera differs from torch (rel err {err:.3g})"
    os.environ.pop("TESSERA_POISON_OUTPUTS")
    f(ta, tb)  # the timed calls reuse the compiled program
    ms_ts = triton.testing.do_bench(lambda: f(ta, tb), warmup=50, rep=300, return_mode="median")
    ms_ref = triton.testing.do_bench(lambda: a @ b, warmup=50, rep=300, return_mode="median")
    flop = 2.0 * n**3
    return {"case": f"GEMM {str(dtype).split('.')[-1]} {n}^3", "tessera_ms": ms_ts, "cublas_ms": ms_ref,
            "tessera_tflops": flop / ms_ts / 1e9, "cublas_tflops": flop / ms_ref / 1e9, "ratio": ms_ref / ms_ts,
            "rel_err": err}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[4096, 8192])
    p.add_argument("--out", default=os.environ.get("OUT") or os.path.join(os.path.dirname(__file__), "results"))
    args = p.parse_args()
    rows = [bench_case(n, torch.bfloat16) for n in args.sizes]
    gpu = torch.cuda.get_device_name()
    kernel = "tile.wgmma_gemm" if torch.cuda.get_device_capability() == (9, 0) else "tile.mma_sync"
    lines = [f"# bf16 GEMM, Tessera ({kernel}) vs cuBLAS — {gpu}, {time.strftime('%Y-%m-%d')}", "",
             "| case | Tessera ms | cuBLAS ms | Tessera TFLOP/s | cuBLAS TFLOP/s | ratio |", "|---|---|---|---|---|---|"]
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
