"""A Hierarchical Reasoning Model (Wang et al., 2025), small, on 4x4 Sudoku.

Two recurrent transformer modules share a state of one vector per cell: a fast low-level
module L updated T times per cycle (from its own state, the high-level state and the puzzle),
and a slow high-level module H updated once per cycle from L's state, for N cycles. Training
uses the paper's one-step gradient approximation (only the last L and H updates carry a
gradient; the N*T - 1 steps before run under stop_gradient, so the backward pass costs one
step however long the forward reasoning is), deep supervision (M segments, each with its own
loss, the state carried across them detached) and a halting head that learns whether the
current answer is already right (used to stop early at inference). The cycles run as
``tessera.recursive``: one Graph IR loop, not N copies.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import tessera as ts
from tessera import nn

CELLS, DIGITS = 16, 4


@dataclass(frozen=True)
class Config:
    dim: int = 64
    heads: int = 4
    layers: int = 2  # per module
    cycles: int = 2  # N
    steps: int = 2  # T (low-level updates per cycle)
    segments: int = 2  # M (deep supervision)
    one_step: bool = True  # the one-step gradient; False: backpropagate through every update


def _stack(cfg, seed, dtype):
    return [nn.TransformerBlock(cfg.dim, cfg.heads, hidden=2 * cfg.dim, causal=False, seed=nn.init.split(seed, i),
                                dtype=dtype) for i in range(cfg.layers)]


def _run(blocks, x):
    for b in blocks:
        x = b(x)
    return x


class HRM(nn.Module):
    def __init__(self, cfg=Config(), seed=0, dtype=ts.float32):
        self.cfg = cfg
        self.embed = nn.Embedding(DIGITS + 1, cfg.dim, seed=nn.init.split(seed, 0), dtype=dtype)
        self.pos = nn.init.normal((CELLS, cfg.dim), std=0.02, seed=nn.init.split(seed, 1), dtype=dtype)
        self.low = _stack(cfg, nn.init.split(seed, 2), dtype)
        self.high = _stack(cfg, nn.init.split(seed, 3), dtype)
        # keep the recurrent states bounded
        self.low_norm, self.high_norm = nn.RMSNorm(cfg.dim, dtype=dtype), nn.RMSNorm(cfg.dim, dtype=dtype)
        self.head = nn.Linear(cfg.dim, DIGITS + 1, seed=nn.init.split(seed, 4), dtype=dtype)
        self.halt = nn.Linear(cfg.dim, 1, seed=nn.init.split(seed, 5), dtype=dtype)

    def initial_state(self, batch):
        z = ts.zeros(batch, CELLS, self.cfg.dim, dtype=self.pos.dtype)
        return z, z

    def low_step(self, zl, zh, x):
        return self.low_norm(_run(self.low, zl + zh + x))

    def high_step(self, zh, zl):
        return self.high_norm(_run(self.high, zh + zl))

    def cycle(self, state, x):
        zh, zl = state
        zl = ts.recursive(lambda z: self.low_step(z, zh, x), self.cfg.steps)(zl)
        return self.high_step(zh, zl), zl

    def segment(self, state, puzzle):
        """One supervised segment from ``state``: (new state, logits [B, 16, 5], halt logit [B])
        with the one-step gradient: every update but the last L and H ones under stop_gradient."""
        x = self.embed(puzzle) + self.pos
        cfg = self.cfg
        zh, zl = state
        if cfg.cycles * cfg.steps > 1:
            zh, zl = ts.recursive(lambda s: self.cycle(s, x), cfg.cycles - 1)((zh, zl))
            zl = ts.recursive(lambda z: self.low_step(z, zh, x), cfg.steps - 1)(zl)
            if cfg.one_step:
                zh, zl = ts.stop_gradient(zh), ts.stop_gradient(zl)
        zl = self.low_step(zl, zh, x)  # the two updates that carry the gradient
        zh = self.high_step(zh, zl)
        return (zh, zl), self.head(zh), self.halt(zh[:, 0])[:, 0]

    def __call__(self, puzzle, segments=None):
        """Logits [B, 16, 5] after ``segments`` (default cfg.segments) segments."""
        state = self.initial_state(puzzle.shape[0])
        for _ in range(segments or self.cfg.segments):
            state, logits, _ = self.segment(state, puzzle)
            state = tuple(ts.stop_gradient(z) for z in state)
        return logits


class Plain(nn.Module):
    """The baseline: the same blocks (2 x layers), one non-recurrent pass."""

    def __init__(self, cfg=Config(), seed=0, dtype=ts.float32):
        self.embed = nn.Embedding(DIGITS + 1, cfg.dim, seed=nn.init.split(seed, 0), dtype=dtype)
        self.pos = nn.init.normal((CELLS, cfg.dim), std=0.02, seed=nn.init.split(seed, 1), dtype=dtype)
        self.blocks = _stack(cfg, nn.init.split(seed, 2), dtype) + _stack(cfg, nn.init.split(seed, 3), dtype)
        self.head = nn.Linear(cfg.dim, DIGITS + 1, seed=nn.init.split(seed, 4), dtype=dtype)

    def __call__(self, puzzle, segments=None):
        return self.head(_run(self.blocks, self.embed(puzzle) + self.pos))


def _ce(logits, solution):
    b = logits.shape[0]
    return ts.cross_entropy(ts.reshape(logits, shape=(b * CELLS, DIGITS + 1)), ts.reshape(solution, shape=(b * CELLS,)))


def hrm_loss(model, puzzle, solution):
    """Deep supervision: the mean over segments of the cross-entropy plus the halting head's
    loss (target: is this segment's answer fully right), the state detached between segments."""
    state, total = model.initial_state(puzzle.shape[0]), 0.0
    for _ in range(model.cfg.segments):
        state, logits, halt = model.segment(state, puzzle)
        state = tuple(ts.stop_gradient(z) for z in state)
        right = ts.stop_gradient(ts.all(ts.equal(ts.argmax(logits, axis=-1), solution), axis=1).astype(halt.dtype))
        total = total + _ce(logits, solution) + ts.binary_cross_entropy_with_logits(halt, right)
    return total / model.cfg.segments


def plain_loss(model, puzzle, solution):
    return _ce(model(puzzle), solution)


def solve_rate(model, puzzle, solution, segments=None):
    pred = ts.argmax(model(ts.tensor(puzzle), segments), axis=-1).numpy()
    return float(np.mean(np.all(pred == solution, axis=1)))


# ---- 4x4 Sudoku ----

_BASE = np.array([[1, 2, 3, 4], [3, 4, 1, 2], [2, 1, 4, 3], [4, 3, 2, 1]])


def sudoku(rng, n, blanks=(6, 10)):
    """(puzzles [n, 16] with 0 for a blank, solutions [n, 16]): random valid grids (digit, band,
    stack, row-in-band and column-in-stack permutations of a base grid) with some cells blanked."""
    out_p, out_s = [], []
    for _ in range(n):
        g = rng.permutation(4)[_BASE - 1] + 1
        bands = rng.permutation(2)
        rows = np.concatenate([2 * b + rng.permutation(2) for b in bands])
        stacks = rng.permutation(2)
        cols = np.concatenate([2 * s + rng.permutation(2) for s in stacks])
        g = g[rows][:, cols]
        if rng.random() < 0.5:
            g = g.T
        sol = g.reshape(16)
        puz = sol.copy()
        puz[rng.permutation(16)[:rng.integers(blanks[0], blanks[1] + 1)]] = 0
        out_p.append(puz)
        out_s.append(sol)
    return np.array(out_p), np.array(out_s)
