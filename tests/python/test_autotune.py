"""Autotuning of the CPU matmul's cache blocks (TESSERA_AUTOTUNE): candidates are measured
within the budget, the winner is cached on disk and reused by a new process without measuring,
and results match NumPy whatever the knobs. Each case runs in a fresh process with its own
cache directory, since the setting is read when a program is compiled."""
import os
import re
import subprocess
import sys

import pytest

SCRIPT = """
import numpy as np, tessera as ts
rng = np.random.default_rng(0)
a, b = rng.standard_normal((67, 300)).astype(np.float32), rng.standard_normal((300, 45)).astype(np.float32)
f = ts.jit(lambda x, y: x @ y)
got = f(ts.tensor(a), ts.tensor(b)).numpy()
want = a.astype(np.float64) @ b.astype(np.float64)
assert np.allclose(got, want, rtol=1e-5, atol=1e-4), np.abs(got - want).max()
line = [l for l in f.ir("schedule").splitlines() if "sched.packed_matmul(" in l][0]
print("KNOBS", *[int(v) for v in __import__("re").findall(r"(?:mc|nc|kc) = (\\d+)", line)])
"""


def run(tmp_path, **env):
    full = dict(os.environ, TESSERA_CACHE_DIR=str(tmp_path / "cache"), TESSERA_LOG="autotune")
    full.update({k: str(v) for k, v in env.items()})
    p = subprocess.run([sys.executable, "-c", SCRIPT], env=full, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    knobs = tuple(int(v) for v in re.search(r"KNOBS (\d+) (\d+) (\d+)", p.stdout).groups())
    measured = len(re.findall(r"tessera\[autotune\]: packed_matmul m=", p.stderr))
    return knobs, measured, p.stderr


def test_tunes_once_then_reuses_the_cached_choice(tmp_path):
    knobs, measured, log = run(tmp_path, TESSERA_AUTOTUNE=1, TESSERA_AUTOTUNE_BUDGET_MS=400)
    assert measured >= 2 and "chose mc nc kc" in log
    chosen = tuple(int(v) for v in re.search(r"chose mc nc kc = (\d+) (\d+) (\d+)", log).groups())
    # The schedule prints kc, mc, nc in attribute order.
    assert (knobs[1], knobs[2], knobs[0]) == chosen
    again, measured_again, _ = run(tmp_path, TESSERA_AUTOTUNE=1)
    assert measured_again == 0 and again == knobs


def test_off_by_default_and_with_zero(tmp_path):
    for setting in ({}, {"TESSERA_AUTOTUNE": 0}):
        env = dict(setting)
        if not env:
            env["TESSERA_AUTOTUNE"] = ""
        _, measured, log = run(tmp_path, **env)
        assert measured == 0 and "chose" not in log


def test_zero_budget_keeps_the_heuristic(tmp_path):
    heuristic, _, _ = run(tmp_path / "plain")
    knobs, measured, log = run(tmp_path, TESSERA_AUTOTUNE=1, TESSERA_AUTOTUNE_BUDGET_MS=0)
    assert measured == 0 and knobs == heuristic


@pytest.mark.parametrize("garbage", [b"", b"not a cache file", os.urandom(300)])
def test_corrupt_autotune_entries_are_tuned_again(tmp_path, garbage):
    run(tmp_path, TESSERA_AUTOTUNE=1, TESSERA_AUTOTUNE_BUDGET_MS=200)
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and "autotune" in str(p)]
    assert files, "no autotune entry was written"
    for p in files:
        p.write_bytes(garbage)
    _, measured, _ = run(tmp_path, TESSERA_AUTOTUNE=1, TESSERA_AUTOTUNE_BUDGET_MS=200)
    assert measured >= 1


KERNELS = """
import numpy as np, tessera as ts
x = np.random.default_rng(1).standard_normal((67, 301)).astype(np.float32)
f = ts.jit(lambda a: ts.softmax(a * 2.0, axis=-1) + ts.tanh(a))
got = f(ts.tensor(x)).numpy()
z = x.astype(np.float64) * 2
e = np.exp(z - z.max(-1, keepdims=True))
assert np.allclose(got, e / e.sum(-1, keepdims=True) + np.tanh(x), rtol=1e-5, atol=1e-6)
print("LANES", *__import__("re").findall(r'kind = "(\\w+)", lanes = (\\d+)', f.ir("schedule")))
"""


def test_element_wise_and_row_wise_lanes_are_tuned_then_cached(tmp_path):
    env = dict(os.environ, TESSERA_CACHE_DIR=str(tmp_path / "cache"), TESSERA_LOG="autotune",
               TESSERA_AUTOTUNE="1", TESSERA_AUTOTUNE_BUDGET_MS="300")
    first = subprocess.run([sys.executable, "-c", KERNELS], env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "rowwise kernel: chose lanes" in first.stderr
    second = subprocess.run([sys.executable, "-c", KERNELS], env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "kernel: lanes" not in second.stderr  # nothing measured again
    assert re.search(r"LANES.*", first.stdout).group(0) == re.search(r"LANES.*", second.stdout).group(0)


def test_schedule_ir_with_impossible_knobs_is_an_error_not_a_crash():
    import tessera as ts
    text = """module @main {
func @f(%x: f32[8]) -> (f32[8]) {
  %0 = sched.kernel(%x) {kind = "elementwise", lanes = 0} : f32[8] {
  ^(%1: f32[8]):
    %2 = exp(%1) : f32[8]
    sched.yield(%2)
  }
  return(%0)
}
}
"""
    with pytest.raises(ts.TesseraError, match="lanes must be in"):
        ts._C.compile(text, "cpu")
    with pytest.raises(ts.TesseraError, match="mc \\* nc must be at most"):
        ts._C.compile("""module @main {
func @f(%a: f32[1,4,6], %b: f32[1,4,16]) -> (f32[4,4]) {
  %0 = sched.packed_matmul(%a, %b) {kc = 4, m = 4, mc = 600, n = 4, nc = 1600} : f32[4,4]
  return(%0)
}
}
""", "cpu")
