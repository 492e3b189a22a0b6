"""Shape annotations: ``tessera.Tensor["B", "S", "D"]``.

Annotate the tensor parameters of a function compiled with ``tessera.jit`` (or differentiated
with ``tessera.grad``) and every call is checked when it is traced: each parameter must have
as many dims as named, a dim name binds to one size for the whole call, and an integer pins a
size. Errors name the parameter, both shapes with their dim names, and the caller's line:

    ShapeError: attention: dim D is 128 in q Tensor[B=8,N=1024,D=128] but 256 in
    k Tensor[B=8,D=256,M=1024] at model.py:42

While the function is traced, ops whose shapes do not fit report their operands the same way
(``matmul: inner dims differ: q Tensor[B=8,N=1024,D=128] @ k Tensor[B=8,D=256,M=1024]``).
"""
from __future__ import annotations

import contextlib
import inspect

from .errors import ShapeError, TesseraError


class TensorType:
    """The annotation ``Tensor[...]``: dim names (str), fixed sizes (int) or ``...`` for any
    number of leading dims."""

    __slots__ = ("dims",)

    def __init__(self, dims):
        dims = dims if isinstance(dims, tuple) else (dims,)
        for d in dims:
            if not (isinstance(d, (str, int)) or d is Ellipsis) or isinstance(d, bool):
                raise TesseraError(f"Tensor[...]: dims must be names, ints or ..., got {d!r}")
        if sum(d is Ellipsis for d in dims) > 1:
            raise TesseraError("Tensor[...]: at most one ... is allowed")
        self.dims = dims

    def __repr__(self):
        return "Tensor[" + ", ".join("..." if d is Ellipsis else repr(d) for d in self.dims) + "]"


def class_getitem(cls, dims):
    return TensorType(dims)


# Descriptions of the tensors of the function being traced: id(tensor) -> "q Tensor[B=8,D=128]".
_described = {}


def describe(t):
    return _described.get(id(t))


def _bind(fn_name, params, binding):
    """Checks each (name, tensor, TensorType) and fills ``binding``: dim name -> (size, where)."""
    described = {}
    for pname, tensor, ann in params:
        dims = list(ann.dims)
        shape = tensor.shape
        if Ellipsis in dims:
            k = dims.index(Ellipsis)
            n_rest = len(dims) - 1
            if len(shape) < n_rest:
                raise ShapeError(f"{fn_name}: {pname} has shape {list(shape)} but is annotated {ann!r} "
                                 f"(at least {n_rest} dims)")
            named = dims[:k] + dims[k + 1:]
            sizes = shape[:k] + shape[len(shape) - (len(dims) - k - 1):]
        else:
            if len(shape) != len(dims):
                raise ShapeError(f"{fn_name}: {pname} has {len(shape)} dims {list(shape)} but is annotated "
                                 f"{ann!r} ({len(dims)} dims)")
            named, sizes = dims, shape
        labels = []
        for d, size in zip(named, sizes):
            if isinstance(d, int):
                if d != size:
                    raise ShapeError(f"{fn_name}: {pname} has size {size} where {ann!r} requires {d} "
                                     f"(shape {list(shape)})")
                labels.append(str(size))
                continue
            labels.append(f"{d}={size}")
        desc = f"{pname} Tensor[{','.join(labels)}]"
        for d, size in zip(named, sizes):
            if isinstance(d, int):
                continue
            if d in binding and binding[d][0] != size:
                raise ShapeError(f"{fn_name}: dim {d} is {binding[d][0]} in {binding[d][1]} but {size} in {desc}")
            binding.setdefault(d, (size, desc))
        described[id(tensor)] = desc
    return described


@contextlib.contextmanager
def checked_call(fn, args, kwargs, params_for):
    """Checks ``fn``'s annotated tensor parameters against the call's tensors, and names the
    parameter tensors (``params_for(tensor)`` maps an argument to its trace parameter) while
    the body is traced."""
    try:
        sig = inspect.signature(fn, eval_str=True)  # string annotations (from __future__) too
        bound = sig.bind(*args, **kwargs)
    except (TypeError, ValueError, NameError, SyntaxError):
        yield
        return
    from .tensor import Tensor
    params = [(name, value, sig.parameters[name].annotation) for name, value in bound.arguments.items()
              if isinstance(value, Tensor) and isinstance(sig.parameters[name].annotation, TensorType)]
    described = _bind(getattr(fn, "__name__", "function"), params, {})
    saved = dict(_described)
    for name, value, _ in params:
        _described[id(params_for(value))] = described[id(value)]
    try:
        yield
    finally:
        _described.clear()
        _described.update(saved)


def rename_operands(message, operands):
    """Rewrites an op's error message to show named operands: ``f32[8,128]`` -> ``q Tensor[B=8,D=128]``."""
    for t in operands:
        desc = describe(t)
        if desc:
            plain = f"{t.dtype.short}[{','.join(str(d) for d in t.shape)}]"
            message = message.replace(plain, desc, 1)
    return message
