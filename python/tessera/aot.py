"""Ahead-of-time export: ``tessera.export`` compiles a function once, for a target, into a
program file that runs without the compiler; ``tessera.load`` runs one from Python.

The file (docs/cpp.md, "Exported programs") holds the compiled kernels (for the CPU a shared
object, for NVIDIA GPUs PTX), the launch plan, the input and output signature, the tensors the
function closes over (model weights) as constants, and a manifest naming the format version,
target and compiler. C and C++ programs run it with ``libtessera_runtime.so`` alone
(``tsrProgramLoad`` / ``tsrProgramRun``); a file that is truncated, corrupted, newer than the
runtime or built for another target is refused with a message saying which.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import _C
from . import lazy
from .jit import JitFunction, _flatten, _scalar_leaves, _weak_scalar, trace
from .errors import TesseraError, TracingError
from .io import write_atomically
from .tensor import Tensor

__all__ = ["export", "load", "ExportedProgram"]


def _structure(spec, what):
    """A flattened argument or result structure (jit._flatten) as JSON: tensors and floats by
    leaf index, tuples, lists and dicts of them, and static values by their repr."""
    kind, payload = spec
    if kind in ("T", "F"):
        return {kind: payload}
    if kind in ("list", "tuple"):
        return {kind: [_structure(x, what) for x in payload]}
    if kind == "dict":
        if not all(isinstance(k, str) for k, _ in payload):
            raise TesseraError(f"tessera.export: {what} dicts need string keys to be exported")
        return {"dict": [[k, _structure(v, what)] for k, v in payload]}
    if kind == "node":
        if what == "results":
            raise TesseraError("tessera.export: results must be tensors, or tuples, lists and dicts of them; "
                               f"got a {payload[0]!r} node (return its tensors instead)")
        return {"node": [_structure(c, what) for c in payload[2]]}
    value = payload[1]
    return {"S": value if isinstance(value, (int, float, str, bool, type(None))) else repr(value)}


_KINDS = {"T": "a tensor", "F": "a float", "S": "a static value", "list": "a list", "tuple": "a tuple",
          "dict": "a dict", "node": "a pytree node"}


def _difference(exported, called, path):
    """Where two argument structures first differ, in words; None when they are equal."""
    (ek, ev), = exported.items()
    (ck, cv), = called.items()
    if ek != ck:
        return f"{path} was exported as {_KINDS[ek]}, got {_KINDS[ck]}"
    if ek == "S":
        return None if ev == cv else f"{path} was exported as the static value {ev!r}, got {cv!r}"
    if ek in ("T", "F"):
        return None
    if ek == "dict":
        if [k for k, _ in ev] != [k for k, _ in cv]:
            return f"{path} was exported with keys {[k for k, _ in ev]}, got {[k for k, _ in cv]}"
        pairs = [(f"{path}[{k!r}]", a, b) for (k, a), (_, b) in zip(ev, cv)]
    else:
        if len(ev) != len(cv):
            return f"{path} was exported with {len(ev)} items, got {len(cv)}"
        pairs = [(f"{path}[{i}]", a, b) for i, (a, b) in enumerate(zip(ev, cv))]
    for where, a, b in pairs:
        found = _difference(a, b, where)
        if found:
            return found
    return None


def _rebuild(structure, leaves):
    (kind, payload), = structure.items()
    if kind in ("T", "F"):
        return leaves[payload]
    if kind == "list":
        return [_rebuild(x, leaves) for x in payload]
    if kind == "tuple":
        return tuple(_rebuild(x, leaves) for x in payload)
    if kind == "dict":
        return {k: _rebuild(v, leaves) for k, v in payload}
    return payload


def export(fn, *args, target: str | None = None, path=None, **kwargs):
    """Compiles ``fn(*args, **kwargs)`` for ``target`` into a program file.

    ``args``/``kwargs`` are example arguments: tensors (and NumPy arrays) become the program's
    inputs with their shapes and dtypes; floats become float64 scalar inputs; other values are
    static and compiled in. Tensors ``fn`` closes over (a model's weights) are stored in the
    file as constants. ``target``: ``"cpu"`` (this machine's CPU; the file records the
    instruction sets it uses) or ``"nvptx:sm_90a"`` and the like (no GPU is needed to export);
    by default the example arguments' device decides. ``path``: where to write the file
    (atomically); without it the file's bytes are returned.
    """
    name = getattr(fn, "__name__", type(fn).__name__)
    if isinstance(fn, JitFunction):
        if fn._dynamic is not None:
            raise TesseraError(f"tessera.export({name}): symbolic dims (jit's dynamic=) are not carried into "
                               "exported programs yet; export the plain function once for each shape it must run "
                               "at", lazy.user_location())
        fn = fn._fn
    if lazy.state.depth > 0:
        raise TracingError(f"tessera.export({name}) cannot run inside a trace (jit, grad, vmap)", lazy.user_location())
    leaves = []  # the example arguments' tensors and floats, flattened as jit does
    spec = _flatten((args, kwargs), leaves, scalars=True)
    _scalar_leaves(leaves)
    lazy.realize(*[t for t in leaves if t._array is None])
    if any(t._sharding is not None for t in leaves):
        raise TesseraError(f"tessera.export({name}): an argument is split over a device mesh; exporting sharded "
                           "programs is not supported yet (pass dist.gather(x))", lazy.user_location())
    tr = trace(fn, spec, leaves, owner=f"tessera.export({name})")
    if tr.meshes or tr.n_effects:
        what = "sharding constraints" if tr.meshes else "debug_print"
        raise TesseraError(f"tessera.export({name}): the function uses {what}, which exported programs do not "
                           "support yet", lazy.user_location())
    lazy.realize(*[t for t in tr.captured if t._array is None])
    if any(t._sharding is not None for t in tr.captured):
        raise TesseraError(f"tessera.export({name}): the function closes over a tensor split over a device mesh",
                           lazy.user_location())
    if target is None:
        target = "cpu" if tr.device.type == "cpu" else _C.default_target(str(tr.device))
    meta = {"name": name, "args": _structure(spec, "argument"), "results": _structure(tr.out_spec, "results"),
            "floats": [i for i, t in enumerate(leaves) if type(t).__name__ == "WeakScalar"]}
    data = _C.export_program(tr.text, target, len(leaves), [t._array for t in tr.captured], json.dumps(meta))
    if path is None:
        return data
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, [data])
    return path


class ExportedProgram:
    """An exported program loaded for one device. Call it with arguments shaped like the
    example arguments given to ``tessera.export``; it returns what the function returned."""

    def __init__(self, loaded, source):
        self._loaded = loaded
        self._source = source
        self._meta = json.loads(loaded.metadata) if loaded.metadata else {}
        self._floats = set(self._meta.get("floats", ()))
        n = len(loaded.input_types)
        # Exported with positional tensors only: calls like that skip the structure check.
        self._positional = self._meta.get("args") == {"tuple": [{"tuple": [{"T": i} for i in range(n)]},
                                                                 {"dict": []}]}
        self._results = self._meta.get("results")
        self.device = loaded.device  # "cpu" or "cuda:0"

    @property
    def manifest(self) -> str:
        """The file's manifest: format, target, compiler, inputs, outputs, constants."""
        return self._loaded.manifest

    @property
    def target(self) -> str:
        return self._loaded.target

    @property
    def input_types(self):
        """(shape, dtype name) of each input, in the order of the flattened arguments."""
        return [(tuple(s), d) for s, d in self._loaded.input_types]

    @property
    def output_types(self):
        return [(tuple(s), d) for s, d in self._loaded.output_types]

    def __repr__(self):
        return f"<tessera.ExportedProgram {self._meta.get('name', '?')} from {self._source} on {self._loaded.device}>"

    def __call__(self, *args, **kwargs):
        if self._positional and not kwargs and len(args) == len(self._loaded.input_types) and \
                all(type(a) is Tensor and a._array is not None for a in args):
            return self._wrap(self._loaded.run([a._array for a in args]))
        leaves = []
        spec = _flatten((args, kwargs), leaves, scalars=True)
        structure = self._meta.get("args")
        called = json.loads(json.dumps(_structure(spec, "argument")))  # tuples as JSON has them
        if structure is not None and called != structure:
            (args_s, kwargs_s), (args_c, kwargs_c) = structure["tuple"], called["tuple"]
            why = _difference(args_s, args_c, "args") or _difference(kwargs_s, kwargs_c, "kwargs")
            raise TesseraError(f"{self!r}: the arguments differ from the exported ones: {why}", lazy.user_location())
        expected = len(self._loaded.input_types)
        if len(leaves) != expected:
            raise TesseraError(f"{self!r}: takes {expected} tensor or float arguments (as exported), got {len(leaves)}",
                               lazy.user_location())
        device = self._loaded.device
        arrays = []
        for i, x in enumerate(leaves):
            if type(x) is float:
                if i not in self._floats:
                    raise TesseraError(f"{self!r}: argument leaf {i} was exported as a tensor, got a float",
                                       lazy.user_location())
                x = _weak_scalar(x, device)
            if x._array is None:
                lazy.realize(x)
            arrays.append(x._array)
        return self._wrap(self._loaded.run(arrays))

    def _wrap(self, outs):
        tensors = [Tensor._from_array(a) for a in outs]
        if self._results is None:
            return tuple(tensors)
        if self._results == {"T": 0}:
            return tensors[0]
        return _rebuild(self._results, tensors)


def load(source, device: str = "cpu") -> ExportedProgram:
    """Loads an exported program (a path, or the bytes ``tessera.export`` returned) for
    ``device``, checking the file and that the device can run its target."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "<exported program bytes>"
    else:
        name = str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as e:
            raise TesseraError(f"tessera.load: cannot read {name}: {e.strerror}") from None
    return ExportedProgram(_C.load_program(data, name, str(device)), name)
