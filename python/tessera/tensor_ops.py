"""Python operators and methods of Tensor for the elementwise ops (installed on import; ops.py
imports this module at its end).

Comparison operators are elementwise and return bool tensors, as in NumPy: ``x == y`` is a
tensor, not a truth value (``Tensor.__hash__`` stays identity-based, so tensors still work as
dict keys and in sets, which compare by identity first). ``& | ^ ~`` are the logical ops on
bool tensors; on integer tensors they would be bitwise in NumPy, which Tessera does not offer
yet, so they raise.
"""
from __future__ import annotations

from . import dtypes as _dt
from .errors import DTypeError
from .tensor import Tensor


def _op(name):
    from . import ops
    return getattr(ops, name)


def _logical(name, symbol):
    def method(self, other, _reverse=False):
        for t in (self, other):
            if isinstance(t, Tensor) and t.dtype is not _dt.bool_:
                raise DTypeError(f"{name}: the {symbol} operator needs bool tensors, got {t.dtype.name} "
                                 f"(bitwise integer ops are not available; use {name} for truth values)")
        return _op(name)(other, self) if _reverse else _op(name)(self, other)
    return method


def _invert(self):
    if self.dtype is not _dt.bool_:
        raise DTypeError(f"logical_not: the ~ operator needs a bool tensor, got {self.dtype.name}")
    return _op("logical_not")(self)


def astype(self, dtype):
    """This tensor converted to ``dtype`` (a DType, "f32"/"float32", or a NumPy/PyTorch dtype);
    ``self`` when it already has that dtype."""
    dt = _dt.dtype(dtype)
    return self if dt is self.dtype else _op("cast")(self, dtype=dt.short)


# NumPy ufuncs that are tessera ops: np.exp(t) and np.float64(2) * t give tessera tensors.
_UFUNCS = {
    "add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "div", "divide": "div", "power": "pow",
    "negative": "neg", "absolute": "abs", "exp": "exp", "log": "log", "log1p": "log1p", "expm1": "expm1",
    "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tanh": "tanh", "sign": "sign", "maximum": "maximum",
    "minimum": "minimum", "less": "less", "less_equal": "less_equal", "greater": "greater",
    "greater_equal": "greater_equal", "equal": "equal", "not_equal": "not_equal", "logical_and": "logical_and",
    "logical_or": "logical_or", "logical_xor": "logical_xor", "logical_not": "logical_not",
}


def _ufunc_operand(x, like):
    """A ufunc input as a tessera operand: tensors as they are, NumPy scalars and 0-d arrays as
    Python numbers (weak, like Python's), other NumPy arrays as tensors on ``like``'s device."""
    if isinstance(x, Tensor):
        return x
    if type(x).__module__ == "numpy":
        if getattr(x, "ndim", 0) == 0:
            return x.item()
        from .tensor import tensor
        return tensor(x, device=like.device)
    return x


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """NEP 13: NumPy hands its ufuncs on tessera tensors to Tessera. Ufuncs that are tessera ops
    run as tessera ops (returning tensors); others (and ``out=``, ``reduce``...) run in NumPy on
    NumPy views of the tensors and return NumPy arrays, as before the tensors were passed in."""
    op = _UFUNCS.get(ufunc.__name__)
    if method == "__call__" and op is not None and not kwargs:
        return _op(op)(*[_ufunc_operand(x, self) for x in inputs])
    import numpy as np
    arrays = [np.asarray(x) if isinstance(x, Tensor) else x for x in inputs]
    if any(isinstance(o, Tensor) for o in kwargs.get("out", ()) or ()):
        return NotImplemented  # NumPy cannot write into tessera tensors
    return getattr(ufunc, method)(*arrays, **kwargs)


def _install():
    T = Tensor
    T.__array_ufunc__ = _array_ufunc
    T.__array_priority__ = 1000
    T.__truediv__ = lambda self, other: _op("div")(self, other)
    T.__rtruediv__ = lambda self, other: _op("div")(other, self)
    T.__pow__ = lambda self, other: _op("pow")(self, other)
    T.__rpow__ = lambda self, other: _op("pow")(other, self)
    T.__abs__ = lambda self: _op("abs")(self)
    T.__lt__ = lambda self, other: _op("less")(self, other)
    T.__le__ = lambda self, other: _op("less_equal")(self, other)
    T.__gt__ = lambda self, other: _op("greater")(self, other)
    T.__ge__ = lambda self, other: _op("greater_equal")(self, other)
    T.__eq__ = lambda self, other: _op("equal")(self, other) if isinstance(other, (Tensor, int, float)) else NotImplemented
    T.__ne__ = lambda self, other: _op("not_equal")(self, other) if isinstance(other, (Tensor, int, float)) else NotImplemented
    T.__hash__ = object.__hash__  # defining __eq__ would otherwise drop it
    T.__and__ = _logical("logical_and", "&")
    T.__rand__ = lambda self, other: T.__and__(self, other, True)
    T.__or__ = _logical("logical_or", "|")
    T.__ror__ = lambda self, other: T.__or__(self, other, True)
    T.__xor__ = _logical("logical_xor", "^")
    T.__rxor__ = lambda self, other: T.__xor__(self, other, True)
    T.__invert__ = _invert
    T.astype = astype
    for name in ("log", "sqrt", "sigmoid", "tanh", "abs"):
        setattr(T, name, _op(name))


_install()
