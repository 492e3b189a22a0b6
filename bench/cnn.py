"""Convolutional networks: a small CNN training step and single convolution layers, Tessera
against torch in the same run, same weights.

    python bench/cnn.py [--device cpu|cuda] [--batch N] [--layers-batch N] [--dtype float32|bfloat16]
                        [--out results.md] [--profile N]

Training step: conv3x3(3->32) relu maxpool, conv3x3(32->64) relu maxpool, conv3x3(64->128)
relu, global average pool, linear(128->10), cross-entropy, on CIFAR-sized images (N x 3 x 32 x
32), forward + backward: Tessera's jit(value_and_grad) against torch eager autograd (on the
CPU with torch's own thread count; torch uses oneDNN/mkldnn or its im2col+BLAS path).
Gradients are checked against torch first. Layers: forward convolutions at ResNet-50 shapes
(3x3 and 1x1 stages, the 7x7 stem), Tessera jit against torch.nn.functional.conv2d.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import tessera as ts

sys.path.insert(0, os.path.dirname(__file__))
from report import publish  # noqa: E402

SHAPES = {"c1": (32, 3, 3, 3), "b1": (32,), "c2": (64, 32, 3, 3), "b2": (64,), "c3": (128, 64, 3, 3),
          "b3": (128,), "fc": (128, 10), "fcb": (10,)}
NAMES = list(SHAPES)
# ResNet-50 convolutions: (name, C_in, H, C_out, kernel, stride, padding)
RESNET = [("stem 7x7/2", 3, 224, 64, 7, 2, 3), ("conv2 3x3", 64, 56, 64, 3, 1, 1), ("conv2 1x1", 64, 56, 256, 1, 1, 0),
          ("conv3 3x3", 128, 28, 128, 3, 1, 1), ("conv4 3x3", 256, 14, 256, 3, 1, 1),
          ("conv5 3x3", 512, 7, 512, 3, 1, 1), ("conv5 1x1", 512, 7, 2048, 1, 1, 0)]


def weights(seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for n, s in SHAPES.items():
        fan_in = int(np.prod(s[1:])) if len(s) == 4 else s[0]
        out[n] = (rng.standard_normal(s) / np.sqrt(fan_in) if len(s) > 1 else 0.01 * rng.standard_normal(s))
    return {n: v.astype(np.float32) for n, v in out.items()}


def net(mod, p, x, labels):
    """The same network for both libraries: `mod` supplies conv2d, relu, max_pool2d, ..."""
    if mod is ts:
        conv = lambda x, w, b: ts.conv2d(x, w, b, padding=1)  # noqa: E731
        pool = lambda x: ts.max_pool2d(x, kernel_size=2)  # noqa: E731
        gap = lambda x: ts.adaptive_avg_pool2d(x, output_size=1).reshape(x.shape[0], -1)  # noqa: E731
        ce = ts.cross_entropy
    else:
        conv = lambda x, w, b: F.conv2d(x, w, b, padding=1)  # noqa: E731
        pool = lambda x: F.max_pool2d(x, 2)  # noqa: E731
        gap = lambda x: F.adaptive_avg_pool2d(x, 1).flatten(1)  # noqa: E731
        ce = F.cross_entropy
    relu = mod.relu
    h = pool(relu(conv(x, p["c1"], p["b1"])))
    h = pool(relu(conv(h, p["c2"], p["b2"])))
    h = gap(relu(conv(h, p["c3"], p["b3"])))
    return ce(h @ p["fc"] + p["fcb"], labels)


def median_ms(fn, sync, reps=20, warmup=3):
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def train_step(args, sync):
    dev = args.device
    w = weights()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((args.batch, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, 10, args.batch)
    tp = {k: ts.tensor(v, device=dev) for k, v in w.items()}
    tx, tl = ts.tensor(x, device=dev), ts.tensor(labels, device=dev)
    pp = {k: torch.tensor(v, device=dev, requires_grad=True) for k, v in w.items()}
    px, pl = torch.tensor(x, device=dev), torch.tensor(labels, device=dev)
    step = ts.jit(ts.value_and_grad(lambda p, x, y: net(ts, p, x, y)))

    def torch_step():
        loss = net(torch, pp, px, pl)
        return loss, torch.autograd.grad(loss, [pp[n] for n in NAMES])

    t0 = time.perf_counter()
    loss, grads = step(tp, tx, tl)
    first = time.perf_counter() - t0
    ref_loss, ref_grads = torch_step()
    worst = max(float(np.abs(np.asarray(grads[n].to("cpu")) - r.cpu().numpy()).max() / np.abs(r.cpu().numpy()).max())
                for n, r in zip(NAMES, ref_grads))
    assert worst < 1e-3 and abs(float(loss) - ref_loss.item()) < 1e-4, (worst, float(loss), ref_loss.item())
    ms_ts = median_ms(lambda: step(tp, tx, tl), sync)
    ms_ref = median_ms(torch_step, sync)
    return [f"## Small CNN training step, f32, batch {args.batch} x 3 x 32 x 32", "",
            f"forward + backward; max rel. gradient error vs torch {worst:.1g}; Tessera first call (compile) "
            f"{first:.1f} s", "", "| | ms/step | torch / this |", "|---|---|---|",
            f"| Tessera jit | {ms_ts:.2f} | {ms_ref / ms_ts:.2f}x |", f"| torch eager | {ms_ref:.2f} | 1.00x |", ""]


def layers(args, sync):
    dev, n = args.device, args.layers_batch
    tdt = {"float32": torch.float32, "bfloat16": torch.bfloat16}[args.dtype]
    lines = [f"## ResNet-50 convolutions, forward, {args.dtype}, batch {n}, NCHW", "",
             "| layer | C_in x H x W -> C_out | Tessera ms | torch ms | torch / this | max rel. err |",
             "|---|---|---|---|---|---|"]
    rng = np.random.default_rng(2)
    for name, c, h, oc, k, s, p in RESNET:
        x = torch.tensor(rng.standard_normal((n, c, h, h)), dtype=tdt, device=dev)
        w = torch.tensor(rng.standard_normal((oc, c, k, k)) / np.sqrt(c * k * k), dtype=tdt, device=dev)
        tx, tw = ts.from_dlpack(x), ts.from_dlpack(w)
        f = ts.jit(lambda x, w, s=s, p=p: ts.conv2d(x, w, stride=s, padding=p))
        y = torch.from_dlpack(f(tx, tw)).float()
        ref = F.conv2d(x.double(), w.double(), stride=s, padding=p)
        err = float((y.double() - ref).abs().max() / ref.abs().max())
        ms_ts = median_ms(lambda: f(tx, tw), sync)  # noqa: B023
        ms_ref = median_ms(lambda: F.conv2d(x, w, stride=s, padding=p), sync)  # noqa: B023
        lines.append(f"| {name} | {c}x{h}x{h} -> {oc} | {ms_ts:.2f} | {ms_ref:.2f} | {ms_ref / ms_ts:.2f}x "
                     f"| {err:.1g} |")
    return lines + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--layers-batch", type=int, default=4)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--out")
    ap.add_argument("--profile", type=int, default=0, metavar="N")
    args = ap.parse_args()
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    if args.device == "cuda":  # torch's f32 convolutions default to TF32 on cuDNN: compare like with like
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    where = (torch.cuda.get_device_name() if args.device == "cuda"
             else f"CPU, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}")
    lines = [f"# Convolutional networks: Tessera vs torch ({where})", ""]
    lines += train_step(args, sync)
    lines += layers(args, sync)
    if args.profile:
        w = {k: ts.tensor(v, device=args.device) for k, v in weights().items()}
        rng = np.random.default_rng(1)
        x = ts.tensor(rng.standard_normal((args.batch, 3, 32, 32)).astype(np.float32), device=args.device)
        y = ts.tensor(rng.integers(0, 10, args.batch), device=args.device)
        step = ts.jit(ts.value_and_grad(lambda p, x, y: net(ts, p, x, y)))
        step(w, x, y)
        with ts.profile() as prof:
            float(step(w, x, y)[0])
        lines += [f"Tessera's {args.profile} most expensive kernels (one training step):", "", "```"]
        lines += prof.table().splitlines()[: args.profile + 1] + ["```"]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
