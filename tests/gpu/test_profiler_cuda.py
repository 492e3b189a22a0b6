"""tessera.profile() on an NVIDIA GPU: one span per kernel launch timed by CUDA events (graph
replay is off while profiling, so every launch is seen), on the device's own track."""
import numpy as np
import pytest

import tessera as ts

torch = pytest.importorskip("torch")


def test_kernel_spans_come_from_cuda_events():
    x = ts.tensor(np.random.rand(2048, 1024).astype(np.float32), device="cuda")
    f = ts.jit(lambda a: ts.softmax(a * 2.0, axis=-1).sum(axis=0) + ts.exp(a).sum())
    f(x)
    f(x)  # from here on a multi-kernel program would replay a CUDA graph: not while profiling
    replays = f._last.exe.graph_replays if hasattr(f, "_last") and hasattr(f._last, "exe") else None
    with ts.profile() as prof:
        for _ in range(3):
            f(x)
    kernels = prof.kernels()
    assert kernels and all(k.device.startswith("cuda") and k.calls == 3 for k in kernels)
    assert all(k.total_ns > 0 for k in kernels)
    # a kernel reading 8 MiB cannot take less than ~2.5 us on an H100 (3.35 TB/s): event times,
    # not host launch times
    assert max(k.mean_ns for k in kernels) > 2000
    if replays is not None:
        assert f._last.exe.graph_replays == replays  # no replay while profiling
    trace = prof.trace_events()
    tracks = {e["args"]["name"] for e in trace["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name"}
    assert any(t.startswith("kernels (cuda") for t in tracks)
