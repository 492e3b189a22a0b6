"""Element types of Tessera tensors.

Each dtype is a singleton ``DType``: ``tessera.float32`` (alias ``tessera.f32``) and so on.
``tessera.dtype(x)`` turns a DType, a short or long name ("f32", "float32"), or a NumPy / PyTorch
dtype (matched by its str, so neither library is imported) into a DType.
"""
from __future__ import annotations

from .errors import DTypeError

__all__ = [
    "DType", "dtype", "float64", "float32", "float16", "bfloat16", "int64", "int32", "int8",
    "uint8", "bool_", "f64", "f32", "f16", "bf16", "i64", "i32", "i8", "u8",
]


class DType:
    """An element type. Compare with ``==``; ``short`` is the name the native core uses."""

    __slots__ = ("name", "short", "itemsize", "kind", "_struct")

    def __init__(self, name: str, short: str, itemsize: int, kind: str, struct_code: str):
        self.name = name            # "float32"
        self.short = short          # "f32", as in the IR and _C
        self.itemsize = itemsize    # bytes per element
        self.kind = kind            # "f" float, "i" signed int, "u" unsigned int, "b" bool
        self._struct = struct_code  # struct/array module code for one element ("" for bf16)

    @property
    def is_floating(self) -> bool:
        return self.kind == "f"

    @property
    def is_integer(self) -> bool:
        return self.kind in "iu"

    @property
    def is_signed(self) -> bool:
        return self.kind in "fi"

    def __repr__(self) -> str:
        return f"tessera.{self.name}"

    def __str__(self) -> str:
        return self.name

    def __reduce__(self):  # pickle as the singleton
        return (dtype, (self.name,))


float64 = DType("float64", "f64", 8, "f", "d")
float32 = DType("float32", "f32", 4, "f", "f")
float16 = DType("float16", "f16", 2, "f", "e")
bfloat16 = DType("bfloat16", "bf16", 2, "f", "")
int64 = DType("int64", "i64", 8, "i", "q")
int32 = DType("int32", "i32", 4, "i", "i")
int8 = DType("int8", "i8", 1, "i", "b")
uint8 = DType("uint8", "u8", 1, "u", "B")
bool_ = DType("bool", "bool", 1, "b", "?")

f64, f32, f16, bf16 = float64, float32, float16, bfloat16
i64, i32, i8, u8 = int64, int32, int8, uint8

ALL = (float64, float32, float16, bfloat16, int64, int32, int8, uint8, bool_)

_BY_NAME = {}
for _t in ALL:
    _BY_NAME[_t.name] = _BY_NAME[_t.short] = _t
_BY_NAME["bool_"] = bool_  # NumPy 1.x spelling


def dtype(x) -> DType:
    """The DType named by ``x``: a DType, "f32"/"float32", np.float32 or torch.float32."""
    if isinstance(x, DType):
        return x
    if x is bool:
        return bool_
    if x is int:
        return int64
    if x is float:
        return float32
    name = x if isinstance(x, str) else _foreign_name(x)
    t = _BY_NAME.get(name) if name is not None else None
    if t is None:
        valid = ", ".join(f"{t.name} ({t.short})" for t in ALL)
        raise DTypeError(f"unknown dtype {x!r}; Tessera supports {valid}")
    return t


def _foreign_name(x):
    """The name inside a NumPy or PyTorch dtype's str ("torch.float32", "float32", "<class
    'numpy.float32'>"), without importing either library."""
    s = getattr(x, "__name__", None) if isinstance(x, type) else None  # np.float32 (a class)
    if s is None:
        s = str(x)
    return s.rsplit(".", 1)[-1].strip("'>")
