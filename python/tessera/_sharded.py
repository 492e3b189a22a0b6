"""Sharded tensors: ordinary ``tessera.Tensor`` objects whose value is split over a mesh
(re-exported by ``tessera.dist``; docs/distributed.md, "Sharded tensors").

A sharded tensor's ``shape`` is the whole (global) shape and each process holds its block. Ops
on sharded tensors record a global program, as on any tensor; when it runs, the compiler places
it on the mesh (the tensors' shardings become its parameters' ``in_shardings``), propagates
shardings through it (``propagate-sharding``), and partitions it into the program each process
runs (``spmd-partition``), with the collectives its shardings need. Tensors held whole count as
replicated: every process must pass the same value.
"""
from __future__ import annotations

from . import lazy, ops
from .errors import TesseraValueError


def _mesh_arg(mesh, spec):
    from .dist import NamedSharding, current_mesh
    if isinstance(spec, NamedSharding):
        return spec.mesh, spec.spec
    return mesh or current_mesh(), spec


def spec_text(spec, rank, mesh):
    """The compiler's text of ``spec`` (a ShardSpec, PartitionSpec, or None: replicated) for a
    tensor of ``rank`` dims: ``"[dp, -]"``, ``"[-, -] sum(tp)"``."""
    dims = ["-"] * rank
    if spec is not None and not spec.replicate:
        for d, a in spec.dims(rank).items():
            mesh.size(a)  # checks the axis
            if a in dims:
                raise TesseraValueError(f"{spec!r}: mesh axis '{a}' splits two dims")
            dims[d] = a
    text = "[" + ", ".join(dims) + "]"
    if spec is not None and spec.reduce:
        if spec.reduce == "mean":
            raise TesseraValueError(f"{spec!r}: a pending mean is not kept; scale the terms and use reduce='sum'")
        pending = [a for a in mesh.axis_names if a not in dims]
        if not pending:
            raise TesseraValueError(f"{spec!r}: every mesh axis splits a dim; none is left for the pending "
                                    f"{spec.reduce}")
        text += f" {spec.reduce}({', '.join(pending)})"
    return text


def _dims(text):
    """Per dim, the mesh axis splitting it or "-"."""
    return [d.strip() for d in text[text.index("[") + 1:text.index("]")].split(",") if d.strip()]


def replicated_text(rank):
    return "[" + ", ".join("-" for _ in range(rank)) + "]"


def is_split(text):
    return any(a != "-" for a in _dims(text))


def whole_shape(block, text, mesh):
    """The global shape of which ``block`` is one member's block."""
    return tuple(n * (mesh.size(a) if a != "-" else 1) for n, a in zip(block, _dims(text)))


def block_shape(shape, text, mesh, what):
    """One member's block of ``shape``; a dim that does not divide is an error naming ``what``."""
    out = []
    for d, (n, a) in enumerate(zip(shape, _dims(text))):
        k = mesh.size(a) if a != "-" else 1
        if n % k:
            raise TesseraValueError(f"{what}: dim {d} of size {n} does not divide over mesh axis {a} of size {k}",
                                    lazy.user_location())
        out.append(n // k)
    return tuple(out)


def _constrain(t, spec, mesh, what):
    """``t`` resharded to ``spec``: a ``sharding_constraint`` op, run at once outside traces."""
    from .tensor import Tensor
    if not isinstance(t, Tensor):
        raise TesseraValueError(f"{what}: expected a tessera.Tensor, got {type(t).__name__}")
    mesh, spec = _mesh_arg(mesh, spec)
    if spec is not None and spec.reduce:
        raise TesseraValueError(f"{what}: a pending reduction (reduce={spec.reduce!r}) cannot be asked of a value; "
                                f"use dist.from_local to make a tensor of per-process terms", lazy.user_location())
    if t._sharding is not None and t._sharding[0] is not mesh:
        raise TesseraValueError(f"{what}: the tensor is split over {t._sharding[0]!r}, not {mesh!r}")
    text = spec_text(spec, t.ndim, mesh)  # an indivisible dim: the compiler says so, at the user's line
    with lazy.defer():
        out = ops.apply("sharding_constraint", (t,), {"sharding": text})
    out._sharding = (mesh, text)  # lets the program find its mesh
    if lazy.eager():
        lazy.realize(out)
    return out


def shard(t, spec, mesh=None):
    """``t`` (the same whole value on every process, or a sharded tensor) split as ``spec`` (a
    ``ShardSpec``, ``PartitionSpec`` or ``NamedSharding``) over ``mesh`` (default: the current
    mesh): each process keeps its block."""
    return _constrain(t, spec, mesh, "dist.shard")


def reshard(t, spec, mesh=None):
    """The sharded tensor ``t`` split as ``spec`` instead, moving data with collectives (all-to-all,
    all-gather, reduce-scatter, or a local slice: the cheapest that applies)."""
    return _constrain(t, spec, mesh, "dist.reshard")


def with_sharding_constraint(x, spec, mesh=None):
    """Inside ``jit`` (or eagerly): ``x``, split as ``spec``. Propagation starts from it, so the
    ops around it follow; a different sharding before it is resharded."""
    return _constrain(x, spec, mesh, "dist.with_sharding_constraint")


def gather(t):
    """The whole value of the sharded tensor ``t`` on every process (collective: every process
    calls it), as an ordinary tensor. A tensor held whole is returned as it is."""
    if t._sharding is None:
        return t
    return _constrain(t, None, t._sharding[0], "dist.gather")


def local(t):
    """This process's block of ``t`` as an ordinary tensor (``t`` itself when held whole)."""
    from .tensor import Tensor
    if t._sharding is None:
        return t
    if t._array is None:
        lazy.realize(t)
    return Tensor._from_array(t._array)


def from_local(block, spec, mesh=None):
    """The sharded tensor whose block on this process is ``block`` (each process passes its
    own), split as ``spec``. With ``reduce="sum"`` in the spec, the value is the sum of the
    blocks over the mesh axes that split no dim."""
    from .tensor import Tensor
    mesh, spec = _mesh_arg(mesh, spec)
    block = lazy.realize(block) if block._array is None else block
    if block._sharding is not None:
        raise TesseraValueError("dist.from_local: the block is already a sharded tensor")
    text = spec_text(spec, block.ndim, mesh)
    out = Tensor._from_array(block._array)
    out._shape = whole_shape(block.shape, text, mesh)
    if text != replicated_text(block.ndim):  # split, or pending
        out._sharding = (mesh, text)
    return out


def tensor(shape, layout=None, mesh=None, dtype="float32", init="zeros", seed=None, device=None):
    """A new tensor of ``shape`` split as ``layout`` over ``mesh``. ``init``: ``"zeros"``,
    ``"ones"``, a number (every element), ``"normal"`` or ``"uniform"`` (Philox random numbers
    from ``seed``: the same values as the unsharded ``tessera.randn(shape, seed=seed)`` /
    ``rand``, whatever the layout)."""
    from .tensor import full, rand, randn
    mesh, layout = _mesh_arg(mesh, layout)
    if layout is not None and layout.reduce:
        raise TesseraValueError("dist.tensor: a layout with a pending reduction makes no sense for a new value; "
                                "use dist.from_local for per-process terms", lazy.user_location())
    shape = tuple(int(n) for n in shape)
    text = spec_text(layout, len(shape), mesh)
    local = block_shape(shape, text, mesh, f"dist.tensor({shape}, {text})")
    if init in ("normal", "uniform"):
        fn = randn if init == "normal" else rand
        whole = fn(*shape, seed=seed, dtype=dtype, device=device or "cpu")
        return shard(whole, layout, mesh)  # every process makes the same numbers; keeps its block
    value = {"zeros": 0.0, "ones": 1.0}.get(init, init) if isinstance(init, str) else init
    if isinstance(value, str):
        raise TesseraValueError(f"dist.tensor: init must be 'zeros', 'ones', 'normal', 'uniform' or a number, "
                                f"got {init!r}")
    return from_local(full(local, value, dtype=dtype, device=device or "cpu"), layout, mesh)


def inspect(t) -> str:
    """What each process holds of ``t``: its block's index ranges along each dim, by rank
    (computed locally: no communication)."""
    if t._sharding is None:
        return f"tensor {tuple(t.shape)} {t.dtype.name}: held whole by every process"
    mesh, text = t._sharding
    dims = _dims(text)
    lines = [f"tensor {tuple(t.shape)} {t.dtype.name} split over {mesh!r} as {text}:"]
    for rank in mesh.devices:
        coords = mesh._coords_of(mesh.devices.index(rank))
        ranges = []
        for n, a in zip(t.shape, dims):
            if a == "-":
                ranges.append(f"0:{n}")
            else:
                k = mesh.shape[mesh.axis_names.index(a)]
                c = coords[mesh.axis_names.index(a)]
                ranges.append(f"{c * n // k}:{(c + 1) * n // k}")
        where = ", ".join(f"{a}={c}" for a, c in zip(mesh.axis_names, coords))
        lines.append(f"  rank {rank} ({where}): [{', '.join(ranges)}]")
    return "\n".join(lines)


def agree(key, mesh, inputs):
    """Checks that every process of the mesh runs the program ``key`` (one all-gather of its
    hash, at its first run): processes that disagree (other shapes, shardings or ops) would
    otherwise wait on each other's collectives forever. Raises on every process."""
    import hashlib

    from .dist import initialize
    from .tensor import tensor as make
    world = initialize()
    h = int.from_bytes(hashlib.sha1(key.encode()).digest()[:7], "little")
    got = ops.apply("all_gather", (make([h]),), {"group": "world", "size": world.size, "axis": 0})
    hashes = got.numpy().tolist()
    if len(set(hashes)) > 1:
        others = [r for r, x in enumerate(hashes) if x != h]
        raise TesseraValueError(
            f"the processes of {mesh!r} are running different programs: ranks {others} differ from this one "
            f"(rank {world.rank}), whose inputs are {inputs}. Every process must apply the same ops to tensors "
            f"of the same shapes and shardings", lazy.user_location())


def not_whole(t):
    """The error for reading the values of a sharded tensor as if held whole."""
    mesh, text = t._sharding
    return TesseraValueError(
        f"this tensor of shape {tuple(t.shape)} is split over {mesh!r} as {text}: no process holds all of it. "
        f"dist.gather(t) gives the whole value on every process (collective: call it on every rank); "
        f"dist.local(t) gives this process's block", lazy.user_location())


def named(t):
    from .dist import NamedSharding, PartitionSpec
    mesh, text = t._sharding
    spec = PartitionSpec(*[None if a == "-" else a for a in _dims(text)])
    return NamedSharding(mesh, spec)
