"""``tessera.profile()``: where the time goes.

    with tessera.profile() as prof:
        step(params, batch)
    print(prof.table())              # per kernel: calls, total, mean, share, GB/s, TFLOP/s
    prof.export("trace.json")        # Chrome / Perfetto trace (chrome://tracing, ui.perfetto.dev)

While a profile is open, Tessera records host spans — tracing (``trace``), deriving gradients
(``derive``), each compiler pass (``pass``), LLVM code generation (``codegen``), whole compiles
(``compile``) and program runs (``run``) — and one span per kernel launch with its time on the
device: wall time on the CPU, CUDA events on NVIDIA GPUs. Profiling an NVIDIA program waits for
each kernel and launches them one by one (no CUDA graph replay), so its kernels are timed
exactly but the program runs slower than without the profiler. Profiles do not nest.
"""
from __future__ import annotations

import contextlib
import json
from collections import namedtuple

from . import _C
from .errors import TesseraError

Span = namedtuple("Span", "name category begin_ns dur_ns device bytes flops")
Span.__doc__ = ("One recorded span; times in nanoseconds of a steady clock; kernels carry their device, the "
                "bytes of their buffers and the floating-point operations of their products (matmuls, attention).")

KernelStats = namedtuple("KernelStats", "name device calls total_ns mean_ns share gbps tflops")

_active = False


class Profile:
    """The spans of one ``tessera.profile()`` block (filled when the block ends)."""

    def __init__(self):
        self.spans: list[Span] = []

    def kernels(self) -> list[KernelStats]:
        """Per kernel (name and device): calls, total and mean device time, share of all kernel
        time, achieved bandwidth over its buffers and (kernels with products: matmuls,
        attention) achieved TFLOP/s; the most expensive first."""
        acc = {}
        for s in self.spans:
            if s.category != "kernel":
                continue
            calls, total, nbytes, flops = acc.get((s.name, s.device), (0, 0, 0, 0))
            acc[(s.name, s.device)] = (calls + 1, total + s.dur_ns, nbytes + s.bytes, flops + s.flops)
        all_ns = sum(a[1] for a in acc.values()) or 1
        stats = [KernelStats(name, device, calls, total, total / calls, total / all_ns,
                             nbytes / total if total else 0.0, flops / total / 1e3 if total else 0.0)
                 for (name, device), (calls, total, nbytes, flops) in acc.items()]
        return sorted(stats, key=lambda k: -k.total_ns)

    def table(self) -> str:
        """The kernels as a text table, then the host spans by category."""
        rows = [("kernel", "device", "calls", "total ms", "mean us", "share", "GB/s", "TFLOP/s")]
        for k in self.kernels():
            rows.append((k.name, k.device, str(k.calls), f"{k.total_ns / 1e6:.3f}", f"{k.mean_ns / 1e3:.1f}",
                         f"{100 * k.share:.1f}%", f"{k.gbps:.1f}", f"{k.tflops:.3f}" if k.tflops else "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in rows]
        host = {}
        for s in self.spans:
            if s.category != "kernel":
                n, total = host.get(s.category, (0, 0))
                host[s.category] = (n + 1, total + s.dur_ns)
        if host:
            lines.append("")
            lines.append("host: " + ", ".join(f"{cat} {n}x {total / 1e6:.2f} ms" for cat, (n, total) in host.items()))
        return "\n".join(lines) + "\n"

    def export(self, path) -> None:
        """Writes the spans as a Chrome trace (JSON; open it in ui.perfetto.dev or
        chrome://tracing): host work on one track, each device's kernels on another, times in
        microseconds from the first span."""
        with open(path, "w") as f:
            json.dump(self.trace_events(), f)

    def trace_events(self) -> dict:
        """The Chrome trace as a dict (what ``export`` writes)."""
        t0 = min((s.begin_ns for s in self.spans), default=0)
        tracks = {"": 1}
        for s in self.spans:
            tracks.setdefault(s.device, len(tracks) + 1)
        events = [{"name": "process_name", "ph": "M", "pid": 1, "tid": 1, "args": {"name": "tessera"}}]
        for device, tid in tracks.items():
            events.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid,
                           "args": {"name": f"kernels ({device})" if device else "host"}})
        spans = sorted(self.spans, key=lambda s: (tracks[s.device], s.begin_ns, -s.dur_ns))
        for s in spans:
            args = {"bytes": s.bytes, "GB/s": round(s.bytes / s.dur_ns, 3) if s.dur_ns else 0} if s.device else {}
            if s.flops:
                args.update(flops=s.flops, **{"TFLOP/s": round(s.flops / s.dur_ns / 1e3, 3) if s.dur_ns else 0})
            events.append({"name": s.name, "cat": s.category, "ph": "X", "pid": 1, "tid": tracks[s.device],
                           "ts": (s.begin_ns - t0) / 1e3, "dur": s.dur_ns / 1e3, "args": args})
        return {"traceEvents": events, "displayTimeUnit": "ms"}

    def __repr__(self) -> str:
        n = sum(1 for s in self.spans if s.category == "kernel")
        return f"<tessera.Profile: {len(self.spans)} spans, {n} kernel launches>"


@contextlib.contextmanager
def profile():
    """Records what Tessera does inside the block; yields a ``Profile`` whose spans are filled
    when the block ends (see the module's docstring)."""
    global _active
    if _active:
        raise TesseraError("tessera.profile: a profile is already open (profiles do not nest)")
    prof = Profile()
    _C.profiler_start()
    _active = True
    try:
        yield prof
    finally:
        _active = False
        prof.spans = [Span(*s) for s in _C.profiler_stop()]


@contextlib.contextmanager
def span(category: str, name: str):
    """A host span recorded from Python (nothing when no profile is open)."""
    if not _active:
        yield
        return
    begin = _C.profiler_now_ns()
    try:
        yield
    finally:
        _C.profiler_add(name, category, begin, _C.profiler_now_ns() - begin)
