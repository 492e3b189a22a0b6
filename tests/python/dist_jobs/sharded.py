"""Ops on sharded tensors under the legal shardings of their inputs, against the unsharded result
in float64 (NumPy, and PyTorch autograd for gradients), in the manner of DTensor's converter
tests: every sharding of one-input ops, a fixed sample (the same on every rank) of the
combinations of several-input ops; eager, gradients, and one jit call per case. Run by
test_dist.py under tessera.launch on 2 ranks (axis "a") and 4 (a 2 x 2 mesh, "a" and "b")."""
import itertools

import numpy as np
import torch
from _jobs import DEVICE, share_one_gpu

import tessera as ts
from tessera import dist

R, N = dist.rank(), dist.world_size()
share_one_gpu()
MESH = dist.Mesh(["a", "b"], shape=(2, 2)) if N == 4 else dist.Mesh(["a"])
rng = np.random.default_rng(0)  # the same on every rank: the same inputs and the same sample
TOL = dict(rtol=1e-12, atol=1e-12)  # float64, sums in another order
SAMPLE = 6  # combinations of input shardings tried per several-input case
checked = 0


def specs(shape):
    """Every legal sharding of a tensor of ``shape``: each dim whole or split over a mesh axis
    that divides it, each axis at most once."""
    out = []
    for dims in itertools.product([None, *MESH.axis_names], repeat=len(shape)):
        used = [a for a in dims if a]
        if len(used) == len(set(used)) and all(a is None or n % MESH.size(a) == 0 for a, n in zip(dims, shape)):
            out.append(dist.PartitionSpec(*dims))
    return out


def combos(shapes):
    every = list(itertools.product(*[specs(s) for s in shapes]))
    if len(every) <= SAMPLE:
        return every
    pick = rng.choice(len(every), size=SAMPLE, replace=False)
    return [every[0]] + [every[i] for i in sorted(pick) if i != 0][:SAMPLE - 1]  # all whole, then a sample


def close(got, want, what):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, err_msg=f"rank {R}: {what}", **TOL)


def check(name, f_ts, f_torch, arrays, grad=True):
    """f_ts on sharded inputs (every combination) against f_torch on whole float64 tensors."""
    global checked
    t_in = [torch.tensor(a, requires_grad=grad and a.dtype == np.float64) for a in arrays]
    want = f_torch(*t_in)
    cot = rng.standard_normal(tuple(want.shape))
    float_args = [i for i, a in enumerate(arrays) if a.dtype == np.float64]
    if grad:
        want_grads = torch.autograd.grad((want * torch.tensor(cot)).sum(), [t_in[i] for i in float_args])
    want = want.detach().numpy()
    whole = [ts.tensor(a, device=DEVICE) for a in arrays]
    c = ts.tensor(cot, device=DEVICE)
    for combo in combos([a.shape for a in arrays]):
        what = f"{name} {[str(s.mesh_axes) for s in combo]}"
        xs = [dist.shard(x, s, MESH) for x, s in zip(whole, combo)]
        close(dist.gather(f_ts(*xs)).numpy(), want, what)
        if grad:
            loss = lambda *xs: ts.sum(f_ts(*xs) * c)  # noqa: E731
            gs = ts.grad(loss, argnums=tuple(float_args))(*xs)
            for g, w, i in zip(gs, want_grads, float_args):
                close(dist.gather(g).numpy(), w.numpy(), f"{what} grad {i}")
        checked += 1
    xs = [dist.shard(x, s, MESH) for x, s in zip(whole, combos([a.shape for a in arrays])[-1])]
    close(dist.gather(ts.jit(f_ts)(*xs)).numpy(), want, f"{name} jit")


def a(*shape):
    return rng.standard_normal(shape)


# element-wise, broadcasting
check("exp", ts.exp, torch.exp, [a(4, 6)])
check("tanh odd dim", ts.tanh, torch.tanh, [a(4, 3)])
check("add broadcast", lambda x, y: x + y, lambda x, y: x + y, [a(4, 6), a(6)])
check("mul", lambda x, y: x * y, lambda x, y: x * y, [a(4, 6), a(4, 6)])
check("div column", lambda x, y: x / (y * y + 1.0), lambda x, y: x / (y * y + 1.0), [a(4, 6), a(4, 1)])
check("where", lambda x, y: ts.where(x > 0, x, y), lambda x, y: torch.where(x > 0, x, y), [a(4, 6), a(4, 6)])
# reductions
for axis in (0, 1):
    check(f"sum {axis}", lambda x, ax=axis: ts.sum(x, axis=ax), lambda x, ax=axis: x.sum(ax), [a(4, 6)])
    check(f"max {axis}", lambda x, ax=axis: ts.max(x, axis=ax), lambda x, ax=axis: x.amax(ax), [a(4, 6)])
check("mean keepdims", lambda x: ts.mean(x, axis=1, keepdims=True), lambda x: x.mean(1, keepdim=True), [a(4, 6)])
check("sum all", ts.sum, torch.sum, [a(4, 6)])
# contractions
check("matmul", lambda x, y: x @ y, lambda x, y: x @ y, [a(4, 6), a(6, 8)])
check("matmul batched", lambda x, y: x @ y, lambda x, y: x @ y, [a(2, 4, 6), a(6, 4)])
check("matmul vector", lambda x, y: x @ y, lambda x, y: x @ y, [a(6), a(6, 4)])
check("einsum", lambda x, y: ts.einsum("bij,bjk->bik", x, y), lambda x, y: torch.einsum("bij,bjk->bik", x, y),
      [a(2, 4, 6), a(2, 6, 2)])
# movement
check("transpose", lambda x: x.T, lambda x: x.T, [a(4, 6)])
check("reshape merge", lambda x: ts.reshape(x, (8, 6)), lambda x: x.reshape(8, 6), [a(2, 4, 6)])
check("reshape split", lambda x: ts.reshape(x, (2, 2, 6)), lambda x: x.reshape(2, 2, 6), [a(4, 6)])
check("broadcast_to", lambda x: ts.broadcast_to(x, (4, 6)), lambda x: x.expand(4, 6), [a(6)])
check("expand_dims", lambda x: ts.expand_dims(x, 1), lambda x: x.unsqueeze(1), [a(4, 6)])
check("squeeze", lambda x: ts.squeeze(x, axes=[1]), lambda x: x.squeeze(1), [a(4, 1, 6)])
check("cast", lambda x: ts.cast(x, "f32") * 1.0, lambda x: x.float().double(), [a(4, 6)], grad=False)
check("one_hot", lambda i: ts.one_hot(i, 5, dtype="f64"), lambda i: torch.nn.functional.one_hot(i, 5).double(),
      [rng.integers(0, 5, size=(4, 2))], grad=False)
check("slice", lambda x: x[1:3, ::2], lambda x: x[1:3, ::2], [a(4, 6)])
check("pad", lambda x: ts.pad(x, [(0, 0), (1, 2)]), lambda x: torch.nn.functional.pad(x, (1, 2)), [a(4, 6)])
check("concat", lambda x, y: ts.concat([x, y], axis=1), lambda x, y: torch.cat([x, y], 1), [a(4, 6), a(4, 2)])
check("tril", ts.tril, torch.tril, [a(2, 4, 4)])
idx = rng.integers(0, 8, size=(4,))
# take's gradient is a scatter_add, which GPU targets do not compile yet
check("take", lambda t, i: ts.take(t, i, axis=0), lambda t, i: t[i], [a(8, 6), idx], grad=DEVICE == "cpu")
# windows (im2col) and its adjoint: leading dims split, window dims gathered whole
check("conv2d", lambda x, w: ts.conv2d(x, w, padding=1), lambda x, w: torch.nn.functional.conv2d(x, w, padding=1),
      [a(4, 2, 5, 6), a(4, 2, 3, 3)])
check("max_pool2d", lambda x: ts.max_pool2d(x, kernel_size=2), lambda x: torch.nn.functional.max_pool2d(x, 2),
      [a(4, 2, 4, 6)])
# composites
check("softmax", lambda x: ts.softmax(x, axis=-1), lambda x: torch.softmax(x, -1), [a(4, 6)])
check("layernorm", lambda x: ts.layernorm(x, axis=-1), lambda x: torch.nn.functional.layer_norm(x, (6,)), [a(4, 6)])
check("softmax over split", lambda x: ts.softmax(x, axis=0), lambda x: torch.softmax(x, 0), [a(4, 6)])

# Megatron MLP: w1 split by columns, w2 by rows: one pending sum, resolved once.
x, w1, w2 = a(4, 8), a(8, 8), a(8, 8)
xs, w1s, w2s = (dist.shard(ts.tensor(v, device=DEVICE), s, MESH) for v, s in
                ((x, None), (w1, dist.PartitionSpec(None, "a")), (w2, dist.PartitionSpec("a", None))))
h = ts.tanh(xs @ w1s)
assert h.sharding is not None and h.sharding.spec.dims(2) == {1: "a"}, h.sharding
close(dist.gather(h @ w2s).numpy(), np.tanh(x @ w1) @ w2, "megatron mlp")

# shard_map: per-device code with explicit collectives; the same result as the global program.
rows = dist.shard_map(lambda x: dist.all_reduce(ts.sum(x * x, axis=0), axis="a"), MESH,
                      in_specs=dist.PartitionSpec("a", None), out_specs=dist.PartitionSpec(None))
close(rows(ts.tensor(x, device=DEVICE)).numpy(), (x * x).sum(0), "shard_map")
scale = dist.shard_map(lambda x, s: x * s, MESH, in_specs=(dist.PartitionSpec("a", None), None),
                       out_specs=dist.PartitionSpec("a", None))
y = scale(ts.tensor(x, device=DEVICE), ts.tensor(3.0, dtype=ts.float64, device=DEVICE))
assert y.sharding.spec.dims(2) == {0: "a"} and dist.local(y).shape == (4 // MESH.size("a"), 8)
close(dist.gather(y).numpy(), x * 3.0, "shard_map split out")
# a constraint inside jit steers the program: the result leaves split as asked
g = ts.jit(lambda x: dist.with_sharding_constraint(ts.exp(x), dist.PartitionSpec(None, "a"), MESH))(xs)
assert g.sharding.spec.dims(2) == {1: "a"}, g.sharding
close(dist.gather(g).numpy(), np.exp(x), "with_sharding_constraint")
print(f"rank {R}: sharded ops ok on {DEVICE} ({checked} combinations)")
