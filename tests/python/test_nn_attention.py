"""nn.Attention, TransformerBlock and MoE against the same computation written in torch (float64,
1e-12): RoPE, grouped-query heads, causal and sliding-window masks, attention sinks; the KV
cache against recomputing the whole sequence; MoE routing, capacity and load-balancing loss
against NumPy."""
import math

import numpy as np
import pytest
import torch

import tessera as ts
from tessera import nn

RNG = np.random.default_rng()
F64 = ts.float64


def T(x):
    return torch.from_dlpack(x)


def rope_ref(x, base=10000.0):  # pairs (i, i + D/2), positions 0..S-1
    s, d = x.shape[-2], x.shape[-1]
    freq = base ** (-torch.arange(0, d // 2, dtype=torch.float64) * 2 / d)
    ang = torch.arange(s, dtype=torch.float64)[:, None] * freq[None, :]
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return torch.cat([x1 * ang.cos() - x2 * ang.sin(), x1 * ang.sin() + x2 * ang.cos()], dim=-1)


def attention_ref(m, x, causal=True, window=None):
    w = {k: T(v) for k, v in m.state_dict().items()}
    b, s, _ = x.shape
    hd, h, kvh = m.head_dim, m.heads, m.kv_heads
    q = (x @ w["wq.weight"].T).reshape(b, s, h, hd).transpose(1, 2)
    k = (x @ w["wk.weight"].T).reshape(b, s, kvh, hd).transpose(1, 2)
    v = (x @ w["wv.weight"].T).reshape(b, s, kvh, hd).transpose(1, 2)
    q, k = rope_ref(q), rope_ref(k)
    k, v = k.repeat_interleave(h // kvh, dim=1), v.repeat_interleave(h // kvh, dim=1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
    i, j = torch.arange(s)[:, None], torch.arange(s)[None, :]
    keep = torch.ones(s, s, dtype=torch.bool)
    if causal:
        keep &= j <= i
    if window is not None:
        keep &= j > i - window
        if not causal:
            keep &= j < i + window
    scores = scores.masked_fill(~keep, -math.inf)
    if "sinks" in w:
        sink = w["sinks"].reshape(1, h, 1, 1).expand(b, h, s, 1)
        probs = torch.softmax(torch.cat([scores, sink], dim=-1), dim=-1)[..., :s]
    else:
        probs = torch.softmax(scores, dim=-1)
    out = (probs @ v).transpose(1, 2).reshape(b, s, h * hd)
    return out @ w["wo.weight"].T


@pytest.mark.parametrize("kw", [{}, {"kv_heads": 2}, {"kv_heads": 1, "window": 3}, {"sinks": True, "window": 4},
                                {"causal": False}, {"causal": False, "window": 2}])
def test_attention_matches_torch(kw):
    m = nn.Attention(16, 4, seed=5, dtype=F64, **kw)
    if kw.get("sinks"):
        m.load_state_dict({**m.state_dict(), "sinks": ts.tensor(RNG.standard_normal(4))})
    x = RNG.standard_normal((2, 7, 16))
    want = attention_ref(m, torch.tensor(x), causal=kw.get("causal", True), window=kw.get("window"))
    np.testing.assert_allclose(m(ts.tensor(x)).numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", [{"kv_heads": 2}, {"window": 3, "sinks": True}])
def test_kv_cache_decoding_equals_recomputing(kw):
    block = nn.TransformerBlock(16, 4, hidden=24, seed=3, dtype=F64, **kw)
    x = ts.tensor(RNG.standard_normal((2, 9, 16)))
    full = block(x).numpy()
    cache = [nn.KVCache(ts.zeros(2, block.attn.kv_heads, 0, 4, dtype=F64), ts.zeros(2, block.attn.kv_heads, 0, 4,
                                                                                     dtype=F64))]
    y, cache = block(x[:, :5], cache[0])
    outs = [y.numpy()]
    for t in range(5, 9):
        y, cache = block(x[:, t:t + 1], cache)
        outs.append(y.numpy())
    assert cache.length == 9
    np.testing.assert_allclose(np.concatenate(outs, axis=1), full, rtol=1e-12, atol=1e-12)


def test_block_gradients_match_finite_differences():
    block = nn.TransformerBlock(8, 2, kv_heads=1, hidden=12, window=2, sinks=True, seed=2, dtype=F64)
    x = ts.tensor(RNG.standard_normal((1, 5, 8)))
    w = ts.tensor(RNG.standard_normal((1, 5, 8)))
    loss = lambda m: ts.sum(m(x) * w)  # noqa: E731
    grads = dict(ts.grad(loss)(block).named_parameters())
    params = dict(block.named_parameters())
    for name in ["attn.wq.weight", "attn.sinks", "mlp.down.weight", "attn_norm.weight"]:
        d = RNG.standard_normal(params[name].shape)
        eps = 1e-6

        def at(sign, name=name, d=d, eps=eps):
            return loss(nn.TransformerBlock(8, 2, kv_heads=1, hidden=12, window=2, sinks=True, seed=2, dtype=F64)
                        .load_state_dict({**block.state_dict(),
                                          name: ts.tensor(params[name].numpy() + sign * eps * d)})).item()
        fd = (at(1) - at(-1)) / (2 * eps)
        assert np.sum(grads[name].numpy() * d) == pytest.approx(fd, rel=1e-6, abs=1e-8), name


def test_moe_routing_capacity_and_balance():
    moe = nn.MoE(6, 10, experts=4, top_k=2, seed=1, dtype=F64)
    x = RNG.standard_normal((11, 6))
    weights, probs = moe.route(ts.tensor(x))
    logits = x @ moe.router.weight.numpy().T
    top = np.argsort(-logits, axis=1, kind="stable")[:, :2]
    want = np.zeros((11, 4))
    for t in range(11):
        g = np.exp(logits[t, top[t]] - logits[t, top[t]].max())
        want[t, top[t]] = g / g.sum()
    np.testing.assert_allclose(weights.numpy(), want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(weights.numpy().sum(1), 1.0, rtol=1e-14)
    # the output: each token's experts, weighted
    W = {k: v.numpy() for k, v in moe.state_dict().items()}
    silu = lambda z: z / (1 + np.exp(-z))  # noqa: E731
    y = sum(want[:, [e]] * ((silu(x @ W["w_gate"][e]) * (x @ W["w_up"][e])) @ W["w_down"][e]) for e in range(4))
    np.testing.assert_allclose(moe(ts.tensor(x)).numpy(), y, rtol=1e-12, atol=1e-12)
    # capacity: ceil(0.5 * 11 * 2 / 4) = 3 tokens per expert, the first ones in token order
    capped = nn.MoE(6, 10, experts=4, top_k=2, capacity_factor=0.5, seed=1, dtype=F64)
    cw = capped.route(ts.tensor(x))[0].numpy()
    order = np.cumsum(want > 0, axis=0)
    np.testing.assert_allclose(cw, np.where(order <= 3, want, 0.0), rtol=1e-12, atol=1e-15)
    assert ((cw > 0).sum(0) <= 3).all()
    # uniform routing (a zero router) gives a load-balancing loss of exactly 1
    flat = nn.MoE(6, 10, experts=4, top_k=4, seed=1, dtype=F64)
    flat.load_state_dict({**flat.state_dict(), "router.weight": ts.zeros(4, 6, dtype=F64)})
    assert flat.aux_loss(ts.tensor(x)).item() == pytest.approx(1.0, rel=1e-14)
    f = (want > 0).mean(0) / 2
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert moe.aux_loss(ts.tensor(x)).item() == pytest.approx(4 * np.sum(f * p.mean(0)), rel=1e-12)


def test_moe_in_a_block_trains():
    block = nn.TransformerBlock(8, 2, hidden=16, experts=4, top_k=2, seed=4, dtype=F64)
    x = ts.tensor(RNG.standard_normal((2, 6, 8)))
    grads = ts.grad(lambda m: ts.sum(m(x) ** 2))(block)
    g = dict(grads.named_parameters())
    assert np.abs(g["mlp.router.weight"].numpy()).sum() > 0 and np.abs(g["mlp.w_down"].numpy()).sum() > 0


def test_moe_dispatch_and_combine_match_numpy():
    t, d, e, k, cap = 9, 5, 3, 2, 4
    x = RNG.standard_normal((t, d))
    ids = np.stack([RNG.permutation(e)[:k] for _ in range(t)])
    w = RNG.standard_normal((t, k))
    slots = np.zeros((e, cap, d))
    used = np.zeros(e, int)
    where = {}
    for i in range(t):
        for j in range(k):
            ex = ids[i, j]
            if used[ex] < cap:
                slots[ex, used[ex]] = x[i]
                where[i, j] = (ex, used[ex])
                used[ex] += 1
    got = ts.moe_dispatch(ts.tensor(x), ts.tensor(ids), num_experts=e, capacity=cap).numpy()
    np.testing.assert_array_equal(got, slots)
    y = RNG.standard_normal((e, cap, d))
    want = np.zeros((t, d))
    for (i, j), (ex, c) in where.items():
        want[i] += w[i, j] * y[ex, c]
    np.testing.assert_allclose(ts.moe_combine(ts.tensor(y), ts.tensor(ids), ts.tensor(w), capacity=cap).numpy(), want,
                               rtol=1e-14, atol=1e-14)
    with pytest.raises(ts.ShapeError, match=r"moe_combine: capacity 3 must be y's dim 1"):
        ts.moe_combine(ts.tensor(y), ts.tensor(ids), ts.tensor(w), capacity=3)


def test_moe_with_capacity_equals_its_masked_dense_form():
    moe = nn.MoE(6, 10, experts=4, top_k=2, capacity_factor=0.75, seed=5, dtype=F64)
    x = ts.tensor(RNG.standard_normal((2, 7, 6)))
    dense = nn.MoE(6, 10, experts=4, top_k=2, seed=5, dtype=F64)  # same weights, no capacity path
    weights, _ = moe.route(ts.reshape(x, shape=(14, 6)))  # capacity-masked gates
    y = dense._experts(ts.reshape(x, shape=(14, 6)))
    want = ts.sum(y * ts.reshape(ts.transpose(weights), shape=(4, 14, 1)), axis=0).numpy().reshape(2, 7, 6)
    np.testing.assert_allclose(moe(x).numpy(), want, rtol=1e-12, atol=1e-12)
    g = ts.grad(lambda m: ts.sum(m(x) ** 2))(moe)
    assert np.abs(dict(g.named_parameters())["router.weight"].numpy()).sum() > 0


def test_block_returns_its_moe_balance_loss_from_the_same_pass():
    block = nn.TransformerBlock(8, 2, hidden=16, experts=4, top_k=2, seed=6, dtype=F64)
    x = ts.tensor(RNG.standard_normal((2, 5, 8)))
    y, aux = block(x, with_aux=True)
    np.testing.assert_array_equal(y.numpy(), block(x).numpy())
    h = block.mlp_norm(x + block.attn(block.attn_norm(x)))
    assert aux.item() == pytest.approx(block.mlp.aux_loss(h).item(), rel=1e-14)
    dense = nn.TransformerBlock(8, 2, hidden=16, seed=6, dtype=F64)
    z = ts.zeros(2, 2, 0, 4, dtype=F64)
    out, cache, no_aux = dense(x, nn.KVCache(z, z), with_aux=True)
    assert no_aux == 0.0 and cache.length == 5
