"""A mixture-of-experts layer with top-k routing, trained eagerly and under jit.

Each token's router logits pick its k best experts (tessera.topk); their softmax gates weight
the experts' outputs. Here every expert runs on every token and the gates (zero for experts a
token did not pick) combine them, which is exact and simple at this size; a capacity-based
token dispatch is what large models use. A load-balancing loss (Switch Transformer's) keeps the
router from collapsing onto a few experts.

    python examples/moe_topk.py [--steps 200] [--eager]
"""
import argparse
import time

import numpy as np

import tessera as ts


def init(rng, dim=16, hidden=32, experts=8):
    def normal(*shape, scale):
        return ts.tensor((rng.standard_normal(shape) * scale).astype(np.float32))
    return {"router": normal(dim, experts, scale=0.1),
            "w1": normal(experts, dim, hidden, scale=dim ** -0.5),
            "w2": normal(experts, hidden, dim, scale=hidden ** -0.5)}


def moe(params, x, k=2):
    """x [T, D] -> (y [T, D], load-balancing loss)."""
    logits = x @ params["router"]                                   # [T, E]
    experts = logits.shape[1]
    top, idx = ts.topk(logits, k)                                   # [T, k] each
    gates = ts.softmax(top, axis=-1)
    combine = ts.sum(ts.one_hot(idx, num_classes=experts, dtype="f32") * gates.expand_dims(-1), axis=1)  # [T, E]
    hidden = ts.gelu(ts.einsum("td,edh->eth", x, params["w1"]))      # every expert on every token
    out = ts.einsum("eth,ehd->etd", hidden, params["w2"])           # [E, T, D]
    y = ts.einsum("te,etd->td", combine, out)
    # Switch Transformer: E * sum_e (fraction of tokens routed to e) * (mean router prob of e)
    routed = ts.mean(ts.cast(combine > 0, "f32"), axis=0) / k
    probs = ts.mean(ts.softmax(logits, axis=-1), axis=0)
    return y, experts * ts.sum(routed * probs, axis=None)


def loss_fn(params, x, target, k=2):
    y, balance = moe(params, x, k)
    return ts.mean((y - target) ** 2, axis=None) + 0.01 * balance


def train(steps=200, eager=False, lr=0.05, seed=0, log_every=50):
    rng = np.random.default_rng(seed)
    x = ts.tensor(rng.standard_normal((128, 16)).astype(np.float32))
    target = ts.sin(x * 2.0) * ts.tanh(ts.sum(x, axis=-1, keepdims=True))
    params = init(rng)
    grad = ts.value_and_grad(loss_fn)

    def step(p, x, target, lr):
        loss, g = grad(p, x, target)
        return loss, {k: p[k] - lr * g[k] for k in p}

    if not eager:
        step = ts.jit(step)
    losses = []
    start = time.perf_counter()
    for i in range(steps):
        loss, params = step(params, x, target, lr)
        losses.append(loss.item())
        if log_every and (i % log_every == 0 or i == steps - 1):
            print(f"step {i:4d}  loss {losses[-1]:.4f}", flush=True)
    per_step = (time.perf_counter() - start) / steps
    return losses, params, per_step


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--eager", action="store_true")
    args = ap.parse_args()
    losses, _, per_step = train(args.steps, args.eager)
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f} ({per_step * 1e3:.2f} ms per step)")


if __name__ == "__main__":
    main()
