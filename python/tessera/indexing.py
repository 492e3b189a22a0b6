"""Indexing and shape methods of Tensor: ``x[...]``, ``reshape``, ``transpose``, ``permute``, ``.T``,
``expand_dims``, ``squeeze``, ``flatten`` and ``split``.

Each records data-movement ops of the registry (slice, take, squeeze, expand_dims, transpose,
reshape); the compiler fuses them with neighbouring elementwise ops, so ``relu(x.T[1:, ::-2] + b)``
is one kernel that reads ``x`` through index arithmetic. Basic indexing follows NumPy: ints
(negative count from the end), slices with any step, ``None``, ``...``, and one integer tensor
(or list of ints) indexing one axis.
"""
from __future__ import annotations

import builtins

from .errors import DTypeError, ShapeError, TesseraError, TesseraIndexError, TesseraValueError
from .lazy import user_location
from .tensor import Tensor, tensor

_WHOLE = (1 << 63) - 1  # a slice stop meaning "to the end" (op_rules.hpp kWholeStop)


def _apply(name, args, attrs=None):
    from .ops import apply  # ops imports this module at its end
    return apply(name, args, attrs or {})


def _type(x):
    return f"{x.dtype.short}[{','.join(str(d) for d in x.shape)}]"


def _as_index_tensor(key, x):
    if isinstance(key, list):
        if not builtins.all(isinstance(k, int) and not isinstance(k, bool) for k in key):
            raise TesseraIndexError(f"getitem: index lists must hold ints, got {key!r} for {_type(x)}", user_location())
        key = tensor(key, dtype="int64", device=x.device)
    if key.dtype.short == "bool":
        raise DTypeError(f"getitem: boolean mask indexing is not supported yet ({_type(key)} indexing {_type(x)})",
                         user_location())
    if key.dtype.short not in ("i64", "i32", "i8", "u8"):
        raise DTypeError(f"getitem: index tensors must be integers, got {_type(key)} indexing {_type(x)}",
                         user_location())
    return key


def _getitem(x, key):
    key = key if isinstance(key, tuple) else (key,)
    consuming = [k for k in key if k is not None and k is not Ellipsis]
    if builtins.sum(k is Ellipsis for k in key) > 1:
        raise TesseraIndexError(f"getitem: an index can only have one ellipsis ('...'), indexing {_type(x)}",
                                user_location())
    if len(consuming) > x.ndim:
        raise TesseraIndexError(f"getitem: too many indices for {_type(x)}: {len(consuming)}", user_location())
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (x.ndim - len(consuming)) + key[i + 1:]
    else:
        key = key + (slice(None),) * (x.ndim - len(consuming))

    start, stop, step = [], [], []
    dropped, layout, index, advanced = [], [], None, []  # layout: "dim" / "new" / "idx" per output entry
    dim = 0
    for pos, k in enumerate(key):
        if k is None:
            layout.append("new")
            continue
        n = x.shape[dim]
        if isinstance(n, str):  # a symbolic dim (jit dynamic=) can only be kept whole
            if k != slice(None):
                raise ShapeError(f"getitem: dim {n} (axis {dim} of {_type(x)}) is symbolic, so only a whole ':' "
                                 f"can index it, got {k!r}; mark {n} static (leave it out of jit's dynamic=)",
                                 user_location())
            start.append(0), stop.append(_WHOLE), step.append(1)
            layout.append("dim")
            dim += 1
            continue
        if isinstance(k, slice):
            if k.step == 0:
                raise TesseraValueError(f"getitem: slice step cannot be zero, indexing {_type(x)}", user_location())
            b, e, s = k.indices(n)
            start.append(b)
            stop.append(e if e >= 0 else -n - 1)  # -1 here means "before index 0", not "the last"
            step.append(s)
            layout.append("dim")
        elif isinstance(k, (Tensor, list)):
            if index is not None:
                raise TesseraIndexError(f"getitem: only one integer-tensor index is supported, indexing {_type(x)}",
                                        user_location())
            index = (dim, _as_index_tensor(k, x))
            start.append(0), stop.append(n), step.append(1)
            layout.append("idx")
            advanced.append(pos)
        elif not isinstance(k, bool) and hasattr(k, "__index__"):
            i = k.__index__()
            if not -n <= i < n:
                raise TesseraIndexError(f"getitem: index {i} is out of range for axis {dim} of {_type(x)}",
                                        user_location())
            i = i + n if i < 0 else i
            start.append(i), stop.append(i + 1), step.append(1)
            dropped.append(dim)
            advanced.append(pos)
        else:
            raise TesseraIndexError(f"getitem: unsupported index {k!r} for {_type(x)}", user_location())
        dim += 1

    y = x
    if builtins.any(b != 0 or (e != n and e != _WHOLE) or s != 1 for b, e, s, n in zip(start, stop, step, x.shape)):
        y = _apply("slice", (y,), {"start": start, "stop": stop, "step": step})
    if dropped:
        y = _apply("squeeze", (y,), {"axes": dropped})
    if index is not None:
        axis = index[0] - builtins.sum(d < index[0] for d in dropped)
        y = _apply("take", (y, index[1]), {"axis": axis})
    out_pos = 0
    for entry in layout:
        if entry == "new":
            y = _apply("expand_dims", (y,), {"axis": out_pos})
        out_pos += index[1].ndim if entry == "idx" else 1
    # NumPy: an integer tensor and ints separated by a slice, None or ... put the tensor's
    # dims first.
    if index is not None and len(advanced) > 1 and advanced[-1] - advanced[0] + 1 != len(advanced):
        first, k = layout.index("idx"), index[1].ndim
        perm = list(range(first, first + k)) + [d for d in range(y.ndim) if not first <= d < first + k]
        y = _apply("transpose", (y,), {"perm": perm})
    return y


def _shape_args(args, what):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    symbolic = [a for a in args if isinstance(a, str)]
    if symbolic:
        raise ShapeError(f"{what}: dim {symbolic[0]} is symbolic (jit dynamic=), so it cannot be a size here; "
                         f"write -1 for it, or mark it static", user_location())
    if not builtins.all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        raise ShapeError(f"{what}: expects ints, got {args!r}", user_location())
    return [int(a) for a in args]


def reshape(x, *shape):
    """The elements in row-major order with a new shape (one dim may be -1)."""
    return _apply("reshape", (x,), {"shape": _shape_args(shape, "reshape")})


def transpose(x, *axes):
    """Permutes the axes (NumPy semantics): no arguments reverses them."""
    if not axes or axes == ((),):
        return _apply("transpose", (x,))
    return _apply("transpose", (x,), {"perm": _shape_args(axes, "transpose")})


def permute(x, *dims):
    """Permutes the axes: result axis i is input axis dims[i] (torch.permute)."""
    return _apply("transpose", (x,), {"perm": _shape_args(dims, "permute")})


def _T(x):
    if x.ndim > 2:
        raise ShapeError(f"T: expects a tensor of rank <= 2, got {_type(x)}; use .transpose() or .permute()",
                         user_location())
    return _apply("transpose", (x,))


def expand_dims(x, axis):
    """Inserts a size-1 axis at ``axis``."""
    return _apply("expand_dims", (x,), {"axis": int(axis)})


def squeeze(x, axis=None):
    """Removes size-1 axes: all of them, or the ones named by ``axis`` (an int or a tuple)."""
    if axis is None:
        axes = [d for d, n in enumerate(x.shape) if n == 1]
        if not axes:
            return x
    else:
        axes = [int(axis)] if isinstance(axis, int) else [int(a) for a in axis]
    return _apply("squeeze", (x,), {"axes": axes})


def flatten(x):
    """The elements as a rank-1 tensor, in row-major order."""
    return _apply("reshape", (x,), {"shape": [-1]})


def split(x, indices_or_sections, axis=0):
    """Pieces of ``x`` along ``axis`` (numpy.split): N equal sections, or cut before each index."""
    rank = x.ndim
    if not -rank <= axis < rank:
        raise TesseraIndexError(f"split: axis {axis} is out of range for {_type(x)}", user_location())
    axis = axis + rank if axis < 0 else axis
    n = x.shape[axis]
    if isinstance(n, str):
        raise ShapeError(f"split: dim {n} (axis {axis} of {_type(x)}) is symbolic, but splitting needs its size; "
                         f"mark {n} static (leave it out of jit's dynamic=)", user_location())
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0 or n % k:
            raise ShapeError(f"split: axis {axis} of {_type(x)} cannot be split into {k} equal sections",
                             user_location())
        cuts = [n // k * i for i in range(1, k)]
    else:
        cuts = [int(c) for c in indices_or_sections]
    bounds = [0] + cuts + [n]
    pieces = []
    for b, e in zip(bounds[:-1], bounds[1:]):
        b, e, _ = slice(b, e).indices(n)
        e = builtins.max(b, e)
        starts, stops = [0] * (axis + 1), [_WHOLE if isinstance(d, str) else d for d in x.shape[:axis + 1]]
        starts[axis], stops[axis] = b, e
        pieces.append(_apply("slice", (x,), {"start": starts, "stop": stops}))
    return pieces


def _install():
    Tensor.__getitem__ = _getitem
    Tensor.reshape = reshape
    Tensor.transpose = transpose
    Tensor.permute = permute
    Tensor.T = property(_T)
    Tensor.expand_dims = expand_dims
    Tensor.squeeze = squeeze
    Tensor.flatten = flatten
    Tensor.split = split


_install()
