"""Collectives on CUDA tensors through NCCL: one-rank communicators in this process, and jobs of
1, 2 and 4 ranks on the one GPU (each rank claims its own NCCL host id: a correctness hook, not
a performance path). The job scripts are tests/python/dist_jobs/, run with the argument cuda."""
import os
import subprocess
import sys

import numpy as np
import pytest

import tessera as ts
from tessera import dist, launch

JOBS = os.path.join(os.path.dirname(__file__), "..", "python", "dist_jobs")
needs_mpi = pytest.mark.skipif(launch.mpich_file("mpiexec") is None and not os.environ.get("TESSERA_MPIEXEC"),
                               reason="no MPI launcher: pip install mpich")


def run_job(n, script, timeout=300):
    cmd = [sys.executable, "-m", "tessera.launch", "-n", str(n), "--timeout", str(timeout),
           os.path.join(JOBS, script), "cuda"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30)


def test_nccl_is_found():
    assert dist.nccl_version() >= (2, 13, 0)


def test_one_rank_collectives_in_process():
    mesh = dist.Mesh(["a"])
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    t = ts.tensor(x, device="cuda")
    for got in (dist.all_reduce(t, axis="a", mesh=mesh), dist.all_gather(t, axis="a", mesh=mesh),
                dist.reduce_scatter(t, axis="a", mesh=mesh), dist.all_to_all(t, axis="a", mesh=mesh),
                dist.broadcast(t, axis="a", mesh=mesh), dist.ppermute(t, [(0, 0)], axis="a", mesh=mesh)):
        assert got.device.type == "cuda"
        np.testing.assert_array_equal(got.numpy(), x)


@needs_mpi
@pytest.mark.parametrize("n", [1, 2, 4])
@pytest.mark.parametrize("script", ["collectives.py", "gradients.py", "sharded.py"])
def test_job_on_cuda(script, n):
    r = run_job(n, script)
    assert r.returncode == 0, r.stdout + r.stderr
    for rank in range(n):
        assert f"rank {rank}: " in r.stdout and "ok on cuda" in r.stdout
