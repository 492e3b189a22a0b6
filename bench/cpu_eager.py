"""Eager training on the CPU: Tessera eager and jit against PyTorch eager, in one run.

Two models, each trained with the same data and initial parameters by all three:
- an MLP (64 -> 256 -> 256 -> 10, batch 256, relu, cross-entropy, SGD);
- the small GPT of examples/small_gpt.py (2 layers, dim 128, batch 8, seq 64, Adam).

For each, the step time (median after warm-up, and its drift from early to late steps, which
must stay flat in eager mode) and the ratio torch / Tessera (> 1: Tessera is faster). Losses are
compared first: a benchmark of a wrong program measures nothing.

    python bench/cpu_eager.py [--out results.md] [--steps 120]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch
from report import publish

import tessera as ts

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import small_gpt  # noqa: E402

# ---- MLP ----

def mlp_init(rng, sizes=(64, 256, 256, 10)):
    return [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32) for a, b in zip(sizes, sizes[1:])] + \
           [np.zeros(b, np.float32) for b in sizes[1:]]


def ts_mlp_loss(p, x, y):
    n = len(p) // 2
    for i in range(n):
        x = x @ p[i] + p[n + i]
        if i < n - 1:
            x = ts.relu(x)
    return ts.cross_entropy(x, y)


def torch_mlp_loss(p, x, y):
    n = len(p) // 2
    for i in range(n):
        x = x @ p[i] + p[n + i]
        if i < n - 1:
            x = torch.relu(x)
    return torch.nn.functional.cross_entropy(x, y)


def mlp_data(rng, steps, batch=256):
    return [(rng.standard_normal((batch, 64)).astype(np.float32), rng.integers(0, 10, batch)) for _ in range(steps)]


def run_tessera_mlp(init, data, eager, lr=0.05):
    grad_fn = ts.value_and_grad(ts_mlp_loss)

    def step(p, x, y):
        loss, g = grad_fn(p, x, y)
        return loss, [w - lr * gw for w, gw in zip(p, g)]

    step = step if eager else ts.jit(step)
    p = [ts.tensor(a) for a in init]
    batches = [(ts.tensor(x), ts.tensor(y)) for x, y in data]
    losses, times = [], []
    for x, y in batches:
        t0 = time.perf_counter()
        loss, p = step(p, x, y)
        losses.append(loss.item())
        times.append(time.perf_counter() - t0)
    return losses, times


def run_torch_mlp(init, data, lr=0.05):
    p = [torch.tensor(a, requires_grad=True) for a in init]
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]
    losses, times = [], []
    for x, y in batches:
        t0 = time.perf_counter()
        loss = torch_mlp_loss(p, x, y)
        g = torch.autograd.grad(loss, p)
        with torch.no_grad():
            p = [(w - lr * gw).requires_grad_() for w, gw in zip(p, g)]
        losses.append(loss.item())
        times.append(time.perf_counter() - t0)
    return losses, times


# ---- small GPT in PyTorch, the same model as examples/small_gpt.py ----

def torch_gpt_loss(p, tokens, targets, layers, heads):
    F = torch.nn.functional
    b, s = tokens.shape
    x = p["tok"][tokens] + p["pos"][:s]
    d = x.shape[-1]
    for i in range(layers):
        h = F.layer_norm(x, (d,), p[f"l{i}.ln1_w"], p[f"l{i}.ln1_b"])
        qkv = (h @ p[f"l{i}.qkv"]).reshape(b, s, 3, heads, d // heads)
        q, k, v = (qkv[:, :, j].transpose(1, 2) for j in range(3))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + a.transpose(1, 2).reshape(b, s, d) @ p[f"l{i}.proj"]
        h = F.layer_norm(x, (d,), p[f"l{i}.ln2_w"], p[f"l{i}.ln2_b"])
        x = x + F.gelu(h @ p[f"l{i}.fc"] + p[f"l{i}.fc_b"]) @ p[f"l{i}.out"] + p[f"l{i}.out_b"]
    x = F.layer_norm(x, (d,), p["lnf_w"], p["lnf_b"])
    logits = x @ p["tok"].T
    return F.cross_entropy(logits.reshape(b * s, -1), targets.reshape(-1))


def run_torch_gpt(params, data, layers=2, heads=4, lr=3e-3, b1=0.9, b2=0.95, eps=1e-8):
    p = {k: torch.from_numpy(v.numpy().copy()).requires_grad_() for k, v in params.items()}
    m = {k: torch.zeros_like(v) for k, v in p.items()}
    v = {k: torch.zeros_like(t) for k, t in p.items()}
    losses, times = [], []
    for t, (tokens, targets) in enumerate(data, 1):
        tokens, targets = torch.from_numpy(tokens.numpy()), torch.from_numpy(targets.numpy())
        t0 = time.perf_counter()
        loss = torch_gpt_loss(p, tokens, targets, layers, heads)
        g = dict(zip(p, torch.autograd.grad(loss, list(p.values()))))
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        with torch.no_grad():
            for k in p:
                m[k] = b1 * m[k] + (1 - b1) * g[k]
                v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k]
                p[k] = (p[k] - lr * (m[k] / c1) / (torch.sqrt(v[k] / c2) + eps)).requires_grad_()
        losses.append(loss.item())
        times.append(time.perf_counter() - t0)
    return losses, times


def run_tessera_gpt(params, data, eager, layers=2, heads=4, lr=3e-3):
    grad_fn = ts.value_and_grad(small_gpt.loss_fn)

    def step(p, m, v, t, tokens, targets):
        loss, g = grad_fn(p, tokens, targets, layers, heads)
        return (loss,) + small_gpt.adam_update(p, g, m, v, t, lr)

    step = step if eager else ts.jit(step)
    p = dict(params)
    m = {k: ts.zeros(*t.shape) for k, t in p.items()}
    v = {k: ts.zeros(*t.shape) for k, t in p.items()}
    losses, times = [], []
    for t, (tokens, targets) in enumerate(data, 1):
        t0 = time.perf_counter()
        loss, p, m, v = step(p, m, v, float(t), tokens, targets)
        losses.append(loss.item())
        times.append(time.perf_counter() - t0)
    return losses, times


# ---- report ----

def summary(times):
    """(median after warm-up, early median, late median): warm-up is the first 10 steps."""
    rest = times[10:]
    q = max(len(rest) // 4, 1)
    return statistics.median(rest), statistics.median(rest[:q]), statistics.median(rest[-q:])


def check_losses(name, got, want, rtol):
    """The first 10 steps agree to rtol; later, float32 rounding differences grow through
    training (torch itself differs from run to run by its thread count), so the mean loss of
    the last quarter must agree to 2%."""
    got, want = np.asarray(got), np.asarray(want)
    early = slice(0, 10)
    if not np.allclose(got[early], want[early], rtol=rtol, atol=rtol):
        i = int(np.argmax(np.abs(got[early] - want[early])))
        raise SystemExit(f"{name}: losses disagree with torch at step {i}: {got[i]} vs {want[i]}")
    q = max(len(got) // 4, 1)
    if abs(got[-q:].mean() - want[-q:].mean()) > 0.02 * abs(want[-q:].mean()):
        raise SystemExit(f"{name}: late losses disagree with torch: {got[-q:].mean()} vs {want[-q:].mean()}")


def best_torch(fn):
    """torch with its best thread count on this machine (BENCHMARKS.md: 2 threads can be slower)."""
    best = None
    for n in sorted({1, os.cpu_count() or 1}):
        torch.set_num_threads(n)
        losses, times = fn()
        if best is None or summary(times)[0] < summary(best[1])[0]:
            best = (losses, times, n)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--out")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []

    init, data = mlp_init(rng), mlp_data(rng, args.steps)
    t_losses, t_times, threads = best_torch(lambda: run_torch_mlp(init, data))
    for mode in ("eager", "jit"):
        losses, times = run_tessera_mlp(init, data, eager=(mode == "eager"))
        check_losses(f"MLP {mode}", losses, t_losses, 1e-4)
        rows.append(("MLP 64-256-256-10, b256, SGD", mode, times, t_times, threads))

    gpt_params = small_gpt.init(rng)
    it = small_gpt.batches(small_gpt.corpus(), rng, 8, 64)
    gpt_data = [next(it) for _ in range(args.steps)]
    t_losses, t_times, threads = best_torch(lambda: run_torch_gpt(gpt_params, gpt_data))
    for mode in ("eager", "jit"):
        losses, times = run_tessera_gpt(gpt_params, gpt_data, eager=(mode == "eager"))
        check_losses(f"GPT {mode}", losses, t_losses, 2e-3)
        rows.append(("small GPT (2x128, b8 s64), Adam", mode, times, t_times, threads))

    lines = ["| model | Tessera mode | Tessera ms/step | early -> late | torch eager ms/step (threads) "
             "| torch / Tessera |",
             "|---|---|---|---|---|---|"]
    for model, mode, times, ref, threads in rows:
        med, early, late = summary(times)
        rmed = summary(ref)[0]
        lines.append(f"| {model} | {mode} | {med * 1e3:.2f} | {early * 1e3:.2f} -> {late * 1e3:.2f} | "
                     f"{rmed * 1e3:.2f} ({threads}) | {rmed / med:.2f}x |")
    lines.append("")
    lines.append("First step (compile included): " + ", ".join(
        f"{model.split(' ')[0]} {mode} {times[0]:.2f} s" for model, mode, times, _, _ in rows))
    publish(lines, args.out)


if __name__ == "__main__":
    main()
