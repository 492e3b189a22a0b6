"""tessera.memory_stats on a CUDA device: live buffers in the allocator's size classes, their
peak, the cache of freed blocks, and reset_peak_memory_stats."""

import gc

import pytest

import tessera as ts

torch = pytest.importorskip("torch")


def stats():
    gc.collect()
    torch.cuda.synchronize()
    return ts.memory_stats("cuda:0")


def test_buffers_peak_and_cache():
    before = stats()
    a = ts.from_dlpack(torch.ones(1000, 1000, device="cuda"))  # imported: not Tessera's
    assert stats()["allocated_bytes"] == before["allocated_bytes"]
    b = a * 2.0  # 4 MB: two 2 MiB size classes
    torch.from_dlpack(b)
    held = stats()
    assert held["allocated_bytes"] - before["allocated_bytes"] >= 4 << 20
    assert held["peak_allocated_bytes"] >= held["allocated_bytes"]
    del b
    after = stats()
    assert after["allocated_bytes"] <= held["allocated_bytes"] - (4 << 20)
    assert after["cached_bytes"] >= 4 << 20
    ts.reset_peak_memory_stats("cuda:0")
    now = stats()
    assert now["peak_allocated_bytes"] == now["allocated_bytes"]
    ts.empty_cache("cuda:0")
    assert stats()["cached_bytes"] == 0


def test_peak_of_a_step_counts_its_intermediates():
    x = ts.from_dlpack(torch.randn(1024, 1024, device="cuda"))
    f = ts.jit(lambda a: ts.sum(ts.exp(a @ a) * a))
    f(x)
    ts.reset_peak_memory_stats("cuda:0")
    base = stats()["allocated_bytes"]
    float(f(x))
    assert stats()["peak_allocated_bytes"] - base >= 4 << 20
