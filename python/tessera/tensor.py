"""tessera.Tensor and the functions that create tensors.

A Tensor is either *realized*, holding a native array (``_C.Array``) in ``_array``, or *lazy*,
holding a pending graph node in ``_node`` that the tracer (``tessera.lazy``) computes on demand.
``shape``, ``dtype``, ``device``, ``ndim``, ``size`` and ``numel()`` never realize; everything
that needs the data calls ``_realize()``.

Defaults: Python ints become int64, Python floats become **float32** (Tessera's default float
dtype, unlike NumPy's float64), bools become bool. Lists are created on the CPU.
"""
from __future__ import annotations

import math
import operator
import struct
import threading
from array import array

from . import _C
from . import dtypes as _dt
from .device import Device, device as _device
from .dtypes import DType
from .errors import DTypeError, ShapeError, TesseraValueError

__all__ = ["Tensor", "WeakScalar", "tensor", "from_dlpack", "empty", "zeros", "ones", "full", "arange", "rand",
           "randn", "manual_seed"]


class Tensor:
    """An n-dimensional array on a device. Create one with ``tessera.tensor``, ``zeros``,
    ``arange``, ``rand``, ``from_dlpack``... Exchanges memory zero-copy with NumPy and PyTorch
    through DLPack (``np.from_dlpack(t)``, ``torch.from_dlpack(t)``, ``tessera.from_dlpack(x)``)."""

    # _sharding: None, or (mesh, sharding text) for a tensor split over a tessera.dist.Mesh: its
    # shape is the whole (global) one, its array this process's block.
    __slots__ = ("_array", "_node", "_shape", "_dtype", "_device", "_sharding", "__weakref__")
    __hash__ = object.__hash__  # identity, also once comparison operators are added

    def __init__(self, data, dtype=None, device=None):
        t = tensor(data, dtype=dtype, device=device)
        self._array, self._node, self._sharding = t._array, None, None
        self._shape, self._dtype, self._device = t._shape, t._dtype, t._device

    # ---- construction (internal) ----

    @classmethod
    def _from_array(cls, arr) -> "Tensor":
        """A realized tensor holding the native array ``arr``."""
        t = object.__new__(cls)
        t._array, t._node, t._sharding = arr, None, None
        t._shape = tuple(arr.shape)
        t._dtype = _dt.dtype(arr.dtype)
        t._device = _device(arr.device)
        return t

    @classmethod
    def _lazy(cls, node, shape, dtype, device) -> "Tensor":
        """A lazy tensor whose value is graph node ``node`` (set by the tracer)."""
        t = object.__new__(cls)
        t._array, t._node, t._sharding = None, node, None
        t._shape, t._dtype, t._device = tuple(shape), _dt.dtype(dtype), _device(device)
        return t

    def _realize(self):
        """The native array, computing a lazy tensor first. A tensor split over a mesh has no
        array of its whole value in this process: that is an error naming the way out."""
        if self._array is None:
            from . import lazy
            lazy.realize(self)
        if self._sharding is not None:
            from ._sharded import not_whole
            raise not_whole(self)
        return self._array

    # ---- metadata (never realizes) ----

    @property
    def shape(self) -> tuple:
        return self._shape

    @property
    def dtype(self) -> DType:
        return self._dtype

    @property
    def device(self) -> Device:
        return self._device

    @property
    def sharding(self):
        """How the tensor is split over a tessera.dist.Mesh (a ``NamedSharding``), or None for a
        tensor each process holds whole."""
        if self._sharding is None:
            return None
        from ._sharded import named
        return named(self)

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        """Number of elements (as NumPy's ``size``)."""
        return math.prod(self._shape)

    def numel(self) -> int:
        return math.prod(self._shape)

    @property
    def nbytes(self) -> int:
        return self.numel() * self._dtype.itemsize

    @property
    def is_lazy(self) -> bool:
        return self._array is None

    # ---- memory ----

    @property
    def read_only(self) -> bool:
        """True for memory imported read-only (e.g. a non-writeable NumPy array)."""
        return self._realize().read_only

    def data_ptr(self) -> int:
        return self._realize().data_ptr

    def is_contiguous(self) -> bool:
        return self._realize().is_contiguous

    def contiguous(self) -> "Tensor":
        arr = self._realize()
        return self if arr.is_contiguous else Tensor._from_array(arr.contiguous())

    # ---- conversion ----

    def to(self, target=None, *, device=None, dtype=None) -> "Tensor":
        """A tensor on another device (``t.to("cuda")``) and/or of another dtype
        (``t.to(tessera.float16)``, recorded as a ``cast`` op). Returns ``self`` when nothing
        changes."""
        if target is not None:
            if isinstance(target, DType) or (isinstance(target, str) and target in _dt._BY_NAME) \
                    or (not isinstance(target, (str, Device)) and type(target).__name__ != "device"):
                dtype = target
            else:
                device = target
        t = self
        if device is not None and _device(device) != self._device:
            t = Tensor._from_array(self._realize().to(str(_device(device))))
        if dtype is not None and _dt.dtype(dtype) is not t._dtype:
            from . import ops
            t = ops.cast(t, _dt.dtype(dtype).short)
        return t

    def cpu(self) -> "Tensor":
        return self.to(device="cpu")

    def cuda(self, index: int = 0) -> "Tensor":
        return self.to(device=f"cuda:{index}")

    def numpy(self):
        """A NumPy array. Zero-copy for CPU tensors (writes are shared both ways); tensors on
        other devices are copied to the CPU first. NumPy has no bfloat16."""
        import numpy as np
        if self._dtype is _dt.bfloat16:
            raise DTypeError("NumPy has no bfloat16: use torch.from_dlpack(t) or tolist()")
        arr = self._realize()
        if arr.device != "cpu":
            arr = arr.to("cpu")
        return np.from_dlpack(arr)

    def __array__(self, dtype=None, copy=None):
        if copy is False and self._device.type != "cpu":
            raise ValueError(f"cannot make a NumPy array of a {self._device} tensor without copying")
        a = self.numpy()
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def tolist(self):
        """Nested Python lists of Python scalars (a scalar for 0-d tensors)."""
        return _decode(_C.to_bytes(self._realize()), self._dtype, self._shape)

    def item(self):
        if self.numel() != 1:
            raise TesseraValueError(
                f"item() needs a tensor with exactly one element, got shape {self._shape}")
        v = self.tolist()
        while isinstance(v, list):
            v = v[0]
        return v

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    def _scalar(self, what):
        if self.numel() != 1:
            raise TesseraValueError(
                f"{what} of a tensor with {self.numel()} elements (shape {self._shape}) is ambiguous; "
                "it needs exactly one element")
        return self.item()

    def __bool__(self) -> bool:
        return bool(self._scalar("bool()"))

    def __float__(self) -> float:
        return float(self._scalar("float()"))

    def __int__(self) -> int:
        return int(self._scalar("int()"))

    def __index__(self) -> int:
        if self._dtype.is_floating:
            raise TypeError(f"only integer tensors can be used as an index, not {self._dtype.name}")
        return int(self._scalar("index"))

    # ---- DLPack (array API 2023.12) ----

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        return self._realize().__dlpack__(stream=stream, max_version=max_version,
                                          dl_device=dl_device, copy=copy)

    def __dlpack_device__(self):
        if self._array is None:  # answer without computing: (kDLCPU, 0) or (kDLCUDA, index)
            return (1, 0) if self._device.type == "cpu" else (2, self._device.index)
        return self._array.__dlpack_device__()

    # ---- printing ----

    def __repr__(self) -> str:
        if self._sharding is not None:
            return (f"tessera.Tensor(<split over {self._sharding[0]!r} as {self._sharding[1]}; dist.gather(t) for "
                    f"its values>, shape={self._shape}, dtype={self._dtype.name}, device={self._device})")
        prefix = "tessera.Tensor("
        body = _format_values(self, len(prefix))
        return f"{prefix}{body}, dtype={self._dtype.name}, device={self._device})"

    __str__ = __repr__


class WeakScalar(Tensor):
    """A rank-0 float64 tensor that types like a Python float: next to other tensors it takes
    their float dtype (docs/dtype_promotion.md). ``tessera.jit`` passes float arguments as
    these, so a new learning rate reuses the compiled program instead of tracing again."""

    __slots__ = ()


# ---------------------------------------------------------------------------------------------
# creation

def _as_device(device) -> str:
    return str(_device(device))


def _shape_arg(shape, fn: str) -> tuple:
    """(2, 3), [2, 3], 5, or the varargs of zeros(2, 3) as a tuple of ints >= 0."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    out = []
    for d in shape:
        try:
            d = operator.index(d)
        except TypeError:
            raise ShapeError(f"{fn}: shape entries must be ints, got {type(d).__name__} in {tuple(shape)}") from None
        if d < 0:
            raise ShapeError(f"{fn}: negative dimension {d} in shape {tuple(shape)}")
        out.append(d)
    return tuple(out)


def empty(*shape, dtype=_dt.float32, device="cpu") -> Tensor:
    """An uninitialized tensor."""
    s = _shape_arg(shape, "empty")
    return Tensor._from_array(_C.empty(list(s), _dt.dtype(dtype).short, _as_device(device)))


def full(shape, fill_value, dtype=None, device="cpu") -> Tensor:
    """A tensor filled with ``fill_value``; dtype None infers it from the value (bool, int64,
    float32)."""
    s = _shape_arg((shape,), "full")
    kind = _kind(fill_value)
    dt = _dt.dtype(dtype) if dtype is not None else _INFERRED[kind]
    value = _convert(fill_value, dt)
    if dt is _dt.int64 and abs(value) > 2 ** 53:  # beyond double precision: fill from bytes
        return Tensor._from_array(_C.from_bytes(array("q", [value]) * math.prod(s), list(s),
                                                dt.short, _as_device(device), None))
    return Tensor._from_array(_C.full(list(s), value, dt.short, _as_device(device)))


def zeros(*shape, dtype=_dt.float32, device="cpu") -> Tensor:
    return full(_shape_arg(shape, "zeros"), 0, dtype=dtype, device=device)


def ones(*shape, dtype=_dt.float32, device="cpu") -> Tensor:
    return full(_shape_arg(shape, "ones"), 1, dtype=dtype, device=device)


def arange(start, stop=None, step=1, dtype=None, device="cpu") -> Tensor:
    """Values start, start + step, ... below ``stop`` (as range / numpy.arange). dtype None:
    int64 when all arguments are ints, else float32."""
    if stop is None:
        start, stop = 0, start
    for v in (start, stop, step):
        if _kind(v) == 0:
            raise DTypeError("arange: bool arguments are not supported")
    if step == 0:
        raise TesseraValueError("arange: step must not be zero")
    all_int = all(_kind(v) == 1 for v in (start, stop, step))
    if all_int:
        start, stop, step = (operator.index(v) for v in (start, stop, step))
        n = max(0, -((start - stop) // step))
    else:
        start, stop, step = float(start), float(stop), float(step)
        if not all(map(math.isfinite, (start, stop, step))):
            raise TesseraValueError("arange: start, stop and step must be finite")
        n = max(0, math.ceil((stop - start) / step))
    if n >= 1 << 62:
        raise ShapeError(f"arange: {n} elements is too many")
    dt = _dt.dtype(dtype) if dtype is not None else (_dt.int64 if all_int else _dt.float32)
    if dt is _dt.bool_:
        raise DTypeError("arange: bool is not a valid dtype")
    return Tensor._from_array(_C.arange(start, step, n, dt.short, _as_device(device)))


# Reproducible randomness: calls without a seed draw seed i of the sequence set by manual_seed.
_rng_lock = threading.Lock()
_rng_state = [0, 0]  # [base seed, calls so far]
_M64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def manual_seed(seed: int) -> None:
    """Restarts the seed sequence used by rand/randn calls without ``seed=`` (default 0)."""
    seed = operator.index(seed)
    with _rng_lock:
        _rng_state[:] = [seed & _M64, 0]


def _next_seed() -> int:
    with _rng_lock:
        base, i = _rng_state
        _rng_state[1] = i + 1
    return _splitmix64((_splitmix64(base) + i) & _M64)


def _random(fn, name, shape, seed, dtype, device) -> Tensor:
    s = _shape_arg(shape, name)
    dt = _dt.dtype(dtype)
    if not dt.is_floating:
        raise DTypeError(f"{name}: dtype must be a floating type, got {dt.name}")
    seed = _next_seed() if seed is None else operator.index(seed) & _M64
    return Tensor._from_array(fn(list(s), seed, dt.short, _as_device(device)))


def rand(*shape, seed=None, dtype=_dt.float32, device="cpu") -> Tensor:
    """Uniform values in [0, 1) from a counter-based (Philox) generator: same seed, same values."""
    return _random(_C.rand, "rand", shape, seed, dtype, device)


def randn(*shape, seed=None, dtype=_dt.float32, device="cpu") -> Tensor:
    """Standard normal values; reproducible like ``rand``."""
    return _random(_C.randn, "randn", shape, seed, dtype, device)


def from_dlpack(x, device=None, copy=None) -> Tensor:
    """A tensor sharing the memory of ``x`` (any object with ``__dlpack__``, or a DLPack
    capsule). ``device``: place the result there (copying across devices). ``copy``: True
    always copies, False never does (BufferError when it would have to), None copies only when
    needed. Imported read-only memory stays read-only."""
    dev = None if device is None else _as_device(device)
    return Tensor._from_array(_C.from_dlpack(x, dev, copy))


def tensor(data, dtype=None, device=None) -> Tensor:
    """A new tensor (always a copy) from nested lists/tuples of numbers, a scalar, a Tensor, a
    NumPy array or any DLPack producer. dtype None: inferred for Python data (bool, int64,
    float32), kept for arrays. device None: the CPU for Python data, else the source's device."""
    dt = None if dtype is None else _dt.dtype(dtype)
    if isinstance(data, Tensor) or hasattr(data, "__dlpack__") or _is_array_like(data):
        src = _import_copy(data, device)
        if dt is None or dt is src.dtype:
            return src
        data = src.tolist()  # dtype change: repack the values (casts are not in the core yet)
        device = src.device if device is None else device
    shape, flat, kind = _flatten(data)
    dt = dt or _INFERRED[kind]
    return Tensor._from_array(_pack(flat, shape, dt, _as_device(device)))


def _is_array_like(x) -> bool:
    # NumPy scalars count (np.float64 subclasses float but keeps its dtype, as in NumPy)
    return hasattr(x, "__array__") and type(x) not in (list, tuple, int, float, bool)


def _import_copy(data, device) -> Tensor:
    if isinstance(data, Tensor):
        arr = data._realize()
        target = arr.device if device is None else _as_device(device)
        return from_dlpack(arr, device=target, copy=True)
    if not hasattr(data, "__dlpack__"):
        data = data.__array__()  # NumPy scalars and array-likes, through the producer's own NumPy
    try:
        return from_dlpack(data, device=device, copy=True).contiguous()
    except DTypeError:
        if hasattr(data, "tolist"):  # a dtype DLPack/Tessera lacks (int16, float128...): convert
            return tensor(data.tolist(), device=device)
        raise


# ---------------------------------------------------------------------------------------------
# Python values <-> bytes

_INFERRED = {0: _dt.bool_, 1: _dt.int64, 2: _dt.float32}


def _kind(x) -> int:
    """0 bool, 1 integer, 2 float: the widest wins when inferring a dtype."""
    if isinstance(x, bool) or type(x).__name__ in ("bool", "bool_"):
        return 0
    if isinstance(x, int):
        return 1
    if isinstance(x, float):
        return 2
    if isinstance(x, Tensor):
        return 2 if x.dtype.is_floating else 0 if x.dtype is _dt.bool_ else 1
    if hasattr(x, "__index__"):
        return 1
    if hasattr(x, "__float__") and not isinstance(x, (str, bytes)):
        return 2
    raise DTypeError(f"cannot make a tensor element from a {type(x).__name__} ({x!r:.40}); "
                     "expected bool, int or float")


def _flatten(data):
    """(shape, flat list of scalars, widest kind) of nested lists/tuples; ragged data raises."""
    shape = []
    x = data
    while isinstance(x, (list, tuple)):
        shape.append(len(x))
        if not x:
            break
        x = x[0]
    flat = []
    ndim = len(shape)

    def walk(x, depth, path):
        if depth == ndim:
            if isinstance(x, (list, tuple)):
                raise ShapeError(f"ragged nested sequence: element {path} is a sequence but the "
                                 f"first elements say shape {tuple(shape)}")
            flat.append(x)
            return
        if not isinstance(x, (list, tuple)) or len(x) != shape[depth]:
            got = f"length {len(x)}" if isinstance(x, (list, tuple)) else f"a {type(x).__name__}"
            raise ShapeError(f"ragged nested sequence: element {path or '[]'} has {got}, expected "
                             f"length {shape[depth]} (shape {tuple(shape)})")
        if depth == ndim - 1:
            for i, y in enumerate(x):
                if isinstance(y, (list, tuple)):
                    walk(y, depth + 1, f"{path}[{i}]")
            flat.extend(x)
        else:
            for i, y in enumerate(x):
                walk(y, depth + 1, f"{path}[{i}]")

    walk(data, 0, "")
    kind = max(map(_kind, flat), default=2)  # empty data: float32, like NumPy's float default
    return tuple(shape), flat, kind


def _convert(x, dt: DType):
    """One Python scalar as the Python value stored for ``dt`` (int, float or bool)."""
    if dt.kind == "b":
        return bool(x)
    if dt.kind == "f":
        return float(x)
    if isinstance(x, float) or (_kind(x) == 2 and not hasattr(x, "__index__")):
        x = float(x)
        if not math.isfinite(x):
            raise TesseraValueError(f"cannot store {x} in an {dt.name} tensor")
        x = int(x)  # truncation toward zero, as NumPy's astype
    else:
        x = operator.index(x)
    lo, hi = _INT_RANGE[dt.short]
    if not lo <= x <= hi:
        raise TesseraValueError(f"value {x} is out of range for {dt.name} [{lo}, {hi}]")
    return x


_INT_RANGE = {"i64": (-(1 << 63), (1 << 63) - 1), "i32": (-(1 << 31), (1 << 31) - 1),
              "i8": (-128, 127), "u8": (0, 255)}


def _pack(flat, shape, dt: DType, device: str):
    """A native array of ``dt`` holding ``flat``. Floats go through float64 so that the native
    code rounds once to f32/f16/bf16 (nearest even)."""
    if dt.kind == "f":
        buf = array("d", (_convert(v, dt) for v in flat))
        return _C.from_bytes(buf, list(shape), dt.short, device, "f64")
    if dt.kind == "b":
        buf = array("B", (_convert(v, dt) for v in flat))
    else:
        buf = array(dt._struct, (_convert(v, dt) for v in flat))
    return _C.from_bytes(buf, list(shape), dt.short, device, None)


def _decode(raw: bytes, dt: DType, shape: tuple):
    """Nested lists of Python scalars from contiguous native bytes."""
    n = math.prod(shape)
    if n == 0:
        return _empty_nested(shape)
    if dt is _dt.float16:  # memoryview has no half format; struct does
        flat = list(struct.unpack(f"={n}e", raw))
        return _nest(flat, shape)
    code = dt._struct
    if dt is _dt.bfloat16:  # bf16 is the high half of a float32: widen by interleaving zeros
        wide = bytearray(2 * len(raw))
        wide[2::4], wide[3::4] = raw[0::2], raw[1::2]
        raw, code = bytes(wide), "f"
    mv = memoryview(raw).cast(code)
    if not shape:
        return mv[0]
    if len(shape) > 64:
        return _nest(mv.tolist(), shape)
    return mv.cast("B").cast(code, shape).tolist()


def _nest(flat, shape):
    if not shape:
        return flat[0]
    for d in reversed(shape[1:]):
        flat = [flat[i:i + d] for i in range(0, len(flat), d)]
    return flat


def _empty_nested(shape):
    if not shape or shape[0] == 0:
        return []
    return [_empty_nested(shape[1:]) for _ in range(shape[0])]


# ---------------------------------------------------------------------------------------------
# repr

_SUMMARY_THRESHOLD = 1000  # more elements than this: show 3 at each end of every dimension
_EDGE = 3
_LINE_WIDTH = 88


def _format_values(t: Tensor, indent: int) -> str:
    arr = t._realize()
    shape, dt = t.shape, t.dtype
    if t.numel() == 0:
        return repr(_empty_nested(shape))
    summarize = t.numel() > _SUMMARY_THRESHOLD
    raw = _C.to_bytes(arr)
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]

    def picks(n):
        if summarize and n > 2 * _EDGE:
            return list(range(_EDGE)) + [None] + list(range(n - _EDGE, n))
        return list(range(n))

    # The shown elements first: they are formatted together and padded to one width.
    shown = []

    def collect(dim, base):
        if dim == len(shape):
            shown.append(base)
            return
        for i in picks(shape[dim]):
            if i is not None:
                collect(dim + 1, base + i * strides[dim])

    collect(0, 0)
    cells = dict(zip(shown, _format_cells([_element(raw, i, dt) for i in shown], dt)))
    if not shape:
        return cells[0]
    if not summarize:  # small tensors on one line when they fit
        text = repr(_nest([cells[i] for i in shown], shape)).replace("'", "")
        if indent + len(text) + 30 <= _LINE_WIDTH:
            return text
    width = max(map(len, cells.values()))

    def block(dim, base, col):
        items = ["..." if i is None else
                 (cells[base + i * strides[dim]].rjust(width) if dim == len(shape) - 1
                  else block(dim + 1, base + i * strides[dim], col + 1))
                 for i in picks(shape[dim])]
        if dim < len(shape) - 1:
            sep = "," + "\n" * (len(shape) - 1 - dim) + " " * (col + 1)
            return "[" + sep.join(items) + "]"
        lines, line = [], ""
        for item in items:  # wrap long rows at _LINE_WIDTH
            if line and col + 1 + len(line) + len(item) + 2 > _LINE_WIDTH:
                lines.append(line + ",")
                line = ""
            line = f"{line}, {item}" if line else item
        lines.append(line)
        return "[" + ("\n" + " " * (col + 1)).join(lines) + "]"

    return block(0, 0, indent)


def _element(raw: bytes, i: int, dt: DType):
    if dt is _dt.bfloat16:
        return struct.unpack_from("=f", b"\0\0" + raw[2 * i:2 * i + 2])[0]
    return struct.unpack_from("=" + dt._struct, raw, i * dt.itemsize)[0]


def _format_cells(values: list, dt: DType) -> list:
    """Strings for the shown values. Floats: the shortest exact decimals when they are short
    (1.0, 0.25), else 4 decimals, or scientific notation for wide ranges (like PyTorch)."""
    if dt.kind != "f":
        return [str(v) for v in values]
    short = [_shortest_float(v, dt) for v in values]
    if all(len(s.partition(".")[2]) <= 4 and "e" not in s for s in short):
        return short
    finite = [abs(v) for v in values if math.isfinite(v)]
    nonzero = [v for v in finite if v]
    hi, lo = max(finite, default=0.0), min(nonzero, default=0.0)
    sci = hi >= 1e8 or (lo and (lo < 1e-4 or hi / lo > 1e3))
    return [s if not math.isfinite(v) else f"{v:.4e}" if sci else f"{v:.4f}"
            for v, s in zip(values, short)]


def _shortest_float(v: float, dt: DType) -> str:
    """The shortest decimal that reads back as the same value of ``dt``."""
    if math.isnan(v) or math.isinf(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if dt is _dt.float64:
        s = repr(v)
    else:
        code = {"f32": "f", "f16": "e", "bf16": "f"}[dt.short]
        for p in range(1, 18):
            s = f"{v:.{p}g}"
            try:
                back = struct.unpack("=" + code, struct.pack("=" + code, float(s)))[0]
            except OverflowError:
                continue
            if dt is _dt.bfloat16:
                back = _round_bf16(float(s))
            if back == v:
                break
    if not any(c in s for c in ".en"):
        s += ".0"
    return s


def _round_bf16(x: float) -> float:
    """x rounded to bfloat16 (through float32; for printing only)."""
    (u,) = struct.unpack("=I", struct.pack("=f", x))
    u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    return struct.unpack("=f", struct.pack("=I", u & 0xFFFFFFFF))[0]
