"""Shape annotations: ``tessera.Tensor["B", "S", "D"]``.

Annotate the tensor parameters of a function compiled with ``tessera.jit`` (or differentiated
with ``tessera.grad``) and every call is checked when it is traced: each parameter must have
as many dims as named, a dim name binds to one size for the whole call, and an integer pins a
size. Errors name the parameter, both shapes with their dim names, and the caller's line:

    ShapeError: attention: dim D is 128 in q Tensor[B=8,N=1024,D=128] but 256 in
    k Tensor[B=8,D=256,M=1024] at model.py:42

While the function is traced, ops whose shapes do not fit report their operands the same way
(``matmul: inner dims differ: q Tensor[B=8,N=1024,D=128] @ k Tensor[B=8,D=256,M=1024]``).

Symbolic dims (``tessera.jit(fn, dynamic=...)``, see ``symbolic_dims``): a traced tensor's shape
may hold ``SymDim`` names in place of sizes, e.g. ``("B", 128)``; one trace then serves every B.
"""
from __future__ import annotations

import contextlib
import inspect
import weakref
import re

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


class SymDim(str):
    """A symbolic dim in a traced tensor's shape: its name (``x.shape == ("B", 128)``). The size
    is only known per call, so using it as a number is an error that says how to fix it."""

    __slots__ = ()

    def _no_size(self, *_):
        from .lazy import user_location
        raise ShapeError(f"dim {str(self)} is symbolic (tessera.jit dynamic=...): its size is not known while "
                         f"tracing, so it cannot be used as a number; use ops that keep the dim whole, or mark "
                         f"{str(self)} static (leave it out of dynamic=)", user_location())

    __index__ = __int__ = __float__ = _no_size
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _no_size
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _no_size
    __lt__ = __le__ = __gt__ = __ge__ = _no_size

    def __repr__(self):
        return str(self)


def sym_shape(shape):
    """``shape`` with symbol names (plain str from the native side) as SymDim."""
    for d in shape:
        if d.__class__ is str:
            return tuple(SymDim(x) if isinstance(x, str) else x for x in shape)
    return tuple(shape)


def is_symbolic(shape) -> bool:
    return any(isinstance(d, str) for d in shape)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def annotated_names(fn):
    """Every dim name in ``fn``'s ``Tensor[...]`` parameter annotations, or None when the
    annotations cannot be evaluated yet."""
    try:
        sig = inspect.signature(fn, eval_str=True)
    except (TypeError, ValueError, NameError, SyntaxError):
        return None
    return {d for p in sig.parameters.values() if isinstance(p.annotation, TensorType)
            for d in p.annotation.dims if isinstance(d, str)}


def check_dynamic(fn_name, fn, dynamic):
    """Normalises jit's ``dynamic=``: None (off), True (every dim) or a frozenset of dim names,
    each of which must appear in ``fn``'s annotations (checked once they can be evaluated)."""
    if dynamic is None or dynamic is False:
        return None
    if dynamic is True:
        return True
    names = (dynamic,) if isinstance(dynamic, str) else dynamic
    try:
        names = tuple(names)
    except TypeError:
        names = None
    if not names or not all(isinstance(n, str) for n in names):
        raise TesseraError(f"tessera.jit({fn_name}): dynamic= must be True or dim names from the function's "
                           f"Tensor[...] annotations, got {dynamic!r}")
    known = annotated_names(fn)
    if known is not None:
        _check_names(fn_name, names, known)
    return frozenset(names)


def _check_names(fn_name, names, known):
    unknown = sorted(n for n in names if n not in known)
    if unknown:
        raise TesseraError(f"tessera.jit({fn_name}): dynamic= names {', '.join(map(repr, unknown))}, which no "
                           f"Tensor[...] annotation of its parameters uses (they name: "
                           f"{', '.join(sorted(known)) or 'none'})")


def symbolic_dims(fn, args, kwargs, leaves, dynamic):
    """Per tensor leaf of a call: (label, dims) where dims has a symbol name (str) for each
    symbolic dim and None for each static one. ``dynamic`` is check_dynamic's value. Equal
    annotation names give equal symbols; with ``dynamic=True`` the dims no annotation names or
    pins get names of their own, ``<param>.<axis>``."""
    fn_name = getattr(fn, "__name__", "function")
    by_leaf = {}
    try:
        sig = inspect.signature(fn, eval_str=True)
        bound = sig.bind(*args, **kwargs)
    except (TypeError, ValueError, NameError, SyntaxError):
        bound = None
    if bound is not None:
        for pname, value in bound.arguments.items():
            ann = sig.parameters[pname].annotation
            # One tensor may be passed for several parameters: keep each one's annotation,
            # in order, for the leaves (which follow the arguments' order).
            by_leaf.setdefault(id(value), []).append((pname, ann if isinstance(ann, TensorType) else None))
    if dynamic is not True:
        _check_names(fn_name, dynamic, annotated_names(fn) or set())
    out = []
    for i, t in enumerate(leaves):
        queue = by_leaf.get(id(t))
        pname, ann = queue.pop(0) if queue else (f"arg{i}", None)
        names = [None] * t.ndim
        if ann is not None and len(ann.dims) - (Ellipsis in ann.dims) <= t.ndim:
            dims = list(ann.dims)
            if Ellipsis in dims:
                k = dims.index(Ellipsis)
                dims = dims[:k] + [None] * (t.ndim - len(dims) + 1) + dims[k + 1:]
            if len(dims) == t.ndim:
                names = dims
        sym = []
        for axis, d in enumerate(names):
            if isinstance(d, int):
                sym.append(None)
            elif isinstance(d, str):
                if not _IDENT.match(d):
                    raise TesseraError(f"tessera.jit({fn_name}): dim name {d!r} of {pname} must be an identifier "
                                       "to be symbolic")
                sym.append(d if dynamic is True or d in dynamic else None)
            else:
                sym.append(f"{pname}.{axis}" if dynamic is True else None)
        out.append((pname, tuple(sym)))
    return out


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
                if isinstance(size, str) or d != size:
                    raise ShapeError(f"{fn_name}: {pname} has size {size} where {ann!r} requires {d} "
                                     f"(shape {list(shape)})")
                labels.append(str(size))
                continue
            labels.append(d if isinstance(size, str) and size == d else f"{d}={size}")
        desc = f"{pname} Tensor[{','.join(labels)}]"
        for d, size in zip(named, sizes):
            if isinstance(d, int):
                continue
            if d in binding and binding[d][0] != size:
                raise ShapeError(f"{fn_name}: dim {d} is {binding[d][0]} in {binding[d][1]} but {size} in {desc}")
            binding.setdefault(d, (size, desc))
        described[id(tensor)] = desc
    return described


_signatures = weakref.WeakKeyDictionary()  # function -> its signature if it has TensorType annotations


def _annotated_signature(fn):
    """fn's signature when a parameter is annotated with a TensorType, else None (cached: an
    eager training loop traces the same function every step)."""
    try:
        return _signatures[fn]
    except (KeyError, TypeError):
        pass
    try:
        sig = inspect.signature(fn, eval_str=True)  # string annotations (from __future__) too
        if not any(isinstance(p.annotation, TensorType) for p in sig.parameters.values()):
            sig = None
    except (TypeError, ValueError, NameError, SyntaxError):
        sig = None
    try:
        _signatures[fn] = sig
    except TypeError:  # not weak-referenceable (a builtin): look it up each time
        pass
    return sig


@contextlib.contextmanager
def checked_call(fn, args, kwargs, traced_args, traced_kwargs):
    """Checks ``fn``'s annotated tensor parameters against the call's tensors, and names the
    parameter tensors while the body is traced (``traced_args``/``traced_kwargs``: the call with
    each tensor replaced by its trace parameter; bound by name, so one tensor passed for two
    parameters keeps both annotations)."""
    sig = _annotated_signature(fn)
    if sig is None:  # no Tensor[...] annotations: nothing to check (the common case)
        yield
        return
    try:
        bound = sig.bind(*args, **kwargs)
        traced = sig.bind(*traced_args, **traced_kwargs).arguments
    except (TypeError, ValueError, NameError, SyntaxError):
        yield
        return
    from .tensor import Tensor
    params = [(name, value, sig.parameters[name].annotation) for name, value in bound.arguments.items()
              if isinstance(value, Tensor) and isinstance(sig.parameters[name].annotation, TensorType)]
    fn_name = getattr(fn, "__name__", "function")
    described = _bind(fn_name, params, {})
    # Symbolic parameters (jit dynamic=) are described by their names: x Tensor[B,D=128].
    symbolic = [(n, traced[n], a) for n, v, a in params if is_symbolic(traced[n].shape)]
    described.update(_bind(fn_name, symbolic, {}))
    saved = dict(_described)
    for name, value, _ in params:
        p = traced[name]
        _described[id(p)] = described.get(id(p)) or described[id(value)]
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
