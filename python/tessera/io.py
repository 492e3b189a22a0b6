"""Saving and loading pytrees of tensors (checkpoints) in the safetensors format (readable by
the ``safetensors`` package and PyTorch): an 8-byte little-endian header length, a JSON header
{name: {dtype, shape, data_offsets}}, then the tensors' bytes. Names are pytree paths:
``model.fc1.weight``, ``optim.m.fc1.weight``.

    ts.io.save("step100.safetensors", {"model": model, "optim": opt_state})
    restored = ts.io.load_into("step100.safetensors", {"model": model, "optim": opt_state})

``save`` is atomic: it writes a temporary file next to the target, syncs it and renames it over
the target, so a crash mid-write leaves the previous checkpoint intact. ``load`` checks the
header (size, JSON, offsets, dtypes, shapes) before reading, and ``load_into`` names every
missing, unexpected or mismatched tensor.
"""
from __future__ import annotations

import json
import math
import os
import struct

import numpy as np

from .errors import DTypeError, ShapeError, TesseraValueError
from .nn.module import named_leaves
from .tensor import Tensor, tensor
from .tree import tree_flatten

__all__ = ["save", "load", "load_into", "named_leaves"]

_CODES = {"f64": "F64", "f32": "F32", "f16": "F16", "bf16": "BF16", "i64": "I64", "i32": "I32", "i8": "I8",
          "u8": "U8", "bool": "BOOL"}
_NUMPY = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32, "I8": np.int8,
          "U8": np.uint8, "BOOL": np.bool_, "BF16": np.uint16}
_MAX_HEADER = 100 << 20


def _bytes(t):
    code = _CODES[t.dtype.short]
    if code == "BF16":  # bf16 -> f32 is exact: keep the top 16 bits
        bits = np.ascontiguousarray(t.astype("f32").numpy()).view(np.uint32) >> 16
        return code, bits.astype("<u2").tobytes()
    return code, np.ascontiguousarray(t.numpy()).astype(np.dtype(_NUMPY[code]).newbyteorder("<")).tobytes()


def save(path, tree, metadata=None):
    """Writes every tensor leaf of ``tree`` (see ``named_leaves``) to ``path``, atomically."""
    items = named_leaves(tree)
    names = [n for n, _ in items]
    if len(set(names)) != len(names):
        dups = sorted({n for n in names if names.count(n) > 1})
        raise TesseraValueError(f"io.save: duplicate tensor names {dups}")
    header, chunks, offset = {}, [], 0
    for name, t in items:
        code, data = _bytes(t)
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    write_atomically(path, [struct.pack("<Q", len(text)), text, *chunks])


def write_atomically(path, chunks):
    """Writes the byte strings ``chunks`` to a temporary file next to ``path``, syncs it and
    renames it over ``path``: readers see the old file or the whole new one, never a part."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    directory = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _corrupt(path, why):
    return TesseraValueError(f"io: {path} is not a valid safetensors file: {why}")


def _read_header(path, f, size):
    raw = f.read(8)
    if len(raw) < 8:
        raise _corrupt(path, f"{size} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw)
    if n > min(size - 8, _MAX_HEADER):
        raise _corrupt(path, f"the header claims {n} bytes, the file has {size - 8} after the length")
    try:
        header = json.loads(f.read(n))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _corrupt(path, f"the header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise _corrupt(path, "the header is not a JSON object")
    header.pop("__metadata__", None)
    data = size - 8 - n
    spans = []
    for name, entry in header.items():
        if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= set(entry):
            raise _corrupt(path, f"entry {name!r} lacks dtype, shape or data_offsets")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not (isinstance(shape, list) and all(_count(d) for d in shape)):
            raise _corrupt(path, f"entry {name!r} has shape {shape!r}: a list of integers >= 0 is needed")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_count(o) for o in offsets)):
            raise _corrupt(path, f"entry {name!r} has data_offsets {offsets!r}: two integers >= 0 are needed")
        if code not in _NUMPY:
            raise _corrupt(path, f"entry {name!r} has dtype {code!r}, which Tessera does not read")
        lo, hi = offsets
        want = math.prod(shape) * np.dtype(_NUMPY[code]).itemsize
        if not (lo <= hi <= data) or hi - lo != want:
            raise _corrupt(path, f"entry {name!r} spans bytes [{lo}, {hi}) of {data}; shape {shape} {code} "
                                 f"needs {want}")
        spans.append((lo, hi, name))
    at = 0
    for lo, hi, name in sorted(spans):  # the tensors tile the data section, as the format requires
        if lo != at:
            raise _corrupt(path, f"entry {name!r} starts at byte {lo}, not {at} (overlapping or missing bytes)")
        at = hi
    if at != data:
        raise _corrupt(path, f"the tensors cover {at} of the {data} data bytes")
    return header, 8 + n


def _count(v):
    return type(v) is int and v >= 0


def load(path, device="cpu"):
    """{name: tensor} of every tensor in the file."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        header, start = _read_header(path, f, size)
        out = {}
        for name, entry in header.items():
            lo, hi = entry["data_offsets"]
            f.seek(start + lo)
            code = entry["dtype"]
            arr = np.frombuffer(f.read(hi - lo), dtype=np.dtype(_NUMPY[code]).newbyteorder("<")).reshape(entry["shape"])
            if code == "BF16":
                t = tensor((arr.astype(np.uint32) << 16).view(np.float32), device=device).astype("bf16")
            else:
                t = tensor(arr.astype(_NUMPY[code]), device=device)
            out[name] = t
    return out


def load_into(path, tree, strict=True, device=None):
    """``tree`` with each tensor leaf replaced by the file's tensor of the same name (same shape
    and dtype required). With ``strict``, names in the file that ``tree`` lacks are errors too.
    Every mismatch is listed. A tensor that appears twice in ``tree`` (tied weights, a model and
    its EMA sharing a tensor) is read from each of its names."""
    leaves, treedef = tree_flatten(tree)
    names = [n for n, _ in named_leaves(tree)]  # the tensor leaves' names, in leaf order
    positions = [i for i, t in enumerate(leaves) if isinstance(t, Tensor)]
    if len(names) != len(positions):
        raise TesseraValueError(f"io.load_into: cannot name the tensors of a {type(tree).__name__}")
    loaded = load(path, device or "cpu")
    missing = [n for n in names if n not in loaded]
    unexpected = sorted(set(loaded) - set(names))
    problems = [f"missing {missing}"] if missing else []
    problems += [f"unexpected {unexpected}"] if strict and unexpected else []
    if problems:
        raise TesseraValueError(f"io.load_into: {path}: " + "; ".join(problems))
    new, shapes, dtypes = list(leaves), [], []
    for i, name in zip(positions, names):
        t, got = leaves[i], loaded[name]
        if tuple(got.shape) != tuple(t.shape):
            shapes.append(f"{name} has shape {tuple(got.shape)} in {path}, {tuple(t.shape)} here")
        elif got.dtype != t.dtype:
            dtypes.append(f"{name} has dtype {got.dtype} in {path}, {t.dtype} here")
        new[i] = got if device or t.device.type == "cpu" else tensor(got, device=t.device)
    if shapes:
        raise ShapeError("io.load_into: " + "; ".join(shapes))
    if dtypes:
        raise DTypeError("io.load_into: " + "; ".join(dtypes))
    return treedef.unflatten(new)
