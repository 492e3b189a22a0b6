"""``fn.explain()``: the kernels a jit function compiles to, read from its Schedule IR.

For each ``sched.kernel`` it lists the kind and knobs, the Graph IR ops fused into it grouped
by the user's source line (with the op the user wrote on that line, e.g. ``softmax``, when it
was decomposed), and, from the kernel's ``why_split`` attribute (recorded by form-kernels),
why it did not fuse with the kernel before it. The native core reads the IR
(``_C.kernel_summary``); this module only words it.
"""
import re

from . import _C


def _attr(v):
    if isinstance(v, tuple) and v[:1] == ("type",):
        return v[1]
    if isinstance(v, tuple):
        return "[" + ", ".join(str(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _short(where):
    path, line = where
    return f"{path.rsplit('/', 1)[-1]}:{line}"


def _measured(profile):
    """Kernel index -> KernelStats of the profile's kernels named <function>_k<index>_..."""
    from .errors import TesseraError
    from .profiler import Profile

    if profile is not None and not isinstance(profile, Profile):
        raise TesseraError(f"explain(profile=...): expected what `with tessera.profile() as prof:` gives, "
                           f"got {type(profile).__name__}")
    out = {}
    for k in profile.kernels() if profile is not None else ():
        m = re.search(r"_k(\d+)_", k.name)
        if m:
            out.setdefault(int(m.group(1)), k)
    return out


def explain_text(schedule_text, graph_text="", profile=None):
    """The explanation of a Schedule IR module (``graph_text`` names the user's ops per line;
    ``profile``, a :class:`tessera.profiler.Profile`, adds each kernel's measured time)."""
    measured = _measured(profile)
    kernels, graph_ops = _C.kernel_summary(schedule_text, graph_text)
    by_line = {}  # (file, line) -> the Graph IR ops the user's code recorded there, in order
    for name, path, line in graph_ops:
        if line > 0 and name not in by_line.setdefault((path, line), []):
            by_line[(path, line)].append(name)
    scheduled = {(name, (path, line)) for _, _, ops in kernels for name, path, line in ops}
    lines = [f"{len(kernels)} kernel{'s' if len(kernels) != 1 else ''}"]
    for i, (attrs, results, ops) in enumerate(kernels):
        knobs = ", ".join(f"{k} {_attr(v)}" for k, v in attrs.items() if k not in ("kind", "why_split"))
        lines.append(f"kernel {i}: {attrs.get('kind', '?')} ({knobs}) -> {results}")
        groups = {}
        for name, path, line in ops:
            groups.setdefault((path, line) if line > 0 else None, []).append(name)
        for where, names in groups.items():
            if where is None:
                lines.append(f"  fused: {', '.join(names)}")
                continue
            # The user's ops on that line that were decomposed into the primitives shown.
            user = [n for n in by_line.get(where, []) if (n, where) not in scheduled]
            head = f"{'/'.join(user)} at {_short(where)}" if user else _short(where)
            lines.append(f"  fused from {head}: {', '.join(names)}")
        if "why_split" in attrs:
            lines.append(f"  not fused with kernel {i - 1}: {attrs['why_split']}")
        if profile is not None:
            k = measured.get(i)
            if k is None:
                lines.append("  measured: not launched in the profile (a view, an empty grid, or another program)")
            else:
                rate = f", {k.tflops:.3f} TFLOP/s" if k.tflops else ""
                lines.append(f"  measured: {k.mean_ns / 1e3:.1f} us mean over {k.calls} call"
                             f"{'s' if k.calls != 1 else ''} ({100 * k.share:.1f}% of kernel time), "
                             f"{k.gbps:.1f} GB/s{rate}")
    return "\n".join(lines) + "\n"


def explain(fn, profile=None):
    """The explanation of a jit function's most recent trace (see ``JitFunction.explain``)."""
    return explain_text(fn.ir("schedule"), fn.ir("graph"), profile)
