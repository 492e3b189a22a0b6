"""Lazy tensors: recording ops as Graph IR and realizing them.

Every op on tensors records a ``Node`` (the op, its input tensors, attributes and the user's
source line) and returns a lazy Tensor whose shape and dtype come from the op registry's rule,
checked right away so errors point at the user's line. Realizing a tensor (``.numpy()``,
printing, DLPack, ``.item()``) turns the pending graph behind it into Graph IR text, compiles it
(cached by structure, so the same computation from anywhere reuses its kernels) and runs it.
``tessera.jit`` uses the same recording with parameter nodes in place of data.
"""
from __future__ import annotations

import os
import sys

from . import _C
from .errors import TesseraError, TracingError

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class Node:
    """One recorded op. ``inputs`` are Tensors (realized ones become function parameters)."""

    __slots__ = ("op", "inputs", "attrs", "loc", "param_index")

    def __init__(self, op, inputs=(), attrs=None, loc="", param_index=-1):
        self.op = op
        self.inputs = tuple(inputs)
        self.attrs = attrs or {}
        self.loc = loc
        self.param_index = param_index  # >= 0 for jit parameters


def user_location() -> str:
    """``file:line`` of the innermost frame outside the tessera package."""
    frame = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame = frame.f_back
    if frame is None:
        return ""
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


# ---- Graph IR text ----

def type_text(dtype, shape) -> str:
    return f"{dtype.short}[{','.join(str(d) for d in shape)}]"


def _attr_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(int(v)) for v in value) + "]"
    if isinstance(value, TypeAttr):
        return value.text
    raise TesseraError(f"cannot print attribute value {value!r}")


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


def _loc_text(loc: str) -> str:
    if not loc:
        return ""
    path, _, line = loc.rpartition(":")
    return f' loc("{path}":{line})'


def build_function(outputs, params_first=()):
    """Graph IR text of the function computing ``outputs`` from realized tensors and params.

    Returns ``(text, key, inputs)``: ``key`` is the text without source locations (the cache
    key) and ``inputs`` the tensors passed as arguments, in order: ``params_first`` (jit
    parameters) then every realized tensor the graph reads.
    """
    inputs = list(params_first)
    names = {}  # id(tensor) -> "%name"
    for i, t in enumerate(inputs):
        names[id(t)] = f"%a{i}"
    order = []
    pending = [(t, False) for t in reversed(outputs)]
    while pending:  # iterative DFS: deep graphs must not hit Python's recursion limit
        t, expanded = pending.pop()
        if id(t) in names:
            continue
        if t._array is not None:
            names[id(t)] = f"%a{len(inputs)}"
            inputs.append(t)
            continue
        node = t._node
        if node.op == "param":
            raise TracingError("a tensor from a function being traced by tessera.jit was used outside that "
                               "trace (it has no value until the function is called)", node.loc)
        if expanded:
            names[id(t)] = f"%{len(order)}"
            order.append(t)
            continue
        pending.append((t, True))
        for x in reversed(node.inputs):
            if id(x) not in names:
                pending.append((x, False))
    params = ", ".join(f"{names[id(t)]}: {type_text(t.dtype, t.shape)}" for t in inputs)
    results = ", ".join(type_text(t.dtype, t.shape) for t in outputs)
    head = f"module @main {{\nfunc @main({params}) -> ({results}) {{\n"
    body, body_locs = [], []
    for t in order:
        node = t._node
        args = ", ".join(names[id(x)] for x in node.inputs)
        attrs = ""
        if node.attrs:
            attrs = " {" + ", ".join(f"{k} = {_attr_text(v)}" for k, v in sorted(node.attrs.items())) + "}"
        line = f"  {names[id(t)]} = {node.op}({args}){attrs} : {type_text(t.dtype, t.shape)}"
        body.append(line)
        body_locs.append(line + _loc_text(node.loc))
    tail = f"  return({', '.join(names[id(t)] for t in outputs)})\n}}\n"
    # Functions that custom_vjp calls name follow the entry function.
    calls = [t._node.attrs for t in order if t._node.op == "custom_vjp"]
    called_text, called_key = "", ""
    if calls:
        from .custom import called_functions
        called_text, called_key = called_functions(calls)
    key = head + "\n".join(body) + "\n" + tail + called_key + "}\n"
    text = head + "\n".join(body_locs) + "\n" + tail + called_text + "}\n"
    return text, key, inputs


def inline(text, inputs):
    """Records the ops of the Graph IR function in ``text`` applied to ``inputs`` (tensors,
    realized or lazy) and returns its results as lazy tensors. This is how derived functions
    (gradients) join the current computation, so they compose with jit and with each other."""
    from . import dtypes
    from .shapes import sym_shape
    from .tensor import Tensor
    ops, outs = _C.function_ops(text)
    device = inputs[0].device if inputs else "cpu"
    made = []

    def ref(r):
        return inputs[r[1]] if r[0] == "arg" else made[r[1]]

    for name, operands, attrs, (dtype, shape), loc in ops:
        attrs = {k: TypeAttr.from_text(v[1]) if isinstance(v, tuple) and v[:1] == ("type",) else v
                 for k, v in attrs.items()}
        node = Node(name, [ref(r) for r in operands], attrs, loc)
        made.append(Tensor._lazy(node, sym_shape(shape), dtypes.dtype(dtype), device))
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


def realize(t) -> None:
    """Computes a lazy tensor: compiles the pending graph behind it and runs it."""
    if _depends_on_param(t):
        raise TracingError(
            "tessera.jit: this tensor depends on the traced function's arguments, so its value is "
            "not known while tracing: it cannot steer Python control flow (if/while/bool()), be "
            "converted (.item(), .numpy(), float()) or be printed. Express the choice with tensor "
            "ops, or pass the value as a non-tensor (static) argument", user_location())
    text, key, inputs = build_function([t])
    exe = compile_text(text, key, t.device)
    (out,) = exe.run([x._array for x in inputs])
    t._array = out
    t._node = None


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
