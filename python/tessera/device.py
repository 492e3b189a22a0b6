"""Devices: where a tensor's memory lives and where its kernels run.

``tessera.device("cuda:0")`` or ``tessera.device("cpu")``. CUDA is optional: on a machine
without a driver or GPU, ``device_count("cuda") == 0`` and using it raises ``DeviceError``.
"""
from __future__ import annotations

from . import _C
from .errors import DeviceError, TesseraValueError

__all__ = ["Device", "device", "device_count", "is_available", "synchronize",
           "set_num_threads", "get_num_threads", "device_properties",
           "empty_cache"]

_KINDS = ("cpu", "cuda")


class Device:
    """A device: ``type`` is "cpu" or "cuda", ``index`` its ordinal (always 0 for the CPU)."""

    __slots__ = ("type", "index", "_hash")

    def __init__(self, type: str, index: int = 0):
        if type not in _KINDS:
            raise DeviceError(f"unknown device type {type!r}; expected 'cpu' or 'cuda'")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise DeviceError(f"device index must be an int >= 0, got {index!r}")
        if type == "cpu" and index != 0:
            raise DeviceError(f"there is one CPU device, 'cpu'; got index {index}")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "_hash", hash(str(self)))  # a device == its name, so they hash alike

    def __setattr__(self, name, value):
        raise AttributeError("Device is immutable")

    def __str__(self) -> str:
        return "cpu" if self.type == "cpu" else f"cuda:{self.index}"

    def __repr__(self) -> str:
        return f"device('{self}')"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except DeviceError:
                return False
        if not isinstance(other, Device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self):
        return (device, (str(self),))


_CPU = Device("cpu")


def device(d=None) -> Device:
    """A Device from a Device, "cpu", "cuda", "cuda:N" or a torch.device (by its str).
    None means the CPU. Does not check that the device exists."""
    if d is None:
        return _CPU
    if isinstance(d, Device):
        return d
    s = d if isinstance(d, str) else str(d) if type(d).__name__ == "device" else None
    if s is None:
        raise DeviceError(f"expected a device such as 'cpu' or 'cuda:0', got {type(d).__name__}")
    kind, _, idx = s.strip().lower().partition(":")
    if kind not in _KINDS or (idx and not idx.isdigit()):
        raise DeviceError(f"unknown device {s!r}; expected 'cpu', 'cuda' or 'cuda:N'")
    return _CPU if kind == "cpu" and idx in ("", "0") else Device(kind, int(idx) if idx else 0)


def device_count(kind: str = "cuda") -> int:
    """How many devices of ``kind`` ("cpu" or "cuda") exist; 0 for CUDA without a driver/GPU."""
    if kind not in _KINDS:
        raise DeviceError(f"unknown device type {kind!r}; expected 'cpu' or 'cuda'")
    return _C.device_count(kind)


def is_available(kind: str = "cuda") -> bool:
    return device_count(kind) > 0


def device_properties(d="cpu") -> dict:
    """Name, memory, compute capability, multiprocessor count, ... of a device."""
    return _C.device_properties(str(device(d)))


def synchronize(d=None) -> None:
    """Waits until all work queued on device ``d`` finished (a no-op on the CPU). None: every
    CUDA device, if there are any."""
    if d is None:
        for i in range(device_count("cuda")):
            _C.synchronize(f"cuda:{i}")
        return
    _C.synchronize(str(device(d)))


def set_num_threads(n: int) -> None:
    """Number of CPU worker threads used by CPU kernels (default: hardware concurrency)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise TesseraValueError(f"set_num_threads: n must be an int >= 1, got {n!r}")
    global _threads_set
    _threads_set = True
    _C.set_cpu_threads(n)


_threads_set = False


def _threads_were_set() -> bool:
    """Whether set_num_threads was called (tessera.dist leaves the count alone then)."""
    return _threads_set


def get_num_threads() -> int:
    return _C.get_cpu_threads()


def memory_stats(d="cpu") -> dict:
    """What Tessera's allocator holds on device `d`: ``allocated_bytes`` (live buffers),
    ``peak_allocated_bytes`` (the most since the process started or
    :func:`reset_peak_memory_stats`), ``cached_bytes`` (freed blocks kept for reuse; see
    :func:`empty_cache`) and ``allocations`` (buffers allocated so far). CPU sizes are the bytes
    asked for; CUDA sizes are the allocator's size classes (512 bytes below 1 MiB, then 2 MiB
    steps), which is what the GPU holds. Buffers imported through DLPack are not counted."""
    return _C.memory_stats(str(device(d)))


def reset_peak_memory_stats(d="cpu") -> None:
    """Sets the peak of :func:`memory_stats` on device `d` to what is allocated now."""
    _C.reset_peak_memory_stats(str(device(d)))


def empty_cache(d="cpu") -> int:
    """Gives the memory of freed buffers that Tessera keeps for reuse back to the system and
    returns how many bytes that was. On the CPU, buffers of 1 MiB and more are cached (up to
    TESSERA_CPU_CACHE_MB, default a quarter of RAM and at most 8 GiB) so that repeated calls
    reuse warm memory instead of faulting in fresh pages."""
    return _C.release_cache(str(device(d)))
