"""``tessera.jit`` (alias ``tessera.function``): trace once per input signature, then run the
compiled program directly.

A call's signature is the shape, dtype and device of every tensor argument plus the value of
every static argument. Float arguments are not static: they are passed at run time as rank-0
values that type like Python floats (``WeakScalar``), so a new learning rate reuses the program.
Ints, bools, strings and other values are static (they often choose shapes, axes or branches),
as is any argument named in ``static_argnames`` / ``static_argnums``; a new static value traces
again. NumPy arrays are taken as tensors (zero-copy on the CPU). Tracing runs the Python
function once on parameter tensors that have no values; the ops it records become one Graph IR
function, compiled for the arguments' device. Later calls with the same signature skip Python
entirely and go to the compiled executable. ``TESSERA_LOG=recompiles`` reports every trace after
the first, naming the argument that changed, and a ``RecompileWarning`` says so once a function
has traced ``RECOMPILE_LIMIT`` times.

Called inside another trace (under ``grad``, or another jit), a jit function is traced into the
enclosing computation instead of compiled on its own.

With ``dynamic=`` the chosen dims are symbolic: the function is traced once with names in
place of those sizes (``f32[B,128]``), and each new size binds the names and specialises that
Graph IR (``_C.specialize``) without running Python again. ``fn.ir("traced")`` shows the traced
Graph IR, symbolic where it is (docs/design.md, "Symbolic dims").
"""
from __future__ import annotations

import functools
import inspect
import warnings

from . import _C
from . import _log
from . import lazy
from . import profiler
from . import shapes
from . import tree as tree_mod
from .errors import DeviceError, RecompileWarning, ShapeError, TesseraError, TracingError
from .lazy import Node
from .tensor import Tensor, WeakScalar

RECOMPILE_LIMIT = 8  # traces of one function before a RecompileWarning (torch's default too)


class _Static:
    """Marks an argument that jit compiles in as a constant (static_argnames/static_argnums)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _leaf_value(x):
    """A NumPy array as a tensor, a NumPy scalar as the Python number; anything else as is."""
    if type(x).__module__ == "numpy":
        if getattr(x, "ndim", None) == 0 and x.dtype.kind in "biuf":
            return x.item()
        if hasattr(x, "__dlpack__") and getattr(x, "dtype", None) is not None:
            from .tensor import tensor
            return tensor(x)
    return x


def _flatten(tree, leaves, scalars=False):
    """Structure of nested tuples/lists/dicts with tensors replaced by their leaf index. With
    ``scalars``, floats become leaves too (rank-0 WeakScalar tensors, kind "F"), and NumPy
    arrays tensors."""
    if scalars:
        tree = _leaf_value(tree)
    if isinstance(tree, Tensor):
        leaves.append(tree)
        return ("T", len(leaves) - 1)
    if isinstance(tree, _Static):
        return ("S", (type(tree.value), tree.value))
    if scalars and type(tree) is float:
        leaves.append(tree)
        return ("F", len(leaves) - 1)
    if type(tree) in (list, tuple):
        return (type(tree).__name__, tuple(_flatten(x, leaves, scalars) for x in tree))
    if type(tree) is dict:
        return ("dict", tuple((k, _flatten(tree[k], leaves, scalars)) for k in sorted(tree)))
    if tree is not None:
        node = tree_mod.node_children(tree)  # namedtuples and registered pytree classes
        if node is not None:
            kind, children, aux = node
            return ("node", (kind, aux, tuple(_flatten(c, leaves, scalars) for c in children)))
    # A static value, with its type: 2, 2.0 and True are equal in Python but trace differently.
    return ("S", (type(tree), tree))


def _unflatten(spec, leaves):
    kind, payload = spec
    if kind in ("T", "F"):
        return leaves[payload]
    if kind in ("list", "tuple"):
        items = [_unflatten(x, leaves) for x in payload]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {k: _unflatten(v, leaves) for k, v in payload}
    if kind == "node":
        node_kind, aux, children = payload
        return tree_mod.rebuild(node_kind, aux, [_unflatten(c, leaves) for c in children])
    return payload[1]


class Trace:
    """A function recorded as Graph IR: ``text`` (with locations), ``key`` (without), the
    tensors it closed over (``captured``: realized ones, or lazy ones of an enclosing trace;
    passed after the arguments), its output structure and the device."""

    __slots__ = ("text", "key", "captured", "out_spec", "n_outputs", "n_effects", "device", "out_types", "meshes")


def trace(fn, spec, leaves, symbols=None, owner=None) -> Trace:
    """Runs ``fn`` on parameter tensors standing for ``leaves`` (the tensors of the flattened
    arguments ``spec``) one trace level deeper, and records what it computes. ``symbols`` (per
    leaf, a name or None per dim) makes those dims of the parameters symbolic; ``owner`` names
    the transform in errors ("tessera.grad(loss)")."""
    name = getattr(fn, "__name__", "function")
    owner = owner or f"tessera.jit({name})"
    devices = {str(t.device) for t in leaves}
    if len(devices) > 1:
        raise DeviceError(f"{owner}: tensor arguments are on several devices ({', '.join(sorted(devices))})")

    def param_shape(i, t):
        if symbols is None:
            return t.shape
        return tuple(shapes.SymDim(s) if s is not None else n for s, n in zip(symbols[i], t.shape))

    with profiler.span("trace", owner), lazy.tracing() as level:
        params = [type(t)._lazy(Node("param", (), {"trace": owner}, "", i), param_shape(i, t), t.dtype, t.device)
                  for i, t in enumerate(leaves)]
        args, kwargs = _unflatten(spec, params)
        real_args, real_kwargs = _unflatten(spec, leaves)
        try:
            with shapes.checked_call(fn, real_args, real_kwargs, args, kwargs):
                result = fn(*args, **kwargs)
        except ShapeError as e:
            if e.location:
                raise
            raise ShapeError(e.message, lazy.user_location()) from None
    out_leaves = []
    tr = Trace()
    tr.out_spec = _flatten(result, out_leaves)
    if not out_leaves:
        raise TracingError(f"{owner}: the function returned no tensors")
    tr.device = leaves[0].device if leaves else out_leaves[0].device
    # Effect tokens (debug_print) are extra outputs after the function's own.
    tr.meshes = []  # of sharding constraints in the body
    tr.text, tr.key, inputs = lazy.build_function(out_leaves + level.effects, params, level, tr.meshes)
    tr.captured = inputs[len(params):]
    tr.n_outputs = len(out_leaves)
    tr.n_effects = len(level.effects)
    tr.out_types = [(t._shape, t._dtype, t._device) for t in out_leaves]
    return tr


class _Traced:
    """One compiled signature: the executable and how to turn its outputs into the result."""

    __slots__ = ("exe", "out_spec", "captured", "n_params", "out_types", "key", "traced_text", "mesh")

    def call(self, leaves):
        arrays = [t._array for t in leaves]
        if None in arrays:  # deferred tensors: compute them together, in one program
            lazy.realize(*leaves)
            arrays = [t._array for t in leaves]
        if self.captured:
            arrays += [t._array for t in self.captured]
        outs = self.exe.run(arrays)
        # Output types are known from the trace: cheaper than asking each native array.
        tensors = []
        for arr, (shape, dtype, device) in zip(outs, self.out_types):
            t = _new_tensor(Tensor)
            t._array, t._node, t._shape, t._dtype, t._device = arr, None, shape, dtype, device
            t._sharding = None
            tensors.append(t)
        if self.mesh is not None:
            lazy.place_outputs(tensors, self.exe, self.mesh)
        spec = self.out_spec
        return tensors[0] if spec == ("T", 0) else _unflatten(spec, tensors)


_new_tensor = object.__new__


def _leaf_changes(old, new):
    """What differs between two tensor leaves of signatures: (shape, dtype, device, sharding) each."""
    names = ("shape", "dtype", "device", "sharding")
    return [f"{n} {a} -> {b}" for n, a, b in zip(names, old, new) if a != b]


def _spec_changes(path, old, new, old_leaves, new_leaves, out):
    """Appends "<path> <what> <old> -> <new>" for every difference between two flattened specs."""
    (okind, oval), (nkind, nval) = old, new
    if okind != nkind:
        what = {"T": "a tensor", "S": "a static value", "F": "a float", "dict": "a dict", "list": "a list",
                "tuple": "a tuple", "node": "a pytree node"}
        out.append(f"{path} was {what[okind]}, now {what[nkind]}")
    elif okind == "F":
        pass  # floats are run-time values: any two match
    elif okind == "node":
        if oval[:2] != nval[:2] or len(oval[2]) != len(nval[2]):
            out.append(f"{path} pytree node {oval[0].__name__} changed")
        else:
            for i, (o, n) in enumerate(zip(oval[2], nval[2])):
                _spec_changes(f"{path}.{i}", o, n, old_leaves, new_leaves, out)
    elif okind == "T":
        out.extend(f"{path} {c}" for c in _leaf_changes(old_leaves[oval], new_leaves[nval]))
    elif okind == "S":
        if oval != nval:
            out.append(f"{path} static value {oval[1]!r} -> {nval[1]!r}")
    elif okind == "dict":
        okeys, nkeys = [k for k, _ in oval], [k for k, _ in nval]
        if okeys != nkeys:
            out.append(f"{path} keys {okeys} -> {nkeys}")
        else:
            for (k, o), (_, n) in zip(oval, nval):
                _spec_changes(f"{path}[{k!r}]", o, n, old_leaves, new_leaves, out)
    elif len(oval) != len(nval):
        out.append(f"{path} length {len(oval)} -> {len(nval)}")
    else:
        for i, (o, n) in enumerate(zip(oval, nval)):
            _spec_changes(f"{path}[{i}]", o, n, old_leaves, new_leaves, out)


def describe_change(old_key, new_key) -> str:
    """Why signature ``new_key`` differs from ``old_key``, e.g. "argument 0 shape (3, 4) -> (5, 4)"."""
    (old_spec, old_leaves, old_det), (new_spec, new_leaves, new_det) = old_key, new_key
    (_, (old_args, old_kwargs)), (_, (new_args, new_kwargs)) = old_spec, new_spec
    out = [] if old_det == new_det else [f"tessera.dist.deterministic() {'entered' if new_det else 'left'}"]
    if len(old_args[1]) != len(new_args[1]):
        out.append(f"{len(old_args[1])} positional arguments -> {len(new_args[1])}")
    else:
        for i, (o, n) in enumerate(zip(old_args[1], new_args[1])):
            _spec_changes(f"argument {i}", o, n, old_leaves, new_leaves, out)
    old_kw, new_kw = dict(old_kwargs[1]), dict(new_kwargs[1])
    for k in sorted(set(old_kw) | set(new_kw)):
        if k not in old_kw or k not in new_kw:
            out.append(f"keyword argument {k!r} {'added' if k in new_kw else 'removed'}")
        else:
            _spec_changes(f"argument {k!r}", old_kw[k], new_kw[k], old_leaves, new_leaves, out)
    return "; ".join(out) or "a new signature"


_weak_scalars = {}  # (float bits, device) -> WeakScalar holding the value


def _weak_scalar(value, device):
    key = (value.hex(), device)
    t = _weak_scalars.get(key)
    if t is None:
        if len(_weak_scalars) >= 4096:
            _weak_scalars.clear()
        t = Tensor._from_array(_C.full([], value, "f64", device))
        t.__class__ = WeakScalar
        _weak_scalars[key] = t
    return t


def _leaf_device(leaves):
    for t in leaves:
        if isinstance(t, Tensor):
            return str(t._device)
    return "cpu"


def _scalar_leaves(leaves):
    """Float leaves as rank-0 WeakScalar tensors on the tensors' device."""
    device = None
    for i, x in enumerate(leaves):
        if type(x) is float:
            device = device or _leaf_device(leaves)
            leaves[i] = _weak_scalar(x, device)


class JitFunction:
    """A function compiled per input signature. ``ir(level)`` shows the last trace's IR."""

    def __init__(self, fn, dynamic=None, static_argnames=(), static_argnums=()):
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._name = getattr(fn, "__name__", "function")
        self._dynamic = shapes.check_dynamic(self._name, fn, dynamic)
        self._static_names, self._static_nums = _static_spec(self._name, fn, static_argnames, static_argnums)
        self._cache = {}  # full signature -> _Traced
        self._fast = {}   # (shape, dtype, device) of each argument -> _Traced, for calls of tensors only
        self._symbolic = {}  # dynamic=: (spec, symbolic pattern of each leaf) -> Trace
        self._last = None
        self._warned = False

    def _signature(self, spec, leaves):
        try:
            hash(spec)
        except TypeError:
            raise TracingError(f"tessera.jit({self._name}): static arguments (ints, strings, other objects, and "
                               f"those in static_argnames) must be hashable: each value compiles its own program; "
                               f"pass arrays as tensors (tessera.tensor(x))", lazy.user_location()) from None
        return (spec, tuple((t.shape, t.dtype.short, str(t.device),
                             None if t._sharding is None else (t._sharding[0].key, t._sharding[1])) for t in leaves),
                lazy.deterministic > 0)

    def _mark_static(self, args, kwargs):
        if not (self._static_names or self._static_nums):
            return args, kwargs
        args = tuple(_Static(a) if i in self._static_nums else a for i, a in enumerate(args))
        kwargs = {k: _Static(v) if k in self._static_names else v for k, v in kwargs.items()}
        return args, kwargs

    def __call__(self, *args, **kwargs):
        if lazy.state.depth > 0:
            return self._call_in_trace(args, kwargs)
        # Fast path, the common call: positional plain tensors with a signature seen before.
        fast_key = None
        if not kwargs and not self._static_nums:
            fast_key = []
            for a in args:
                if type(a) is not Tensor or a._array is None:  # deferred: its sharding is not known yet
                    fast_key = None
                    break
                d = a._device
                fast_key.append((a._shape, a._dtype, d.type, d.index, a._sharding))
            if fast_key is not None:
                fast_key.append(lazy.deterministic > 0)
                fast_key = tuple(fast_key)
                traced = self._fast.get(fast_key)
                if traced is not None:
                    self._last = traced
                    return traced.call(args)

        args, kwargs = self._mark_static(args, kwargs)
        leaves = []
        spec = _flatten((args, kwargs), leaves, scalars=True)
        _scalar_leaves(leaves)
        lazy.realize(*[t for t in leaves if t._array is None])  # a deferred value's sharding is part of the key
        key = self._signature(spec, leaves)
        traced = self._cache.get(key)
        if traced is None:
            if self._last is not None:
                self._report_retrace(key)
            traced = self._trace(spec, leaves, key)
            self._cache[key] = traced
        if fast_key is not None:
            self._fast[fast_key] = traced
        self._last = traced
        return traced.call(leaves)

    def _report_retrace(self, key):
        change = describe_change(self._last.key, key)
        n = len(self._cache) + 1
        if _log.enabled("recompiles"):
            _log.write("recompiles", f"{self._name}: recompiling (signature {n}): {change}")
        if n >= RECOMPILE_LIMIT and not self._warned:
            self._warned = True
            warnings.warn(
                f"tessera.jit({self._name}) has been traced and compiled {n} times; the last time because {change}. "
                f"Every new value of a static argument (ints, bools, strings, objects, or those in static_argnames) "
                f"and every new shape, dtype or device compiles again. Pass values that change as tensors "
                f"(tessera.tensor(v)) or floats, and use jit(..., dynamic=...) for changing sizes",
                RecompileWarning, stacklevel=3)

    def _call_in_trace(self, args, kwargs):
        """Called while another function is traced: record this one into that trace."""
        args, kwargs = self._mark_static(args, kwargs)
        leaves = []
        spec = _flatten((args, kwargs), leaves)
        tr = trace(self._fn, spec, leaves)
        outs = lazy.inline(tr.text, leaves + tr.captured)
        lazy.add_effects(outs[tr.n_outputs:])
        return _unflatten(tr.out_spec, outs[:tr.n_outputs])

    def _trace(self, spec, leaves, key):
        if self._dynamic is not None:
            return self._specialize(spec, leaves, key)
        tr = trace(self._fn, spec, leaves)
        lazy.realize(*[t for t in tr.captured if t._array is None])  # closed-over deferred values
        traced = _Traced()
        traced.out_spec = tr.out_spec
        traced.captured = tr.captured
        traced.n_params = len(leaves)
        traced.out_types = tr.out_types
        traced.key = key
        traced.traced_text = tr.text
        text, key, traced.mesh = lazy.on_mesh(tr.text, tr.key, list(leaves) + list(tr.captured), tr.meshes)
        traced.exe = lazy.compile_text(text, key, tr.device)
        return traced

    def _specialize(self, spec, leaves, key):
        """dynamic=: the symbolic trace for these arguments (traced on first need), with its
        symbols bound to this call's sizes and compiled."""
        name = self._name
        args, kwargs = _unflatten(spec, leaves)
        plan = shapes.symbolic_dims(self._fn, args, kwargs, leaves, self._dynamic)
        sizes = {}  # symbol -> (size, "x (shape (8, 128))")
        for (label, dims), t in zip(plan, leaves):
            for sym, n in zip(dims, t.shape):
                if sym is None:
                    continue
                if sym in sizes and sizes[sym][0] != n:
                    raise ShapeError(f"tessera.jit({name}): dim {sym} is {sizes[sym][0]} in {sizes[sym][1]} but {n} "
                                     f"in {label} (shape {t.shape})", lazy.user_location())
                sizes.setdefault(sym, (n, f"{label} (shape {t.shape})"))
        # Static dims, dtypes and devices still select the trace; symbolic dims do not.
        pattern = tuple((tuple(n if sym is None else sym for sym, n in zip(dims, t.shape)), t.dtype.short,
                         str(t.device)) for (_, dims), t in zip(plan, leaves))
        pattern = (pattern, lazy.deterministic > 0)
        tr = self._symbolic.get((spec, pattern))
        if tr is None:
            tr = trace(self._fn, spec, leaves, [dims for _, dims in plan])
            lazy.realize(*[t for t in tr.captured if t._array is None])
            self._symbolic[(spec, pattern)] = tr
        bound = {sym: n for sym, (n, _) in sizes.items()}
        try:
            text, text_key = _C.specialize(tr.text, bound)
        except TesseraError as e:  # sizes the traced program's type rules reject (an empty take axis)
            sizes_text = ", ".join(f"{k}={v}" for k, v in sorted(bound.items()))
            raise type(e)(f"tessera.jit({name}) at {sizes_text}: {e.message}", lazy.user_location()) from None
        traced = _Traced()
        traced.out_spec = tr.out_spec
        traced.captured = tr.captured
        traced.n_params = len(leaves)
        traced.out_types = [(tuple(bound[d] if isinstance(d, str) else d for d in shape), dtype, device)
                            for shape, dtype, device in tr.out_types]
        traced.key = key
        traced.traced_text = tr.text
        text, text_key, traced.mesh = lazy.on_mesh(text, text_key, list(leaves) + list(tr.captured), tr.meshes)
        traced.exe = lazy.compile_text(text, text_key, tr.device)
        return traced

    def ir(self, level: str = "graph") -> str:
        """IR text of the most recent call's program: "traced" (the Graph IR the trace recorded,
        with symbolic dims under dynamic=), or the compiled program's "graph" (specialised to the
        call's sizes), "schedule", "tile", "llvm" or "asm"."""
        if self._last is None:
            raise TracingError(f"tessera.jit({self._name}): call the function once before asking "
                               "for its IR (it is compiled per input signature)")
        if level == "traced":
            return self._last.traced_text
        return self._last.exe.ir(level)

    def explain(self, profile=None) -> str:
        """The kernels of the most recent trace: the ops fused into each (with source lines) and
        why the others did not fuse (read from the Schedule IR; see tessera/explain.py). With a
        ``profile`` (``with tessera.profile() as prof: fn(...)``), each kernel's measured time,
        bandwidth and TFLOP/s too."""
        from .explain import explain
        return explain(self, profile)


def _static_spec(name, fn, static_argnames, static_argnums):
    """(names, positions) of the static parameters, each name also as its position."""
    names = {static_argnames} if isinstance(static_argnames, str) else set(static_argnames or ())
    nums = {static_argnums} if isinstance(static_argnums, int) else set(static_argnums or ())
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    known = {p.name for p in params}
    has_kwargs = any(p.kind == p.VAR_KEYWORD for p in params)
    for n in names:
        if params and n not in known and not has_kwargs:
            raise TesseraError(f"tessera.jit({name}): static_argnames names {n!r}, which is not a parameter of "
                               f"{name} ({', '.join(sorted(known)) or 'none'})")
        if n in positional:
            nums.add(positional.index(n))
    for i in list(nums):
        if i < 0:
            if not positional:
                raise TesseraError(f"tessera.jit({name}): negative static_argnums need a known signature")
            nums.discard(i)
            nums.add(i + len(positional))
        elif i < len(positional):
            names.add(positional[i])
    return frozenset(names), frozenset(nums)


def jit(fn=None, *, dynamic=None, static_argnames=(), static_argnums=()):
    """Compiles ``fn`` per input signature. Use as ``@tessera.jit``.

    Tensor arguments (and NumPy arrays) are run-time inputs; float arguments are run-time
    rank-0 values that type like Python floats; other arguments (ints, bools, strings, objects)
    are static, compiled in: a new value traces again. ``static_argnames`` / ``static_argnums``
    make more arguments static (a float that chooses a shape or is needed as a Python number).

    ``dynamic=True`` makes every dim of every tensor argument symbolic, except sizes that a
    ``Tensor[...]`` annotation pins with an int; ``dynamic=("B", "S")`` makes only the dims
    annotated with those names symbolic. Dims of one name share one symbol. The function is then
    traced once for all sizes of its symbolic dims, and compiled once per size."""
    if fn is None:
        return functools.partial(jit, dynamic=dynamic, static_argnames=static_argnames,
                                 static_argnums=static_argnums)
    return JitFunction(fn, dynamic, static_argnames, static_argnums)


function = jit
