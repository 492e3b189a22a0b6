"""tessera.profile(): host spans (trace, passes, codegen, compile, run) and one span per kernel
launch, a per-kernel table, and a Chrome/Perfetto trace that follows the trace-event format."""
import json

import numpy as np
import pytest

import tessera as ts

RNG = np.random.default_rng()


def fresh_program():
    """A jitted program of random (so never cached) sizes, and its arguments."""
    m, k = int(RNG.integers(40, 400)), int(RNG.integers(40, 400))
    f = ts.jit(lambda x, w: ts.relu(x @ w + 1.0).sum(axis=1))
    return f, ts.tensor(RNG.standard_normal((m, k)).astype(np.float32)), ts.tensor(
        RNG.standard_normal((k, 17)).astype(np.float32))


def test_kernels_and_host_spans_are_recorded():
    f, x, w = fresh_program()
    with ts.profile() as prof:
        for _ in range(3):
            f(x, w)
    names = {ln.split("@")[1].split("(")[0] for ln in f.ir("tile").splitlines() if "kernel = true" in ln}
    kernels = prof.kernels()
    assert {k.name for k in kernels} == names
    assert all(k.calls == 3 and k.device == "cpu" and k.total_ns >= 0 for k in kernels)
    assert sum(k.share for k in kernels) == pytest.approx(1.0)
    cats = {s.category for s in prof.spans}
    assert {"trace", "compile", "run", "kernel"} <= cats
    if not any(s.category == "codegen" for s in prof.spans):  # a disk-cache hit skips the compiler
        assert not any(s.category == "pass" for s in prof.spans)
    else:
        passes = {s.name for s in prof.spans if s.category == "pass"}
        assert {"form-kernels", "lower-to-tile", "cse"} <= passes
    assert sum(1 for s in prof.spans if s.category == "run") == 3
    kernel_bytes = {s.name: s.bytes for s in prof.spans if s.category == "kernel"}
    assert all(b > 0 for b in kernel_bytes.values())


def test_eager_ops_and_gradients_show_up():
    x = ts.tensor(RNG.standard_normal((31, 7)))
    with ts.profile() as prof:
        y = ts.exp(x) * 2.0
        g = ts.grad(lambda t: ts.sum(ts.tanh(t)))(x)
    assert y.shape == g.shape == (31, 7)
    cats = [s.category for s in prof.spans]
    assert cats.count("kernel") >= 2 and "trace" in cats
    assert any(s.name.startswith("tessera.grad") for s in prof.spans if s.category == "trace")


def test_nothing_is_recorded_outside_a_profile():
    f, x, w = fresh_program()
    f(x, w)  # compiled and run before the profile: not in it
    with ts.profile() as prof:
        pass
    assert prof.spans == []
    with ts.profile() as prof:
        f(x, w)
    assert not any(s.category in ("compile", "pass", "trace") for s in prof.spans)
    assert any(s.category == "kernel" for s in prof.spans)


def test_profiles_do_not_nest_and_end_on_errors():
    with ts.profile():
        with pytest.raises(ts.TesseraError, match="already open"):
            with ts.profile():
                pass
    with pytest.raises(ValueError):
        with ts.profile() as prof:
            ts.exp(ts.tensor([1.0]))
            raise ValueError("user error")
    assert any(s.category == "kernel" for s in prof.spans)  # filled although the block failed
    with ts.profile() as again:  # the profiler stopped: a new profile starts fresh
        pass
    assert again.spans == []


def test_table_lists_kernels_and_host_work():
    f, x, w = fresh_program()
    with ts.profile() as prof:
        f(x, w)
    table = prof.table()
    header = table.splitlines()[0].split()
    assert header[:3] == ["kernel", "device", "calls"] and "GB/s" in header
    assert all(k.name in table for k in prof.kernels())
    assert "host: " in table and "compile" in table


def test_exported_trace_follows_the_chrome_trace_event_format(tmp_path):
    f, x, w = fresh_program()
    with ts.profile() as prof:
        f(x, w)
        f(x, w)
    path = tmp_path / "trace.json"
    prof.export(str(path))
    data = json.loads(path.read_text())  # valid JSON
    events = data["traceEvents"]
    assert data["displayTimeUnit"] in ("ms", "ns")
    meta = [e for e in events if e["ph"] == "M"]
    spans = [e for e in events if e["ph"] == "X"]
    assert len(spans) == len(prof.spans) and meta
    names = {(e["tid"], e["args"]["name"]) for e in meta if e["name"] == "thread_name"}
    assert {n for _, n in names} >= {"host", "kernels (cpu)"}
    for e in spans:  # complete events: name, phase, timestamps in us, process and thread ids
        assert isinstance(e["name"], str) and e["name"]
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        assert isinstance(e["dur"], (int, float)) and e["dur"] >= 0
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
    for tid in {e["tid"] for e in spans}:  # timestamps never go back within a track
        ts_ = [e["ts"] for e in spans if e["tid"] == tid]
        assert ts_ == sorted(ts_)
    kernel_track = next(t for t, n in names if n == "kernels (cpu)")
    assert sum(1 for e in spans if e["tid"] == kernel_track) == sum(k.calls for k in prof.kernels())


def test_matmul_kernels_carry_their_flops_and_explain_shows_measured_times():
    m, k, n = int(RNG.integers(40, 400)), int(RNG.integers(40, 400)), int(RNG.integers(40, 100))
    x = ts.tensor(RNG.standard_normal((m, k)).astype(np.float32))
    w = ts.tensor(RNG.standard_normal((k, n)).astype(np.float32))
    f = ts.jit(lambda a, b: ts.softmax(a @ b, axis=-1))
    f(x, w)
    with ts.profile() as prof:
        for _ in range(2):
            f(x, w)
    spans = [s for s in prof.spans if s.category == "kernel"]
    products = [s for s in spans if "matmul" in s.name]
    assert products and all(s.flops == 2 * m * n * k for s in products)
    assert all(s.flops == 0 for s in spans if "matmul" not in s.name)  # no products: no FLOPs counted
    stats = {s.name: s for s in prof.kernels()}
    mm = stats[products[0].name]
    assert mm.tflops == pytest.approx(2 * 2 * m * n * k / mm.total_ns / 1e3)
    assert "TFLOP/s" in prof.table().splitlines()[0]
    text = f.explain(prof)
    measured = [line for line in text.splitlines() if line.strip().startswith("measured:")]
    assert len(measured) == text.count("\nkernel ") and all("over 2 calls" in line for line in measured)
    assert "TFLOP/s" in next(line for line in text.splitlines()[text.splitlines().index(
        next(line for line in text.splitlines() if ": matmul" in line)):] if "measured:" in line)
    events = prof.trace_events()["traceEvents"]
    assert any(e.get("args", {}).get("flops") == 2 * m * n * k for e in events)
    with pytest.raises(ts.TesseraError, match="explain\\(profile=...\\): expected"):
        f.explain(prof.kernels())
