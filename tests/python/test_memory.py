"""CPU buffers of 1 MiB and more are cached for reuse (cpu_block_cache.hpp): results stay right
when memory is reused, tessera.empty_cache() gives the memory back, and TESSERA_CPU_CACHE_MB=0
turns the cache off."""
import os
import subprocess
import sys

import numpy as np
import pytest

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


def _overcommit_refuses_huge_allocations():
    try:
        with open("/proc/sys/vm/overcommit_memory") as f:
            return f.read().strip() in ("0", "2")
    except OSError:
        return False


@pytest.mark.skipif(not _overcommit_refuses_huge_allocations(),
                    reason="this kernel may grant an 8 TiB allocation (vm.overcommit_memory=1), which the test would "
                           "then fill")
def test_out_of_memory_names_the_kernel_and_the_process_recovers():
    outer = ts.jit(lambda x, y: x.reshape(-1, 1) * y.reshape(1, -1))
    a, b = np.ones(1 << 20, np.float32), np.ones(1 << 21, np.float32)  # an 8 TiB output
    with pytest.raises(ts.TesseraRuntimeError, match=r"output of kernel main_k0_\w+: tsrMalloc: cannot allocate"):
        outer(ts.tensor(a), ts.tensor(b))
    x, y = np.arange(3, dtype=np.float32), np.arange(2, dtype=np.float32)
    assert np.array_equal(outer(ts.tensor(x), ts.tensor(y)).numpy(), np.outer(x, y))
