"""CPU buffers of 1 MiB and more are cached for reuse (cpu_block_cache.hpp): results stay right
when memory is reused, tessera.empty_cache() gives the memory back, and TESSERA_CPU_CACHE_MB=0
turns the cache off."""
import os
import subprocess
import sys

import numpy as np

import tessera as ts


def test_reused_buffers_give_the_same_results(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")
    x = np.random.default_rng(0).standard_normal(1 << 20).astype(np.float32)
    f = ts.jit(lambda a: ts.exp(a) * 2.0 + a)
    first = f(ts.tensor(x)).numpy()
    for _ in range(3):  # each call's output reuses the block the previous one freed
        assert np.array_equal(f(ts.tensor(x)).numpy(), first)
    # Terms of size ~2 cancel near a = -0.85: an absolute tolerance of a few f32 ulps of 2.
    np.testing.assert_allclose(first, np.exp(x.astype(np.float64)) * 2 + x, rtol=2e-6, atol=2e-6)


def test_empty_cache_returns_freed_blocks():
    ts.empty_cache()
    t = ts.ones((1024, 1024))  # 4 MiB
    t.numpy()
    del t
    assert ts.empty_cache() >= 4 << 20
    assert ts.empty_cache() == 0


def test_cache_can_be_turned_off():
    code = "import tessera as ts; t = ts.ones((1024, 1024)); t.numpy(); del t; print(ts.empty_cache())"
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, TESSERA_CPU_CACHE_MB="0"),
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0"
