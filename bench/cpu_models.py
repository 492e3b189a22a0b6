"""Whole training steps on the CPU: Tessera against torch eager, same run, same weights.

    python bench/cpu_models.py [--shape B S D H] [--out results.md] [--profile N]

The GPT block of bench/gpu_models.py (layernorm -> qkv -> causal attention -> projection ->
residual -> layernorm -> gelu MLP -> residual) in f32, loss = sum(out**2), forward and
backward: Tessera's jit(value_and_grad(loss)) against torch eager autograd with torch's best
thread count for this machine (torch.get_num_threads()). Gradients are checked against torch
first (f32 tolerance), then each side is timed (median of repeated steps). Also printed: the
Tessera step's first call in a new process with an empty compile cache (cold) and with that
cache (warm disk cache), and, with --profile N, Tessera's N most expensive kernels.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

import tessera as ts

sys.path.insert(0, os.path.dirname(__file__))
from gpt_block import NAMES, cold_and_warm, tessera_block, torch_block  # noqa: E402
from report import publish  # noqa: E402


def weights(d, seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"ln1_w": (d,), "ln1_b": (d,), "qkv": (d, 3 * d), "proj": (d, d), "ln2_w": (d,), "ln2_b": (d,),
              "fc": (d, 4 * d), "fc_b": (4 * d,), "out": (4 * d, d), "out_b": (d,)}
    return {n: ((1.0 if n.endswith("_w") else 0.0) + (0.1 if n.endswith("_w") else 0.02) *
                rng.standard_normal(shapes[n])).astype(np.float32) for n in NAMES}


def step_fn(heads):
    return ts.jit(ts.value_and_grad(lambda p, x: ts.sum(tessera_block(p, x, heads) ** 2)))


def median_ms(fn, reps=30, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def first_call(shape):
    b, s, d, heads = shape
    p = {k: ts.tensor(v) for k, v in weights(d).items()}
    x = ts.tensor(np.random.default_rng(1).standard_normal((b, s, d)).astype(np.float32))
    t0 = time.perf_counter()
    loss, _ = step_fn(heads)(p, x)
    float(loss)
    print(json.dumps({"first_call_s": time.perf_counter() - t0}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", nargs=4, type=int, default=[2, 128, 256, 4], metavar=("B", "S", "D", "H"))
    ap.add_argument("--out")
    ap.add_argument("--profile", type=int, default=10, metavar="N")
    ap.add_argument("--first-call", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.first_call:
        return first_call(args.shape)
    b, s, d, heads = args.shape
    w = weights(d)
    x = np.random.default_rng(1).standard_normal((b, s, d)).astype(np.float32)
    tp, tx = {k: ts.tensor(v) for k, v in w.items()}, ts.tensor(x)
    pp = {k: torch.tensor(v, requires_grad=True) for k, v in w.items()}
    px = torch.tensor(x)

    def torch_step():
        loss = torch_block(pp, px, heads).pow(2).sum()
        return loss, torch.autograd.grad(loss, [pp[n] for n in NAMES])

    step = step_fn(heads)
    loss, grads = step(tp, tx)
    ref_loss, ref_grads = torch_step()
    worst = max(float(np.abs(np.asarray(grads[n]) - r.numpy()).max() / np.abs(r.numpy()).max())
                for n, r in zip(NAMES, ref_grads))
    assert worst < 1e-3 and abs(float(loss) - ref_loss.item()) <= 1e-4 * abs(ref_loss.item()), worst
    ms_ts = median_ms(lambda: float(step(tp, tx)[0]))
    ms_ref = median_ms(torch_step)
    cold = cold_and_warm(__file__, args.shape)
    lines = [f"# GPT block training step, f32, CPU ({os.cpu_count()} cores, torch threads {torch.get_num_threads()})",
             "", f"B{b} S{s} D{d} H{heads}, forward + backward; max rel. gradient error vs torch {worst:.1g}", "",
             "| | ms/step | torch eager / this |", "|---|---|---|",
             f"| Tessera jit | {ms_ts:.2f} | {ms_ref / ms_ts:.2f}x |", f"| torch eager | {ms_ref:.2f} | 1.00x |", "",
             f"- Tessera first call, new process, empty cache: {cold[0]:.2f} s; second process (disk cache warm): "
             f"{cold[1] * 1e3:.0f} ms"]
    if args.profile:
        with ts.profile() as prof:
            float(step(tp, tx)[0])
        lines += ["", f"Tessera's {args.profile} most expensive kernels (one step):", "", "```"]
        lines += prof.table().splitlines()[: args.profile + 1] + ["```"]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
