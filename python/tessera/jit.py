"""``tessera.jit`` (alias ``tessera.function``): trace once per input signature, then run the
compiled program directly.

A call's signature is the shape, dtype and device of every tensor argument plus the value of
every other argument (those are static: changing one traces again). Tracing runs the Python
function once on parameter tensors that have no values; the ops it records become one Graph IR
function, compiled for the arguments' device. Later calls with the same signature skip Python
entirely and go to the compiled executable.
"""
from __future__ import annotations

import functools

from . import lazy
from . import shapes
from .errors import DeviceError, ShapeError, TracingError
from .lazy import Node
from .tensor import Tensor


def _flatten(tree, leaves):
    """Structure of nested tuples/lists/dicts with tensors replaced by their leaf index."""
    if isinstance(tree, Tensor):
        leaves.append(tree)
        return ("T", len(leaves) - 1)
    if isinstance(tree, (list, tuple)):
        return (type(tree).__name__, tuple(_flatten(x, leaves) for x in tree))
    if isinstance(tree, dict):
        return ("dict", tuple((k, _flatten(tree[k], leaves)) for k in sorted(tree)))
    return ("S", tree)  # static value


def _unflatten(spec, leaves):
    kind, payload = spec
    if kind == "T":
        return leaves[payload]
    if kind in ("list", "tuple"):
        items = [_unflatten(x, leaves) for x in payload]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {k: _unflatten(v, leaves) for k, v in payload}
    return payload


class Trace:
    """A function recorded as Graph IR: ``text`` (with locations), ``key`` (without), the
    realized tensors it closed over (``captured``, passed after the arguments), its output
    structure and the device."""

    __slots__ = ("text", "key", "captured", "out_spec", "n_outputs", "device")


def trace(fn, spec, leaves) -> Trace:
    """Runs ``fn`` on parameter tensors standing for ``leaves`` (the tensors of the flattened
    arguments ``spec``) and records what it computes."""
    name = getattr(fn, "__name__", "function")
    devices = {str(t.device) for t in leaves}
    if len(devices) > 1:
        raise DeviceError(f"tessera.jit({name}): tensor arguments are on several devices "
                          f"({', '.join(sorted(devices))})")
    params = [Tensor._lazy(Node("param", (), None, "", i), t.shape, t.dtype, t.device)
              for i, t in enumerate(leaves)]
    args, kwargs = _unflatten(spec, params)
    real_args, real_kwargs = _unflatten(spec, leaves)
    by_leaf = {id(t): p for t, p in zip(leaves, params)}
    try:
        with shapes.checked_call(fn, real_args, real_kwargs, lambda t: by_leaf[id(t)]):
            result = fn(*args, **kwargs)
    except ShapeError as e:
        if e.location:
            raise
        raise ShapeError(e.message, lazy.user_location()) from None
    out_leaves = []
    tr = Trace()
    tr.out_spec = _flatten(result, out_leaves)
    if not out_leaves:
        raise TracingError(f"tessera.jit({name}): the function returned no tensors")
    tr.device = leaves[0].device if leaves else out_leaves[0].device
    tr.text, tr.key, inputs = lazy.build_function(out_leaves, params)
    tr.captured = inputs[len(params):]
    tr.n_outputs = len(out_leaves)
    return tr


class _Traced:
    __slots__ = ("exe", "out_spec", "captured", "n_params")


class JitFunction:
    """A function compiled per input signature. ``ir(level)`` shows the last trace's IR."""

    def __init__(self, fn):
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._cache = {}
        self._last = None

    def _signature(self, spec, leaves):
        try:
            hash(spec)
        except TypeError:
            raise TracingError(f"tessera.jit({self._fn.__name__}): non-tensor arguments must be hashable "
                               "(they are compiled in as constants)") from None
        return (spec, tuple((t.shape, t.dtype.short, str(t.device)) for t in leaves))

    def __call__(self, *args, **kwargs):
        leaves = []
        spec = _flatten((args, kwargs), leaves)
        key = self._signature(spec, leaves)
        traced = self._cache.get(key)
        if traced is None:
            traced = self._trace(spec, leaves)
            self._cache[key] = traced
        self._last = traced
        arrays = [t._realize() for t in leaves] + [t._array for t in traced.captured]
        outs = traced.exe.run(arrays)
        return _unflatten(traced.out_spec, [Tensor._from_array(a) for a in outs])

    def _trace(self, spec, leaves):
        tr = trace(self._fn, spec, leaves)
        traced = _Traced()
        traced.out_spec = tr.out_spec
        traced.captured = tr.captured
        traced.n_params = len(leaves)
        traced.exe = lazy.compile_text(tr.text, tr.key, tr.device)
        return traced

    def ir(self, level: str = "graph") -> str:
        """IR text of the most recent trace: "graph", "schedule", "tile", "llvm" or "asm"."""
        if self._last is None:
            raise TracingError(f"tessera.jit({self._fn.__name__}): call the function once before asking "
                               "for its IR (it is compiled per input signature)")
        return self._last.exe.ir(level)


def jit(fn=None):
    """Compiles ``fn`` per input signature. Use as ``@tessera.jit``."""
    if fn is None:
        return jit
    return JitFunction(fn)


function = jit
