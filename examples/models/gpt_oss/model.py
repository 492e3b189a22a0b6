"""A GPT-OSS-style decoder, scaled down: byte tokens, pre-RMSNorm blocks whose attention
alternates full causal and sliding-window layers, grouped-query heads, RoPE, learned
attention sinks, and a SwiGLU mixture-of-experts MLP with top-k routing. Built from
``tessera.nn``; the whole training step (forward, loss, gradient, AdamW) is one ``jit``."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import tessera as ts
from tessera import nn


@dataclass(frozen=True)
class Config:
    vocab: int = 256
    dim: int = 64
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    window: int = 16  # sliding-window layers (every other one) see this many tokens
    experts: int = 4
    top_k: int = 2
    hidden: int = 128
    seq: int = 64
    aux_weight: float = 0.01  # load-balancing loss


class GPT(nn.Module):
    def __init__(self, cfg: Config, seed=0, dtype=ts.float32):
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab, cfg.dim, seed=nn.init.split(seed, 0), dtype=dtype)
        self.blocks = [nn.TransformerBlock(cfg.dim, cfg.heads, cfg.kv_heads, cfg.hidden,
                                           window=cfg.window if i % 2 else None, sinks=True, experts=cfg.experts,
                                           top_k=cfg.top_k, seed=nn.init.split(seed, i + 1), dtype=dtype)
                       for i in range(cfg.layers)]
        self.norm = nn.RMSNorm(cfg.dim, dtype=dtype)
        self.head = nn.Linear(cfg.dim, cfg.vocab, bias=False, seed=nn.init.split(seed, 99), dtype=dtype)

    def __call__(self, ids, caches=None, with_aux=False):
        """ids [B, S] -> logits [B, S, vocab]; with ``caches`` (one KVCache per block), also
        the caches extended by these tokens; with ``with_aux``, also the blocks' MoE
        load-balancing losses summed (last)."""
        x, new, aux = self.embed(ids), [], 0.0
        for i, block in enumerate(self.blocks):
            out = block(x, None if caches is None else caches[i], with_aux=with_aux)
            if not isinstance(out, tuple):
                out = (out,)
            x = out[0]
            if caches is not None:
                new.append(out[1])
            if with_aux:
                aux = aux + out[-1]
        out = (self.head(self.norm(x)),) + ((new,) if caches is not None else ()) + ((aux,) if with_aux else ())
        return out[0] if len(out) == 1 else out

    def empty_caches(self, batch):
        a = self.blocks[0].attn
        z = ts.zeros(batch, a.kv_heads, 0, a.head_dim, dtype=self.embed.weight.dtype)
        return [nn.KVCache(z, z) for _ in self.blocks]


def cross_entropy(logits, ids):
    """Next-byte cross-entropy (nats) of logits [B, S, V] for ids [B, S + 1]."""
    b, s, v = logits.shape
    return ts.cross_entropy(ts.reshape(logits, shape=(b * s, v)), ts.reshape(ids[:, 1:], shape=(b * s,)))


def loss_fn(model, ids):
    """Next-byte cross-entropy plus the weighted load-balancing loss, from one forward pass."""
    logits, aux = model(ids[:, :-1], with_aux=True)
    return cross_entropy(logits, ids) + model.cfg.aux_weight * aux


def greedy(model, prompt, steps, cache=True):
    """(generated ids [B, steps], their logits [B, steps, vocab]); with ``cache``, one token per
    step through the KV caches, else the whole sequence recomputed each step."""
    ids, out, logits_seen = prompt, [], []
    caches = model.empty_caches(prompt.shape[0]) if cache else None
    feed = prompt
    for _ in range(steps):
        if cache:
            logits, caches = model(feed, caches)
        else:
            logits = model(ids)
        last = logits[:, -1]
        nxt = ts.argmax(last, axis=-1)
        out.append(nxt.numpy())
        logits_seen.append(last.numpy())
        feed = ts.reshape(nxt, shape=(-1, 1))
        ids = ts.concat([ids, feed], axis=1)
    return np.stack(out, axis=1), np.stack(logits_seen, axis=1)


def corpus():
    """Bytes of Python's own help topics (they ship with CPython: no download), and a 90/10
    train/validation split."""
    from pydoc_data import topics
    text = "\n".join(topics.topics[k] for k in sorted(topics.topics)).encode("utf-8")
    data = np.frombuffer(text, dtype=np.uint8).astype(np.int64)
    cut = int(len(data) * 0.9)
    return data[:cut], data[cut:]


def batches(data, batch, seq, rng):
    while True:
        starts = rng.integers(0, len(data) - seq - 1, batch)
        yield np.stack([data[s:s + seq + 1] for s in starts])
