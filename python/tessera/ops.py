"""Tessera's operators (``tessera.op``, alias ``tessera.ops``).

Each function records one Graph IR op; its shape and dtype rule lives in the native op registry
(one definition per op), which checks the operands here, at the user's line. This first set is
the walking skeleton's; the full operator library is generated from the registry later.
"""
from __future__ import annotations

from . import _C
from . import dtypes as _dt
from .errors import DeviceError, TesseraError
from .lazy import Node, TypeAttr, user_location
from .tensor import Tensor

__all__ = ["add", "sub", "mul", "maximum", "neg", "exp", "relu", "sum", "matmul"]


def _operands(name, args, loc):
    """Tensors for ``args``; Python numbers become rank-0 constants of the tensors' dtype."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    if not tensors:
        raise TesseraError(f"{name}: needs at least one tessera.Tensor operand", loc)
    ref = tensors[0]
    out = []
    for a in args:
        if isinstance(a, Tensor):
            if a.device != ref.device:
                raise DeviceError(f"{name}: operands are on different devices ({ref.device} and {a.device}); "
                                  f"move one with .to()", loc)
            out.append(a)
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            node = Node("constant", (), {"value": float(a), "type": TypeAttr(ref.dtype, ())}, loc)
            out.append(Tensor._lazy(node, (), ref.dtype, ref.device))
        else:
            raise TesseraError(f"{name}: operands must be tessera.Tensor or Python numbers, got "
                               f"{type(a).__name__}", loc)
    return out


def apply(name, args, attrs=None):
    """Records op ``name`` applied to ``args`` and returns its lazy result."""
    loc = user_location()
    tensors = _operands(name, args, loc)
    attrs = attrs or {}
    try:
        ((dtype, shape),) = _C.infer_op(name, [(t.dtype.short, t.shape) for t in tensors], attrs)
    except TesseraError as e:
        raise type(e)(e.message, loc) from None
    return Tensor._lazy(Node(name, tensors, attrs, loc), shape, _dt.dtype(dtype), tensors[0].device)


def add(x, y):
    """x + y, elementwise, with NumPy broadcasting."""
    return apply("add", (x, y))


def sub(x, y):
    """x - y, elementwise, with NumPy broadcasting."""
    return apply("sub", (x, y))


def mul(x, y):
    """x * y, elementwise, with NumPy broadcasting."""
    return apply("mul", (x, y))


def maximum(x, y):
    """max(x, y), elementwise, with NumPy broadcasting; NaN propagates."""
    return apply("maximum", (x, y))


def neg(x):
    """-x, elementwise."""
    return apply("neg", (x,))


def exp(x):
    """e**x, elementwise (floating-point tensors)."""
    return apply("exp", (x,))


def relu(x):
    """max(x, 0), elementwise."""
    return apply("relu", (x,))


def sum(x, axis=-1, keepdims=False):  # noqa: A001 - mirrors numpy.sum
    """Sum over one axis (default: the last)."""
    return apply("sum", (x,), {"axis": int(axis), "keepdims": bool(keepdims)})


def matmul(x, y):
    """Matrix product of rank-2 tensors [M,K] @ [K,N]."""
    return apply("matmul", (x, y))


def _install_tensor_methods():
    """Python operators and methods on Tensor, all recording the ops above."""
    Tensor.__add__ = lambda self, other: add(self, other)
    Tensor.__radd__ = lambda self, other: add(other, self)
    Tensor.__sub__ = lambda self, other: sub(self, other)
    Tensor.__rsub__ = lambda self, other: sub(other, self)
    Tensor.__mul__ = lambda self, other: mul(self, other)
    Tensor.__rmul__ = lambda self, other: mul(other, self)
    Tensor.__matmul__ = lambda self, other: matmul(self, other)
    Tensor.__neg__ = lambda self: neg(self)
    Tensor.exp = exp
    Tensor.relu = relu
    Tensor.sum = sum
    Tensor.maximum = maximum


_install_tensor_methods()
