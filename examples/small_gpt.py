"""A small GPT trained on bytes of Python's own documentation, eagerly or under tessera.jit.

The model is plain functions over a dict of parameters: token and position embeddings,
pre-layernorm transformer blocks (causal multi-head attention, a gelu MLP), a tied output
projection and a cross-entropy loss. Adam is written with tessera ops.

    python examples/small_gpt.py                 # jit: one compiled program per step
    python examples/small_gpt.py --eager         # eager: the gradient program runs compiled,
                                                 # the Adam update op by op
    python examples/small_gpt.py --steps 200 --device cuda   # not yet: the embedding's gradient
                                                 # is a scatter-add, CPU-only until GPU
                                                 # scatter kernels land (a clear error says so)

Eagerly, `value_and_grad(loss)` still runs the whole forward and backward as one compiled
program (cached by its structure), and each op of the update runs at once through a cached
kernel, so a step costs the same at step 1000 as at step 10.
"""
import argparse
import math
import time

import numpy as np

import tessera as ts


def corpus() -> np.ndarray:
    """Bytes of the text of Python's help topics (ships with CPython, no download)."""
    from pydoc_data import topics
    text = "\n".join(topics.topics[k] for k in sorted(topics.topics))
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def init(rng, vocab=256, dim=128, layers=2, seq=64):
    def normal(*shape, scale=0.02):
        return ts.tensor((rng.standard_normal(shape) * scale).astype(np.float32))

    params = {"tok": normal(vocab, dim), "pos": normal(seq, dim),
              "lnf_w": ts.ones(dim), "lnf_b": ts.zeros(dim)}
    for i in range(layers):
        params.update({
            f"l{i}.ln1_w": ts.ones(dim), f"l{i}.ln1_b": ts.zeros(dim),
            f"l{i}.qkv": normal(dim, 3 * dim), f"l{i}.proj": normal(dim, dim, scale=0.02 / math.sqrt(2 * layers)),
            f"l{i}.ln2_w": ts.ones(dim), f"l{i}.ln2_b": ts.zeros(dim),
            f"l{i}.fc": normal(dim, 4 * dim), f"l{i}.fc_b": ts.zeros(4 * dim),
            f"l{i}.out": normal(4 * dim, dim, scale=0.02 / math.sqrt(2 * layers)), f"l{i}.out_b": ts.zeros(dim),
        })
    return params


def block(p, i, x, heads):
    b, s, d = x.shape
    h = ts.layernorm(x, p[f"l{i}.ln1_w"], p[f"l{i}.ln1_b"])
    qkv = (h @ p[f"l{i}.qkv"]).reshape(b, s, 3, heads, d // heads)
    q, k, v = (qkv[:, :, j].transpose(0, 2, 1, 3) for j in range(3))
    a = ts.scaled_dot_product_attention(q, k, v, is_causal=True)
    x = x + a.transpose(0, 2, 1, 3).reshape(b, s, d) @ p[f"l{i}.proj"]
    h = ts.layernorm(x, p[f"l{i}.ln2_w"], p[f"l{i}.ln2_b"])
    return x + ts.gelu(h @ p[f"l{i}.fc"] + p[f"l{i}.fc_b"]) @ p[f"l{i}.out"] + p[f"l{i}.out_b"]


def logits_of(p, tokens, layers, heads):
    s = tokens.shape[1]
    x = ts.embedding(tokens, p["tok"]) + p["pos"][:s]
    for i in range(layers):
        x = block(p, i, x, heads)
    x = ts.layernorm(x, p["lnf_w"], p["lnf_b"])
    return x @ p["tok"].T


def loss_fn(p, tokens, targets, layers, heads):
    logits = logits_of(p, tokens, layers, heads)
    b, s, v = logits.shape
    return ts.cross_entropy(logits.reshape(b * s, v), targets.reshape(b * s))


def adam_update(p, g, m, v, t, lr, b1=0.9, b2=0.95, eps=1e-8):
    """One Adam step for every parameter; ``t`` counts steps from 1."""
    c1, c2 = 1 - b1 ** t, 1 - b2 ** t
    new_p, new_m, new_v = {}, {}, {}
    for k in p:
        new_m[k] = b1 * m[k] + (1 - b1) * g[k]
        new_v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k]
        new_p[k] = p[k] - lr * (new_m[k] / c1) / (ts.sqrt(new_v[k] / c2) + eps)
    return new_p, new_m, new_v


def batches(data, rng, batch, seq):
    while True:
        starts = rng.integers(0, len(data) - seq - 1, batch)
        chunk = np.stack([data[s:s + seq + 1] for s in starts]).astype(np.int64)
        yield ts.tensor(chunk[:, :-1]), ts.tensor(chunk[:, 1:])


def train(steps=60, eager=False, device="cpu", batch=8, seq=64, dim=128, layers=2, heads=4, lr=3e-3,
          log_every=10, seed=0):
    """Trains and returns (losses, seconds per step)."""
    rng = np.random.default_rng(seed)
    data = corpus()
    params = {k: v.to(device) for k, v in init(rng, dim=dim, layers=layers, seq=seq).items()}
    m = {k: ts.zeros(*v.shape, device=device) for k, v in params.items()}
    v = {k: ts.zeros(*v.shape, device=device) for k, v in params.items()}
    grad_fn = ts.value_and_grad(loss_fn)

    def step(p, m, v, t, tokens, targets):
        loss, g = grad_fn(p, tokens, targets, layers, heads)
        return (loss,) + adam_update(p, g, m, v, t, lr)

    if not eager:
        step = ts.jit(step)
    losses, times = [], []
    data_iter = batches(data, rng, batch, seq)
    for t in range(1, steps + 1):
        tokens, targets = (x.to(device) for x in next(data_iter))
        start = time.perf_counter()
        loss, params, m, v = step(params, m, v, float(t), tokens, targets)
        losses.append(loss.item())  # .item() waits for the step, so the time is the whole step
        times.append(time.perf_counter() - start)
        if log_every and (t % log_every == 0 or t == 1):
            print(f"step {t:4d}  loss {losses[-1]:.3f}  {times[-1] * 1e3:7.1f} ms", flush=True)
    return losses, times


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--eager", action="store_true", help="no jit: ops run as they are called")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    losses, times = train(args.steps, args.eager, args.device)
    later = sorted(times[len(times) // 2:])
    print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}; median step after warm-up {later[len(later) // 2] * 1e3:.1f} ms "
          f"({'eager' if args.eager else 'jit'})")


if __name__ == "__main__":
    main()
