"""GPU autotuning (TESSERA_AUTOTUNE=1): NVIDIA element-wise and row-wise kernels are timed on
the GPU with candidate thread counts and vector chunks; the winner is cached under the GPU's
model, compute capability, SM count and driver, reused by a new process without measuring, and
results match torch whatever the knobs. Each case runs in a fresh process with its own cache."""
import os
import re
import subprocess
import sys

import pytest

import tessera as ts

torch = pytest.importorskip("torch")

SCRIPT = """
import re, torch, tessera as ts
torch.manual_seed(0)
x = torch.randn(1031, 3001, device="cuda")
y = torch.randn(1031, 3001, device="cuda")
sm = ts.jit(lambda a: ts.ops.softmax(a, axis=-1))
ew = ts.jit(lambda a, b: ts.ops.exp(a) * b + a)
got = torch.from_dlpack(sm(ts.from_dlpack(x)))
torch.testing.assert_close(got.double(), torch.softmax(x.double(), -1), rtol=1e-5, atol=1e-6)
got = torch.from_dlpack(ew(ts.from_dlpack(x), ts.from_dlpack(y)))
torch.testing.assert_close(got.double(), torch.exp(x.double()) * y.double() + x.double(), rtol=1e-5, atol=1e-5)
for f in (sm, ew):
    line = [l for l in f.ir("schedule").splitlines() if "sched.kernel(" in l][0]
    print("KNOBS", re.findall(r"(?:lanes|threads) = (\\d+)", line))
"""


def run(tmp_path, **env):
    full = dict(os.environ, TESSERA_CACHE_DIR=str(tmp_path / "cache"), TESSERA_LOG="autotune",
                TESSERA_POISON_OUTPUTS="1")
    full.update({k: str(v) for k, v in env.items()})
    p = subprocess.run([sys.executable, "-c", SCRIPT], env=full, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    knobs = re.findall(r"KNOBS (.*)", p.stdout)
    measured = len(re.findall(r"tessera\[autotune\]: \w+ kernel: threads \d+ lanes \d+: ", p.stderr))
    return knobs, measured, p.stderr


def test_gpu_kernels_are_tuned_once_then_reused(tmp_path):
    knobs, measured, log = run(tmp_path, TESSERA_AUTOTUNE=1, TESSERA_AUTOTUNE_BUDGET_MS=2000)
    assert measured >= 4, log
    assert "rowwise kernel: chose threads" in log and "elementwise kernel: chose threads" in log
    again, measured_again, log_again = run(tmp_path, TESSERA_AUTOTUNE=1)
    assert measured_again == 0 and "chose" not in log_again
    assert again == knobs


def test_cache_key_names_the_gpu_and_driver():
    props = ts.device_properties("cuda")
    assert props["driver_version"] >= 11000 and props["compute_capability"][0] >= 7
