"""Distributed Tessera: processes, device meshes, sharding specs and collectives.

A job is N processes started by ``python -m tessera.launch -n N script.py`` (``mpiexec``
underneath), one device per process; a process started without a launcher is rank 0 of 1. A
:class:`Mesh` arranges the job's devices on named axes (``Mesh(["dp", "tp"], shape=(2, 2))``) and
creates one communicator per axis. Collectives (:func:`all_reduce`, :func:`all_gather`, ...) are
ordinary Tessera ops of a per-process program: they run eagerly, inside ``jit``, and under
``grad`` (their derivative rules are in the op registry), and they go through MPI for CPU tensors
(the MPI-5 standard ABI, opened at run time: the ``mpich`` wheel's ``libmpi_abi.so.1`` or
``TESSERA_MPI_LIB``) and through NCCL for CUDA tensors (``libnccl.so.2``: ``TESSERA_NCCL_LIB``,
else an ``nvidia-nccl-cu*`` wheel's, else the system's).

Derivatives follow JAX's ``shard_map``: a value is replicated (the same on every member of an
axis) or varying. ``all_reduce`` makes a replicated value (its gradient passes through
unchanged); :func:`mark_varying` takes a replicated value into per-member work (its gradient is
summed over the axis); ``all_gather``'s gradient is reduce-scattered and ``reduce_scatter``'s
all-gathered.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
import traceback

from . import _C, lazy, ops
from ._pipeline import pipeline
from ._sharded import from_local, gather, inspect, local, reshard, shard, tensor, with_sharding_constraint
from .errors import TesseraValueError

__all__ = ["initialize", "rank", "world_size", "barrier", "library_version", "nccl_version", "Mesh", "current_mesh",
           "ShardSpec", "PartitionSpec", "NamedSharding", "tensor", "shard", "reshard", "gather", "local",
           "from_local", "inspect", "with_sharding_constraint", "shard_map", "pipeline", "deterministic",
           "is_deterministic",
           "all_reduce", "all_gather", "reduce_scatter", "all_to_all", "broadcast", "ppermute", "mark_varying",
           "axis_index"]

_lock = threading.Lock()
_world = None


def _abort_on_exception(exc_type, exc, tb):
    """A rank that raises prints its error and ends the whole job (MPI_Abort): the other ranks
    would otherwise wait forever in their next collective."""
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(f"[tessera rank {_world.rank}/{_world.size}] {text}")
    sys.stderr.flush()
    _world.abort(1)


def initialize():
    """Joins the job (initialising MPI); called by everything here, so rarely needed by hand.
    Returns the world communicator. In a job of more than one process, an uncaught exception on
    any rank ends every rank (with that rank's traceback) instead of leaving them waiting."""
    global _world
    with _lock:
        if _world is None:
            if not os.environ.get("TESSERA_MPI_LIB"):
                from .launch import mpich_file
                lib = mpich_file("libmpi_abi.so.1")
                if lib:
                    os.environ["TESSERA_MPI_LIB"] = lib
            if not os.environ.get("TESSERA_NCCL_LIB"):
                lib = _nccl_wheel_file()
                if lib:
                    os.environ["TESSERA_NCCL_LIB"] = lib
            _world = _C.comm_world()
            _C.register_group("world", _world)  # every process: checks that they agree (_sharded.agree)
            _share_cores(_world.size)
            if _world.size > 1 and sys.excepthook is sys.__excepthook__:
                sys.excepthook = _abort_on_exception
    return _world


def _share_cores(world_size):
    """Processes on one host split its cores: each runs its CPU kernels on cores / (ranks on
    this host) threads (MPICH's MPI_LOCALNRANKS, Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE), rather
    than every rank starting one thread per core. Left alone when the launcher does not say how
    many ranks share the host, or when tessera.set_num_threads was called."""
    from .device import _threads_were_set
    local = os.environ.get("MPI_LOCALNRANKS") or os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE")
    if world_size <= 1 or _threads_were_set() or not local or not local.isdigit() or int(local) <= 1:
        return
    _C.set_cpu_threads(max(1, (os.cpu_count() or 1) // int(local)))


def _nccl_wheel_file():
    """libnccl.so.2 of an installed nvidia-nccl-cu12/-cu13 wheel (PyTorch's NCCL), or None."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("nvidia.nccl")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "lib", "libnccl.so.2")
        if os.path.exists(path):
            return path
    return None


def rank() -> int:
    """This process's rank in the job (0 without a launcher)."""
    return initialize().rank


def world_size() -> int:
    """The number of processes in the job (1 without a launcher)."""
    return initialize().size


def barrier():
    """Waits until every process of the job reaches this call."""
    initialize().barrier()


def nccl_version() -> tuple:
    """The NCCL library's version as (major, minor, patch), opening it; a missing library is a
    DeviceError naming TESSERA_NCCL_LIB."""
    initialize()
    code = _C.nccl_version()
    return (code // 10000, code // 100 % 100, code % 100)


def library_version() -> str:
    """The MPI library's version text."""
    initialize()
    return _C.mpi_library_version()


def _shape_of(devices):
    """(shape, flat list) of a nested list of device ids."""
    if isinstance(devices, range) or not any(isinstance(d, (list, tuple, range)) for d in devices):
        return (len(devices),), [int(d) for d in devices]
    parts = [_shape_of(d) for d in devices]
    if len({p[0] for p in parts}) != 1:
        raise TesseraValueError(f"Mesh: devices is a ragged nested list: {devices!r}")
    return (len(parts),) + parts[0][0], [d for p in parts for d in p[1]]


_mesh_stack = []


class Mesh:
    """Devices on named axes: ``Mesh(axes=["dp"], devices=range(8))``, ``Mesh(["dp", "tp"],
    devices=[[0, 1], [2, 3]])`` or ``Mesh(["dp", "tp"], shape=(2, 2))``. Devices are process
    ranks (one device per process); the mesh must hold every process of the job exactly once.
    Creating a mesh is collective: every rank creates the same meshes in the same order. Use it
    as a context manager to make it :func:`current_mesh`."""

    def __init__(self, axes, devices=None, shape=None):
        world = initialize()
        self.axis_names = tuple(axes) if not isinstance(axes, str) else (axes,)
        if len(set(self.axis_names)) != len(self.axis_names) or not self.axis_names:
            raise TesseraValueError(f"Mesh: axes must be distinct names, got {self.axis_names!r}")
        if devices is None:
            devices = range(world.size)
        nested_shape, flat = _shape_of(list(devices) if not isinstance(devices, range) else devices)
        if shape is None:
            shape = nested_shape if len(nested_shape) == len(self.axis_names) else None
            if shape is None and len(self.axis_names) == 1:
                shape = (len(flat),)
        if shape is None or len(shape) != len(self.axis_names):
            raise TesseraValueError(f"Mesh: {len(self.axis_names)} axes {self.axis_names} need a shape of that "
                                    f"many dims (pass shape= or a nested devices list), got {shape}")
        self.shape = tuple(int(s) for s in shape)
        size = 1
        for s in self.shape:
            size *= s
        if size != len(flat):
            raise TesseraValueError(f"Mesh: shape {self.shape} holds {size} devices but {len(flat)} were given")
        if sorted(flat) != list(range(world.size)):
            raise TesseraValueError(
                f"Mesh: devices {flat} must be the job's ranks 0..{world.size - 1}, each once (one device per "
                f"process); this job has {world.size} process(es) - start {len(flat)} with "
                f"`python -m tessera.launch -n {len(flat)} script.py`")
        self.devices = flat
        digest = hashlib.sha1(repr((self.axis_names, self.shape, flat)).encode()).hexdigest()[:10]
        self.key = f"mesh{digest}"
        self.coords = self._coords_of(flat.index(world.rank))
        self._comms = {}
        for i, name in enumerate(self.axis_names):  # members of an axis group share the other coordinates
            others = self.coords[:i] + self.coords[i + 1:]
            color = 0
            for c, s in zip(others, self.shape[:i] + self.shape[i + 1:]):
                color = color * s + c
            comm = world.split(color, self.coords[i])
            self._comms[name] = comm
            _C.register_group(f"{self.key}:{name}", comm)
        global _default_mesh
        _default_mesh = self

    def _coords_of(self, index):
        coords = []
        for s in reversed(self.shape):
            coords.append(index % s)
            index //= s
        return tuple(reversed(coords))

    def size(self, axis=None) -> int:
        """Devices along ``axis`` (a name or a tuple of names), or in the whole mesh."""
        axes = self.axis_names if axis is None else (axis,) if isinstance(axis, str) else tuple(axis)
        n = 1
        for a in axes:
            if a not in self.axis_names:
                raise TesseraValueError(f"mesh axis '{a}' is not one of this mesh's axes {self.axis_names}")
            n *= self.shape[self.axis_names.index(a)]
        return n

    def _axes(self, axis):
        axes = (axis,) if isinstance(axis, str) else tuple(axis)
        for a in axes:
            if a not in self.axis_names:
                raise TesseraValueError(f"mesh axis '{a}' is not one of this mesh's axes {self.axis_names}")
        if len(axes) != 1:
            raise TesseraValueError(f"collectives over several mesh axes at once ({axes}) are not supported yet; "
                                    f"apply one per axis")
        return axes

    def group(self, axis):
        """(group key, size) of the communicator along ``axis``, as collective ops name it."""
        (a,) = self._axes(axis)
        return f"{self.key}:{a}", self.shape[self.axis_names.index(a)]

    def axis_index(self, axis) -> int:
        """This process's coordinate along ``axis``."""
        (a,) = self._axes(axis)
        return self.coords[self.axis_names.index(a)]

    @property
    def _ir_text(self):
        """The compiler's text of the mesh: ``"@key[dp=2, tp=2]"``."""
        return f"@{self.key}[" + ", ".join(f"{a}={n}" for a, n in zip(self.axis_names, self.shape)) + "]"

    def __enter__(self):
        _mesh_stack.append(self)
        return self

    def __exit__(self, *exc):
        _mesh_stack.pop()

    def __repr__(self):
        dims = ", ".join(f"{a}={s}" for a, s in zip(self.axis_names, self.shape))
        return f"Mesh({dims})"


def current_mesh():
    """The innermost ``with mesh:``; else the mesh created last; else a one-axis mesh ``"world"``
    over the whole job."""
    if _mesh_stack:
        return _mesh_stack[-1]
    global _default_mesh
    if _default_mesh is None:
        _default_mesh = Mesh(["world"])
    return _default_mesh


_default_mesh = None


class ShardSpec:
    """How a tensor's dims map onto mesh axes: ``ShardSpec(("row",), ("dp",))`` splits dim
    ``"row"`` (dim 0; ``"col"`` is dim 1, ``"batch"``, ``"head"`` ... name dims by position in
    ``partition``) over mesh axis ``"dp"``. Integer dims are allowed. Dims not named are
    replicated. ``reduce="sum"`` marks a pending reduction: each member holds a partial sum."""

    _LABELS = {"row": 0, "col": 1}

    def __init__(self, partition=(), mesh_axes=(), replicate=False, reduce=None):
        self.partition = tuple(partition) if not isinstance(partition, (str, int)) else (partition,)
        self.mesh_axes = tuple(mesh_axes) if not isinstance(mesh_axes, str) else (mesh_axes,)
        if len(self.partition) != len(self.mesh_axes):
            raise TesseraValueError(f"ShardSpec: {len(self.partition)} dims {self.partition} but "
                                    f"{len(self.mesh_axes)} mesh axes {self.mesh_axes}")
        if reduce not in (None, "sum", "mean", "max", "min"):
            raise TesseraValueError(f"ShardSpec: reduce must be None, 'sum', 'mean', 'max' or 'min', got {reduce!r}")
        self.replicate, self.reduce = bool(replicate), reduce

    @classmethod
    def replicate(cls):  # noqa: F811 - ShardSpec.replicate() builds one; spec.replicate is its flag
        """The whole tensor on every member."""
        return cls((), (), replicate=True)

    def dim_of(self, label, rank):
        """The tensor dim that ``label`` names for a tensor of ``rank`` dims."""
        if isinstance(label, int):
            d = label
        elif label in self._LABELS:
            d = self._LABELS[label]
        else:
            d = self.partition.index(label)
        if not -rank <= d < rank:
            raise TesseraValueError(f"ShardSpec: dim {label!r} is out of range for a rank-{rank} tensor")
        return d % rank

    def dims(self, rank):
        """{tensor dim: mesh axis} for a tensor of ``rank`` dims."""
        return {self.dim_of(p, rank): a for p, a in zip(self.partition, self.mesh_axes) if a is not None}

    def __eq__(self, other):
        return isinstance(other, ShardSpec) and (self.partition, self.mesh_axes, self.replicate, self.reduce) == \
            (other.partition, other.mesh_axes, other.replicate, other.reduce)

    def __hash__(self):
        return hash((self.partition, self.mesh_axes, self.replicate, self.reduce))

    def __repr__(self):
        extra = ", reduce=%r" % self.reduce if self.reduce else ""
        return f"ShardSpec({self.partition!r}, {self.mesh_axes!r}{extra})"



def PartitionSpec(*axes):  # noqa: N802 - JAX's spelling
    """JAX's spelling: ``PartitionSpec("dp", None)`` shards dim 0 over ``"dp"`` and keeps dim 1
    whole."""
    dims = [(i, a) for i, a in enumerate(axes) if a is not None]
    return ShardSpec(tuple(i for i, _ in dims), tuple(a for _, a in dims))


class NamedSharding:
    """JAX's spelling of a (mesh, spec) pair."""

    def __init__(self, mesh, spec):
        self.mesh, self.spec = mesh, spec

    def __repr__(self):
        return f"NamedSharding({self.mesh!r}, {self.spec!r})"


# ---- collectives: ops of the per-process program ----

def _group(axis, mesh):
    mesh = mesh or current_mesh()
    if axis is None:
        if len(mesh.axis_names) != 1:
            raise TesseraValueError(f"name the mesh axis: the mesh has axes {mesh.axis_names}")
        axis = mesh.axis_names[0]
    key, size = mesh.group(axis)
    return {"group": key, "size": size}


def _apply(name, x, attrs):
    if lazy.deterministic:
        attrs["deterministic"] = True
    return ops.apply(name, (x,), attrs)


@contextlib.contextmanager
def deterministic():
    """Collectives and sharded programs built inside reduce in a fixed order (docs/distributed.md,
    "Determinism"): floating sums and products over a group combine the members' values in
    member order (an all-gather, then one reduction), so every member and every run gets the
    same bits; sharded programs never split a reduced dim, so reductions and contractions run
    over whole rows in the single-device order."""
    lazy.deterministic += 1
    try:
        yield
    finally:
        lazy.deterministic -= 1


def is_deterministic() -> bool:
    """Whether a ``with deterministic():`` block is open."""
    return lazy.deterministic > 0


def _several(axis):
    """Mesh axes named as a tuple (major first), or None for one axis."""
    return tuple(axis) if isinstance(axis, (tuple, list)) and len(axis) > 1 else None


def all_reduce(x, op="sum", axis=None, mesh=None):
    """Every member of ``axis`` (one mesh axis, or a tuple: their product) gets the reduction
    (``"sum"``, ``"mean"``, ``"max"``, ``"min"``, ``"prod"``) of ``x`` over it. The result is
    replicated over the axis."""
    if _several(axis):  # one axis after the other: each step is over groups of equal size
        for a in _several(axis):
            x = all_reduce(x, op, a, mesh)
        return x
    return _apply("all_reduce", x, {**_group(axis, mesh), "reduce": op})


def all_gather(x, axis=None, dim=0, mesh=None):
    """Concatenates every member's ``x`` along ``dim``, in member order (for a tuple of axes,
    members ordered by their coordinates, the first axis major)."""
    if _several(axis):  # the minor axis first: its blocks end up innermost
        for a in reversed(_several(axis)):
            x = all_gather(x, a, dim, mesh)
        return x
    return _apply("all_gather", x, {**_group(axis, mesh), "axis": dim})


def reduce_scatter(x, op="sum", axis=None, dim=0, mesh=None):
    """Reduces ``x`` over the axis (or a tuple of axes); member i keeps block i along ``dim``
    (members ordered as in all_gather)."""
    if _several(axis):  # the major axis first: it picks the outer block
        for a in _several(axis):
            x = reduce_scatter(x, op, a, dim, mesh)
        return x
    return _apply("reduce_scatter", x, {**_group(axis, mesh), "axis": dim, "reduce": op})


def all_to_all(x, axis=None, split_dim=0, concat_dim=0, mesh=None):
    """Member i sends block j of ``x`` (along ``split_dim``) to member j and concatenates what it
    receives along ``concat_dim``."""
    return _apply("all_to_all", x, {**_group(axis, mesh), "split_axis": split_dim, "concat_axis": concat_dim})


def broadcast(x, src=0, axis=None, mesh=None):
    """Every member of the axis gets member ``src``'s ``x``."""
    return _apply("broadcast", x, {**_group(axis, mesh), "root": src})


def ppermute(x, perm, axis=None, mesh=None):
    """Member d gets ``x`` of member s for each ``(s, d)`` in ``perm``; others get zeros."""
    flat = [int(v) for pair in perm for v in pair]
    return _apply("ppermute", x, {**_group(axis, mesh), "perm": flat})


def mark_varying(x, axis=None, mesh=None):
    """``x`` unchanged, entering per-member work: its gradient is summed over the axis (use it
    on a replicated value, such as a weight, that each member uses on its own data)."""
    return _apply("mark_varying", x, _group(axis, mesh))


def axis_index(axis=None, mesh=None) -> int:
    """This process's index along the mesh axis (a Python int: each process compiles its own
    program)."""
    mesh = mesh or current_mesh()
    if axis is None:
        axis = mesh.axis_names[0]
    return mesh.axis_index(axis)



# ---- per-device code ----

def shard_map(fn, mesh=None, in_specs=None, out_specs=None):
    """``fn`` run on each process's blocks, with explicit collectives (JAX's ``shard_map``).

    The returned function splits each tensor argument as its entry of ``in_specs`` (one spec for
    every argument, or a sequence; ``None``: whole), calls ``fn`` (compiled with ``jit``, the mesh
    current, so ``all_reduce(x, axis="dp")`` names its axes) on the blocks, and gives back its
    outputs (any pytree) as tensors split as ``out_specs`` (one spec for every output tensor, or a
    sequence, one per tensor in flattening order), each output of ``fn`` being this process's
    block; ``None`` returns the block as an ordinary tensor (this process's value). Call it
    eagerly; inside ``jit``/``grad`` it is not supported yet (its body is compiled already:
    differentiate inside ``fn``, where collectives have derivative rules)."""
    from . import lazy
    from .errors import TracingError
    from .jit import jit
    from .tensor import Tensor
    from .tree import tree_flatten, tree_unflatten
    body = jit(fn)

    def per_spec(specs, n, what):
        if isinstance(specs, (list, tuple)):
            if len(specs) != n:
                raise TesseraValueError(f"dist.shard_map({getattr(fn, '__name__', 'fn')}): {len(specs)} {what} for "
                                        f"{n} values")
            return list(specs)
        return [specs] * n

    def call(*args):
        if lazy.state.depth > 0:
            raise TracingError("dist.shard_map inside jit, grad or vmap is not supported yet: call it outside (its "
                               "body is compiled with jit already; differentiate inside it)", lazy.user_location())
        m = mesh or current_mesh()
        specs = per_spec(in_specs, len(args), "in_specs")
        blocks = [local(shard(a, s, m)) if isinstance(a, Tensor) else a for a, s in zip(args, specs)]
        with m:
            out = body(*blocks)
        leaves, tree = tree_flatten(out)
        made = [from_local(o, s, m) if isinstance(o, Tensor) else o
                for o, s in zip(leaves, per_spec(out_specs, len(leaves), "out_specs"))]
        return tree_unflatten(tree, made)

    call.__name__ = getattr(fn, "__name__", "shard_map")
    return call
