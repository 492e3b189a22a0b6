"""Attention, the transformer block and the mixture-of-experts layer.

``Attention`` is multi-head attention with rotary position embeddings (RoPE), grouped-query
heads (``kv_heads`` < ``heads``: each key/value head serves ``heads / kv_heads`` query heads),
causal or sliding-window masks, optional learned attention sinks (GPT-OSS: one extra logit per
head that takes probability mass and contributes no value) and a key/value cache for decoding.
Causal attention without a window, sinks or cache runs as ``tessera.attention`` (the flash
kernels on GPUs); the other forms are written out as ops, so they differentiate and fuse too.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from .. import ops
from ..dtypes import float32
from ..functions import topk
from ..tensor import Tensor, arange
from . import init
from .layers import Linear, RMSNorm, SwiGLU
from .module import Module

__all__ = ["KVCache", "Attention", "TransformerBlock", "MoE"]


class KVCache(NamedTuple):
    """Keys and values seen so far, [B, kv_heads, T, head_dim] each (T grows by each call)."""
    k: Tensor
    v: Tensor

    @property
    def length(self):
        return self.k.shape[-2]


def _heads(x, n, hd):  # [B, S, n * hd] -> [B, n, S, hd]
    b, s = x.shape[0], x.shape[1]
    return ops.transpose(ops.reshape(x, shape=(b, s, n, hd)), perm=(0, 2, 1, 3))


class Attention(Module):
    def __init__(self, dim, heads, kv_heads=None, head_dim=None, causal=True, window=None, rope=True,
                 rope_base=10000.0, sinks=False, bias=False, seed=0, dtype=float32, device="cpu"):
        kv_heads = kv_heads or heads
        if heads % kv_heads:
            raise ValueError(f"Attention: heads ({heads}) must be a multiple of kv_heads ({kv_heads})")
        self.heads, self.kv_heads = heads, kv_heads
        self.head_dim = head_dim or dim // heads
        self.causal, self.window, self.rope, self.rope_base = causal, window, rope, rope_base
        hd = self.head_dim
        self.wq = Linear(dim, heads * hd, bias, init.split(seed, 0), dtype, device)
        self.wk = Linear(dim, kv_heads * hd, bias, init.split(seed, 1), dtype, device)
        self.wv = Linear(dim, kv_heads * hd, bias, init.split(seed, 2), dtype, device)
        self.wo = Linear(heads * hd, dim, bias, init.split(seed, 3), dtype, device)
        self.sinks = init.zeros((heads,), dtype, device) if sinks else None

    def __call__(self, x, cache=None):
        """x [B, S, dim] -> [B, S, dim]; with a ``cache`` (a KVCache, possibly of length 0),
        (output, the cache with this call's keys and values appended): x's positions follow
        the cache's."""
        b, s = x.shape[0], x.shape[1]
        hd, start = self.head_dim, 0 if cache is None else cache.length
        q = _heads(self.wq(x), self.heads, hd)
        k = _heads(self.wk(x), self.kv_heads, hd)
        v = _heads(self.wv(x), self.kv_heads, hd)
        if self.rope:
            pos = arange(start, start + s, dtype=float32, device=x.device)
            q = ops.rope(q, pos, base=self.rope_base)
            k = ops.rope(k, pos, base=self.rope_base)
        if cache is not None:
            k = ops.concat([cache.k, k], axis=2)
            v = ops.concat([cache.v, v], axis=2)
        new_cache = None if cache is None else KVCache(k, v)
        group = self.heads // self.kv_heads
        if group > 1:
            k, v = ops.repeat(k, group, axis=1), ops.repeat(v, group, axis=1)
        if self.causal and self.window is None and self.sinks is None and cache is None:
            out = ops.attention(q, k, v, causal=True)
        else:
            out = self._explicit(q, k, v, start)
        y = self.wo(ops.reshape(ops.transpose(out, perm=(0, 2, 1, 3)), shape=(b, s, self.heads * hd)))
        return y if cache is None else (y, new_cache)

    def _explicit(self, q, k, v, start):
        s, t = q.shape[2], k.shape[2]
        scores = (q @ ops.transpose(k, perm=(0, 1, 3, 2))) * (1.0 / math.sqrt(self.head_dim))
        qpos = ops.reshape(arange(start, start + s, dtype="i64", device=q.device), shape=(s, 1))
        kpos = ops.reshape(arange(0, t, dtype="i64", device=q.device), shape=(1, t))
        keep = None
        if self.causal:
            keep = kpos <= qpos
        if self.window is not None:  # the last `window` keys; without causality, `window` either side
            near = kpos > qpos - self.window
            if not self.causal:
                near = ops.logical_and(near, kpos < qpos + self.window)
            keep = near if keep is None else ops.logical_and(keep, near)
        if keep is not None:
            scores = ops.where(keep, scores, -math.inf)
        if self.sinks is None:
            return ops.softmax(scores, axis=-1) @ v
        sink = ops.broadcast_to(ops.reshape(self.sinks.astype(scores.dtype), shape=(1, self.heads, 1, 1)),
                                shape=tuple(scores.shape[:-1]) + (1,))
        probs = ops.softmax(ops.concat([scores, sink], axis=-1), axis=-1)
        return probs[..., :t] @ v


class TransformerBlock(Module):
    """Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x)) (RMSNorm; SwiGLU, or a MoE)."""

    def __init__(self, dim, heads, kv_heads=None, hidden=None, window=None, sinks=False, experts=0, top_k=2,
                 causal=True, seed=0, dtype=float32, device="cpu"):
        hidden = hidden or 4 * dim
        self.attn_norm = RMSNorm(dim, dtype=dtype, device=device)
        self.attn = Attention(dim, heads, kv_heads, causal=causal, window=window, sinks=sinks, seed=init.split(seed, 0),
                              dtype=dtype, device=device)
        self.mlp_norm = RMSNorm(dim, dtype=dtype, device=device)
        self.mlp = (MoE(dim, hidden, experts, top_k, seed=init.split(seed, 1), dtype=dtype, device=device) if experts
                    else SwiGLU(dim, hidden, seed=init.split(seed, 1), dtype=dtype, device=device))

    def __call__(self, x, cache=None, with_aux=False):
        """x [B, S, dim] -> the block's output; with a ``cache``, (output, cache); with
        ``with_aux``, (output, the MoE's load-balancing loss on this call's tokens, 0 without a
        MoE) last, from the same pass."""
        a = self.attn(self.attn_norm(x), cache)
        a, cache = (a, None) if cache is None else a
        x = x + a
        h = self.mlp_norm(x)
        aux = self.mlp.aux_loss(h) if with_aux and isinstance(self.mlp, MoE) else 0.0
        x = x + self.mlp(h)
        out = (x,) + ((cache,) if cache is not None else ()) + ((aux,) if with_aux else ())
        return out[0] if len(out) == 1 else out


class MoE(Module):
    """Mixture of SwiGLU experts with top-k routing (softmax over the chosen logits, as
    Mixtral/GPT-OSS). With ``capacity_factor``, each expert takes at most
    C = ceil(capacity_factor * tokens * top_k / experts) tokens, in token order, through
    ``moe_dispatch`` / ``moe_combine`` (the experts then run on [E, C, D] slots: a batched GEMM);
    the rest are dropped there (they pass through the residual). Without it every expert runs on
    every token, masked by its gate (exact, for small expert counts). ``aux_loss(x)`` is the
    Switch load-balancing loss."""

    def __init__(self, dim, hidden, experts, top_k=2, capacity_factor=None, seed=0, dtype=float32, device="cpu"):
        if not 1 <= top_k <= experts:
            raise ValueError(f"MoE: top_k must be in [1, experts={experts}], got {top_k}")
        self.experts, self.top_k, self.capacity_factor = experts, top_k, capacity_factor
        self.router = Linear(dim, experts, False, init.split(seed, 0), dtype, device)
        bound = 1.0 / math.sqrt(dim)
        hb = 1.0 / math.sqrt(hidden)
        self.w_gate = init.uniform((experts, dim, hidden), -bound, bound, init.split(seed, 1), dtype, device)
        self.w_up = init.uniform((experts, dim, hidden), -bound, bound, init.split(seed, 2), dtype, device)
        self.w_down = init.uniform((experts, hidden, dim), -hb, hb, init.split(seed, 3), dtype, device)

    def capacity(self, tokens):
        return None if self.capacity_factor is None else math.ceil(self.capacity_factor * tokens * self.top_k /
                                                                   self.experts)

    def _choose(self, x):  # (expert ids [T, K], their gates [T, K], router probabilities [T, E])
        logits = self.router(x)
        vals, idx = topk(logits, self.top_k, axis=-1)
        return idx, ops.softmax(vals, axis=-1), ops.softmax(logits, axis=-1)

    def route(self, x):
        """(weights [T, E]: the renormalised top-k probabilities, zero elsewhere and for dropped
        tokens; router probabilities [T, E]) for tokens x [T, dim]."""
        idx, gate, probs = self._choose(x)
        hot = ops.one_hot(idx, num_classes=self.experts, dtype=str(gate.dtype.short))  # [T, K, E]
        weights = ops.sum(hot * ops.reshape(gate, shape=tuple(gate.shape) + (1,)), axis=-2)
        cap = self.capacity(x.shape[0])
        if cap is not None:
            # 1-based place of each token in its experts' queues, counted in int64 as moe_dispatch does
            order = ops.cumsum(ops.cast(ops.sum(hot, axis=-2), "i64"), axis=0)
            weights = ops.where(order <= cap, weights, 0.0)
        return weights, probs

    def _experts(self, xs):  # [E, N, dim] -> [E, N, dim]
        return (ops.silu(xs @ self.w_gate) * (xs @ self.w_up)) @ self.w_down

    def __call__(self, x):
        shape = x.shape
        tokens = ops.reshape(x, shape=(-1, shape[-1]))
        cap = self.capacity(tokens.shape[0])
        if cap is not None:
            idx, gate, _ = self._choose(tokens)
            slots = ops.moe_dispatch(tokens, idx, num_experts=self.experts, capacity=cap)
            y = ops.moe_combine(self._experts(slots), idx, gate, capacity=cap)
            return ops.reshape(y, shape=shape)
        weights, _ = self.route(tokens)
        y = self._experts(tokens)  # every expert on every token: [E, T, dim]
        w = ops.reshape(ops.transpose(weights), shape=(self.experts, -1, 1))
        return ops.reshape(ops.sum(y * w, axis=0), shape=shape)

    def aux_loss(self, x):
        """E * sum_e f_e P_e (Switch Transformer): f_e the fraction of routed slots that went to
        expert e, P_e its mean router probability; 1 when routing is uniform."""
        tokens = ops.reshape(x, shape=(-1, x.shape[-1]))
        weights, probs = self.route(tokens)
        routed = ops.cast(weights > 0.0, str(probs.dtype.short))
        f = ops.mean(routed, axis=0) / float(self.top_k)
        return float(self.experts) * ops.sum(f * ops.mean(probs, axis=0))
