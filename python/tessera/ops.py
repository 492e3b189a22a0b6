"""Tessera's operators: ``tessera.ops`` (``tessera.op`` is an alias kept for old code; every op is
also at the top level, ``tessera.exp``).

Each function records one Graph IR op. The functions are generated at import from the native
op registry (tessera._opgen), which holds each op's operands, attributes, defaults, summary and
shape/dtype rule; the rule checks the operands here, at the user's line.
"""
from __future__ import annotations
import builtins

from . import _C, shapes
from . import dtypes as _dt
from .errors import DeviceError, TesseraError
from . import lazy
from .lazy import Node, TypeAttr, user_location
from .tensor import Tensor, WeakScalar

def _number(a):
    """``a`` as a Python number when it is one: Python and NumPy scalars and 0-d NumPy arrays
    (NumPy values act like Python numbers with tensors); otherwise ``a`` unchanged."""
    if isinstance(a, (bool, int, float)):
        return a
    module = type(a).__module__
    if module == "numpy" and getattr(a, "ndim", None) == 0 and getattr(a, "dtype", None) is not None \
            and a.dtype.kind in "biuf":
        return a.item()
    return a


def _scalar_dtype(a, top, strong, name, loc):
    """The dtype a Python number takes next to tensors whose widest dtype is ``top`` ("weak"
    typing, docs/dtype_promotion.md); ``strong`` is False when the only tensors are weak
    (WeakScalar float64): then a float takes their float64."""
    if isinstance(a, bool):
        return _dt.bool_
    if isinstance(a, int):
        dt = top if strong and top.kind != "b" else _dt.int64
        if dt.kind in "iu":
            bits = 8 * dt.itemsize - (dt.kind == "i")
            lo, hi = (-(1 << bits), (1 << bits) - 1) if dt.kind == "i" else (0, (1 << bits) - 1)
            if not lo <= a <= hi:
                raise _dt.DTypeError(f"{name}: Python integer {a} is out of range for {dt.name}", loc)
        return dt
    return top if top.kind == "f" else _dt.float32


_RANK = {"b": 0, "u": 1, "i": 1, "f": 3}


def _operands(name, args, loc):
    """Tensors for ``args``. Python numbers are "weak" (docs/dtype_promotion.md): they become
    rank-0 values of a dtype that never widens the result, i.e. the highest-ranked tensor
    dtype of their kind: a float scalar takes the tensors' float dtype (float32 when there is
    none), an int scalar the tensors' dtype (int64 when all are bool), a bool scalar bool.
    Float arguments of jit functions (WeakScalar parameters) follow the same rule. Eagerly, a
    number is a cached rank-0 tensor passed at run time (so new values reuse the compiled op);
    in a trace it is a ``constant`` node. Returns ``(tensors, weak)``: ``weak`` is True when no
    operand is a strong tensor (the result is then weak too)."""
    dev = getattr(args[0], "_device", None) if args else None
    for a in args:  # fast path (eager loops live here): plain tensors on one device
        if type(a) is not Tensor or (a._device is not dev and a._device != dev):
            break
    else:
        if args:
            return list(args), False
    args = [_number(a) for a in args]
    tensors = [a for a in args if isinstance(a, Tensor)]
    if not tensors:
        raise TesseraError(f"{name}: needs at least one tessera.Tensor operand", loc)
    strong_tensors = [t for t in tensors if not isinstance(t, WeakScalar)]
    strong = bool(strong_tensors)
    ref = (strong_tensors or tensors)[0]
    top = builtins.max((t.dtype for t in strong_tensors or tensors),  # `max` is an op here
                       key=lambda d: (_RANK[d.kind], d.itemsize))
    out = []
    for a in args:
        if isinstance(a, Tensor):
            if a.device != ref.device:
                raise DeviceError(f"{name}: operands are on different devices ({ref.device} and {a.device}); "
                                  f"move one with .to()", loc)
            if strong and isinstance(a, WeakScalar):
                dt = top if top.kind == "f" else _dt.float32
                a = a if a.dtype is dt else apply("cast", (a,), {"dtype": dt.short})
            out.append(a)
            continue
        if isinstance(a, shapes.SymDim):
            a._no_size()
        if not isinstance(a, (bool, int, float)):
            hint = " (convert NumPy arrays with tessera.tensor)" if type(a).__module__ == "numpy" else ""
            raise TesseraError(f"{name}: operands must be tessera.Tensor or numbers, got "
                               f"{type(a).__name__}{hint}", loc)
        dt = _scalar_dtype(a, top, strong, name, loc)
        if lazy.eager():
            out.append(_scalar_tensor(a, dt, ref.device))
        else:
            node = Node("constant", (), {"value": float(a), "type": TypeAttr(dt, ())}, loc)
            out.append(Tensor._lazy(node, (), dt, ref.device))
    return out, not strong


_scalars = {}  # (value, dtype, device) -> realized rank-0 tensor, for eager ops


def _scalar_tensor(value, dt, device):
    key = (value.hex() if isinstance(value, float) else value, dt.short, str(device))
    t = _scalars.get(key)
    if t is None:
        if len(_scalars) >= 4096:
            _scalars.clear()
        from .tensor import full
        t = _scalars[key] = full((), value, dtype=dt, device=device)
    return t


def _record(name, tensors, attrs, loc, weak=False):
    """The lazy tensor of op ``name`` on ``tensors``, its type checked by the registry's rule;
    a WeakScalar when ``weak`` (the operands were weak values only)."""
    try:
        ((dtype, shape),) = _C.infer_op(name, [(t.dtype.short, t.shape) for t in tensors], attrs)
    except TesseraError as e:
        raise type(e)(shapes.rename_operands(e.message, tensors), loc) from None
    out = Tensor._lazy(Node(name, tensors, attrs, loc), shapes.sym_shape(shape), _dt.dtype(dtype),
                       tensors[0].device)
    lazy.mark_used(tensors)
    if weak:
        out.__class__ = WeakScalar  # arithmetic of jit float arguments stays weak
    return out


# Ops that read indices (operand, the size they index: (operand, axis) or None for the class
# axis of [N, C]), with the mode that checks them at run time.
_INDEX_OPS = {"take": 1, "gather": 1, "scatter_add": 1, "embedding": 0, "cross_entropy": 1, "nll_loss": 1}
_DEFAULT_MODE = {"take": "clip", "gather": "clip", "scatter_add": "clip", "embedding": "clip",
                 "cross_entropy": "ignore", "nll_loss": "ignore"}


def _index_bound(name, tensors, attrs):
    """(low, high) of valid indices for an index op: [-n, n) along the indexed axis, or [0, C)
    for labels."""
    if name in ("cross_entropy", "nll_loss"):
        return 0, tensors[0].shape[1]
    if name == "embedding":
        return -tensors[1].shape[0], tensors[1].shape[0]
    x = tensors[0]
    n = x.shape[attrs.get("axis", 0) % builtins.max(x.ndim, 1)] if x.ndim else 0
    return -n, n


def _checked_indices(name, tensors, attrs, loc):
    """mode "error": the index operand replaced by a ``checked`` op whose message names the op,
    the shapes and the user's line (the line is in the message, so each call site compiles its
    own check), and the op run with its default mode on the checked indices."""
    which = _INDEX_OPS[name]
    idx = tensors[which]
    low, high = _index_bound(name, tensors, attrs)
    if isinstance(high, str):  # a symbolic size: the compiler checks it (its message has no line)
        return tensors, attrs
    j = apply("cast", (idx,), {"dtype": "i64"})
    ok = apply("logical_and", (apply("greater_equal", (j, low)), apply("less", (j, high))))
    if "ignore_index" in attrs:
        ok = apply("logical_or", (ok, apply("equal", (j, attrs["ignore_index"]))))
    what = "a label is outside" if low == 0 else "an index is outside"
    message = (f"{name}: {what} [{low}, {high}) (indices {lazy.type_text(idx.dtype, idx.shape)}, operands "
               f"{', '.join(lazy.type_text(t.dtype, t.shape) for t in tensors)}, mode \"error\") at {loc}")
    checked = _record("checked", [idx, apply("all", (ok,))], {"message": message}, loc) if not lazy.eager() else \
        _run_eager("checked", [idx, apply("all", (ok,))], {"message": message}, loc)
    tensors = list(tensors)
    tensors[which] = checked
    attrs = dict(attrs, mode=_DEFAULT_MODE[name])
    return tensors, attrs


def apply(name, args, attrs=None):
    """Applies op ``name`` to ``args``: runs it now (eagerly) or records it (in a trace or a
    ``defer()`` block)."""
    loc = user_location()
    tensors, weak = _operands(name, args, loc)
    attrs = attrs or {}
    if name in _INDEX_OPS:
        from . import debug
        if attrs.get("mode") == "error" or (debug.checks_enabled() and "mode" not in attrs):
            tensors, attrs = _checked_indices(name, tensors, attrs, loc)
    if not lazy.eager():
        return _record(name, tensors, attrs, loc, weak and name != "cast")
    return _run_eager(name, tensors, attrs, loc)


def _attr_key(attrs):
    return tuple(sorted((k, type(v), v.text if isinstance(v, TypeAttr) else tuple(v) if isinstance(v, list) else v)
                        for k, v in attrs.items()))


class _EagerOp:
    """A compiled one-op program and its result type (``mesh``: the mesh it is partitioned
    over, when its operands are sharded)."""

    __slots__ = ("exe", "shape", "dtype", "device", "mesh")


_eager_ops = {}  # (op, attrs, operand types and aliasing, device) -> _EagerOp


def _run_eager(name, tensors, attrs, loc):
    """Runs one op now through a compiled program cached by the op's signature."""
    slots = []
    for t in tensors:
        if t._array is None:  # a deferred tensor: realize its graph together with this op
            out = _record(name, tensors, attrs, loc)
            lazy.realize(out)
            return out
        slots.append(t._dtype)
        slots.append(t._shape)
        if t._sharding is not None:  # split over a mesh: part of the program's signature
            slots.append((t._sharding[0], t._sharding[1], lazy.deterministic > 0))
    unique = tensors
    if len(tensors) > 1 and len({id(t) for t in tensors}) < len(tensors):  # x + x: one program input
        first = {}
        for t in tensors:
            first.setdefault(id(t), (len(first), t))
        unique = [t for _, t in first.values()]
        slots.append(tuple(first[id(t)][0] for t in tensors))
    key = (name, _attr_key(attrs) if attrs else (), tuple(slots), tensors[0]._device)
    op = _eager_ops.get(key)
    if op is None:
        out = _record(name, tensors, attrs, loc)
        text, text_key, inputs = lazy.build_function([out])
        op = _EagerOp()
        text, text_key, op.mesh = lazy.on_mesh(text, text_key, inputs)
        op.exe = lazy.compile_text(text, text_key, out.device)
        op.shape, op.dtype, op.device = out._shape, out._dtype, out._device
        _eager_ops[key] = op
    try:
        (arr,) = op.exe.run([t._array for t in unique])
    except TesseraError as e:
        if e.location or " at " in e.message:  # a run-time check's message names its line
            raise
        message = e.message if e.message.startswith(name + ":") else f"{name}: {e.message}"
        raise type(e)(message, loc) from None
    t = _new(Tensor)
    t._array, t._node, t._shape, t._dtype, t._device = arr, None, op.shape, op.dtype, op.device
    t._sharding = None
    if op.mesh is not None:
        lazy.place_outputs([t], op.exe, op.mesh)
    return t


_new = object.__new__


def _ints(values):
    return tuple(int(v) for v in values)


def _axes(value):
    """A reduction's axis argument: one int, or a tuple of ints for several axes."""
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value)
    return int(value)


def _padding(value):
    """A convolution's padding: "same" / "valid", one int, or a tuple of ints."""
    return value if isinstance(value, str) else _axes(value)


def _generate():
    """Defines one function per registry op in this module (see tessera._opgen)."""
    from . import _opgen
    names = []
    for spec in _opgen.op_specs():
        # Compiled under this file's name, so tracing skips these frames when finding the user's line.
        exec(compile(_opgen.function_source(spec), __file__, "exec"), globals())  # noqa: S102
        names.append(spec["name"])
        # Ops of one tensor operand are also Tensor methods: x.exp(), x.sum(axis=0).
        if spec["min_operands"] == 1 and spec["max_operands"] == 1 and not hasattr(Tensor, spec["name"]):
            setattr(Tensor, spec["name"], globals()[spec["name"]])
    return names


def pipeline(stages):
    """Applies stages in order: ``pipeline([x, f, g])`` is ``g(f(x))``.

    The first stage is a tensor (or anything an op accepts); each later stage is a callable of
    one argument, such as an op (``op.relu``) or a lambda."""
    stages = list(stages)
    if not stages:
        raise TesseraError("pipeline: needs at least one stage")
    value = stages[0]
    for i, stage in enumerate(stages[1:], start=1):
        if not callable(stage):
            raise TesseraError(f"pipeline: stage {i} must be a callable of one argument, got {type(stage).__name__}",
                               user_location())
        value = stage(value)
    return value


__all__ = ["apply", "pipeline"] + _generate()


def _counter(op_name, x, value, what):
    """A seed or offset as the rank-0 integer tensor the kernel reads at run time. A Python int
    becomes a realized int64 tensor, i.e. a program parameter rather than a constant, so a new
    seed reuses the compiled program (eagerly and under jit)."""
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TesseraError(f"{op_name}: {what} must be an int or a rank-0 integer tensor, got "
                           f"{type(value).__name__}", user_location())
    from .tensor import tensor
    bits = value & ((1 << 64) - 1)  # seeds are 64-bit words, as tessera.rand takes them
    return tensor(bits - (1 << 64) if bits >> 63 else bits, dtype=_dt.int64,
                  device=x.device if isinstance(x, Tensor) else "cpu")


def _with_counters(op_fn):
    def seeded(x, seed, offset=None, **attrs):
        return op_fn(x, _counter(op_fn.__name__, x, seed, "seed"), _counter(op_fn.__name__, x, offset, "offset"),
                     **attrs)
    seeded.__name__, seeded.__doc__ = op_fn.__name__, op_fn.__doc__
    return seeded


rand_like = _with_counters(rand_like)  # noqa: F821 - defined by _generate
dropout = _with_counters(dropout)  # noqa: F821


def _install_operators():
    """Python's arithmetic operators on Tensor, recording the ops above."""
    g = globals()
    Tensor.__add__ = lambda self, other: g["add"](self, other)
    Tensor.__radd__ = lambda self, other: g["add"](other, self)
    Tensor.__sub__ = lambda self, other: g["sub"](self, other)
    Tensor.__rsub__ = lambda self, other: g["sub"](other, self)
    Tensor.__mul__ = lambda self, other: g["mul"](self, other)
    Tensor.__rmul__ = lambda self, other: g["mul"](other, self)
    Tensor.__matmul__ = lambda self, other: g["matmul"](self, other)
    Tensor.__neg__ = lambda self: g["neg"](self)


_install_operators()
Tensor.__class_getitem__ = classmethod(shapes.class_getitem)  # annotations: Tensor["B", "S", "D"]
from . import indexing  # noqa: E402,F401 - installs x[...], reshape, transpose... on Tensor
from .functions import einsum, pad  # noqa: E402,F401,F811 - the ops with NumPy's spellings too
from . import tensor_ops  # noqa: E402,F401 - Python operators and methods of elementwise ops
