"""Deterministic mode (tessera.dist.deterministic): ordered all_reduce and reduce_scatter equal the
member-order float32 sums bitwise, on every rank, eagerly and in jit; sharded sums, softmax and
matmul over a split dim equal the single-device program bitwise; without the mode they differ
(so the check can fail). Run by test_dist.py on 2 and 4 ranks."""
import numpy as np

import tessera as ts
from tessera import dist

R, N = dist.rank(), dist.world_size()
mesh = dist.Mesh(["a"])
rng = np.random.default_rng(0)
# values over six decades: float32 sums depend on their order
parts = [(rng.standard_normal(1000) * 10 ** rng.uniform(-3, 3, 1000)).astype(np.float32) for _ in range(N)]
want = parts[0].copy()
for p in parts[1:]:
    want = want + p   # member order, float32
with dist.deterministic():
    got = dist.all_reduce(ts.tensor(parts[R]), axis="a").numpy()
    got2 = ts.jit(lambda x: dist.all_reduce(x, axis="a"))(ts.tensor(parts[R])).numpy()
assert np.array_equal(got, want) and np.array_equal(got2, want), f"rank {R}: ordered all_reduce"
# reduce_scatter
whole = [rng.standard_normal((2 * N, 3)).astype(np.float32) for _ in range(N)]
acc = whole[0].copy()
for w in whole[1:]:
    acc = acc + w
with dist.deterministic():
    rs = dist.reduce_scatter(ts.tensor(whole[R]), axis="a", dim=0).numpy()
    rs1 = dist.reduce_scatter(ts.tensor(whole[R].T.copy()), axis="a", dim=1).numpy()
assert np.array_equal(rs, np.split(acc, N, 0)[R]), f"rank {R}: ordered reduce_scatter"
assert np.array_equal(rs1, np.split(acc.T, N, 1)[R]), f"rank {R}: ordered reduce_scatter dim 1"
# sharded sum equals single device bitwise
x = rng.standard_normal((8 * 4, 96)).astype(np.float32)
single = ts.sum(ts.tensor(x), axis=0).numpy()
single_all = ts.sum(ts.tensor(x)).numpy()
sm = ts.softmax(ts.tensor(x), axis=0).numpy()
mm = (ts.tensor(x).T @ ts.tensor(x)).numpy()
with dist.deterministic():
    xs = dist.shard(ts.tensor(x), dist.PartitionSpec("a", None), mesh)
    s = dist.gather(ts.sum(xs, axis=0)).numpy()
    sa = dist.gather(ts.sum(xs)).numpy()
    smd = dist.gather(ts.softmax(xs, axis=0)).numpy()
    mmd = dist.gather(xs.T @ xs).numpy()
for got, want, what in ((s, single, "sum"), (sa, single_all, "sum all"), (smd, sm, "softmax"), (mmd, mm, "matmul")):
    assert np.array_equal(got, want), f"rank {R}: deterministic sharded {what} is not the single-device result"
s2 = dist.gather(ts.sum(xs, axis=0)).numpy()
if N > 1:  # split sums: partial sums in another order, a different last bit somewhere
    assert not np.array_equal(s2, single), f"rank {R}: the default mode happened to match bitwise"
print(f"rank {R}: determinism ok")
