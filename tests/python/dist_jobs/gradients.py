"""Gradients through collectives against the unsharded model in float64 (PyTorch autograd):
data parallel, Megatron tensor parallel MLP, sequence parallel, all_to_all and ppermute.
Run by test_dist.py under tessera.launch; with the argument ``cuda``, on CUDA tensors through NCCL."""
import numpy as np
import torch
from _jobs import DEVICE, share_one_gpu

import tessera as ts
from tessera import dist

R, N = dist.rank(), dist.world_size()
share_one_gpu()
mesh = dist.Mesh(["dp"])
rng = np.random.default_rng(0)  # the same on every rank: every rank knows the whole problem
B, D, H = 4 * N, 6, 2 * N
X, W1, W2 = rng.standard_normal((B, D)), rng.standard_normal((D, H)), rng.standard_normal((H, D))


def T(a):  # noqa: N802 - short, like the arrays it wraps
    return ts.tensor(a, device=DEVICE)


TOL = dict(rtol=1e-12, atol=1e-12)  # float64 sums in another order


def torch_grads(fn, *arrays):
    ts_ = [torch.tensor(a, requires_grad=True) for a in arrays]
    loss = fn(*ts_)
    loss.backward()
    return loss.item(), [t.grad.numpy() for t in ts_]


def close(got, want, what):
    np.testing.assert_allclose(got, want, err_msg=f"rank {R}: {what}", **TOL)


def mlp(x, w1, w2):
    return ((torch.tanh(x @ w1) @ w2) ** 2).mean()


ref_loss, (gx, g1, g2) = torch_grads(mlp, X, W1, W2)
rows = slice(R * B // N, (R + 1) * B // N)
cols = slice(R * H // N, (R + 1) * H // N)


# Data parallel: replicated weights, the batch split over ranks, the global mean loss.
def dp_loss(w1, w2, x):
    w1, w2 = dist.mark_varying(w1), dist.mark_varying(w2)
    local = ts.sum((ts.tanh(x @ w1) @ w2) ** 2) / (B * D)
    return dist.all_reduce(local)


for jit in (False, True):
    f = ts.value_and_grad(dp_loss, argnums=(0, 1))
    f = ts.jit(f) if jit else f
    loss, (d1, d2) = f(T(W1), T(W2), T(X[rows]))
    close(loss.item(), ref_loss, "dp loss")
    close(d1.numpy(), g1, "dp dW1")
    close(d2.numpy(), g2, "dp dW2")


# Tensor parallel (Megatron): W1 split by columns, W2 by rows, one all_reduce.
def tp_loss(x, w1, w2):
    y = dist.all_reduce(ts.tanh(dist.mark_varying(x) @ w1) @ w2)
    return ts.mean(y ** 2)


loss, (dx, d1, d2) = ts.value_and_grad(tp_loss, argnums=(0, 1, 2))(T(X), T(W1[:, cols]),
                                                                 T(W2[cols]))
close(loss.item(), ref_loss, "tp loss")
close(dx.numpy(), gx, "tp dx")
close(d1.numpy(), g1[:, cols], "tp dW1")
close(d2.numpy(), g2[cols], "tp dW2")


# Sequence parallel: rows of x split; all_gather before the column-parallel matmul,
# reduce_scatter after the row-parallel one.
def sp_loss(x, w1, w2):
    y = dist.reduce_scatter(ts.tanh(dist.all_gather(x, dim=0) @ w1) @ w2, dim=0)
    return dist.all_reduce(ts.sum(y ** 2)) / (B * D)


loss, (dx, d1, d2) = ts.value_and_grad(sp_loss, argnums=(0, 1, 2))(T(X[rows]), T(W1[:, cols]),
                                                                 T(W2[cols]))
close(loss.item(), ref_loss, "sp loss")
close(dx.numpy(), gx[rows], "sp dx")
close(d1.numpy(), g1[:, cols], "sp dW1")
close(d2.numpy(), g2[cols], "sp dW2")

# all_to_all and ppermute: L = sum over ranks of <C_r, op(x)_r>; dx_r is the adjoint applied to C.
xs = [rng.standard_normal((2 * N, 3)) for _ in range(N)]
cs = [rng.standard_normal((2, 3 * N)) for _ in range(N)]


def a2a_loss(x, c):
    return dist.all_reduce(ts.sum(c * dist.all_to_all(x, split_dim=0, concat_dim=1)))


d = ts.grad(a2a_loss)(T(xs[R]), T(cs[R]))
# member m's output block r (columns r*3..) came from block m of member r's input.
want = np.concatenate([np.split(cs[m], N, axis=1)[R] for m in range(N)], axis=0)
close(d.numpy(), want, "all_to_all grad")
ring = [(m, (m + 1) % N) for m in range(N)]
cp = [rng.standard_normal((2 * N, 3)) for _ in range(N)]
d = ts.grad(lambda x, c: dist.all_reduce(ts.sum(c * dist.ppermute(x, ring))))(T(xs[R]), T(cp[R]))
close(d.numpy(), cp[(R + 1) % N], "ppermute grad")
d = ts.grad(lambda x: dist.all_reduce(ts.sum(dist.broadcast(x, src=N - 1) * 3.0)))(T(xs[R]))
close(d.numpy(), np.full_like(xs[R], 3.0 * N) if R == N - 1 else np.zeros_like(xs[R]), "broadcast grad")
# forward mode: jvp of all_gather is all_gather of the tangent
_, t = ts.jvp(lambda x: dist.all_gather(x, dim=1), (T(xs[R]),), (T(cp[R]),))
close(t.numpy(), np.concatenate(cp, axis=1), "all_gather jvp")
print(f"rank {R}: gradients ok on {DEVICE}")
