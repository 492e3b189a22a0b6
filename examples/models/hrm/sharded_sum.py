"""HRM logits reduced over a mesh: every rank builds the same model and batch, shards the logits
over the batch dim, and sums them; under ``tessera.dist.deterministic()`` the sharded sum equals
the single-device sum bit for bit.

    python -m tessera.launch -n 4 examples/models/hrm/sharded_sum.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hrm import HRM, Config, sudoku  # noqa: E402

import tessera as ts  # noqa: E402
from tessera import dist  # noqa: E402

rank, n = dist.rank(), dist.world_size()
mesh = dist.Mesh(["data"])
model = HRM(Config(dim=32, heads=2, layers=1), seed=3)
puzzles, _ = sudoku(np.random.default_rng(0), 8 * n)
logits = model(ts.tensor(puzzles))  # [B, 16, 5] on every rank
single = ts.sum(logits).numpy()
per_cell = ts.sum(logits, axis=0).numpy()
with dist.deterministic():
    sharded = dist.shard(logits, dist.PartitionSpec("data", None, None), mesh)
    total = dist.gather(ts.sum(sharded)).numpy()
    cells = dist.gather(ts.sum(sharded, axis=0)).numpy()
assert np.array_equal(total, single), f"rank {rank}: sharded sum {total} != {single}"
assert np.array_equal(cells, per_cell), f"rank {rank}: sharded per-cell sums differ"
print(f"rank {rank}: the sharded reduce_sum of HRM logits equals the single-device one bitwise")
