"""Every collective, eagerly and inside jit, on every dtype, against NumPy: run by test_dist.py
under tessera.launch on 2 and 4 ranks (4 ranks: a 2 x 2 mesh, each axis checked); with the
argument ``cuda``, on CUDA tensors through NCCL (tests/gpu/test_dist_cuda.py)."""
import numpy as np
from _jobs import DEVICE, share_one_gpu

import tessera as ts
from tessera import dist

R, N = dist.rank(), dist.world_size()
share_one_gpu()
MESH = dist.Mesh(["a", "b"], shape=(N // 2, 2)) if N == 4 else dist.Mesh(["a"])
DTYPES = [ts.float64, ts.float32, ts.float16, ts.bfloat16, ts.int64, ts.int32, ts.int8, ts.uint8, ts.bool_]
NP = {"f64": np.float64, "f32": np.float32, "f16": np.float16, "bf16": np.float32, "i64": np.int64,
      "i32": np.int32, "i8": np.int8, "u8": np.uint8, "bool": np.bool_}


def value(member, shape, dt, seed):
    """Member ``member``'s input: small integers (exact in every dtype, sums included)."""
    rng = np.random.default_rng(seed * 100 + member)
    v = rng.integers(0, 2 if dt == ts.bool_ else 4, size=shape)
    return v.astype(NP[dt.short])


def check(got, want, what):
    got = np.array(got.tolist(), dtype=np.float64).reshape(got.shape) if got.dtype == ts.bfloat16 else got.numpy()
    if got.shape != want.shape or not np.array_equal(got.astype(np.float64), want.astype(np.float64)):
        raise AssertionError(f"rank {R}: {what}: got {got.tolist()} want {want.tolist()}")


def run(axis, dt, jit):
    n, me = MESH.size(axis), MESH.axis_index(axis)
    shape = (2 * n, 3)
    xs = [value(m, shape, dt, 7) for m in range(n)]
    x = ts.tensor(xs[me], dtype=dt, device=DEVICE)
    call = (lambda f, *a: ts.jit(f)(*a)) if jit else (lambda f, *a: f(*a))
    tag = f"{axis} {dt.short} jit={jit}"
    total = np.sum(xs, axis=0) if dt != ts.bool_ else np.any(xs, axis=0)
    check(call(lambda x: dist.all_reduce(x, axis=axis), x), total, "all_reduce sum " + tag)
    check(call(lambda x: dist.all_reduce(x, op="max", axis=axis), x), np.max(xs, axis=0), "all_reduce max " + tag)
    check(call(lambda x: dist.all_reduce(x, op="min", axis=axis), x), np.min(xs, axis=0), "all_reduce min " + tag)
    for dim in (0, 1, -1):
        check(call(lambda x, dim=dim: dist.all_gather(x, axis=axis, dim=dim), x), np.concatenate(xs, axis=dim),
              f"all_gather dim {dim} " + tag)
    part = np.split(total, n, axis=0)[me]
    check(call(lambda x: dist.reduce_scatter(x, axis=axis, dim=0), x), part, "reduce_scatter " + tag)
    wide = [np.concatenate([v] * n, axis=1) for v in xs]  # dim 1 divisible by n
    total_wide = np.sum(wide, axis=0) if dt != ts.bool_ else np.any(wide, axis=0)
    check(call(lambda x: dist.reduce_scatter(x, axis=axis, dim=1), ts.tensor(wide[me], dtype=dt, device=DEVICE)),
          np.split(total_wide, n, axis=1)[me], "reduce_scatter dim 1 " + tag)
    for split, cat in ((0, 0), (0, 1), (1, 0)):
        src = wide if split == 1 else xs
        want = np.concatenate([np.split(src[m], n, axis=split)[me] for m in range(n)], axis=cat)
        f = lambda x, s=split, c=cat: dist.all_to_all(x, axis=axis, split_dim=s, concat_dim=c)
        check(call(f, ts.tensor(src[me], dtype=dt, device=DEVICE)), want, f"all_to_all {split}->{cat} " + tag)
    check(call(lambda x: dist.broadcast(x, src=n - 1, axis=axis), x), xs[n - 1], "broadcast " + tag)
    perm = [(m, (m + 1) % n) for m in range(n)]
    check(call(lambda x: dist.ppermute(x, perm, axis=axis), x), xs[(me - 1) % n], "ppermute ring " + tag)
    if n > 1:  # member 0 receives nothing: zeros
        got = call(lambda x: dist.ppermute(x, [(0, 1)], axis=axis), x)
        check(got, xs[0] if me == 1 else np.zeros_like(xs[0]), "ppermute partial " + tag)


for axis in MESH.axis_names:
    for dt in DTYPES:
        for jit in (False, True):
            run(axis, dt, jit)
# mean, and an empty tensor
x = ts.tensor(np.full((3,), float(R), np.float32), device=DEVICE)
check(dist.all_reduce(x, op="mean", axis=MESH.axis_names[0]),
      np.full((3,), np.mean([m for m in range(N) if MESH._coords_of(m)[1:] == MESH.coords[1:]])), "mean")
check(dist.all_reduce(ts.zeros((0, 4), device=DEVICE), axis=MESH.axis_names[0]), np.zeros((0, 4)), "empty")
if N == 4:  # over both axes of the 2 x 2 mesh: every rank, in rank order (coordinates row-major)
    xs = [value(m, (4, 3), ts.float32, 9) for m in range(N)]
    x = ts.tensor(xs[R], device=DEVICE)
    both = ("a", "b")
    check(dist.all_reduce(x, axis=both), np.sum(xs, axis=0), "all_reduce over (a, b)")
    check(dist.all_gather(x, axis=both, dim=1), np.concatenate(xs, axis=1), "all_gather over (a, b)")
    check(dist.reduce_scatter(x, axis=both, dim=0), np.split(np.sum(xs, axis=0), N, axis=0)[R],
          "reduce_scatter over (a, b)")
print(f"rank {R}: collectives ok on {DEVICE}")
