"""Recording ops as Graph IR, running them eagerly, and realizing deferred tensors.

Every op on tensors makes a ``Node`` (the op, its input tensors, attributes and the user's
source line); its shape and dtype come from the op registry's rule, checked right away so
errors point at the user's line. What happens next depends on where the op runs:

- **Eagerly** (outside every trace, the default): the op runs at once, through a compiled
  one-op program cached by the op's signature (``ops.apply``), and the tensor holds its
  result. A transform called eagerly (``grad``, ``vjp``...) runs its whole derived program as
  one compiled program (``inline``). Nothing stays pending, so a training loop's state never
  grows a graph.
- **Inside a trace** (``jit``, ``grad``, ``vjp``, ``jvp``, ``custom_vjp``, ``vmap``...): the
  op is recorded. Traces nest; each has a *level* (1 for the outermost), and every node records
  the level it was made at. A trace's function (``build_function``) holds the nodes of its own
  level; a tensor of an outer level that the function uses (a closure) becomes an extra
  argument, so it is a constant of the inner transform and a variable of the outer one (JAX's
  semantics: d/dw of an inner grad that closes over w is right).
- **Deferred** (inside ``with tessera.defer():``): eager ops are recorded instead of run, so
  chains fuse; ``tessera.realize(*tensors)`` (or any use of a value) compiles everything pending
  behind the tensors into one program, cached by structure.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import weakref

from . import _C
from .errors import TesseraError, TracingError

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class _State(threading.local):
    """Per-thread tracing state: ``depth`` is the number of traces running (0: eager);
    ``deferred`` counts open ``tessera.defer()`` blocks; ``effects`` holds, per running trace,
    the tokens of its side effects (debug_print), which the trace returns to keep them."""

    depth = 0
    deferred = 0

    def __init__(self):
        self.effects = []


state = _State()
deterministic = 0  # depth of tessera.dist.deterministic() blocks (process-wide)


# Lazy tensors some recorded op reads (x[...] = v may not rewrite them), by id; an entry goes
# when its tensor does. (Not a WeakSet: that compares members with Tensor.__eq__, an op.)
_used = {}


def mark_used(tensors):
    for t in tensors:
        if t._array is None and id(t) not in _used:
            key = id(t)
            _used[key] = weakref.ref(t, lambda _, key=key: _used.pop(key, None))


def used(t) -> bool:
    """Whether a recorded op reads the lazy tensor ``t``."""
    r = _used.get(id(t))
    return r is not None and r() is t


def eager() -> bool:
    """True where an op runs at once: outside every trace and every ``defer()`` block."""
    return state.depth == 0 and state.deferred == 0


class Node:
    """One recorded op. ``inputs`` are Tensors (realized ones become function parameters);
    ``level`` is the trace depth the node was recorded at (0: eager/deferred). An op of several
    results (scan, while_loop, cond) has their types in ``results``; its tensor is a holder
    that only ``result`` nodes read (``multi_result``)."""

    __slots__ = ("op", "inputs", "attrs", "loc", "param_index", "level", "results")

    def __init__(self, op, inputs=(), attrs=None, loc="", param_index=-1, level=None, results=None):
        self.op = op
        self.inputs = tuple(inputs)
        self.attrs = attrs or {}
        self.loc = loc
        self.param_index = param_index  # >= 0 for jit parameters
        self.level = state.depth if level is None else level
        self.results = results  # [(dtype, shape), ...] for ops of several results


def multi_result(op, inputs, attrs, loc, results, device):
    """The result tensors of an op with several results: ``result`` projections of a holder."""
    from .tensor import Tensor
    node = Node(op, inputs, attrs, loc, results=list(results))
    mark_used(node.inputs)
    holder = Tensor._lazy(node, (), "bool", device)
    return [Tensor._lazy(Node("result", (holder,), {"index": i}, loc), shape, dtype, device)
            for i, (dtype, shape) in enumerate(results)]


class Level(int):
    """A trace level (an int), with the effect tokens recorded at it (``effects``)."""

    effects: list


@contextlib.contextmanager
def tracing():
    """Runs the body one trace level deeper; yields the new Level."""
    state.depth += 1
    level = Level(state.depth)
    level.effects = []
    state.effects.append(level.effects)
    try:
        yield level
    finally:
        state.effects.pop()
        state.depth -= 1


def add_effects(tokens):
    """Keeps effect tokens (of an inlined function) alive in the running trace, if any."""
    if tokens and state.effects:
        state.effects[-1].extend(tokens)


def no_effects(level, what, loc):
    if level.effects:
        raise TracingError(f"debug_print inside {what} is not supported yet; print its results outside", loc)


@contextlib.contextmanager
def defer():
    """Ops in this block (outside traces) are recorded, not run, so they fuse when realized:

        with tessera.defer():
            y = gelu(2 * x + 1) * sigmoid(x)     # nothing runs yet
        tessera.realize(y)                        # one fused kernel

    Tensors made here stay deferred after the block until realized (explicitly, or by any use
    of their values: ``.numpy()``, printing, an eager op)."""
    state.deferred += 1
    try:
        yield
    finally:
        state.deferred -= 1


_in_package = {}  # code filename -> whether it is a file of this package


def user_location() -> str:
    """``file:line`` of the innermost frame outside the tessera package."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        inside = _in_package.get(name)
        if inside is None:
            inside = _in_package[name] = os.path.dirname(os.path.abspath(name)) == _PACKAGE_DIR
        if not inside:
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


# ---- Graph IR ----

def type_text(dtype, shape) -> str:
    """A type as the IR prints it ("f32[2,N]"), for messages."""
    return f"{dtype.short}[{','.join(str(d) for d in shape)}]"


class TypeAttr:
    """A type-valued attribute (the result type of ``constant``)."""

    __slots__ = ("text",)

    def __init__(self, dtype, shape):
        self.text = type_text(dtype, shape)

    @classmethod
    def from_text(cls, text):
        t = object.__new__(cls)
        t.text = text
        return t


def _escaped(t, level):
    """The error for a traced tensor met where it does not belong."""
    node = t._node
    owner = node.attrs.get("trace", "a transform") if node.op == "param" else "a transform"
    where = f" (it was made at {node.loc})" if node.loc else ""
    if level is None:
        what = "its value is needed now"
    else:
        what = "it is used by a later trace"
    return TracingError(
        f"a tensor traced by {owner}{where} escaped that trace: {what}, but it only stands for a value while "
        f"{owner} is tracing. Return it from the traced function instead of storing it (in a global, a list "
        f"or an object attribute) and using it later", user_location())


def _shape_key(shape):
    """A shape as the native core takes it: ints, and symbol names for symbolic dims."""
    for d in shape:
        if type(d) is not int:
            return tuple(d if isinstance(d, int) else str(d) for d in shape)
    return shape


def _attr_value(v):
    return ("type", v.text) if isinstance(v, TypeAttr) else v


def trace_graph(outputs, params_first=(), level=None, meshes=None):
    """The function computing ``outputs`` as the native builder takes it (trace_bindings.cpp):
    ``(param types, ops, output indices, inputs)``.

    ``params_first`` are the parameters of a trace at ``level``. Nodes of that level are the
    function's body; realized tensors and lazy tensors of outer levels (closures) become extra
    parameters after them. ``level`` None (realizing deferred tensors) takes every lazy node
    into the body and allows no parameters. ``inputs`` are the tensors passed as arguments.
    ``meshes`` (a list) receives the mesh of every tensor met that is split over one.
    """
    inputs = list(params_first)
    index = {id(t): i for i, t in enumerate(inputs)}  # id(tensor) -> value index (a list for multi-result ops)
    order = []
    pending = [(t, False) for t in reversed(outputs)]
    while pending:  # iterative DFS: deep graphs must not hit Python's recursion limit
        t, expanded = pending.pop()
        if id(t) in index:
            continue
        if meshes is not None and t._sharding is not None:
            meshes.append(t._sharding[0])
        node = t._node
        if t._array is not None or (level is not None and node.level < level):
            index[id(t)] = -1 - len(inputs)  # a parameter; numbered once all are known
            inputs.append(t)
            continue
        if node.op == "param" or (level is not None and node.level > level):
            raise _escaped(t, level)
        if expanded:
            if node.op == "result":  # a result of a multi-result op: indexed with that op
                index[id(t)] = ("result", id(node.inputs[0]), node.attrs["index"])
                continue
            index[id(t)] = None
            order.append(t)
            continue
        pending.append((t, True))
        for x in reversed(node.inputs):
            if id(x) not in index:
                pending.append((x, False))
    n_params = len(inputs)
    for i, t in enumerate(inputs):
        index[id(t)] = i
    next_value = n_params
    ops = []

    def ref(t):
        v = index[id(t)]
        if type(v) is tuple:  # ("result", id of the multi-result op, k)
            return index[v[1]][v[2]]
        return v

    for t in order:
        node = t._node
        operands = [ref(x) for x in node.inputs]
        attrs = {k: _attr_value(v) for k, v in node.attrs.items()} if node.attrs else {}
        if node.results is not None:
            types = [(dt.short, _shape_key(shape)) for dt, shape in node.results]
            index[id(t)] = list(range(next_value, next_value + len(types)))
        else:
            types = [(t._dtype.short, _shape_key(t._shape))]
            index[id(t)] = next_value
        next_value += len(types)
        ops.append((node.op, operands, attrs, types, node.loc or ""))
    params = [(t._dtype.short, _shape_key(t._shape)) for t in inputs]
    return params, ops, [ref(t) for t in outputs], inputs


def build_function(outputs, params_first=(), level=None, meshes=None):
    """Graph IR text of the function computing ``outputs`` (see ``trace_graph``), with every
    function its ops call, built and printed by the native core. Returns ``(text, key,
    inputs)``: ``key`` is the text without source locations (the cache key) and ``inputs`` the
    tensors passed as arguments, in order."""
    params, ops, outs, inputs = trace_graph(outputs, params_first, level, meshes)
    text, key = _C.build_module(params, ops, outs)
    return text, key, inputs


def inline(text, inputs):
    """The results of the Graph IR function in ``text`` applied to ``inputs``.

    Inside a trace (or a ``defer()`` block) its ops are recorded as lazy nodes, so derived
    functions (gradients) join the computation being traced and compose with jit and with each
    other. Eagerly, the function runs at once as one compiled program."""
    if eager():
        return run_function(text, text, inputs)
    from . import dtypes
    from .shapes import sym_shape
    from .tensor import Tensor
    ops, outs = _C.function_ops(text)
    device = inputs[0].device if inputs else "cpu"
    made = []

    def ref(r):  # ("arg", i), ("op", j) or ("op", j, k): result k of a multi-result op
        if r[0] == "arg":
            return inputs[r[1]]
        return made[r[1]][r[2]] if len(r) == 3 else made[r[1]]

    for name, operands, attrs, results, loc in ops:
        attrs = {k: TypeAttr.from_text(v[1]) if isinstance(v, tuple) and v[:1] == ("type",) else v
                 for k, v in attrs.items()}
        args = [ref(r) for r in operands]
        types = [(dtypes.dtype(dt), sym_shape(shape)) for dt, shape in results]
        if len(types) != 1:
            made.append(multi_result(name, args, attrs, loc, types, device))
            continue
        node = Node(name, args, attrs, loc)
        mark_used(node.inputs)
        made.append(Tensor._lazy(node, types[0][1], types[0][0], device))
    return [ref(r) for r in outs]


# ---- compiling and running ----

_executables = {}  # (key, device) -> _C.Executable


def compile_text(text: str, key: str, device) -> "_C.Executable":
    cache_key = (key, str(device))
    exe = _executables.get(cache_key)
    if exe is None:
        exe = _C.compile(text, str(device))
        _executables[cache_key] = exe
    return exe


def run_function(text, key, inputs):
    """Runs the Graph IR function ``text`` on ``inputs`` now; returns realized tensors."""
    from .tensor import Tensor
    realize(*inputs)
    device = inputs[0].device if inputs else "cpu"
    text, key, mesh = on_mesh(text, key, inputs)
    exe = compile_text(text, key, device)
    outs = [Tensor._from_array(a) for a in exe.run([t._array for t in inputs])]
    return place_outputs(outs, exe, mesh)


# ---- programs over a device mesh (tessera.dist) ----

def on_mesh(text, key, inputs, meshes=()):
    """``(text, key, mesh)``: where an input (or a tensor of the body, in ``meshes``) is split
    over a mesh, the program placed on it with each input's sharding (tensors held whole count
    as replicated: every process passes the same value), for spmd-partition; else unchanged."""
    found = list(meshes) + [t._sharding[0] for t in inputs if t._sharding is not None]
    if not found:
        return text, key, None
    mesh = found[0]
    for other in found[1:]:
        if other is not mesh:
            raise TesseraError(f"this computation uses tensors split over two meshes, {mesh!r} and {other!r}; "
                               f"reshard them onto one (tessera.dist.reshard)", user_location())
    from ._sharded import replicated_text
    specs = [t._sharding[1] if t._sharding is not None else replicated_text(len(t._shape)) for t in inputs]
    text, key = _C.place_on_mesh(text, mesh._ir_text, specs, deterministic > 0)
    if key not in _agreed:  # a new program: every process must be compiling the same one
        from ._sharded import agree
        agree(key, mesh, ", ".join(f"{t._dtype.short}{list(t._shape)} {s}" for t, s in zip(inputs, specs)))
        _agreed.add(key)
    return text, key, mesh


_agreed = set()  # keys of mesh programs every process was found to run


def place_outputs(tensors, exe, mesh):
    """Gives the results of a partitioned program their shardings (shapes stay the whole ones
    the trace knows); replicated results are ordinary tensors."""
    if mesh is None:
        return tensors
    from ._sharded import is_split, whole_shape
    for t, spec in zip(tensors, exe.out_shardings):
        if is_split(spec):
            t._sharding = (mesh, spec)
            t._shape = whole_shape(t._array.shape, spec, mesh)
    return tensors


def realize(*tensors):
    """Computes every deferred tensor among ``tensors`` in one compiled program (cached by its
    structure) and returns them (one tensor, or a tuple). Tensors that already hold values are
    returned as they are."""
    from .tensor import Tensor
    if not tensors:
        return ()
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TesseraError(f"realize: expected tensors, got {type(t).__name__}", user_location())
    pending, seen = [], set()
    for t in tensors:
        if t._array is None and id(t) not in seen:
            seen.add(id(t))
            pending.append(t)
    by_device = {}
    for t in pending:
        by_device.setdefault(str(t.device), []).append(t)
    for group in by_device.values():
        _realize_group(group)
    return tensors[0] if len(tensors) == 1 else tensors


def _realize_group(group):
    if state.depth > 0:
        for t in group:
            if _depends_on_param(t):
                raise TracingError(
                    "this tensor depends on the arguments of a function being traced (by jit, grad, vjp...), so "
                    "its value is not known while tracing: it cannot steer Python control flow (if/while/bool()), "
                    "be converted (.item(), .numpy(), float()) or be printed. Express the choice with tensor ops "
                    "(tessera.where, tessera.cond), or make the value static (jit's static_argnames)",
                    user_location())
    meshes = []
    text, key, inputs = build_function(group, meshes=meshes)
    text, key, mesh = on_mesh(text, key, inputs, meshes)
    exe = compile_text(text, key, group[0].device)
    outs = exe.run([x._array for x in inputs])
    for t, out in zip(group, outs):
        t._array = out
        t._node = None
        t._sharding = None
    place_outputs(group, exe, mesh)


def _depends_on_param(t) -> bool:
    seen, stack = set(), [t]
    while stack:
        x = stack.pop()
        if x._array is not None or id(x) in seen:
            continue
        seen.add(id(x))
        if x._node.op == "param":
            return True
        stack.extend(x._node.inputs)
    return False
