"""The HRM example (examples/models/hrm): logits [B, S, V]; its cycles through tessera.recursive
equal the unrolled loop; with full backpropagation its loss's gradient matches finite
differences in float64 (the one-step approximation, by design, does not: it agrees only for the
parameters used after the last cut, like the output head); the Sudoku generator makes valid
grids."""
import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest
from examples_path import example_dir

import tessera as ts
from tessera import launch

HERE = example_dir("hrm")
from hrm import HRM, Config, hrm_loss, sudoku  # noqa: E402

RNG = np.random.default_rng()
SMALL = Config(dim=8, heads=2, layers=1, cycles=2, steps=2, segments=2)


def test_logits_shape_and_recursive_cycles():
    model = HRM(SMALL, seed=1, dtype=ts.float64)
    p, _ = sudoku(RNG, 3)
    puzzle = ts.tensor(p)
    assert model(puzzle).shape == (3, 16, 5)
    x = model.embed(puzzle) + model.pos
    state = (ts.tensor(RNG.standard_normal((3, 16, 8))), ts.tensor(RNG.standard_normal((3, 16, 8))))
    got = ts.recursive(lambda s: model.cycle(s, x), 3)(state)
    want = state
    for _ in range(3):  # unrolled by hand
        zh, zl = want
        for _ in range(SMALL.steps):
            zl = model.low_step(zl, zh, x)
        want = (model.high_step(zh, zl), zl)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12, atol=1e-12)


def test_gradient_matches_finite_differences():
    exact = dataclasses.replace(SMALL, one_step=False, segments=1)  # deep supervision detaches between segments too
    model = HRM(exact, seed=2, dtype=ts.float64)
    p, s = sudoku(RNG, 4)
    puzzle, solution = ts.tensor(p), ts.tensor(s)
    grads = dict(ts.grad(hrm_loss)(model, puzzle, solution).named_parameters())
    one = dataclasses.replace(SMALL, segments=1)
    approx = dict(ts.grad(hrm_loss)(HRM(one, seed=2, dtype=ts.float64), puzzle, solution).named_parameters())
    np.testing.assert_allclose(approx["head.weight"].numpy(), grads["head.weight"].numpy(), rtol=1e-10)
    assert not np.allclose(approx["high.0.attn.wq.weight"].numpy(), grads["high.0.attn.wq.weight"].numpy())
    params = model.state_dict()
    for name in ["head.weight", "high.0.attn.wq.weight", "low.0.mlp.up.weight", "halt.bias"]:
        d = RNG.standard_normal(params[name].shape)
        eps = 1e-6

        def at(sign, name=name, d=d, eps=eps):
            m = HRM(exact, seed=2, dtype=ts.float64).load_state_dict(
                {**params, name: ts.tensor(params[name].numpy() + sign * eps * d)})
            return hrm_loss(m, puzzle, solution).item()
        fd = (at(1) - at(-1)) / (2 * eps)
        assert np.sum(grads[name].numpy() * d) == pytest.approx(fd, rel=1e-5, abs=1e-8), name


def test_sudoku_grids_are_valid():
    p, s = sudoku(RNG, 50)
    for puz, sol in zip(p, s):
        g = sol.reshape(4, 4)
        boxes = [g[r:r + 2, c:c + 2].ravel() for r in (0, 2) for c in (0, 2)]
        for group in list(g) + list(g.T) + boxes:
            assert sorted(group) == [1, 2, 3, 4]
        assert np.all((puz == 0) | (puz == sol)) and 6 <= np.sum(puz == 0) <= 10


@pytest.mark.skipif(launch.mpich_file("mpiexec") is None and not os.environ.get("TESSERA_MPIEXEC"),
                    reason="no MPI launcher: pip install mpich")
def test_sharded_reduce_sum_is_bitwise_on_4_ranks():
    script = os.path.join(HERE, "sharded_sum.py")
    r = subprocess.run([sys.executable, "-m", "tessera.launch", "-n", "4", "--timeout", "200", script],
                       capture_output=True, text=True, timeout=260)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("equals the single-device one bitwise") == 4
