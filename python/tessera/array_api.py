"""The Python array API standard (2023.12) over Tessera tensors: ``tessera.array_api``, which
``Tensor.__array_namespace__()`` returns, so libraries written against the standard (through
``array_api_compat.array_namespace``, SciPy's and scikit-learn's array-API paths) run on
Tessera tensors.

Every function is a thin layer over Tessera's own (same ops, same compiler); this module only
gives them the standard's names and signatures. Where Tessera cannot follow the standard, the
function raises an error that says so:

- dtypes: Tessera has bool, int8, int32, int64, uint8, float32, float64 (and float16, bfloat16);
  int16, uint16/32/64 and the complex dtypes are missing, so int8 + uint8 promotes to int32.
- data-dependent output shapes: ``nonzero`` and boolean-mask reads ``x[mask]`` work eagerly (the
  count is read first), not inside traces; ``unique_*`` are missing. Tessera compiles programs of
  static shapes, so ``capabilities()`` reports both as unsupported.
- ``sort``/``argsort`` (stable, O(n log^2 n)) run on the CPU only for now; ``nextafter`` is missing.
"""
from __future__ import annotations

import builtins
import math
from typing import NamedTuple

from . import dtypes as _dt
from . import ops as _ops
from .device import device as _device
from .errors import DTypeError, ShapeError, TesseraError, TesseraValueError
from .functions import eye as _eye, linspace as _linspace, meshgrid as _meshgrid
from .tensor import Tensor, arange as _arange, empty as _empty, from_dlpack as _from_dlpack, full as _full
from .tensor import tensor as _tensor
from .vmap import moveaxis  # noqa: F401 - part of the namespace

__array_api_version__ = "2023.12"

# ---- data types and constants ----

bool = _dt.bool_  # noqa: A001 - the standard's name
int8, int32, int64, uint8 = _dt.int8, _dt.int32, _dt.int64, _dt.uint8
float32, float64 = _dt.float32, _dt.float64
e, pi, inf, nan, newaxis = math.e, math.pi, math.inf, math.nan, None

_KINDS = {"bool": "b", "signed integer": "i", "unsigned integer": "u", "integral": "iu", "real floating": "f",
          "numeric": "iuf"}


def isdtype(dtype, kind):
    """Whether ``dtype`` is of ``kind``: a dtype, a kind name, or a tuple of those."""
    if isinstance(kind, tuple):
        return builtins.any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, str):
        if kind == "complex floating":
            return False
        if kind not in _KINDS:
            raise TesseraValueError(f"isdtype: unknown kind {kind!r}")
        return _dt.dtype(dtype).kind in _KINDS[kind]
    return _dt.dtype(dtype) is _dt.dtype(kind)


def result_type(*arrays_and_dtypes):
    """The dtype the standard's promotion gives (Python numbers are weak): the op registry's
    rule, asked through `where`, whose branches promote like every binary op."""
    from . import _C
    dts = [x.dtype if isinstance(x, Tensor) else _dt.dtype(x) for x in arrays_and_dtypes
           if not isinstance(x, (builtins.bool, int, float))]
    if not dts:
        raise TesseraValueError("result_type: needs at least one array or dtype")
    out = dts[0]
    for d in dts[1:]:
        ((name, _),) = _C.infer_op("where", [("bool", ()), (out.short, ()), (d.short, ())], {})
        out = _dt.dtype(name)
    return out


def can_cast(from_, to):
    """Whether promoting ``from_`` with ``to`` gives ``to`` (the standard's "safe" casting)."""
    src = from_.dtype if isinstance(from_, Tensor) else _dt.dtype(from_)
    dst = _dt.dtype(to)
    if src is dst:
        return True
    if src is _dt.bool_:
        return True
    if dst is _dt.bool_ or (src.kind == "f" and dst.kind != "f"):
        return False
    return result_type(src, dst) is dst


class finfo:  # noqa: N801 - the standard's name
    def __init__(self, dtype):
        import numpy as np
        dt = dtype.dtype if isinstance(dtype, Tensor) else _dt.dtype(dtype)
        if dt.kind != "f":
            raise DTypeError(f"finfo: {dt.name} is not a floating-point dtype")
        info = np.finfo(np.float32 if dt is _dt.bfloat16 else dt.name)
        self.dtype, self.bits = dt, 8 * dt.itemsize
        if dt is _dt.bfloat16:
            self.eps, self.max, self.min = 2.0 ** -7, float(info.max), float(info.min)
            self.smallest_normal = float(info.tiny)
        else:
            self.eps, self.max = float(info.eps), float(info.max)
            self.min, self.smallest_normal = float(info.min), float(info.smallest_normal)


class iinfo:  # noqa: N801
    def __init__(self, dtype):
        dt = dtype.dtype if isinstance(dtype, Tensor) else _dt.dtype(dtype)
        if dt.kind not in "iu":
            raise DTypeError(f"iinfo: {dt.name} is not an integer dtype")
        self.dtype, self.bits = dt, 8 * dt.itemsize
        self.min = -(1 << (self.bits - 1)) if dt.kind == "i" else 0
        self.max = (1 << (self.bits - 1)) - 1 if dt.kind == "i" else (1 << self.bits) - 1


def astype(x, dtype, /, *, copy=True, device=None):
    out = x.astype(dtype)
    if copy and out is x:
        out = _tensor(x)
    return out.to(device) if device is not None else out


# ---- inspection ----

class _Info:
    def capabilities(self):
        return {"boolean indexing": False, "data-dependent shapes": False}

    def default_device(self):
        return _device("cpu")

    def default_dtypes(self, *, device=None):
        return {"real floating": float32, "complex floating": None, "integral": int64, "indexing": int64}

    def dtypes(self, *, device=None, kind=None):
        names = {"bool": bool, "int8": int8, "int32": int32, "int64": int64, "uint8": uint8, "float32": float32,
                 "float64": float64}
        return {n: d for n, d in names.items() if kind is None or isdtype(d, kind)}

    def devices(self):
        from .device import device_count
        return [_device("cpu")] + [_device(f"cuda:{i}") for i in range(device_count("cuda"))]


def __array_namespace_info__():
    return _Info()


# ---- creation ----

def _dev(device):
    return "cpu" if device is None else device


def asarray(obj, /, *, dtype=None, device=None, copy=None):
    """A tensor from a tensor, array, DLPack producer, number or nested sequence. copy=False
    never copies (an error when it would have to); None copies only when needed."""
    if isinstance(obj, Tensor) and (dtype is None or _dt.dtype(dtype) is obj.dtype) and \
            (device is None or _device(device) == obj.device):
        return _tensor(obj) if copy else obj
    if copy is False:
        if hasattr(obj, "__dlpack__") and dtype is None:
            return _from_dlpack(obj, device=device, copy=False)
        raise TesseraValueError("asarray: copy=False, but the result needs a copy (another dtype or device)")
    if isinstance(obj, Tensor):
        return obj.to(device=device, dtype=dtype)
    return _tensor(obj, dtype=dtype, device=device)


def arange(start, /, stop=None, step=1, *, dtype=None, device=None):
    return _arange(start, stop, step, dtype=dtype, device=_dev(device))


def empty(shape, *, dtype=None, device=None):
    return _empty(*_shape(shape), dtype=dtype or float32, device=_dev(device))


def zeros(shape, *, dtype=None, device=None):
    return _full(_shape(shape), 0, dtype=dtype or float32, device=_dev(device))


def ones(shape, *, dtype=None, device=None):
    return _full(_shape(shape), 1, dtype=dtype or float32, device=_dev(device))


def full(shape, fill_value, *, dtype=None, device=None):
    return _full(_shape(shape), fill_value, dtype=dtype, device=_dev(device))


def _like(x, dtype, device):
    return dtype or x.dtype, device or x.device


def empty_like(x, /, *, dtype=None, device=None):
    dt, dev = _like(x, dtype, device)
    return _empty(*x.shape, dtype=dt, device=dev)


def zeros_like(x, /, *, dtype=None, device=None):
    dt, dev = _like(x, dtype, device)
    return _full(x.shape, 0, dtype=dt, device=dev)


def ones_like(x, /, *, dtype=None, device=None):
    dt, dev = _like(x, dtype, device)
    return _full(x.shape, 1, dtype=dt, device=dev)


def full_like(x, /, fill_value, *, dtype=None, device=None):
    dt, dev = _like(x, dtype, device)
    return _full(x.shape, fill_value, dtype=dt, device=dev)


def eye(n_rows, n_cols=None, /, *, k=0, dtype=None, device=None):
    return _eye(n_rows, n_cols, k=k, dtype=dtype or float32, device=_dev(device))


def linspace(start, stop, /, num, *, dtype=None, device=None, endpoint=True):
    return _linspace(start, stop, num, endpoint=endpoint, dtype=dtype, device=_dev(device))


def meshgrid(*arrays, indexing="xy"):
    return _meshgrid(*arrays, indexing=indexing)


def tril(x, /, *, k=0):
    return _ops.tril(x, diagonal=k)


def triu(x, /, *, k=0):
    return _ops.triu(x, diagonal=k)


def from_dlpack(x, /, *, device=None, copy=None):
    return _from_dlpack(x, device=device, copy=copy)


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


# ---- element-wise ----

def _binary(op):
    def fn(x1, x2, /):
        return op(x1, x2)
    return fn


def _unary(op):
    def fn(x, /):
        return op(x)
    return fn


add, subtract, multiply, divide = map(_binary, (_ops.add, _ops.sub, _ops.mul, _ops.div))
pow, floor_divide, remainder = map(_binary, (_ops.pow, _ops.floor_divide, _ops.remainder))  # noqa: A001
maximum, minimum, atan2, hypot, copysign, logaddexp = map(_binary, (_ops.maximum, _ops.minimum, _ops.atan2,
                                                                    _ops.hypot, _ops.copysign, _ops.logaddexp))
equal, not_equal, less, less_equal, greater, greater_equal = map(_binary, (
    _ops.equal, _ops.not_equal, _ops.less, _ops.less_equal, _ops.greater, _ops.greater_equal))
logical_and, logical_or, logical_xor = map(_binary, (_ops.logical_and, _ops.logical_or, _ops.logical_xor))
bitwise_and, bitwise_or, bitwise_xor = map(_binary, (_ops.bitwise_and, _ops.bitwise_or, _ops.bitwise_xor))
bitwise_left_shift, bitwise_right_shift = map(_binary, (_ops.left_shift, _ops.right_shift))
abs, negative, sign, sqrt, exp, expm1, log, log1p, log2, log10 = map(_unary, (  # noqa: A001
    _ops.abs, _ops.neg, _ops.sign, _ops.sqrt, _ops.exp, _ops.expm1, _ops.log, _ops.log1p, _ops.log2, _ops.log10))
sin, cos, tan, asin, acos, atan, sinh, cosh, tanh, asinh, acosh, atanh = map(_unary, (
    _ops.sin, _ops.cos, _ops.tan, _ops.asin, _ops.acos, _ops.atan, _ops.sinh, _ops.cosh, _ops.tanh, _ops.asinh,
    _ops.acosh, _ops.atanh))
floor, ceil, trunc, round, isnan, isinf, isfinite, signbit = map(_unary, (  # noqa: A001
    _ops.floor, _ops.ceil, _ops.trunc, _ops.round, _ops.isnan, _ops.isinf, _ops.isfinite, _ops.signbit))
logical_not, bitwise_invert = _unary(_ops.logical_not), _unary(_ops.bitwise_invert)


def positive(x, /):
    return x


def square(x, /):
    return _ops.mul(x, x)


def reciprocal(x, /):
    return _ops.div(1.0, x)


def real(x, /):
    return x  # Tessera has no complex dtypes: every tensor is real


def imag(x, /):
    return zeros_like(x)


def conj(x, /):
    return x


def clip(x, /, min=None, max=None):  # noqa: A002 - the standard's names
    out = x
    if min is not None:
        out = _ops.maximum(out, min)
    if max is not None:
        out = _ops.minimum(out, max)
    return out


def nextafter(x1, x2, /):
    raise TesseraError("nextafter is not available in Tessera yet (it needs bit-level access to floats)")


# ---- manipulation ----

def reshape(x, /, shape, *, copy=None):
    if copy is False:
        raise TesseraValueError("reshape: copy=False cannot be guaranteed (Tessera tensors are values)")
    return x.reshape(tuple(shape))


def permute_dims(x, /, axes):
    return _ops.transpose(x, perm=list(axes))


def matrix_transpose(x, /):
    if x.ndim < 2:
        raise ShapeError(f"matrix_transpose: needs a tensor of rank >= 2, got shape {x.shape}")
    perm = list(range(x.ndim - 2)) + [x.ndim - 1, x.ndim - 2]
    return _ops.transpose(x, perm=perm)


def broadcast_to(x, /, shape):
    return _ops.broadcast_to(x, shape=list(shape)) if tuple(shape) != tuple(x.shape) else x


def broadcast_arrays(*arrays):
    shape = ()
    for a in arrays:
        shape = _broadcast_shapes(shape, tuple(a.shape))
    return [broadcast_to(a, shape) for a in arrays]


def _broadcast_shapes(a, b):
    out = []
    for i in range(1, builtins.max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and x != 1 and y != 1:
            raise ShapeError(f"broadcast_arrays: shapes {a} and {b} do not broadcast")
        out.append(y if x == 1 else x)
    return tuple(reversed(out))


def concat(arrays, /, *, axis=0):
    if axis is None:
        return _ops.concat([a.reshape(-1) for a in arrays], axis=0)
    return _ops.concat(list(arrays), axis=axis)


def stack(arrays, /, *, axis=0):
    return _ops.stack(list(arrays), axis=axis)


def unstack(x, /, *, axis=0):
    n = x.shape[axis]
    return tuple(_ops.take(x, _tensor(i, device=x.device), axis=axis) for i in range(n))


def expand_dims(x, /, axis=0):
    return x.expand_dims(axis)


def squeeze(x, /, axis):
    return x.squeeze(axis)


def flip(x, /, *, axis=None):
    return _ops.flip(x, axis=axis)


def roll(x, /, shift, *, axis=None):
    shifts = list(shift) if isinstance(shift, (tuple, list)) else [shift]
    axes = None if axis is None else (list(axis) if isinstance(axis, (tuple, list)) else [axis])
    if axes is not None and len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    return _ops.roll(x, shift=shifts, axis=axes)


def repeat(x, repeats, /, *, axis=None):
    if isinstance(repeats, Tensor) or isinstance(repeats, (list, tuple)):
        counts = [int(r) for r in (repeats.reshape(-1).tolist() if isinstance(repeats, Tensor) else repeats)]
        src = x.reshape(-1) if axis is None else x
        ax = 0 if axis is None else axis % builtins.max(src.ndim, 1)
        n = src.shape[ax]
        if len(counts) == 1:  # one count for every element
            return _ops.repeat(src, repeats=counts[0], axis=ax)
        if len(counts) != n:
            raise ShapeError(f"repeat: {len(counts)} counts for axis {ax} of size {n}")
        idx = [i for i, c in enumerate(counts) for _ in range(c)]
        if not idx:
            return _ops.slice(src, start=[0] * (ax + 1), stop=[(1 << 63) - 1] * ax + [0])
        return _ops.take(src, _tensor(idx, dtype=int64, device=x.device), axis=ax)
    return _ops.repeat(x, repeats=int(repeats), axis=axis)


def tile(x, repetitions, /):
    return _ops.tile(x, reps=list(repetitions))


# ---- indexing, searching, sorting ----

def take(x, indices, /, *, axis=None):
    if axis is None:
        if x.ndim != 1:
            raise ShapeError("take: axis is required for tensors of rank != 1")
        axis = 0
    return _ops.take(x, indices, axis=axis)


def argmax(x, /, *, axis=None, keepdims=False):
    if axis is None:
        out = _ops.argmax(x.reshape(-1), axis=0)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return _ops.argmax(x, axis=axis, keepdims=keepdims)


def argmin(x, /, *, axis=None, keepdims=False):
    if axis is None:
        out = _ops.argmin(x.reshape(-1), axis=0)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return _ops.argmin(x, axis=axis, keepdims=keepdims)


def where(condition, x1, x2, /):
    return _ops.where(condition, x1, x2)


def _unsupported(name):
    def fn(*args, **kwargs):
        raise TesseraError(f"{name}: its output shape depends on the data, which Tessera's static-shape programs do "
                           f"not support (capabilities()['data-dependent shapes'] is False)")
    fn.__name__ = name
    return fn


def nonzero(x, /):
    from .indexing import nonzero as _nonzero
    return _nonzero(x)


unique_all, unique_counts = _unsupported("unique_all"), _unsupported("unique_counts")
unique_inverse, unique_values = _unsupported("unique_inverse"), _unsupported("unique_values")


def count_nonzero(x, /, *, axis=None, keepdims=False):
    return _ops.sum(_ops.cast(_ops.not_equal(x, 0), "i64"), axis=axis, keepdims=keepdims)


def argsort(x, /, *, axis=-1, descending=False, stable=True):
    return _ops.argsort(x, axis=axis, descending=descending)


def sort(x, /, *, axis=-1, descending=False, stable=True):
    return _ops.sort(x, axis=axis, descending=descending)


def searchsorted(x1, x2, /, *, side="left", sorter=None):
    """Insertion points of x2 in the sorted 1-D x1 (a binary search)."""
    if x1.ndim != 1:
        raise ShapeError(f"searchsorted: x1 must be 1-D, got shape {x1.shape}")
    if sorter is not None:
        x1 = _ops.take(x1, sorter, axis=0)
    return _ops.searchsorted(x1, x2, side=side)


# ---- statistics and utilities ----

def _reduction(op):
    def fn(x, /, *, axis=None, keepdims=False, **kw):
        return op(x, axis=axis, keepdims=keepdims, **kw)
    return fn


max, min, mean = map(_reduction, (_ops.max, _ops.min, _ops.mean))  # noqa: A001
all, any = map(_reduction, (_ops.all, _ops.any))  # noqa: A001


def sum(x, /, *, axis=None, dtype=None, keepdims=False):  # noqa: A001
    kw = {"dtype": _dt.dtype(dtype).short} if dtype is not None else {}
    return _ops.sum(x, axis=axis, keepdims=keepdims, **kw)


def prod(x, /, *, axis=None, dtype=None, keepdims=False):
    kw = {"dtype": _dt.dtype(dtype).short} if dtype is not None else {}
    return _ops.prod(x, axis=axis, keepdims=keepdims, **kw)


def std(x, /, *, axis=None, correction=0.0, keepdims=False):
    return _ops.std(x, axis=axis, correction=float(correction), keepdims=keepdims)


def var(x, /, *, axis=None, correction=0.0, keepdims=False):
    return _ops.var(x, axis=axis, correction=float(correction), keepdims=keepdims)


def _cumulative(x, axis, dtype, include_initial, scan, identity):
    if axis is None:
        if x.ndim > 1:
            raise ShapeError(f"{scan}: axis is required for tensors of rank > 1")
        axis = 0
    if dtype is not None:
        x = x.astype(dtype)
    axis %= builtins.max(x.ndim, 1)
    out = getattr(_ops, scan)(x, axis=axis)
    if dtype is not None:
        out = out.astype(dtype)  # integer scans come out as int64
    if include_initial:
        pad = [0, 0] * x.ndim
        pad[2 * axis] = 1
        out = _ops.apply("pad", (out,), {"pad": pad, "value": float(identity)})
    return out


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    return _cumulative(x, axis, dtype, include_initial, "cumsum", 0)


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    return _cumulative(x, axis, dtype, include_initial, "cumprod", 1)


def diff(x, /, *, axis=-1, n=1, prepend=None, append=None):
    if prepend is not None:
        x = concat([prepend, x], axis=axis)
    if append is not None:
        x = concat([x, append], axis=axis)
    axis %= x.ndim
    for _ in range(n):
        m = x.shape[axis]
        hi = _ops.slice(x, start=[0] * axis + [1], stop=[(1 << 63) - 1] * axis + [m])
        lo = _ops.slice(x, start=[0] * (axis + 1), stop=[(1 << 63) - 1] * axis + [m - 1])
        x = _ops.sub(hi, lo) if x.dtype is not _dt.bool_ else _ops.not_equal(hi, lo)
    return x


# ---- linear algebra (main namespace) ----

def matmul(x1, x2, /):
    return _ops.matmul(x1, x2)


def vecdot(x1, x2, /, *, axis=-1):
    n1, n2 = x1.shape[axis], x2.shape[axis]
    if n1 != n2:
        raise ShapeError(f"vecdot: the contracted dims differ: {n1} (shape {x1.shape}) and {n2} (shape {x2.shape})")
    dt = result_type(x1, x2)
    kw = {"dtype": dt.short} if dt.kind != "f" else {}
    out = _ops.sum(_ops.mul(x1, x2), axis=axis, **kw)
    return out if dt is not _dt.bool_ else out.astype(dt)


def tensordot(x1, x2, /, *, axes=2):
    if isinstance(axes, int):
        a1 = list(range(x1.ndim - axes, x1.ndim))
        a2 = list(range(axes))
    else:
        a1, a2 = [a % x1.ndim for a in axes[0]], [a % x2.ndim for a in axes[1]]
    letters = "abcdefghijklmnopqrstuvwxyz"
    s1 = list(letters[:x1.ndim])
    s2 = list(letters[x1.ndim:x1.ndim + x2.ndim])
    for i, j in zip(a1, a2):
        s2[j] = s1[i]
    out = [c for i, c in enumerate(s1) if i not in a1] + [c for j, c in enumerate(s2) if j not in a2]
    return _ops.einsum([x1, x2], equation=f"{''.join(s1)},{''.join(s2)}->{''.join(out)}")



class _Linalg:
    """``linalg``: the standard's linear-algebra extension (the decompositions are
    ``tessera.linalg``'s, CPU only for now)."""

    matmul = staticmethod(matmul)
    matrix_transpose = staticmethod(matrix_transpose)
    tensordot = staticmethod(tensordot)
    vecdot = staticmethod(vecdot)

    @staticmethod
    def outer(x1, x2, /):
        return _ops.mul(_ops.expand_dims(x1, axis=-1), x2)

    @staticmethod
    def diagonal(x, /, *, offset=0):
        n, m = x.shape[-2], x.shape[-1]
        k = builtins.max(0, builtins.min(n, m - offset) if offset >= 0 else builtins.min(n + offset, m))
        rows = [i - builtins.min(offset, 0) for i in range(k)]
        cols = [i + builtins.max(offset, 0) for i in range(k)]
        flat = x.reshape(tuple(x.shape[:-2]) + (n * m,))
        idx = _tensor([r * m + c for r, c in zip(rows, cols)], dtype=int64, device=x.device)
        if k == 0:
            return _ops.slice(flat, start=[0] * flat.ndim, stop=[(1 << 63) - 1] * (flat.ndim - 1) + [0])
        return _ops.take(flat, idx, axis=-1)

    @staticmethod
    def trace(x, /, *, offset=0, dtype=None):
        d = _Linalg.diagonal(x, offset=offset)
        return sum(d, axis=-1, dtype=dtype)

    @staticmethod
    def cross(x1, x2, /, *, axis=-1):
        if x1.shape[axis] != 3 or x2.shape[axis] != 3:
            raise ShapeError(f"cross: needs size 3 along axis {axis}, got shapes {x1.shape} and {x2.shape}")
        a = [_ops.take(x1, _tensor(i, device=x1.device), axis=axis) for i in range(3)]
        b = [_ops.take(x2, _tensor(i, device=x2.device), axis=axis) for i in range(3)]
        c = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
        return _ops.stack(c, axis=axis)

    @staticmethod
    def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):  # noqa: A002
        a = _ops.abs(x)
        if ord == inf:
            return _ops.max(a, axis=axis, keepdims=keepdims)
        if ord == -inf:
            return _ops.min(a, axis=axis, keepdims=keepdims)
        if ord == 0:
            return _ops.sum(_ops.cast(_ops.not_equal(x, 0), x.dtype.short), axis=axis, keepdims=keepdims)
        if ord == 1:
            return _ops.sum(a, axis=axis, keepdims=keepdims)
        if ord == 2:
            return _ops.sqrt(_ops.sum(_ops.mul(a, a), axis=axis, keepdims=keepdims))
        return _ops.pow(_ops.sum(_ops.pow(a, float(ord)), axis=axis, keepdims=keepdims), 1.0 / ord)

    @staticmethod
    def matrix_norm(x, /, *, keepdims=False, ord="fro"):  # noqa: A002
        return _tla().matrix_norm(x, ord, keepdims=keepdims)

    @staticmethod
    def matrix_power(x, n, /):
        if n < 0:
            x, n = _tla().inv(x), -n
        out = None
        base, k = x, n
        while k:
            if k & 1:
                out = base if out is None else _ops.matmul(out, base)
            base, k = _ops.matmul(base, base), k >> 1
        if out is None:
            from .functions import eye as _e
            out = _ops.broadcast_to(_e(x.shape[-1], dtype=x.dtype, device=x.device), shape=list(x.shape))
        return out

    # The decompositions: tessera.linalg, with the standard's result tuples.
    @staticmethod
    def cholesky(x, /, *, upper=False):
        return _tla().cholesky(x, upper=upper)

    @staticmethod
    def det(x, /):
        return _tla().det(x)

    @staticmethod
    def inv(x, /):
        return _tla().inv(x)

    @staticmethod
    def solve(x1, x2, /):
        return _tla().solve(x1, x2)

    @staticmethod
    def slogdet(x, /):
        return SlogdetResult(*_tla().slogdet(x))

    @staticmethod
    def eigh(x, /):
        return EighResult(*_tla().eigh(x))

    @staticmethod
    def eigvalsh(x, /):
        return _tla().eigvalsh(x)

    @staticmethod
    def qr(x, /, *, mode="reduced"):
        return QRResult(*_tla().qr(x, mode=mode))

    @staticmethod
    def svd(x, /, *, full_matrices=True):
        return SVDResult(*_tla().svd(x, full_matrices=full_matrices))

    @staticmethod
    def svdvals(x, /):
        return _tla().svdvals(x)

    @staticmethod
    def pinv(x, /, *, rtol=None):
        return _tla().pinv(x, rcond=rtol)

    @staticmethod
    def matrix_rank(x, /, *, rtol=None):
        s = _tla().svdvals(x)
        m, n = x.shape[-2], x.shape[-1]
        tol = (builtins.max(m, n) * (2.220446049250313e-16 if x.dtype == float64 else 1.1920929e-07)
               if rtol is None else rtol)
        top = _ops.max(s, axis=-1, keepdims=True) if builtins.min(m, n) else s
        return _ops.sum(_ops.cast(_ops.greater(s, top * tol), "i64"), axis=-1)

    def __getattr__(self, name):
        raise AttributeError(f"tessera.array_api.linalg has no function {name!r}")


def _tla():
    from . import linalg as _linalg
    return _linalg


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


linalg = _Linalg()
