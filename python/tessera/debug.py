"""Debugging aids: run-time checks of indices, and printing from inside jitted code
(``tessera.debug_print``).

``tessera.debug.checks()`` (or ``TESSERA_CHECKS=1`` in the environment) makes the index-reading
ops (take, gather, scatter_add, embedding, cross_entropy, nll_loss) check their indices when the
program runs, as if they had been called with ``mode="error"``: an out-of-range index raises an
error naming the op, the shapes and the line, instead of being clamped (take's default) or
contributing nothing (cross_entropy's). Checks cost a reduction and a device-to-host read per
program run, so they are off by default. An op given another mode explicitly keeps it.
"""
from __future__ import annotations

import contextlib
import os

_checks = [os.environ.get("TESSERA_CHECKS", "") not in ("", "0", "off", "false", "no")]


def checks_enabled() -> bool:
    return _checks[-1]


def set_checks(enabled: bool) -> None:
    """Turns the run-time index checks on or off for the rest of the process."""
    _checks[-1] = bool(enabled)


@contextlib.contextmanager
def checks(enabled: bool = True):
    """Index checks on (or off) inside the block. Programs traced inside keep their checks."""
    _checks.append(bool(enabled))
    try:
        yield
    finally:
        _checks.pop()


def _text(value):
    """A tensor's values as NumPy prints them (bfloat16 through float32)."""
    import numpy as np
    from .tensor import Tensor
    if isinstance(value, Tensor):
        if value.dtype.short == "bf16":
            value = value.astype("f32")
        return str(np.asarray(value.cpu().numpy()))
    return str(value)


def _print_from_program(fmt, arrays):
    """The runtime's printer: called when a compiled program reaches a debug_print."""
    from .tensor import Tensor
    print(fmt.format(*[_text(Tensor._from_array(a)) for a in arrays]), flush=True)


def debug_print(fmt, *args):
    """Prints ``fmt.format(*args)`` when the values exist: at once eagerly, and each time the
    compiled program runs inside ``jit`` (and the programs grad, vjp, jvp and vmap derive; vmap
    prints the whole batch). ``args`` are tensors or numbers; ``{}`` fields take them in order.
    Not supported inside scan, while_loop, cond or custom_vjp functions yet."""
    from . import lazy
    from .lazy import Node, user_location
    from .tensor import Tensor, tensor
    values = [a if isinstance(a, Tensor) else tensor(a) for a in args]
    if lazy.state.depth == 0:
        lazy.realize(*values)
        print(fmt.format(*[_text(v) for v in values]), flush=True)
        return
    if len({str(v.device) for v in values}) > 1:
        from .errors import DeviceError
        raise DeviceError("debug_print: values on several devices", user_location())
    node = Node("debug_print", values, {"format": str(fmt)}, user_location())
    lazy.mark_used(values)
    device = values[0].device if values else "cpu"
    lazy.add_effects([Tensor._lazy(node, (), "bool", device)])


def _install():
    from . import _C
    _C.set_print_callback(_print_from_program)


_install()
