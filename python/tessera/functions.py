"""NumPy-style functions built from the op registry's ops: creation (eye, linspace, meshgrid,
*_like), random integers and coin flips, and ``pad`` with NumPy's pad widths.

They are ordinary compositions of ``tessera.ops`` calls, so they run eagerly, trace under jit and
differentiate where that means something.
"""
from __future__ import annotations

import operator

from . import dtypes as _dt
from . import ops
from .errors import DTypeError, ShapeError, TesseraValueError
from .lazy import user_location
from .tensor import Tensor, arange, empty, full, rand

__all__ = ["eye", "linspace", "logspace", "meshgrid", "zeros_like", "ones_like", "full_like", "empty_like",
           "randint", "bernoulli", "pad", "topk", "einsum"]


def eye(n, m=None, k=0, dtype=_dt.float32, device="cpu") -> Tensor:
    """An n x m matrix with ones on diagonal k (0: the main one; > 0 above it) and zeros elsewhere."""
    m = n if m is None else m
    rows = arange(n, device=device).reshape(n, 1)
    cols = arange(m, device=device).reshape(1, m)
    return ops.cast(ops.equal(cols - rows, int(k)), _dt.dtype(dtype).short)


def linspace(start, stop, num=50, endpoint=True, dtype=None, device="cpu") -> Tensor:
    """``num`` evenly spaced values from start to stop (stop included unless endpoint=False),
    computed in float64 as NumPy does and converted to ``dtype`` (default float32)."""
    num = operator.index(num)
    if num < 0:
        raise TesseraValueError(f"linspace: num must be >= 0, got {num}", user_location())
    div = (num - 1) if endpoint else num
    step = (float(stop) - float(start)) / div if div > 0 else 0.0
    y = arange(num, dtype=_dt.float64, device=device) * step + float(start)
    if endpoint and num > 1:
        y = y.at[-1].set(float(stop))
    return y.astype(_dt.dtype(dtype) if dtype is not None else _dt.float32)


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, device="cpu") -> Tensor:
    """base ** linspace(start, stop, num): evenly spaced on a log scale."""
    exps = linspace(start, stop, num, endpoint, _dt.float64, device)
    return ops.pow(float(base), exps).astype(_dt.dtype(dtype) if dtype is not None else _dt.float32)


def meshgrid(*xs, indexing="xy"):
    """Coordinate grids from 1-D tensors (NumPy's meshgrid): "xy" swaps the first two axes of
    the result, as NumPy and the array API's default; "ij" keeps matrix order."""
    if indexing not in ("xy", "ij"):
        raise TesseraValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}", user_location())
    for x in xs:
        if x.ndim != 1:
            raise ShapeError(f"meshgrid: inputs must be 1-D, got shape {x.shape}", user_location())
    shape = [x.shape[0] for x in xs]
    if indexing == "xy" and len(xs) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xs):
        axis = i if indexing == "ij" or len(xs) < 2 else {0: 1, 1: 0}.get(i, i)
        view = [1] * len(xs)
        view[axis] = x.shape[0]
        out.append(ops.broadcast_to(x.reshape(*view), shape=shape))
    return out


def _like(x, dtype, device):
    return (_dt.dtype(dtype) if dtype is not None else x.dtype), (device if device is not None else x.device)


def zeros_like(x, dtype=None, device=None) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return full(x.shape, 0, dtype=dt, device=dev)


def ones_like(x, dtype=None, device=None) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return full(x.shape, 1, dtype=dt, device=dev)


def full_like(x, fill_value, dtype=None, device=None) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return full(x.shape, fill_value, dtype=dt, device=dev)


def empty_like(x, dtype=None, device=None) -> Tensor:
    dt, dev = _like(x, dtype, device)
    return empty(*x.shape, dtype=dt, device=dev)


def randint(low, high=None, size=(), seed=None, dtype=_dt.int64, device="cpu") -> Tensor:
    """Uniform integers in [low, high) (NumPy's randint: one bound means [0, low)), from the
    counter-based generator: the same seed gives the same values on every device. Ranges up to
    2**53 values are exact (float64 uniforms scaled and floored)."""
    if high is None:
        low, high = 0, low
    low, high = operator.index(low), operator.index(high)
    if high <= low:
        raise TesseraValueError(f"randint: high ({high}) must be greater than low ({low})", user_location())
    if high - low > 2 ** 53:
        raise TesseraValueError(f"randint: a range of {high - low} values is too wide (at most 2**53)", user_location())
    dt = _dt.dtype(dtype)
    if dt.kind not in "iu":
        raise DTypeError(f"randint: dtype must be an integer dtype, got {dt.name}", user_location())
    size = (size,) if isinstance(size, int) else tuple(size)
    u = rand(*size, seed=seed, dtype=_dt.float64, device=device)
    return ops.cast(ops.floor(u * float(high - low)) + float(low), dt.short)


def bernoulli(p, size=None, seed=None, device=None) -> Tensor:
    """Bool tensor: True with probability ``p`` (a number, or a tensor broadcast to ``size``)."""
    if isinstance(p, Tensor):
        size = p.shape if size is None else tuple(size)
        device = p.device if device is None else device
    else:
        size = () if size is None else ((size,) if isinstance(size, int) else tuple(size))
        if not 0.0 <= float(p) <= 1.0:
            raise TesseraValueError(f"bernoulli: p must be in [0, 1], got {p}", user_location())
    u = rand(*size, seed=seed, dtype=_dt.float64 if not isinstance(p, Tensor) else (
        p.dtype if p.dtype.kind == "f" else _dt.float32), device=device or "cpu")
    return ops.less(u, p)


def pad(x, pad, value=0.0) -> Tensor:
    """Surrounds x with a constant ``value``. ``pad`` as NumPy's pad widths: an int (every side of
    every dim), one (before, after) pair for every dim, or a pair per dim; or the flat list
    [before0, after0, before1, ...] that the Graph IR op takes."""
    if isinstance(pad, int):
        flat = [pad] * (2 * x.ndim)
    else:
        pw = list(pad)
        if pw and all(isinstance(p, (tuple, list)) for p in pw):
            if len(pw) == 1:
                pw = pw * x.ndim
            if len(pw) != x.ndim:
                raise ShapeError(f"pad: needs one (before, after) pair per dim of shape {x.shape}, got {pad!r}",
                                 user_location())
            flat = [int(v) for pair in pw for v in pair]
        elif len(pw) == 2 and x.ndim != 1 and all(isinstance(p, int) for p in pw):
            flat = pw * x.ndim  # (before, after) for every dim
        else:
            flat = [int(v) for v in pw]
    return ops.apply("pad", (x,), {"pad": flat, "value": float(value)})


def topk(x, k, axis=-1, largest=True):
    """The ``k`` largest (or smallest) elements along ``axis`` and their indices, in order (ties:
    the lower index first; NaN counts as the largest, as in PyTorch); it differentiates through
    the values (a gather). On the CPU with k > 8: the first k of the stable ``argsort``; else
    (and on GPUs, where argsort does not run yet) k rounds of max / argmax over the elements not
    yet taken, which also suits small k on long rows (routing, beam search)."""
    n = x.shape[axis]
    if isinstance(n, str):
        raise ShapeError(f"topk: the axis (dim {n}) must be static", user_location())
    k = operator.index(k)
    if not 0 <= k <= n:
        raise ShapeError(f"topk: k = {k} is out of range for axis {axis} of size {n} (shape {x.shape})",
                         user_location())
    axis = axis % x.ndim
    if k > 8 and x.device.type == "cpu":
        order = ops.argsort(x, axis=axis, descending=largest)
        if k < n:
            order = ops.slice(order, start=[0] * (axis + 1), stop=[(1 << 63) - 1] * axis + [k])
        return ops.gather(x, order, axis=axis), order
    return _topk_rounds(x, k, axis, largest)


def _topk_rounds(x, k, axis, largest):
    from .vmap import moveaxis
    n = x.shape[axis]
    xl = moveaxis(x, axis, -1)
    key = xl.astype(_dt.float64) if xl.dtype.kind != "f" else xl
    key = ops.where(ops.isnan(key), float("inf"), key) if key.dtype.kind == "f" else key
    key = key if largest else -key
    taken = ops.not_equal(key, key) if key.dtype.kind != "f" else ops.isnan(key)  # all False (NaN became inf)
    vals, idxs = [], []
    for _ in range(k):
        masked = ops.where(taken, float("-inf"), key)
        best = ops.max(masked, axis=-1, keepdims=True)
        cand = ops.logical_and(ops.equal(masked, best), ops.logical_not(taken))
        i = ops.argmax(ops.cast(cand, "i8"), axis=-1, keepdims=True)
        idxs.append(i)
        vals.append(ops.gather(xl, i, axis=-1))
        taken = ops.logical_or(taken, ops.cast(ops.one_hot(ops.squeeze(i, axes=[-1]), num_classes=n), "bool"))
    if k == 0:
        shape = tuple(xl.shape[:-1]) + (0,)
        return moveaxis(full(shape, 0, dtype=x.dtype, device=x.device), -1, axis), \
            moveaxis(full(shape, 0, dtype=_dt.int64, device=x.device), -1, axis)
    values = ops.concat(vals, axis=-1) if k > 1 else vals[0]
    indices = ops.concat(idxs, axis=-1) if k > 1 else idxs[0]
    return moveaxis(values, -1, axis), moveaxis(indices, -1, axis)


def einsum(*args, equation=None):
    """Einstein summation of one or more tensors (as numpy.einsum), spelled as NumPy and PyTorch
    do: ``einsum("ij,jk->ik", a, b)``; the Graph IR op's own form
    ``einsum([a, b], equation="ij,jk->ik")`` works too. Operands are contracted left to right."""
    if args and isinstance(args[0], str):
        equation, operands = args[0], list(args[1:])
    elif args and isinstance(args[0], (list, tuple)) and len(args) <= 2:
        operands = list(args[0])
        if len(args) == 2:
            equation = args[1]
    else:
        operands = list(args)
    if equation is None:
        raise TesseraValueError("einsum: give the equation, e.g. einsum('ij,jk->ik', a, b)", user_location())
    return ops.apply("einsum", tuple(operands), {"equation": str(equation)})
