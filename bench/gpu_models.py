"""Whole training steps on an NVIDIA GPU: Tessera against torch eager and torch.compile, same run.

    python3 bench/gpu_models.py [--shape B S D H] [--out results.md] [--profile N]

The GPT block (issue 16): layernorm -> qkv matmul -> causal attention -> out projection ->
residual -> layernorm -> MLP with gelu -> residual, in bf16, loss = sum(out.float()**2), forward
and backward. Tessera runs jit(value_and_grad(loss)); torch runs the same math from the same
weights (eager, then torch.compile of the same function). Each side's loss and gradients are
checked against torch eager first (bf16 tolerance), then timed with triton.testing.do_bench
(median, device events).

Also printed: the first call of the Tessera step in a fresh process with an empty compile cache
("cold") and again in a second process with that cache ("warm disk cache"); torch.compile's first
call in this process; the device memory each step allocates at its peak beyond what was
allocated before it (Tessera: tessera.memory_stats; torch: its caching allocator); and, with
--profile N, Tessera's N most expensive kernels of one step from tessera.profile().
"""

import argparse
import json
import os
import sys
import time

import torch
import triton.testing

import tessera as ts

sys.path.insert(0, os.path.dirname(__file__))
from gpt_block import NAMES, cold_and_warm, tessera_block, torch_block  # noqa: E402
from report import publish  # noqa: E402


def weights(d, seed=0):
    """The block's parameters (bf16, on the GPU) and an input, from one torch generator."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    shapes = {
        "ln1_w": (d,),
        "ln1_b": (d,),
        "qkv": (d, 3 * d),
        "proj": (d, d),
        "ln2_w": (d,),
        "ln2_b": (d,),
        "fc": (d, 4 * d),
        "fc_b": (4 * d,),
        "out": (4 * d, d),
        "out_b": (d,),
    }
    p = {}
    for name in NAMES:
        scale = 0.1 if name.endswith("_w") else 0.02
        base = 1.0 if name.endswith("_w") else 0.0
        p[name] = (base + scale * torch.randn(shapes[name], generator=g, device="cuda")).to(torch.bfloat16)
    return p


def torch_step(p, x, heads):
    loss = torch_block(p, x, heads).float().pow(2).sum()
    return loss, torch.autograd.grad(loss, [p[n] for n in NAMES])


def tessera_step_fn(heads):
    loss = lambda p, x: ts.sum(tessera_block(p, x, heads).astype("float32") ** 2)  # noqa: E731
    return ts.jit(ts.value_and_grad(loss))


def first_call(shape):
    """Child process: the time of the first Tessera step (compile + run) in this process."""
    b, s, d, heads = shape
    p = {k: ts.from_dlpack(v) for k, v in weights(d).items()}
    x = ts.from_dlpack(torch.randn(b, s, d, device="cuda", dtype=torch.bfloat16))
    step = tessera_step_fn(heads)
    t0 = time.perf_counter()
    loss, _ = step(p, x)
    float(loss)
    print(json.dumps({"first_call_s": time.perf_counter() - t0}))


def tessera_memory(reset=False):
    if reset:
        ts.reset_peak_memory_stats("cuda:0")
    s = ts.memory_stats("cuda:0")
    return s["allocated_bytes"], s["peak_allocated_bytes"]


def torch_memory(reset=False):
    if reset:
        torch.cuda.reset_peak_memory_stats()
    return torch.cuda.memory_allocated(), torch.cuda.max_memory_allocated()


def step_peak(step, memory):
    """Bytes a step allocates at its peak beyond what was allocated before it (results dropped)."""
    torch.cuda.synchronize()
    base, _ = memory(reset=True)
    out = step()
    torch.cuda.synchronize()
    _, peak = memory()
    del out
    return peak - base


def rel_err(got, want):
    return ((got.float() - want.float()).abs().max() / want.float().abs().max().clamp_min(1e-30)).item()


def check(name, loss, grads, ref_loss, ref_grads):
    errs = [rel_err(loss, ref_loss)] + [rel_err(g, r) for g, r in zip(grads, ref_grads)]
    worst = max(errs)
    # bf16 products and bf16 gradients, summed differently: a few bf16 ulps of the largest entry.
    assert all(torch.isfinite(g.float()).all() for g in grads) and worst < 3e-2, (
        f"{name}: loss/gradients differ from torch eager (rel errors {[f'{e:.2g}' for e in errs]})"
    )
    return worst


def bench_gpt_block(shape, profile_top):
    b, s, d, heads = shape
    p = weights(d)
    gen = torch.Generator(device="cuda").manual_seed(1)
    x = torch.randn(b, s, d, device="cuda", dtype=torch.bfloat16, generator=gen)
    for v in p.values():
        v.requires_grad_()
    ref_loss, ref_grads = torch_step(p, x, heads)

    tp = {k: ts.from_dlpack(v.detach()) for k, v in p.items()}
    tx = ts.from_dlpack(x)
    step = tessera_step_fn(heads)

    def run_tessera():
        loss, g = step(tp, tx)
        return torch.from_dlpack(loss), [torch.from_dlpack(g[n]) for n in NAMES]

    err_ts = check("Tessera", *run_tessera(), ref_loss, ref_grads)
    compiled = torch.compile(torch_step)
    t0 = time.perf_counter()
    c_loss, c_grads = compiled(p, x, heads)
    torch.cuda.synchronize()
    compile_first_s = time.perf_counter() - t0
    check("torch.compile", c_loss, c_grads, ref_loss, ref_grads)

    ms = {}
    ms["tessera"] = triton.testing.do_bench(run_tessera, warmup=10, rep=300, return_mode="median")
    ms["eager"] = triton.testing.do_bench(lambda: torch_step(p, x, heads), warmup=10, rep=300, return_mode="median")
    peak = {
        "tessera": step_peak(run_tessera, tessera_memory),
        "eager": step_peak(lambda: torch_step(p, x, heads), torch_memory),
    }
    ms["compile"] = triton.testing.do_bench(lambda: compiled(p, x, heads), warmup=10, rep=300, return_mode="median")
    # 6 * params * tokens for the four projections; causal attention forward plus 2.5x for its backward.
    flop = 6.0 * b * s * 12 * d * d + 3.5 * (4.0 * b * s * s * d / 2)
    prof = None
    if profile_top:
        with ts.profile() as prof:
            run_tessera()
    return {
        "shape": shape,
        "ms": ms,
        "err": err_ts,
        "flop": flop,
        "compile_first_s": compile_first_s,
        "peak": peak,
        "profile": prof,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", nargs=4, type=int, default=[8, 1024, 1024, 8], metavar=("B", "S", "D", "H"))
    ap.add_argument("--out")
    ap.add_argument("--profile", type=int, default=15, metavar="N", help="show Tessera's N slowest kernels (0: off)")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold/warm first-call measurement")
    ap.add_argument("--first-call", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.first_call:
        return first_call(args.shape)
    r = bench_gpt_block(args.shape, args.profile)
    cold = None if args.no_cold else cold_and_warm(__file__, args.shape)
    b, s, d, h = args.shape
    ms = r["ms"]
    lines = [
        f"# GPT block training step, bf16, {torch.cuda.get_device_name()}",
        "",
        f"B{b} S{s} D{d} H{h}, forward + backward (jit(value_and_grad)), torch {torch.__version__}; "
        f"max rel. error vs torch eager {r['err']:.2g}",
        "",
        "| | ms/step | TFLOP/s | torch eager / this | torch.compile / this |",
        "|---|---|---|---|---|",
    ]
    for name, label in (("tessera", "Tessera"), ("eager", "torch eager"), ("compile", "torch.compile")):
        lines.append(
            f"| {label} | {ms[name]:.3f} | {r['flop'] / ms[name] / 1e9:.0f} | "
            f"{ms['eager'] / ms[name]:.2f}x | {ms['compile'] / ms[name]:.2f}x |"
        )
    lines += ["", f"- torch.compile first call (this process): {r['compile_first_s']:.1f} s"]
    if cold:
        lines.append(
            f"- Tessera first call, new process, empty cache: {cold[0]:.2f} s; "
            f"second process (disk cache warm): {cold[1] * 1e3:.0f} ms"
        )
    lines.append(
        f"- device memory a step allocates at its peak: Tessera {r['peak']['tessera'] / 2**20:.0f} MiB, "
        f"torch eager {r['peak']['eager'] / 2**20:.0f} MiB ({r['peak']['tessera'] / r['peak']['eager']:.2f}x)"
    )
    if r["profile"] is not None:
        lines += ["", f"Tessera's {args.profile} most expensive kernels (tessera.profile(), one step):", "", "```"]
        lines += r["profile"].table().splitlines()[: args.profile + 1]
        lines.append("```")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
