"""bf16 GEMM schedule variants on an NVIDIA GPU, each checked and timed against torch (cuBLAS)
in the same run, plus the compiler's report and SASS of each variant's kernel.

    python3 bench/gpu_gemm_variants.py [--sizes 4096 8192] [--variants mma_sync wgmma:128x256 ...] [--out DIR]

A variant is `mma_sync` (the sm_80 kernel: target nvptx:sm_90), `wgmma:BMxBN` (Schedule IR of
the sm_90a compile with the matmul kernel's tile knob rewritten to [BM, BN, 64]; TMA producer
warpgroup, one program instance per block tile), `wgmma-persistent:BMxBN` (the same on a
persistent grid of 132 instances) or `wgmma-cpasync:BMxBN` (cp.async copies by every thread). Each is
checked against torch (relative error < 1e-2, outputs poisoned), then timed with
triton.testing.do_bench (median). Where ptxas and cuobjdump exist, the PTX of each variant is
assembled (ptxas -v: registers, spills, shared memory) and its SASS searched for HGMMA/HMMA.
Writes DIR/gemm_variants.md, .json and the PTX/SASS files (DIR defaults to $OUT, else
bench/results)."""
import argparse
import json
import os
import re
import shutil
import subprocess
import time

import torch
import triton.testing

import tessera as ts
from tessera import _C
from tessera.tensor import Tensor


def program(n):
    return f"""module @m {{
func @main(%a: bf16[{n},{n}], %b: bf16[{n},{n}]) -> (bf16[{n},{n}]) {{
  %0 = matmul(%a, %b) : bf16[{n},{n}]
  return(%0)
}}
}}
"""


def compile_variant(n, variant):
    if variant == "mma_sync":
        return _C.compile(program(n), "cuda:0", "nvptx:sm_90")
    kind, shape = variant.split(":")
    bm, bn = (int(x) for x in shape.split("x"))
    tma = kind != "wgmma-cpasync"  # every thread copies with cp.async instead of TMA
    sched = ts.compile_for_target(program(n), "nvptx:sm_90a")["schedule"]
    persistent = 132 if kind == "wgmma-persistent" else 0
    knobs = (f'lanes = {128 * (bm // 64 + tma)}, mma = "wgmma", persistent = {persistent}, tile = [{bm}, {bn}, 64]' +
             ("" if tma else ", tma = 0"))
    sched, count = re.subn(r"lanes = \d+, mma = \"wgmma\", persistent = \d+, tile = \[\d+, \d+, 64\]", knobs, sched)
    assert count == 1, sched
    return _C.compile(sched, "cuda:0", "nvptx:sm_90a")


def tool(name):
    for p in (shutil.which(name), f"/usr/local/cuda/bin/{name}"):
        if p and os.path.exists(p):
            return p
    return None


def inspect(exe, variant, n, out):
    """ptxas -v and the SASS instruction mix of the variant's kernel, where the tools exist."""
    ptx = exe.ir("asm")
    stem = os.path.join(out, f"gemm_{variant.replace(':', '_')}_{n}")
    with open(stem + ".ptx", "w") as fh:  # removed below: the device run returns few files
        fh.write(ptx)
    ptxas, cuobjdump = tool("ptxas"), tool("cuobjdump")
    if not ptxas:
        return {"ptxas": "ptxas not found"}
    arch = re.search(r"\.target (sm_\w+)", ptx).group(1)
    r = subprocess.run([ptxas, f"-arch={arch}", "-v", stem + ".ptx", "-o", stem + ".cubin"],
                       capture_output=True, text=True)
    info = {"ptxas": " ".join(line.strip() for line in r.stderr.splitlines()
                              if "Used" in line or "spill" in line or "stack" in line)}
    warn = [line for line in r.stderr.splitlines() if "warning" in line.lower()]
    if warn:
        info["ptxas_warnings"] = warn
    if cuobjdump and r.returncode == 0:
        sass = subprocess.run([cuobjdump, "--dump-sass", stem + ".cubin"], capture_output=True, text=True).stdout
        if n == 4096:
            with open(stem + ".sass", "w") as fh:
                fh.write(sass)
        for op in ("HGMMA", "HMMA", "LDGSTS", "BAR.SYNC", "LDL", "STL", "WARPGROUP"):
            info[op] = len(re.findall(r"\b" + op + r"\b", sass))
    else:
        info["sass"] = "cuobjdump not found" if not cuobjdump else r.stderr[-400:]
    for ext in (".ptx", ".cubin"):
        if os.path.exists(stem + ext):
            os.remove(stem + ext)
    return info


def bench(n, variant, out):
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    exe = compile_variant(n, variant)
    xa, xb = _C.from_dlpack(a, None, None), _C.from_dlpack(b, None, None)
    os.environ["TESSERA_POISON_OUTPUTS"] = "1"
    got = torch.from_dlpack(Tensor._from_array(exe.run([xa, xb])[0]))
    os.environ.pop("TESSERA_POISON_OUTPUTS")
    want = a @ b
    err = ((got.float() - want.float()).abs().max() / want.float().abs().max()).item()
    row = {"n": n, "variant": variant, "rel_err": err, "finite": bool(torch.isfinite(got).all())}
    row.update(inspect(exe, variant, n, out))
    if not row["finite"] or err >= 1e-2:
        row["error"] = "wrong result"
        return row
    ms = triton.testing.do_bench(lambda: exe.run([xa, xb]), warmup=50, rep=300, return_mode="median")
    ms_ref = triton.testing.do_bench(lambda: a @ b, warmup=50, rep=300, return_mode="median")
    flop = 2.0 * n ** 3
    row.update({"ms": ms, "cublas_ms": ms_ref, "tflops": flop / ms / 1e9, "cublas_tflops": flop / ms_ref / 1e9,
                "ratio": ms_ref / ms})
    return row


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[4096, 8192])
    p.add_argument("--variants", nargs="+",
                   default=["mma_sync", "wgmma-cpasync:128x256", "wgmma:128x256", "wgmma-persistent:128x256"])
    p.add_argument("--out", default=os.environ.get("OUT") or os.path.join(os.path.dirname(__file__), "results"))
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for n in args.sizes:
        for v in args.variants:
            try:
                rows.append(bench(n, v, args.out))
            except Exception as e:  # keep the other variants' numbers
                rows.append({"n": n, "variant": v, "error": f"{type(e).__name__}: {e}"[:600]})
            print(json.dumps(rows[-1]), flush=True)
    gpu = torch.cuda.get_device_name()
    lines = [f"# bf16 GEMM variants vs cuBLAS — {gpu}, {time.strftime('%Y-%m-%d')}", "",
             "| n | variant | ms | cuBLAS ms | TFLOP/s | cuBLAS TFLOP/s | ratio | rel err | ptxas | HGMMA | HMMA |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "ms" in r:
            lines.append(f"| {r['n']} | {r['variant']} | {r['ms']:.3f} | {r['cublas_ms']:.3f} | {r['tflops']:.0f} | "
                         f"{r['cublas_tflops']:.0f} | {r['ratio']:.2f}x | {r['rel_err']:.1e} | {r.get('ptxas', '')} | "
                         f"{r.get('HGMMA', '-')} | {r.get('HMMA', '-')} |")
        else:
            lines.append(f"| {r['n']} | {r['variant']} | error: {r.get('error')} (rel err {r.get('rel_err')}) |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(args.out, "gemm_variants.md"), "w") as fh:
        fh.write(text)
    with open(os.path.join(args.out, "gemm_variants.json"), "w") as fh:
        json.dump({"gpu": gpu, "torch": torch.__version__, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
