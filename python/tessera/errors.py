"""Exceptions raised by Tessera.

Every error Tessera raises is a ``TesseraError``; the subclass says what kind of problem it is.
Subclasses also derive from the matching built-in exception so ordinary ``except ValueError``
code keeps working.
"""
from __future__ import annotations


class TesseraError(Exception):
    """Base class of every Tessera error. ``location`` is the user's source line when known."""

    def __init__(self, message: str, location: str = ""):
        self.message = message
        self.location = location
        super().__init__(f"{message} at {location}" if location else message)


class ShapeError(TesseraError, ValueError):
    """Shapes do not fit together."""


class DTypeError(TesseraError, TypeError):
    """Element types do not fit together or are not supported."""


class DeviceError(TesseraError, RuntimeError):
    """A device is missing, unusable, or the wrong one."""


class ParseError(TesseraError, ValueError):
    """IR text is malformed."""


class VerifyError(TesseraError, ValueError):
    """IR breaks one of its invariants."""


class CompileError(TesseraError, RuntimeError):
    """A program cannot be compiled for a target."""


class TesseraRuntimeError(TesseraError, RuntimeError):
    """A kernel launch, copy or synchronisation failed."""


class TesseraValueError(TesseraError, ValueError):
    """An argument has a bad value."""


class TracingError(TesseraError, TypeError):
    """A traced function did something that cannot be recorded."""


class TesseraIndexError(TesseraError, IndexError):
    """An index is out of range or malformed (an IndexError, so iteration over a tensor stops)."""


class InternalError(TesseraError, RuntimeError):
    """A bug in Tessera. Please report it with the IR text."""


_BY_CODE = {
    "ValueError": TesseraValueError,
    "ShapeError": ShapeError,
    "DTypeError": DTypeError,
    "DeviceError": DeviceError,
    "ParseError": ParseError,
    "VerifyError": VerifyError,
    "CompileError": CompileError,
    "RuntimeError": TesseraRuntimeError,
    "InternalError": InternalError,
}


class RecompileWarning(UserWarning):
    """A jit function traced again and again (a changing static argument or shape)."""
