"""Train the scaled-down GPT-OSS-style model on Python's help text, bytes as tokens.

    python examples/models/gpt_oss/train.py                 # the CI configuration (about a minute, 2 cores)
    python examples/models/gpt_oss/train.py --size large --device cuda --steps 2000

Prints step, loss and tokens/s as it goes, the validation loss at the end, and saves a
checkpoint (model and optimizer state, safetensors) with --save.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from model import GPT, Config, batches, corpus, cross_entropy, loss_fn  # noqa: E402

import tessera as ts  # noqa: E402
from tessera import io, optim  # noqa: E402

SIZES = {"ci": Config(), "large": Config(dim=512, layers=8, heads=8, kv_heads=2, window=128, experts=8, top_k=2,
                                         hidden=1024, seq=256)}


def evaluate(model, data, cfg, batch=16, rounds=4, seed=123):
    rng = np.random.default_rng(seed)
    it = batches(data, batch, cfg.seq, rng)
    f = ts.jit(lambda m, ids: cross_entropy(m(ids[:, :-1]), ids))
    return float(np.mean([f(model, ts.tensor(next(it))).item() for _ in range(rounds)]))


def train(size="ci", steps=300, batch=16, lr=3e-3, seed=0, log_every=25, save=None, quiet=False):
    cfg = SIZES[size]
    train_data, val_data = corpus()
    model = GPT(cfg, seed=seed)
    opt = optim.AdamW(optim.cosine(lr, total=steps, warmup=min(30, steps // 10)), weight_decay=0.01)
    state = opt.init(model)

    @ts.jit
    def step(model, state, ids):
        loss, grads = ts.value_and_grad(loss_fn)(model, ids)
        grads, _ = optim.clip_grad_norm(grads, 1.0)
        model, state = opt.update(grads, state, model)
        return model, state, loss

    rng = np.random.default_rng(seed)
    data = batches(train_data, batch, cfg.seq, rng)
    start, seen, losses = time.perf_counter(), 0, []
    for i in range(1, steps + 1):
        model, state, loss = step(model, state, ts.tensor(next(data)))
        seen += batch * cfg.seq
        losses.append(loss.item())
        if not quiet and (i % log_every == 0 or i == 1 or i == steps):
            rate = seen / (time.perf_counter() - start)
            print(f"step {i:5d}  loss {losses[-1]:.3f}  {rate:,.0f} tokens/s", flush=True)
    val = evaluate(model, val_data, cfg)
    if not quiet:
        print(f"validation loss {val:.3f} nats/byte (uniform: {math.log(cfg.vocab):.3f})")
    if save:
        io.save(save, {"model": model, "optim": state}, metadata={"size": size, "steps": steps})
    return model, losses, val


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", default="ci", choices=sorted(SIZES))
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--save", default=None)
    args = p.parse_args()
    train(args.size, args.steps, args.batch, args.lr, save=args.save)


if __name__ == "__main__":
    main()
