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
import math

from .errors import DTypeError, ShapeError, TesseraIndexError, TesseraValueError, TracingError
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


class _Key:
    """A parsed index: per dim of x, slice bounds (start, stop, step), the dims an int drops,
    the output layout ("dim" / "new" / "idx" per entry), and at most one integer-tensor index
    (dim, tensor) with the key positions of the advanced entries."""

    __slots__ = ("start", "stop", "step", "dropped", "layout", "index", "advanced")


def _parse_key(x, key, what):
    key = key if isinstance(key, tuple) else (key,)
    consuming = [k for k in key if k is not None and k is not Ellipsis]
    if builtins.sum(k is Ellipsis for k in key) > 1:
        raise TesseraIndexError(f"{what}: an index can only have one ellipsis ('...'), indexing {_type(x)}",
                                user_location())
    if len(consuming) > x.ndim:
        raise TesseraIndexError(f"{what}: too many indices for {_type(x)}: {len(consuming)}", user_location())
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (x.ndim - len(consuming)) + key[i + 1:]
    else:
        key = key + (slice(None),) * (x.ndim - len(consuming))

    k_ = _Key()
    start, stop, step = k_.start, k_.stop, k_.step = [], [], []
    dropped, layout, advanced = k_.dropped, k_.layout, k_.advanced = [], [], []
    k_.index = None
    dim = 0
    for pos, k in enumerate(key):
        if k is None:
            layout.append("new")
            continue
        n = x.shape[dim]
        if isinstance(n, str):  # a symbolic dim (jit dynamic=) can only be kept whole
            if k != slice(None):
                raise ShapeError(f"{what}: dim {n} (axis {dim} of {_type(x)}) is symbolic, so only a whole ':' "
                                 f"can index it, got {k!r}; mark {n} static (leave it out of jit's dynamic=)",
                                 user_location())
            start.append(0), stop.append(_WHOLE), step.append(1)
            layout.append("dim")
            dim += 1
            continue
        if isinstance(k, slice):
            if k.step == 0:
                raise TesseraValueError(f"{what}: slice step cannot be zero, indexing {_type(x)}", user_location())
            b, e, st = k.indices(n)
            start.append(b)
            stop.append(e if e >= 0 else -n - 1)  # -1 here means "before index 0", not "the last"
            step.append(st)
            layout.append("dim")
        elif isinstance(k, (Tensor, list)) or type(k).__module__ == "numpy" and getattr(k, "ndim", 0) > 0:
            if k_.index is not None:
                raise TesseraIndexError(f"{what}: only one integer-tensor index is supported, indexing {_type(x)}",
                                        user_location())
            if not isinstance(k, (Tensor, list)):
                k = tensor(k, device=x.device)
            k_.index = (dim, _as_index_tensor(k, x))
            start.append(0), stop.append(n), step.append(1)
            layout.append("idx")
            advanced.append(pos)
        elif not isinstance(k, bool) and hasattr(k, "__index__"):
            i = k.__index__()
            if not -n <= i < n:
                raise TesseraIndexError(f"{what}: index {i} is out of range for axis {dim} of {_type(x)}",
                                        user_location())
            i = i + n if i < 0 else i
            start.append(i), stop.append(i + 1), step.append(1)
            dropped.append(dim)
            advanced.append(pos)
        else:
            raise TesseraIndexError(f"{what}: unsupported index {k!r} for {_type(x)}", user_location())
        dim += 1
    return k_


def _sliced(x, k):
    """Whether the key's bounds select less than all of x."""
    return builtins.any(b != 0 or (e != n and e != _WHOLE) or st != 1
                        for b, e, st, n in zip(k.start, k.stop, k.step, x.shape))


def nonzero(x):
    """The indices of x's nonzero elements, one int64 tensor per dim (NumPy's nonzero). The
    count decides the result's shape, so x's values are read first (eagerly only); the indices
    are then compacted on x's device by a scan and a scatter (CPU until GPU scatter kernels)."""
    from . import lazy, ops
    from .tensor import arange
    if lazy.state.depth > 0:
        raise TracingError(f"nonzero: the number of nonzero elements of {_type(x)} sets the result's shape, so it "
                           f"cannot be traced (jit, grad...); use where, or a fixed-size selection", user_location())
    if x.ndim == 0:
        raise ShapeError(f"nonzero: needs a tensor of rank >= 1, got {_type(x)} (the array API standard and NumPy "
                         f"2 reject 0-d input); use nonzero(x.reshape(1))", user_location())
    flat = ops.not_equal(x, 0).reshape(-1) if x.dtype.short != "bool" else x.reshape(-1)
    n = flat.shape[0]
    count = int(ops.sum(flat, axis=None).item())
    if n == 0 or count == 0:
        return tuple(tensor([], dtype="int64", device=x.device) for _ in range(x.ndim))
    from .array_api import cumulative_sum
    target = ops.where(flat, cumulative_sum(flat.astype("i64")) - 1, count)  # others land in a spare slot
    dest = tensor([0] * (count + 1), dtype="int64", device=x.device)
    positions = ops.scatter(dest, target, arange(n, device=x.device), axis=0, reduce="set")[:count]
    out, stride = [], n
    for d in x.shape:
        stride //= d
        out.append(ops.remainder(ops.floor_divide(positions, stride), d))
    return tuple(out)


def _mask_index(x, mask):
    """x[mask] for a bool mask over x's leading dims: the selected rows, flattened."""
    if tuple(mask.shape) != tuple(x.shape[:mask.ndim]):
        raise TesseraIndexError(f"getitem: the boolean mask {_type(mask)} must have the shape of the leading dims of "
                                f"{_type(x)}", user_location())
    rows = x.reshape((-1,) + tuple(x.shape[mask.ndim:]))
    (idx,) = nonzero(mask.reshape(-1))
    return _apply("take", (rows, idx), {"axis": 0})


def _is_mask(key):
    return isinstance(key, Tensor) and key.dtype.short == "bool"


def _getitem(x, key):
    if _is_mask(key):
        return _mask_index(x, key)
    k = _parse_key(x, key, "getitem")
    y = x
    if _sliced(x, k):
        y = _apply("slice", (y,), {"start": k.start, "stop": k.stop, "step": k.step})
    if k.dropped:
        y = _apply("squeeze", (y,), {"axes": k.dropped})
    index = k.index
    if index is not None:
        axis = index[0] - builtins.sum(d < index[0] for d in k.dropped)
        y = _apply("take", (y, index[1]), {"axis": axis})
    out_pos = 0
    for entry in k.layout:
        if entry == "new":
            y = _apply("expand_dims", (y,), {"axis": out_pos})
        out_pos += index[1].ndim if entry == "idx" else 1
    # NumPy: an integer tensor and ints separated by a slice, None or ... put the tensor's
    # dims first.
    if index is not None and len(k.advanced) > 1 and k.advanced[-1] - k.advanced[0] + 1 != len(k.advanced):
        first, n = k.layout.index("idx"), index[1].ndim
        perm = list(range(first, first + n)) + [d for d in range(y.ndim) if not first <= d < first + n]
        y = _apply("transpose", (y,), {"perm": perm})
    return y


# ---- updates: x.at[key].set(v) and friends, x[key] = v ----

_COMBINE = {"add": "add", "multiply": "mul", "divide": "div", "power": "pow", "min": "minimum", "max": "maximum"}


def _updated(x, key, v, how):
    """x with the elements at ``key`` replaced by v ("set") or combined with it (x[key] + v...).
    Basic indices (ints, slices, None, ...) become one slice_update op, which every target
    runs; an integer-tensor index scatters (CPU only until GPU scatter kernels exist)."""
    from .ops import _number
    if not isinstance(v, Tensor):
        v = _number(v)
        if isinstance(v, (bool, int, float)):
            v = tensor(v, dtype=x.dtype, device=x.device)
        else:
            v = tensor(v, device=x.device)
    k = _parse_key(x, key, "setitem")
    if how != "set" and not (k.index is not None and how == "add"):  # scatter adds repeated indices itself
        v = _apply(_COMBINE[how], (_getitem(x, key), v))
    if v.dtype != x.dtype:
        v = _apply("cast", (v,), {"dtype": x.dtype.short})
    if k.index is not None:
        return _scatter(x, k, v, how)
    view = _getitem_shape(x, k)
    try:
        v = _apply("broadcast_to", (v,), {"shape": list(view)}) if tuple(v.shape) != tuple(view) else v
    except ShapeError:
        raise ShapeError(f"setitem: the value {_type(v)} does not broadcast to the indexed {_shape_text(view)} of "
                         f"{_type(x)}", user_location()) from None
    region = [1 if d in k.dropped else _len(b, e, st, n)
              for d, (b, e, st, n) in enumerate(zip(k.start, k.stop, k.step, x.shape))]
    v = _apply("reshape", (v,), {"shape": region}) if tuple(region) != tuple(v.shape) else v
    return _apply("slice_update", (x, v), {"start": k.start, "stop": k.stop, "step": k.step})


def _len(b, e, st, n):
    return len(range(b, e if e != -n - 1 else -1, st)) if not isinstance(n, str) else n


def _shape_text(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


def _getitem_shape(x, k):
    """The shape x[key] has, for a basic key."""
    shape = [_len(b, e, st, n) for b, e, st, n in zip(k.start, k.stop, k.step, x.shape)]
    shape = [n for d, n in enumerate(shape) if d not in k.dropped]
    out, it = [], iter(shape)
    for entry in k.layout:
        out.append(1 if entry == "new" else next(it))
    return tuple(out)


def _scatter(x, k, v, how):
    """x[..., idx, ...] = v for one integer-tensor index along one axis (no other cuts)."""
    dim, idx = k.index
    if _sliced(x, k) and builtins.any(d != dim for d in range(x.ndim) if
                                      (k.start[d], k.step[d]) != (0, 1) or k.stop[d] not in (x.shape[d], _WHOLE)) \
            or k.dropped or "new" in k.layout:
        raise TesseraIndexError(f"setitem: an integer-tensor index combined with other indices is not supported "
                                f"yet (indexing {_type(x)}); use one integer tensor with ':' elsewhere",
                                user_location())
    # Updates shaped like x[key]: x.shape[:dim] + idx.shape + x.shape[dim+1:], flattened to
    # [pre, k, post] rows scattered along axis 1.
    xs = [int(n) for n in x.shape]
    pre, post = math.prod(xs[:dim]), math.prod(xs[dim + 1:])
    kk = idx.numel()
    want = tuple(xs[:dim]) + tuple(idx.shape) + tuple(xs[dim + 1:])
    v = _apply("broadcast_to", (v,), {"shape": list(want)}) if tuple(v.shape) != want else v
    v3 = _apply("reshape", (v,), {"shape": [pre, kk, post]})
    i3 = _apply("broadcast_to", (_apply("reshape", (idx,), {"shape": [1, kk, 1]}),), {"shape": [pre, kk, post]})
    x3 = _apply("reshape", (x,), {"shape": [pre, xs[dim], post]})
    out = _apply("scatter", (x3, i3, v3), {"axis": 1, "reduce": "add" if how == "add" else "set"})
    return _apply("reshape", (out,), {"shape": xs})


def _setitem(x, key, v):
    """x[key] = v. Eagerly the new values are written into x's memory (NumPy and DLPack views of
    it see them, as in PyTorch). In a trace (jit, grad...) x's node is replaced by the updated
    value; that is only allowed before x is used by another op (afterwards the earlier use
    would see the new value): write ``x = x.at[key].set(v)`` there instead."""
    from . import lazy

    def update(base):
        return _masked_set(base, key, v) if _is_mask(key) else _updated(base, key, v, "set")

    if x._sharding is not None:
        raise TesseraValueError(f"setitem: writing into a tensor split over {x._sharding[0]!r} is not supported; "
                                f"make a new tensor (x.at[...].set(v), tessera.where)", user_location())
    if x._array is not None:
        new = update(x)
        if new._array is None:
            raise TracingError(f"setitem: cannot write a traced value into {_type(x)}, a tensor from outside the "
                               f"trace; use y = x.at[...].set(v) and return y", user_location())
        x._array.copy_from(new._array)
        return
    if lazy.used(x):
        raise TracingError(f"setitem: {_type(x)} was already read by another op in this trace, so writing into it "
                           f"would change what that op read; use x = x.at[...].set(v) instead", user_location())
    old = Tensor._lazy(x._node, x._shape, x._dtype, x._device)  # x's value so far, for the update to read
    old.__class__ = type(x)
    x._node = update(old)._node


def _masked_set(x, mask, v):
    """x with v where the bool mask (over x's leading dims) holds: a where, so v is one value or
    broadcasts to x (a value per selected element would need the mask's count)."""
    if tuple(mask.shape) != tuple(x.shape[:mask.ndim]):
        raise TesseraIndexError(f"setitem: the boolean mask {_type(mask)} must have the shape of the leading dims "
                                f"of {_type(x)}", user_location())
    v = v if isinstance(v, Tensor) else tensor(v, dtype=x.dtype, device=x.device)
    full_mask = mask.reshape(tuple(mask.shape) + (1,) * (x.ndim - mask.ndim))
    try:
        return _apply("where", (full_mask, v.astype(x.dtype), x))
    except ShapeError:
        raise TesseraIndexError(f"setitem: a boolean mask takes one value, or one that broadcasts to {_type(x)}; got "
                                f"{_type(v)}", user_location()) from None


class _At:
    """``x.at[key]``: functional updates (JAX's ``.at``): ``set``, ``add``, ``multiply``,
    ``divide``, ``power``, ``min``, ``max`` return a new tensor; ``get`` is ``x[key]``."""

    __slots__ = ("x", "key")

    def __init__(self, x, key):
        self.x, self.key = x, key

    def get(self):
        return _getitem(self.x, self.key)

    def set(self, v):
        return _updated(self.x, self.key, v, "set")

    def add(self, v):
        return _updated(self.x, self.key, v, "add")

    def multiply(self, v):
        return _updated(self.x, self.key, v, "multiply")

    def divide(self, v):
        return _updated(self.x, self.key, v, "divide")

    def power(self, v):
        return _updated(self.x, self.key, v, "power")

    def min(self, v):
        return _updated(self.x, self.key, v, "min")

    def max(self, v):
        return _updated(self.x, self.key, v, "max")


class _AtIndexer:
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, key):
        return _At(self.x, key)


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
    Tensor.__setitem__ = _setitem
    Tensor.at = property(_AtIndexer)
    Tensor.reshape = reshape
    Tensor.transpose = transpose
    Tensor.permute = permute
    Tensor.T = property(_T)
    Tensor.expand_dims = expand_dims
    Tensor.squeeze = squeeze
    Tensor.flatten = flatten
    Tensor.split = split


_install()
