"""f32 GEMM (tile.fma_gemm, CUDA cores, TF32 never used) per shared-memory schedule, next to
cuBLAS with TF32 off in the same run.

    python3 bench/gpu_fma_gemm_variants.py [--sizes 4096] [--variants 16:3 8:4 ...] [--epilogue] [--out log.md]

A variant `BK:STAGES` rewrites the matmul kernel's knobs in the Schedule IR of an sm_90a (else
the GPU's own target) compile to `stages = STAGES, tile = [128, 128, BK]`. Each is checked
against torch in float64 (max error over max |C| below 1e-5, outputs poisoned) before timing
with triton.testing.do_bench (median); ptxas -v of its kernel is printed where ptxas exists.
--epilogue times gelu(a @ b + bias) instead (fused into the GEMM; torch: cuBLAS, then its
bias and gelu)."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import torch
import triton.testing

import tessera as ts
from tessera import _C
from tessera.tensor import Tensor


def program(n, epilogue):
    if not epilogue:
        return f"""module @m {{
func @main(%a: f32[{n},{n}], %b: f32[{n},{n}]) -> (f32[{n},{n}]) {{
  %0 = matmul(%a, %b) : f32[{n},{n}]
  return(%0)
}}
}}
"""
    return f"""module @m {{
func @main(%a: f32[{n},{n}], %b: f32[{n},{n}], %c: f32[{n}]) -> (f32[{n},{n}]) {{
  %0 = matmul(%a, %b) : f32[{n},{n}]
  %1 = add(%0, %c) : f32[{n},{n}]
  %2 = gelu(%1) : f32[{n},{n}]
  return(%2)
}}
}}
"""


def ptxas_report(ptx):
    ptxas = shutil.which("ptxas") or (
        "/usr/local/cuda/bin/ptxas" if os.path.exists("/usr/local/cuda/bin/ptxas") else None)
    if not ptxas:
        return "ptxas not found"
    arch = re.search(r"\.target (sm_\w+)", ptx).group(1)
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "k.ptx")
        open(src, "w").write(ptx)
        r = subprocess.run([ptxas, f"-arch={arch}", "-v", src, "-o", os.path.join(d, "k.cubin")],
                           capture_output=True, text=True)
    return " ".join(line.split(":", 1)[-1].strip() for line in r.stderr.splitlines()
                    if "Used" in line or "spill" in line)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[4096])
    p.add_argument("--variants", nargs="+", default=["16:2", "16:3", "16:4", "8:3", "8:4", "32:2", "32:3"])
    p.add_argument("--epilogue", action="store_true")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    major, minor = torch.cuda.get_device_capability()
    target = "nvptx:sm_90a" if major == 9 else f"nvptx:sm_{major}{minor}"
    log = open(a.out, "a") if a.out else sys.stdout
    what = "gelu(a @ b + bias)" if a.epilogue else "a @ b"
    print(f"# f32 GEMM variants (tile.fma_gemm), {what}, vs cuBLAS, TF32 off — {torch.cuda.get_device_name()}\n",
          file=log)
    print("| n | bk:stages | ms | cuBLAS ms | TFLOP/s | cuBLAS TFLOP/s | ratio | max err / max abs | ptxas |", file=log)
    print("|---|---|---|---|---|---|---|---|---|", file=log, flush=True)
    for n in a.sizes:
        x = torch.randn(n, n, device="cuda")
        y = torch.randn(n, n, device="cuda")
        bias = torch.randn(n, device="cuda")
        want = x.double() @ y.double()
        args = [_C.from_dlpack(t, None, None) for t in (x, y, bias)][:3 if a.epilogue else 2]
        if a.epilogue:
            want = torch.nn.functional.gelu(want + bias.double())
        # Timed right below, in this iteration. (Default arguments would keep this iteration's tensors alive
        # while the next one's are allocated.)
        ref = (lambda: torch.nn.functional.gelu(x @ y + bias)) if a.epilogue else (lambda: x @ y)  # noqa: B023
        ms_ref = triton.testing.do_bench(ref, warmup=50, rep=300, return_mode="median")
        flop = 2.0 * n ** 3
        for v in a.variants:
            bk, stages = (int(t) for t in v.split(":"))
            sched = ts.compile_for_target(program(n, a.epilogue), target)["schedule"]
            sched, count = re.subn(r"stages = \d+, tile = \[128, 128, \d+\]",
                                   f"stages = {stages}, tile = [128, 128, {bk}]", sched)
            assert count == 1, sched
            try:
                exe = _C.compile(sched, "cuda:0", target)
            except Exception as e:  # an invalid variant: say why, time the others
                print(f"| {n} | {v} | {type(e).__name__}: {str(e)[:200]} |", file=log, flush=True)
                continue
            os.environ["TESSERA_POISON_OUTPUTS"] = "1"
            got = torch.from_dlpack(Tensor._from_array(exe.run(args)[0]))
            os.environ.pop("TESSERA_POISON_OUTPUTS")
            err = ((got.double() - want).abs().max() / want.abs().max()).item()
            ok = err < 1e-5 and bool(torch.isfinite(got).all())
            if ok:
                ms = triton.testing.do_bench(lambda exe=exe, args=args: exe.run(args), warmup=50, rep=300,
                                             return_mode="median")
            else:
                ms = float("nan")
            print(f"| {n} | {v} | {ms:.3f} | {ms_ref:.3f} | {flop / ms / 1e9:.1f} | {flop / ms_ref / 1e9:.1f} | "
                  f"{ms_ref / ms:.2f}x | {err:.1e}{'' if ok else ' WRONG'} | {ptxas_report(exe.ir('asm'))} |",
                  file=log, flush=True)


if __name__ == "__main__":
    main()
