"""Fused GEMM epilogues at a GPT block's shapes on an NVIDIA GPU: each epilogue against the same
product without one (Tessera) and against torch (cuBLAS, then the element-wise ops), same run.

    python3 bench/gpu_gemm_epilogues.py [--out results.md]

Issue 16 asks every fused epilogue to run within 10% of the plain GEMM. Cases (bf16, B*S = 8192
rows, D = 1024): the MLP's up projection with bias + gelu, the down projection with bias and
the residual, and the backward's g @ w^T times gelu'(pre) (the activation derivative computed
in the epilogue from the saved pre-activation; w^T read in place). Each Tessera case is timed
with its default schedule and, on Hopper, with the epilogue run by the consumer warpgroups in
registers instead of staged through shared memory (Schedule IR knob staged_epilogue = 0), and
with the staged epilogue's threads computing 1 or 4 chunks before storing (epilogue_chunks; the
default is 4 when the epilogue reads an input as large as the product, else 1).
"""
import argparse
import os
import re
import sys

import torch
import triton.testing

import tessera as ts
from tessera import _C
from tessera.tensor import Tensor

sys.path.insert(0, os.path.dirname(__file__))
from report import publish  # noqa: E402

F = torch.nn.functional


def gelu_grad(x):
    phi = torch.exp(-0.5 * x * x) * 0.3989422804014327
    return 0.5 * (1 + torch.erf(x * 0.7071067811865476)) + x * phi


def ts_gelu_grad(x):
    return 0.5 * (1.0 + ts.erf(x * 0.7071067811865476)) + x * (ts.exp(-0.5 * x * x) * 0.3989422804014327)


def cases(m, d):
    r = lambda *s: torch.randn(*s, device="cuda", dtype=torch.bfloat16)  # noqa: E731
    x, w1, b1, w2, b2, h, pre, g = r(m, d), r(d, 4 * d) * 0.03, r(4 * d), r(4 * d, d) * 0.02, r(d), r(m, 4 * d), \
        r(m, 4 * d), r(m, d)
    return [
        ("up: x @ w1", lambda a, b: a @ b, lambda: x @ w1, (x, w1)),
        ("up: gelu(x @ w1 + b1)", lambda a, b, c: ts.gelu(a @ b + c), lambda: F.gelu(x @ w1 + b1), (x, w1, b1)),
        ("down: h @ w2", lambda a, b: a @ b, lambda: h @ w2, (h, w2)),
        ("down: x + h @ w2 + b2", lambda a, b, c, e: e + a @ b + c, lambda: x + h @ w2 + b2, (h, w2, b2, x)),
        ("bwd: g @ w2^T", lambda a, b: a @ b.T, lambda: g @ w2.T, (g, w2)),
        ("bwd: (g @ w2^T) * gelu'(pre)", lambda a, b, p: (a @ b.T) * ts_gelu_grad(p),
         lambda: (g @ w2.T) * gelu_grad(pre), (g, w2, pre)),
    ]


def time_tessera(fn, inputs):
    f = ts.jit(fn)
    args = [ts.from_dlpack(t) for t in inputs]
    f(*args)
    ms = triton.testing.do_bench(lambda: f(*args), warmup=20, rep=200, return_mode="median")
    return f, args, ms


VARIANTS = {  # Schedule IR knob edits of the default schedule
    "staged_epilogue=0": lambda t: re.sub(r"persistent = (\d+)", r"persistent = \1, staged_epilogue = 0", t),
    "epilogue_chunks=1": lambda t: re.sub(r"persistent = (\d+)", r"epilogue_chunks = 1, persistent = \1", t),
    "epilogue_chunks=4": lambda t: re.sub(r"persistent = (\d+)", r"epilogue_chunks = 4, persistent = \1", t),
}


def time_variant(f, inputs, edit):
    """The same program with its Schedule IR edited (None when the edit changes nothing)."""
    sched = f.ir("schedule")
    if edit(sched) == sched:
        return None
    exe = _C.compile(edit(sched), "cuda:0", "nvptx:sm_90a")
    arrays = [_C.from_dlpack(t, None, None) for t in inputs]
    run = lambda: Tensor._from_array(exe.run(arrays)[0])  # noqa: E731
    run()
    return triton.testing.do_bench(run, warmup=20, rep=200, return_mode="median")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=8192)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--out")
    args = ap.parse_args()
    hopper = torch.cuda.get_device_capability() == (9, 0)
    lines = [f"# GEMM epilogues at GPT block shapes, bf16, {torch.cuda.get_device_name()}", "",
             f"rows {args.rows}, D {args.dim}; times in us (median); ratio = torch / Tessera", "",
             "| case | Tessera | " + " | ".join(VARIANTS) + " | torch | ratio |", "|---|---|---|---|---|---|---|"]
    for name, fn, ref, inputs in cases(args.rows, args.dim):
        f, targs, ms = time_tessera(fn, inputs)
        got, want = torch.from_dlpack(f(*targs)).float(), ref().float()
        err = ((got - want).abs().max() / want.abs().max()).item()
        assert err < 3e-2, f"{name}: Tessera differs from torch (rel err {err:.3g})"
        variants = [time_variant(f, inputs, edit) if hopper else None for edit in VARIANTS.values()]
        ms_ref = triton.testing.do_bench(ref, warmup=20, rep=200, return_mode="median")
        cols = " | ".join(f"{v * 1e3:.1f}" if v else "-" for v in variants)
        lines.append(f"| {name} | {ms * 1e3:.1f} | {cols} | {ms_ref * 1e3:.1f} | {ms_ref / ms:.2f}x |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
