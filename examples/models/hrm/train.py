"""Train the HRM and the plain-transformer baseline on 4x4 Sudoku; print both solve rates.

    python examples/models/hrm/train.py [--steps 300]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hrm import HRM, Config, Plain, hrm_loss, plain_loss, solve_rate, sudoku  # noqa: E402

import tessera as ts  # noqa: E402
from tessera import optim  # noqa: E402


def train(kind="hrm", steps=300, batch=64, lr=2e-3, seed=0, quiet=False):
    cfg = Config()
    model = HRM(cfg, seed=seed) if kind == "hrm" else Plain(cfg, seed=seed)
    loss_fn = hrm_loss if kind == "hrm" else plain_loss
    opt = optim.AdamW(optim.cosine(lr, total=steps, warmup=20), weight_decay=0.01)
    state = opt.init(model)

    @ts.jit
    def step(model, state, puzzle, solution):
        loss, grads = ts.value_and_grad(loss_fn)(model, puzzle, solution)
        grads, _ = optim.clip_grad_norm(grads, 1.0)
        model, state = opt.update(grads, state, model)
        return model, state, loss

    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for i in range(1, steps + 1):
        p, s = sudoku(rng, batch)
        model, state, loss = step(model, state, ts.tensor(p), ts.tensor(s))
        if not quiet and (i == 1 or i % 50 == 0 or i == steps):
            print(f"{kind} step {i:4d}  loss {loss.item():.3f}  {i * batch / (time.perf_counter() - start):,.0f} "
                  "puzzles/s", flush=True)
    test_p, test_s = sudoku(np.random.default_rng(seed + 1000), 512)
    rate = solve_rate(model, test_p, test_s)
    if not quiet:
        print(f"{kind}: {rate:.1%} of 512 new puzzles solved")
    return model, rate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()
    train("hrm", args.steps)
    train("plain", args.steps)


if __name__ == "__main__":
    main()
