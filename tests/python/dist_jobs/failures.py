"""Bad input and failing ranks, run by test_dist.py: argv[1] picks the case."""
import os
import signal
import sys

import numpy as np

import tessera as ts
from tessera import dist

case = sys.argv[1]
R, N = dist.rank(), dist.world_size()
if case == "raise":  # rank 1 raises while rank 0 waits in a collective
    if R == 1:
        raise ValueError("rank one gives up")
    dist.all_reduce(ts.ones(4), mesh=dist.Mesh(["dp"])).numpy()
elif case == "kill":  # rank 1 dies while rank 0 waits in a collective
    mesh = dist.Mesh(["dp"])
    if R == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    dist.all_reduce(ts.ones(4), mesh=mesh).numpy()
elif case == "errors":  # clear errors, raised on every rank, and the job goes on
    try:
        dist.Mesh(["dp"], devices=range(N + 2))
        raise AssertionError("a mesh larger than the world was accepted")
    except ts.TesseraError as e:
        assert "must be the job's ranks" in str(e) and f"-n {N + 2}" in str(e), e
    mesh = dist.Mesh(["dp"])
    try:
        dist.reduce_scatter(ts.ones((N + 1, 2)), dim=0)
        raise AssertionError("an indivisible dim was accepted")
    except ts.ShapeError as e:
        assert "does not divide over the" in str(e) and "errors" not in str(e).split("failures.py")[0], e
        assert "failures.py" in str(e), e  # the user's line
    try:
        dist.all_reduce(ts.ones(2), axis="tp")
        raise AssertionError("an unknown axis was accepted")
    except ts.TesseraError as e:
        assert "'tp' is not one of this mesh's axes" in str(e), e
    np.testing.assert_array_equal(dist.all_reduce(ts.ones(3)).numpy(), np.full(3, float(N)))
    try:  # sharded tensors: a dim that does not divide
        dist.shard(ts.ones((N + 1, 2)), dist.PartitionSpec("dp", None), mesh)
        raise AssertionError("an indivisible sharded dim was accepted")
    except ts.TesseraError as e:
        assert f"dim 0 of size {N + 1} does not divide over mesh axis dp of size {N}" in str(e), e
        assert "failures.py" in str(e), e
    if N > 1:  # processes with different shapes: an error on every one, not a hang
        try:
            dist.shard(ts.ones((2 * N * (R + 1), 2)), dist.PartitionSpec("dp", None), mesh)
            raise AssertionError("processes with different shapes went on")
        except ts.TesseraError as e:
            assert "running different programs" in str(e) and "failures.py" in str(e), e
    x = dist.shard(ts.ones((2 * N, 2)), dist.PartitionSpec("dp", None), mesh)  # and the job goes on
    np.testing.assert_array_equal(dist.gather(x * 2.0).numpy(), np.full((2 * N, 2), 2.0))
    print(f"rank {R}: errors ok")
