"""The GPT-OSS-style example's training step (examples/models/gpt_oss: forward, loss with the MoE
load-balancing term, gradient, AdamW) in Tessera (one jit) and the same model written in PyTorch
from the same weights (eager, and torch.compile with --compile), timed in one run after checking
that the two losses agree. Ratio = PyTorch time / Tessera time (> 1: Tessera is faster).

    python bench/gpt_oss_step.py [--device cpu|cuda] [--size ci|large] [--compile] [--out results.md]
"""
import argparse
import datetime
import math
import os
import platform
import sys

import numpy as np
from cpu_ops import bench, fmt_time
from report import publish

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "models", "gpt_oss"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from model import GPT, Config, loss_fn  # noqa: E402

import tessera as ts  # noqa: E402
from tessera import optim  # noqa: E402

SIZES = {"ci": (Config(), 16), "large": (Config(dim=512, layers=8, heads=8, kv_heads=2, window=128, experts=8,
                                                 top_k=2, hidden=1024, seq=256), 8)}


def rms(x, w, eps=1e-6):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope(x, base=10000.0):
    s, d = x.shape[-2], x.shape[-1]
    freq = base ** (-torch.arange(0, d // 2, device=x.device, dtype=torch.float32) * 2 / d)
    ang = torch.arange(s, device=x.device, dtype=torch.float32)[:, None] * freq[None, :]
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return torch.cat([x1 * ang.cos() - x2 * ang.sin(), x1 * ang.sin() + x2 * ang.cos()], dim=-1)


def torch_loss(p, ids, cfg):
    """The example's loss_fn, written in PyTorch over the state_dict's tensors."""
    x_ids, y_ids = ids[:, :-1], ids[:, 1:]
    b, s = x_ids.shape
    hd, h, kv = cfg.dim // cfg.heads, cfg.heads, cfg.kv_heads
    x = p["embed.weight"][x_ids]
    aux = 0.0
    i, j = torch.arange(s, device=ids.device)[:, None], torch.arange(s, device=ids.device)[None, :]
    for layer in range(cfg.layers):
        pre = f"blocks.{layer}."
        a = rms(x, p[pre + "attn_norm.weight"])
        q = rope((a @ p[pre + "attn.wq.weight"].T).view(b, s, h, hd).transpose(1, 2))
        k = rope((a @ p[pre + "attn.wk.weight"].T).view(b, s, kv, hd).transpose(1, 2))
        v = (a @ p[pre + "attn.wv.weight"].T).view(b, s, kv, hd).transpose(1, 2)
        k, v = k.repeat_interleave(h // kv, 1), v.repeat_interleave(h // kv, 1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
        keep = j <= i
        if layer % 2:
            keep = keep & (j > i - cfg.window)
        scores = scores.masked_fill(~keep, -math.inf)
        sink = p[pre + "attn.sinks"].view(1, h, 1, 1).expand(b, h, s, 1)
        probs = torch.softmax(torch.cat([scores, sink], -1), -1)[..., :s]
        x = x + (probs @ v).transpose(1, 2).reshape(b, s, h * hd) @ p[pre + "attn.wo.weight"].T
        t = rms(x, p[pre + "mlp_norm.weight"]).reshape(b * s, cfg.dim)
        logits = t @ p[pre + "mlp.router.weight"].T
        vals, idx = torch.topk(logits, cfg.top_k, -1)
        weights = torch.zeros_like(logits).scatter(1, idx, torch.softmax(vals, -1))
        hidden = F.silu(t @ p[pre + "mlp.w_gate"]) * (t @ p[pre + "mlp.w_up"])  # [E, T, hidden]
        x = x + ((hidden @ p[pre + "mlp.w_down"]) * weights.T[:, :, None]).sum(0).view(b, s, cfg.dim)
        f = (weights > 0).float().mean(0) / cfg.top_k
        aux = aux + cfg.experts * (f * torch.softmax(logits, -1).mean(0)).sum()
    out = rms(x, p["norm.weight"]) @ p["head.weight"].T
    return F.cross_entropy(out.reshape(b * s, cfg.vocab), y_ids.reshape(b * s)) + cfg.aux_weight * aux


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--size", default="ci", choices=sorted(SIZES))
    ap.add_argument("--compile", action="store_true", help="also time torch.compile")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    cfg, batch = SIZES[args.size]
    ids = np.random.default_rng(0).integers(0, cfg.vocab, (batch, cfg.seq + 1))
    model = GPT(cfg, seed=0)
    if args.device != "cpu":
        model = ts.tree_map(lambda t: t.to(args.device), model)
    tids = ts.tensor(ids, device=args.device)
    opt = optim.AdamW(1e-3, weight_decay=0.01)
    state = opt.init(model)

    @ts.jit
    def step(model, state, ids):
        loss, grads = ts.value_and_grad(loss_fn)(model, ids)
        model, state = opt.update(grads, state, model)
        return model, state, loss

    dev = torch.device(args.device)
    params = {k: torch.from_dlpack(v).clone().to(dev).requires_grad_() for k, v in model.state_dict().items()}
    t_ids = torch.tensor(ids, device=dev)
    want = torch_loss(params, t_ids, cfg).item()
    got = loss_fn(model, tids).item()
    if abs(got - want) > 1e-4 * abs(want):
        raise SystemExit(f"the losses differ: Tessera {got}, PyTorch {want}")
    topt = torch.optim.AdamW(params.values(), 1e-3, weight_decay=0.01)

    def torch_step(fn):
        def run():
            topt.zero_grad()
            loss = fn(params, t_ids, cfg)
            loss.backward()
            topt.step()
            return loss.item()
        return run

    holder = [model, state]

    def tessera_step():
        holder[0], holder[1], loss = step(holder[0], holder[1], tids)
        return loss.item()

    rows = [("Tessera (jit)", bench(tessera_step, reps=10, min_time=2.0))]
    rows.append(("PyTorch eager", bench(torch_step(torch_loss), reps=10, min_time=2.0)))
    if args.compile:
        rows.append(("torch.compile", bench(torch_step(torch.compile(torch_loss)), reps=10, min_time=2.0)))
    tokens = batch * cfg.seq
    name = torch.cuda.get_device_name() if args.device == "cuda" else (platform.processor() or platform.machine())
    lines = [f"# GPT-OSS-style training step, {datetime.date.today()}, {name}, {os.cpu_count()} cores, float32", "",
             f"torch {torch.__version__}; size {args.size} ({cfg}), batch {batch}: {tokens} tokens per step; "
             f"losses agree (Tessera {got:.6f}, PyTorch {want:.6f}); median step; ratio = that time / Tessera's.", "",
             "| | ms/step | tokens/s | ratio |", "|---|---|---|---|"]
    base = rows[0][1]
    for label, t in rows:
        lines.append(f"| {label} | {fmt_time(t)} | {tokens / t:,.0f} | {t / base:.2f}x |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
