"""``fn.explain()``: the kernels a jit function compiles to, read from its Schedule IR.

For each ``sched.kernel`` it lists the kind and knobs, the Graph IR ops fused into it grouped
by the user's source line (with the op the user wrote on that line, e.g. ``softmax``, when it
was decomposed), and, from the kernel's ``why_split`` attribute (recorded by form-kernels),
why it did not fuse with the kernel before it.
"""
import re

_ATTR = re.compile(r'(\w+) = ("(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^,}]+)')
_OP = re.compile(r'^\s*(?:%[\w.]+(?:, %[\w.]+)* = )?([\w.]+)\(')
_LOC = re.compile(r'loc\("((?:[^"\\]|\\.)*)":(\d+)\)')
_KERNEL = re.compile(r'sched\.kernel\([^)]*\) \{(.*)\} : (.*?) \{')


def _attrs(text):
    out = {}
    for key, value in _ATTR.findall(text):
        out[key] = value[1:-1].replace('\\"', '"') if value.startswith('"') else value.strip()
    return out


def _where(line):
    m = _LOC.search(line)
    return (m.group(1), int(m.group(2))) if m else None


def _graph_ops_by_line(graph_text):
    """(file, line) -> the Graph IR ops the user's code recorded there, in order."""
    by_line = {}
    for line in graph_text.splitlines():
        m, where = _OP.match(line), _where(line)
        if m and where and m.group(1) not in ("return", "constant"):
            names = by_line.setdefault(where, [])
            if m.group(1) not in names:
                names.append(m.group(1))
    return by_line


def _kernels(schedule_text):
    """[(attrs, result types, [(op name, (file, line) or None)])] in program order."""
    kernels, current, depth = [], None, 0
    for line in schedule_text.splitlines():
        if current is None:
            m = _KERNEL.search(line)
            if m:
                current = (_attrs(m.group(1)), m.group(2).split(" loc(")[0], [])
                depth = 1
            continue
        depth += line.count("{") - line.count("}")  # attribute dicts open and close on one line
        if depth <= 0:
            kernels.append(current)
            current = None
            continue
        m = _OP.match(line)
        if m and m.group(1) not in ("sched.yield", "constant"):
            current[2].append((m.group(1), _where(line)))
    return kernels


def _short(where):
    path, line = where
    return f"{path.rsplit('/', 1)[-1]}:{line}"


def explain_text(schedule_text, graph_text=""):
    """The explanation of a Schedule IR module (``graph_text`` names the user's ops per line)."""
    by_line = _graph_ops_by_line(graph_text)
    kernels = _kernels(schedule_text)
    scheduled = {(name, where) for _, _, ops in kernels for name, where in ops}
    lines = [f"{len(kernels)} kernel{'s' if len(kernels) != 1 else ''}"]
    for i, (attrs, results, ops) in enumerate(kernels):
        knobs = ", ".join(f"{k} {v}" for k, v in attrs.items() if k not in ("kind", "why_split"))
        lines.append(f"kernel {i}: {attrs.get('kind', '?')} ({knobs}) -> {results}")
        groups = {}
        for name, where in ops:
            groups.setdefault(where, []).append(name)
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
    return "\n".join(lines) + "\n"


def explain(fn):
    """The explanation of a jit function's most recent trace (see ``JitFunction.explain``)."""
    return explain_text(fn.ir("schedule"), fn.ir("graph"))
