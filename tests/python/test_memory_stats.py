"""tessera.memory_stats / reset_peak_memory_stats: what the allocator holds, on the CPU (the GPU
test is tests/gpu/test_memory_stats_cuda.py)."""

import gc

import numpy as np
import pytest

import tessera as ts


def stats():
    gc.collect()
    return ts.memory_stats("cpu")


def test_fields_and_a_buffer_coming_and_going():
    before = stats()
    assert set(before) == {"allocated_bytes", "peak_allocated_bytes", "cached_bytes", "allocations"}
    t = ts.tensor(np.ones((1000, 300), np.float32)) + 1  # ts.tensor wraps the array; the sum is Tessera's
    held = stats()
    assert 0 <= held["allocated_bytes"] - before["allocated_bytes"] - 1000 * 300 * 4 <= 64  # and the scalar 1
    assert held["allocations"] >= before["allocations"] + 1
    assert held["peak_allocated_bytes"] >= held["allocated_bytes"]
    del t
    after = stats()
    assert after["allocated_bytes"] - before["allocated_bytes"] <= 64
    assert after["peak_allocated_bytes"] >= held["allocated_bytes"]
    # 1.2 MB is a large block: kept for reuse, given back by empty_cache
    assert after["cached_bytes"] >= 1000 * 300 * 4
    ts.empty_cache("cpu")
    assert stats()["cached_bytes"] == 0


def test_reset_peak():
    t = ts.tensor(np.ones(1 << 20, np.float64)) * 2
    del t
    assert stats()["peak_allocated_bytes"] >= 8 << 20
    ts.reset_peak_memory_stats("cpu")
    s = stats()
    assert s["peak_allocated_bytes"] == s["allocated_bytes"]


def test_peak_of_a_jitted_program_counts_its_intermediates():
    x = ts.tensor(np.random.default_rng(0).standard_normal((512, 512)))
    f = ts.jit(lambda a: ts.sum(ts.exp(a @ a) * a))
    f(x)
    ts.reset_peak_memory_stats("cpu")
    base = stats()["allocated_bytes"]
    f(x)
    assert stats()["peak_allocated_bytes"] - base >= 512 * 512 * 8  # the product at least


def test_bad_device():
    with pytest.raises(ts.TesseraError):
        ts.memory_stats("tpu:0")


def test_intermediates_share_memory_by_liveness():
    # Eight products in a chain: each intermediate (a product and the two panels packed for the
    # next one) is dead once the next product is computed, so a step holds about four of them
    # at a time (two packs, the product being written, the output), not all 24 (memory_plan.hpp).
    n = 256
    rng = np.random.default_rng(2)
    x, w = ts.tensor(rng.standard_normal((n, n))), ts.tensor(rng.standard_normal((n, n)) / 16)

    def chain(a, b):
        for _ in range(8):
            a = ts.tanh(a @ b)
        return a

    f = ts.jit(chain)
    want = np.asarray(f(x, w))
    ts.reset_peak_memory_stats("cpu")
    base = stats()["allocated_bytes"]
    got = np.asarray(f(x, w))
    peak = stats()["peak_allocated_bytes"] - base
    buffer = n * n * 8
    assert peak <= 5 * buffer, f"peak {peak} bytes: the intermediates do not share memory"
    np.testing.assert_array_equal(got, want)
    ref = np.asarray(x)
    for _ in range(8):
        ref = np.tanh(ref @ np.asarray(w))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
