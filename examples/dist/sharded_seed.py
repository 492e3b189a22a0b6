"""Tessera's seed example on a mesh: a row-sharded matrix through matmul, relu and layernorm.

    python -m tessera.launch -n 8 examples/dist/sharded_seed.py [size]

Each rank holds 1024 / n rows of X. The compiler propagates the row split through X @ X.T (the
transposed operand is all-gathered), relu and the row-wise layernorm, so Y comes out split by
rows too; dist.gather(Y) assembles it to compare with NumPy in float64.
"""
import sys

import numpy as np

import tessera as ts
from tessera import dist, op


def main(size=1024):
    mesh = dist.Mesh(axes=["dp"], devices=range(dist.world_size()))
    X = dist.tensor((size, size), layout=dist.ShardSpec(("row",), ("dp",)), mesh=mesh, init="normal", seed=7)
    Y = op.pipeline([op.matmul(X, X.T), op.relu, op.layernorm])
    x = ts.randn(size, size, seed=7).numpy().astype(np.float64)  # the same numbers, unsharded
    y = np.maximum(x @ x.T, 0.0)
    y = (y - y.mean(-1, keepdims=True)) / np.sqrt(y.var(-1, keepdims=True) + 1e-5)
    err = np.abs(dist.gather(Y).numpy() - y).max()
    if dist.rank() == 0:
        print(dist.inspect(Y))
    print(f"rank {dist.rank()}: Y {Y.shape} split as {Y.sharding.spec}, local block {dist.local(Y).shape}, "
          f"max error against NumPy {err:.2e}")
    assert err < 1e-3, err  # float32 dots of length 1024 against float64
    return err


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1024)
