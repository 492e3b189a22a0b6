"""Debugging aids: run-time checks of indices, and printing from inside jitted code.

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
