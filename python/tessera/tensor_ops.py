"""Python operators and methods of Tensor for the elementwise ops (installed on import; ops.py
imports this module at its end).

Comparison operators are elementwise and return bool tensors, as in NumPy: ``x == y`` is a
tensor, not a truth value (``Tensor.__hash__`` stays identity-based, so tensors still work as
dict keys and in sets, which compare by identity first). ``& | ^ ~`` are logical on bool
tensors and bitwise on integer tensors; ``<< >>`` shift integers; ``//`` and ``%`` are floor
division and the modulo of Python (NumPy's floor_divide and remainder).
"""
from __future__ import annotations

from . import dtypes as _dt
from .errors import DTypeError
from .tensor import Tensor


def _op(name):
    from . import ops
    return getattr(ops, name)


def _bitwise(name, symbol):
    """& | ^ : logical on bools, bitwise on integers (an error for floats)."""
    def method(self, other, _reverse=False):
        from .ops import _number
        other = _number(other)
        for t in (self, other):
            if isinstance(t, Tensor) and t.dtype.kind == "f" or isinstance(t, float):
                dt = t.dtype.name if isinstance(t, Tensor) else "float"
                raise DTypeError(f"{name}: the {symbol} operator needs integer or bool operands, got {dt}")
        args = (other, self) if _reverse else (self, other)
        return _op(name)(*args)
    return method


def _invert(self):
    if self.dtype.kind == "f":
        raise DTypeError(f"bitwise_invert: the ~ operator needs an integer or bool tensor, got {self.dtype.name}")
    return _op("bitwise_invert")(self)


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
    "floor": "floor", "ceil": "ceil", "trunc": "trunc", "rint": "round", "isnan": "isnan", "isinf": "isinf",
    "isfinite": "isfinite", "signbit": "signbit", "arctan": "atan", "arcsin": "asin", "arccos": "acos", "tan": "tan",
    "sinh": "sinh", "cosh": "cosh", "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "log2": "log2",
    "log10": "log10", "exp2": "exp2", "arctan2": "atan2", "hypot": "hypot", "logaddexp": "logaddexp",
    "copysign": "copysign", "floor_divide": "floor_divide", "remainder": "remainder", "fmod": "fmod",
    "bitwise_and": "bitwise_and", "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor",
    "invert": "bitwise_invert", "left_shift": "left_shift", "right_shift": "right_shift",
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


def _comparable(other):
    if isinstance(other, (Tensor, int, float)):
        return True
    return type(other).__module__ == "numpy" and getattr(other, "ndim", None) == 0


def _array_namespace(self, /, *, api_version=None):
    """The array API standard's namespace for tessera tensors (tessera.array_api)."""
    if api_version not in (None, "2023.12", "2022.12", "2021.12"):
        raise ValueError(f"tessera implements the array API 2023.12, not {api_version}")
    from . import array_api
    return array_api


def _to_device(self, device, /, *, stream=None):
    return self.to(device=device)


def _mT(self):
    from . import array_api
    return array_api.matrix_transpose(self)


def _install():
    T = Tensor
    T.__array_namespace__ = _array_namespace
    T.to_device = _to_device
    T.mT = property(_mT)
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
    T.__eq__ = lambda self, other: _op("equal")(self, other) if _comparable(other) else NotImplemented
    T.__ne__ = lambda self, other: _op("not_equal")(self, other) if _comparable(other) else NotImplemented
    T.__hash__ = object.__hash__  # defining __eq__ would otherwise drop it
    T.__and__ = _bitwise("bitwise_and", "&")
    T.__rand__ = lambda self, other: T.__and__(self, other, True)
    T.__or__ = _bitwise("bitwise_or", "|")
    T.__ror__ = lambda self, other: T.__or__(self, other, True)
    T.__xor__ = _bitwise("bitwise_xor", "^")
    T.__rxor__ = lambda self, other: T.__xor__(self, other, True)
    T.__invert__ = _invert
    T.__lshift__ = lambda self, other: _op("left_shift")(self, other)
    T.__rlshift__ = lambda self, other: _op("left_shift")(other, self)
    T.__rshift__ = lambda self, other: _op("right_shift")(self, other)
    T.__rrshift__ = lambda self, other: _op("right_shift")(other, self)
    T.__floordiv__ = lambda self, other: _op("floor_divide")(self, other)
    T.__rfloordiv__ = lambda self, other: _op("floor_divide")(other, self)
    T.__mod__ = lambda self, other: _op("remainder")(self, other)
    T.__rmod__ = lambda self, other: _op("remainder")(other, self)
    T.__divmod__ = lambda self, other: (_op("floor_divide")(self, other), _op("remainder")(self, other))
    T.__rdivmod__ = lambda self, other: (_op("floor_divide")(other, self), _op("remainder")(other, self))
    T.__pos__ = lambda self: self
    T.astype = astype
    for name in ("log", "sqrt", "sigmoid", "tanh", "abs"):
        setattr(T, name, _op(name))


_install()
