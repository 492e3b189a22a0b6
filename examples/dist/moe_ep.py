"""Expert parallelism: a mixture-of-experts layer whose experts are split over the ranks, tokens
dispatched to their expert's rank and combined back with two all-to-alls (GShard's layout).

    python -m tessera.launch -n 4 examples/dist/moe_ep.py

Each rank holds T tokens and K experts (E = K * ranks in all). A top-1 router picks each token's
expert; the dispatch tensor puts token t in slot `pos` of expert e (capacity C = T: nothing is
dropped); all_to_all sends expert e's slots to the rank that holds it; each rank runs its experts
on the slots from every rank; all_to_all brings the results back and the gate weights combine
them. The per-rank code runs in dist.shard_map, differentiated inside it (all_to_all's
derivative is the inverse all_to_all). The check: the loss and every gradient equal the
unsharded layer's (PyTorch autograd, float64).
"""
import numpy as np
import torch

import tessera as ts
from tessera import dist

T, D, H, K = 6, 8, 16, 2  # tokens per rank, model dim, expert hidden dim, experts per rank


def moe_layer(x, wg, w1, w2, n):
    """One rank's part: x [T, D] its tokens, wg [D, E] the router, w1 [K, D, H] and w2 [K, H, D]
    its experts. Returns y [T, D]."""
    e = K * n
    probs = ts.softmax(x @ wg, axis=-1)                                    # [T, E]
    choice = ts.one_hot(ts.argmax(probs, axis=-1), e, dtype="f64")         # [T, E] top-1
    gate = ts.sum(probs * choice, axis=-1, keepdims=True)                  # [T, 1]
    pos = ts.cast(ts.tril(ts.ones((T, T), dtype=ts.float64)) @ choice - 1.0, "i64")  # slot of each token
    slots = ts.one_hot(ts.maximum(pos, 0), T, dtype="f64") * ts.expand_dims(choice, -1)  # [T, E, C]
    sent = ts.einsum("tec,td->ecd", slots, x)                              # [E, C, D]
    mine = dist.all_to_all(sent, axis="ep", split_dim=0, concat_dim=1)     # [K, n*C, D]
    h = ts.relu(ts.einsum("kcd,kdh->kch", mine, w1))
    out = ts.einsum("kch,khd->kcd", h, w2)                                 # [K, n*C, D]
    back = dist.all_to_all(out, axis="ep", split_dim=1, concat_dim=0)      # [E, C, D]
    return ts.einsum("tec,ecd->td", slots, back) * gate


def reference(xs, wg, w1, w2):
    """The unsharded layer on every rank's tokens (torch, float64): loss and gradients."""
    x = torch.tensor(np.concatenate(xs), requires_grad=True)
    g, a, b = (torch.tensor(v, requires_grad=True) for v in (wg, w1, w2))
    probs = torch.softmax(x @ g, -1)
    e = probs.argmax(-1)
    gate = probs.gather(1, e[:, None])
    h = torch.relu(torch.einsum("td,tdh->th", x, a[e]))
    y = torch.einsum("th,thd->td", h, b[e]) * gate
    loss = (y ** 2).sum()
    loss.backward()
    return loss.item(), x.grad.numpy(), g.grad.numpy(), a.grad.numpy(), b.grad.numpy()


def main():
    n, r = dist.world_size(), dist.rank()
    mesh = dist.Mesh(["ep"])
    rng = np.random.default_rng(0)  # every rank knows the whole problem, to check it
    xs = [rng.standard_normal((T, D)) for _ in range(n)]
    wg = rng.standard_normal((D, K * n))
    w1 = rng.standard_normal((K * n, D, H)) * 0.3
    w2 = rng.standard_normal((K * n, H, D)) * 0.3
    mine = slice(r * K, (r + 1) * K)

    def step(x, wg, w1, w2):
        def loss(x, wg, w1, w2):
            y = moe_layer(x, dist.mark_varying(wg, axis="ep"), w1, w2, n)
            return dist.all_reduce(ts.sum(y * y), axis="ep")
        return ts.value_and_grad(loss, argnums=(0, 1, 2, 3))(x, wg, w1, w2)

    per_rank = dist.shard_map(step, mesh, in_specs=None, out_specs=None)
    loss, (dx, dwg, dw1, dw2) = per_rank(*(ts.tensor(v) for v in (xs[r], wg, w1[mine], w2[mine])))
    ref_loss, gx, gwg, gw1, gw2 = reference(xs, wg, w1, w2)
    tol = dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(loss.item(), ref_loss, **tol)
    np.testing.assert_allclose(dx.numpy(), gx[r * T:(r + 1) * T], **tol)
    np.testing.assert_allclose(dwg.numpy(), gwg, **tol)
    np.testing.assert_allclose(dw1.numpy(), gw1[mine], **tol)
    np.testing.assert_allclose(dw2.numpy(), gw2[mine], **tol)
    print(f"rank {r}: expert-parallel MoE matches the unsharded layer (loss {loss.item():.6f}, {K * n} experts)")


if __name__ == "__main__":
    main()
