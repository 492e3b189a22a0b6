"""tessera.dist: real multi-process jobs (python -m tessera.launch, MPI through the mpich wheel)
on CPU ranks, each with a timeout so a hang fails fast; and the single-process behaviour."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import tessera as ts
from tessera import dist, launch

JOBS = os.path.join(os.path.dirname(__file__), "dist_jobs")


def run_job(n, script, *args, timeout=240):
    cmd = [sys.executable, "-m", "tessera.launch", "-n", str(n), "--timeout", str(timeout),
           os.path.join(JOBS, script), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30)


needs_mpi = pytest.mark.skipif(launch.mpich_file("mpiexec") is None and not os.environ.get("TESSERA_MPIEXEC"),
                               reason="no MPI launcher: pip install mpich")


@needs_mpi
@pytest.mark.parametrize("n", [2, 4])
@pytest.mark.parametrize("script", ["collectives.py", "gradients.py", "determinism.py"])
def test_job(script, n):
    r = run_job(n, script)
    assert r.returncode == 0, r.stdout + r.stderr
    for rank in range(n):
        assert f"rank {rank}: " in r.stdout


@needs_mpi
@pytest.mark.parametrize("n", [2, 4])
def test_sharded_ops_match_the_unsharded_program(n):
    r = run_job(n, "sharded.py", timeout=400)
    assert r.returncode == 0, r.stdout + r.stderr
    for rank in range(n):
        assert f"rank {rank}: sharded ops ok" in r.stdout


@needs_mpi
@pytest.mark.parametrize("n", [1, 2, 4])
@pytest.mark.parametrize("deterministic", [False, True])
def test_sharded_training_matches_one_process(n, deterministic):
    import json
    steps = 25
    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "dist", "train_mlp_sharded.py")
    args = [str(steps)] + (["--deterministic"] if deterministic else [])
    r = subprocess.run([sys.executable, "-m", "tessera.launch", "-n", str(n), "--timeout", "200", example, *args],
                       capture_output=True, text=True, timeout=260)
    assert r.returncode == 0, r.stdout + r.stderr
    got = np.array(json.loads(r.stdout.strip().splitlines()[-1])["losses"])
    want = _single_process_losses(steps)
    if deterministic or n == 1:  # reductions over the batch in the single-process order: the same bits
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=0)


@needs_mpi
@pytest.mark.parametrize("n", [2, 4])
def test_expert_parallel_moe_matches_the_unsharded_layer(n):
    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "dist", "moe_ep.py")
    r = subprocess.run([sys.executable, "-m", "tessera.launch", "-n", str(n), "--timeout", "200", example],
                       capture_output=True, text=True, timeout=260)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("expert-parallel MoE matches the unsharded layer") == n, r.stdout


@needs_mpi
@pytest.mark.parametrize("n", [2, 4])
@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
def test_pipeline_matches_the_unpipelined_model(n, schedule):
    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "dist", "pipeline_mlp.py")
    r = subprocess.run([sys.executable, "-m", "tessera.launch", "-n", str(n), "--timeout", "200", example, schedule,
                        "12"], capture_output=True, text=True, timeout=260)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(f"{schedule} pipeline of {n} stages matches") == n, r.stdout
    held = [int(v) for v in re.findall(r"(\d+) inputs held at most", r.stdout)]  # ranks' lines may interleave
    assert len(held) == n, r.stdout
    # GPipe keeps every microbatch's input on some stage; 1F1B at most 2(S-1)+1 on the first
    assert max(held) == (12 if schedule == "gpipe" else 2 * n - 1), r.stdout


@needs_mpi
@pytest.mark.parametrize("n", [2, 4])
def test_sharded_optimizer_state_training(n):
    import json
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "dist"))
    import train_mlp_zero
    steps = 20
    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "dist", "train_mlp_zero.py")
    r = subprocess.run([sys.executable, "-m", "tessera.launch", "-n", str(n), "--timeout", "200", example, str(steps)],
                       capture_output=True, text=True, timeout=260)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    # gradients reduce-scattered into the momentum's rows and weights all-gathered, for every
    # weight whose rows divide over the ranks (w1 has 2 rows, b2 3)
    split = sum(rows % n == 0 for rows in (2, 32, 32, 3))
    assert out["collectives"]["reduce_scatter"] == split and out["collectives"]["all_gather"] == split, out
    want, _ = train_mlp_zero.train(steps)
    np.testing.assert_allclose(out["losses"], want, rtol=1e-5, atol=0)


@needs_mpi
def test_seed_example_on_8_ranks():
    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "dist", "sharded_seed.py")
    r = subprocess.run([sys.executable, "-m", "tessera.launch", "-n", "8", "--timeout", "300", example, "256"],
                       capture_output=True, text=True, timeout=330)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("split as ShardSpec((0,), ('dp',)), local block (32, 256)") == 8, r.stdout


def test_sharded_tensors_in_one_process():
    mesh = dist.Mesh(["dp"])
    rows = dist.ShardSpec(("row",), ("dp",))
    x = dist.tensor((4, 3), layout=rows, mesh=mesh, init="normal", seed=5)
    assert x.shape == (4, 3) and x.sharding.spec.dims(2) == {0: "dp"} and dist.local(x).shape == (4, 3)
    np.testing.assert_array_equal(dist.gather(x).numpy(), ts.randn(4, 3, seed=5).numpy())
    np.testing.assert_array_equal(dist.gather(dist.tensor((2, 2), rows, mesh, init=2.5)).numpy(), np.full((2, 2), 2.5))
    with pytest.raises(ts.TesseraError, match=r"split over Mesh\(dp=1\) as \[dp, -\]: no process holds all of it"):
        x.numpy()
    assert "split over Mesh(dp=1) as [dp, -]" in repr(x)
    assert dist.inspect(x).splitlines()[1] == "  rank 0 (dp=0): [0:4, 0:3]"
    y = ts.jit(lambda a: ts.sum(a * a, axis=1))(x)
    np.testing.assert_allclose(dist.gather(y).numpy(), (dist.gather(x).numpy() ** 2).sum(1), rtol=1e-6)
    whole = ts.ones(3)
    assert dist.gather(whole) is whole and dist.local(whole) is whole
    with pytest.raises(ts.TesseraError, match="init must be"):
        dist.tensor((2,), rows, mesh, init="bogus")
    with pytest.raises(ts.TesseraError, match="inside jit"):
        ts.jit(dist.shard_map(lambda a: a, mesh, rows, rows))(x)
    with pytest.raises(ts.TesseraError, match="2 in_specs for 1 values"):
        dist.shard_map(lambda a: a, mesh, (rows, rows), rows)(x)
    with pytest.raises(ts.TesseraError, match="pending reduction"):
        dist.shard(whole, dist.ShardSpec((), (), reduce="sum"), mesh)
    with pytest.raises(ts.TesseraError, match="pending reduction"):
        dist.tensor((2,), dist.ShardSpec((), (), reduce="sum"), mesh)
    with pytest.raises(ts.TesseraError, match="writing into a tensor split over"):
        x[0, 0] = 1.0
    # a block with a pending sum: its value is the sum over the (one) member
    p = dist.from_local(ts.ones((2, 2)), dist.ShardSpec((), (), reduce="sum"), mesh)
    assert p.sharding is not None and "sum(dp)" in p._sharding[1]
    np.testing.assert_array_equal(dist.gather(p * 3.0).numpy(), np.full((2, 2), 3.0))


def test_pipeline_bad_input():
    mesh = dist.Mesh(["pp"])
    stage = lambda p, x: x * p  # noqa: E731
    loss = lambda y, t: ts.sum(y - t)  # noqa: E731
    x = ts.ones((6, 2))
    with pytest.raises(ts.TesseraError, match="schedule must be 'gpipe' or '1f1b'"):
        dist.pipeline(stage, loss, ts.tensor(2.0), x, x, 2, schedule="zigzag", mesh=mesh)
    with pytest.raises(ts.TesseraError, match="6 rows, which do not split into 4 microbatches"):
        dist.pipeline(stage, loss, ts.tensor(2.0), x, x, 4, mesh=mesh)
    # one stage: the pipeline is the model; each microbatch's loss sum(2x - x) = 4, averaged
    total, grad, stats = dist.pipeline(stage, loss, ts.tensor(2.0), x, x, 3, mesh=mesh)
    assert total.item() == 4.0 and grad.item() == 4.0 and stats["max_in_flight"] == 1


@pytest.mark.parametrize("lib,says", [("/nonexistent/libnccl.so.2", "cannot open the NCCL library"),
                                      ("libm.so.6", "has no ncclGetVersion: it is not an NCCL library")])
def test_a_missing_nccl_is_a_clear_error(lib, says):
    code = ("import tessera.dist as d\ntry:\n    d.nccl_version()\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, TESSERA_NCCL_LIB=lib))
    assert "DeviceError" in r.stdout and says in r.stdout and "TESSERA_NCCL_LIB" in r.stdout, r.stdout + r.stderr


@needs_mpi
def test_a_rank_that_raises_ends_the_job_with_its_error():
    r = run_job(2, "failures.py", "raise", timeout=60)
    assert r.returncode != 0
    assert "[tessera rank 1/2]" in r.stderr and "rank one gives up" in r.stderr


@needs_mpi
def test_a_rank_that_dies_ends_the_job():
    r = run_job(2, "failures.py", "kill", timeout=60)
    assert r.returncode not in (0, 124), r.stdout + r.stderr  # ended by the launcher, not the timeout


@needs_mpi
def test_bad_input_gets_clear_errors_on_every_rank():
    r = run_job(2, "failures.py", "errors", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "rank 0: errors ok" in r.stdout and "rank 1: errors ok" in r.stdout


@needs_mpi
def test_launch_timeout_kills_a_hung_job(tmp_path):
    script = tmp_path / "hang.py"
    script.write_text("from tessera import dist\nimport time\nif dist.rank() == 0:\n    time.sleep(600)\n"
                      "dist.barrier()\n")
    r = subprocess.run([sys.executable, "-m", "tessera.launch", "-n", "2", "--timeout", "5", str(script)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 124 and "timeout" in r.stderr


def test_single_process_is_rank_0_of_1():
    assert (dist.rank(), dist.world_size()) == (0, 1)
    mesh = dist.Mesh(["dp"])
    assert mesh.shape == (1,) and mesh.axis_index("dp") == 0 and "MPICH" in dist.library_version()
    x = ts.tensor(np.arange(6.0).reshape(2, 3))
    for y in (dist.all_reduce(x), dist.all_gather(x, dim=1), dist.reduce_scatter(x, dim=1), dist.broadcast(x),
              dist.all_to_all(x, split_dim=1, concat_dim=0), dist.ppermute(x, [(0, 0)]), dist.mark_varying(x)):
        np.testing.assert_array_equal(y.numpy(), x.numpy())
    g = ts.grad(lambda x: ts.sum(dist.all_reduce(dist.mark_varying(x) * 2.0)))(x)
    np.testing.assert_array_equal(g.numpy(), np.full((2, 3), 2.0))


def test_mesh_and_spec_errors():
    with pytest.raises(ts.TesseraError, match="must be the job's ranks"):
        dist.Mesh(["dp"], devices=range(8))
    with pytest.raises(ts.TesseraError, match="need a shape"):
        dist.Mesh(["dp", "tp"], devices=[0])
    with pytest.raises(ts.TesseraError, match="distinct"):
        dist.Mesh(["dp", "dp"], shape=(1, 1))
    mesh = dist.Mesh(["dp", "tp"], devices=[[0]])
    assert mesh.shape == (1, 1) and repr(mesh) == "Mesh(dp=1, tp=1)" and mesh.size(("dp", "tp")) == 1
    with pytest.raises(ts.TesseraError, match="'pp' is not one of this mesh's axes"):
        mesh.size("pp")
    with pytest.raises(ts.TesseraError, match="several mesh axes"):
        dist.all_to_all(ts.ones(2), axis=("dp", "tp"), mesh=mesh)
    np.testing.assert_array_equal(dist.all_reduce(ts.ones(2), axis=("dp", "tp"), mesh=mesh).numpy(), np.ones(2))
    with pytest.raises(ts.TesseraError, match="name the mesh axis"):
        dist.all_reduce(ts.ones(2), mesh=mesh)
    spec = dist.ShardSpec(("row",), ("dp",))
    assert spec.dims(2) == {0: "dp"} and dist.PartitionSpec(None, "tp").dims(2) == {1: "tp"}
    assert dist.ShardSpec.replicate().replicate and dist.NamedSharding(mesh, spec).spec == spec
    with pytest.raises(ts.TesseraError, match="mesh axes"):
        dist.ShardSpec(("row", "col"), ("dp",))


def test_collective_shape_errors_name_the_op_and_the_group():
    text = ("module @main {\nfunc @f(%x: f32[4, 6]) -> (f32[8, 2]) {\n"
            '  %0 = all_gather(%x) {axis = 0, group = "g", size = 2} : f32[8, 6]\n'
            '  %1 = reduce_scatter(%0) {axis = 1, group = "g", size = 4} : f32[8, 2]\n'
            "  return(%1)\n}\n}\n")
    with pytest.raises(ts.TesseraError, match="dim 1 of f32.8,6. .6. does not divide over the 4 members"):
        ts._C.run_passes(text, "verify")
    ok = text.replace("size = 4} : f32[8, 2]", "size = 3} : f32[8, 2]")
    assert "reduce_scatter(%0)" in ts._C.run_passes(ok, "verify")


def _single_process_losses(steps):
    """examples/train_mlp.py's loop, unsharded: the reference curve."""
    examples = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
    sys.path[:0] = [examples, os.path.join(examples, "dist")]
    import train_mlp
    import train_mlp_dp
    points, labels = train_mlp_dp.data()
    x, y = ts.tensor(points), ts.tensor(labels)
    params = {"w1": ts.randn(2, 32, seed=1) * 0.5, "b1": ts.zeros(32),
              "w2": ts.randn(32, 3, seed=2) * 0.2, "b2": ts.zeros(3)}
    step, losses = ts.jit(ts.value_and_grad(train_mlp.loss_fn)), []
    for _ in range(steps):
        loss, grads = step(params, x, y)
        params = {k: params[k] - grads[k] * 0.5 for k in params}
        losses.append(loss.item())
    return np.array(losses)


@needs_mpi
@pytest.mark.parametrize("n", [1, 2, 4])
def test_data_parallel_training_matches_one_process(n):
    import json
    steps = 25
    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "dist", "train_mlp_dp.py")
    r = subprocess.run([sys.executable, "-m", "tessera.launch", "-n", str(n), "--timeout", "200", example, str(steps)],
                       capture_output=True, text=True, timeout=260)
    assert r.returncode == 0, r.stdout + r.stderr
    got = np.array(json.loads(r.stdout.strip().splitlines()[-1])["losses"])
    # one rank: the same bits; more: float32 sums over the batch in another order, a few ulps a step
    np.testing.assert_allclose(got, _single_process_losses(steps), rtol=1e-5, atol=0)  # seen: 7e-7
