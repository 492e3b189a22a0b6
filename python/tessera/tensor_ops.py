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


def _install():
    T = Tensor
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
