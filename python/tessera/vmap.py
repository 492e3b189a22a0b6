"""``tessera.vmap``: a function of one example applied to a batch at once.

``vmap(f, in_axes=0, out_axes=0)(*args)`` traces ``f`` on one example (the batch dim removed
from each batched argument), then asks the native core for the batched Graph IR function
(``_C.vmap_transform``: every primitive op has a batching rule; loops and branches are batched
too) and applies it. Like every transform it composes: ``vmap(grad(f))`` gives per-example
gradients, ``grad(vmap(f))``, ``jit(vmap(f))`` and nested ``vmap`` work, and closures over
values of enclosing traces are unbatched constants.

``in_axes``: an int (every argument batched along that dim), None (not batched), or a tuple with
one entry per positional argument, each an int, None or a pytree prefix of the argument.
``out_axes``: where the batch dim goes in each output (an int, or a pytree prefix of ints).
"""
from __future__ import annotations

from . import _C, lazy
from .errors import ShapeError, TesseraError
from .jit import _flatten, _unflatten, trace
from .lazy import Node, user_location
from .tensor import Tensor
from .tree import tree_flatten

__all__ = ["vmap", "moveaxis"]


def moveaxis(x, source, destination):
    """x with dims ``source`` moved to ``destination`` (NumPy's moveaxis; ints or sequences)."""
    from . import ops
    r = x.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise TesseraError(f"moveaxis: {len(src)} source dims but {len(dst)} destinations")
    src = [s % r if r else 0 for s in src]
    dst = [d % r if r else 0 for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise TesseraError(f"moveaxis: repeated dims in source {source} or destination {destination}")
    perm = [i for i in range(r) if i not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return x if perm == list(range(r)) else ops.transpose(x, perm=perm)


def _leaf_axes(args, in_axes, name):
    """The batch dim of every tensor leaf of ``args`` (None: not batched)."""
    if not isinstance(in_axes, (tuple, list)):
        in_axes = (in_axes,) * len(args)
    if len(in_axes) != len(args):
        raise TesseraError(f"vmap({name}): in_axes has {len(in_axes)} entries for {len(args)} arguments",
                           user_location())
    axes = []
    for arg, spec in zip(args, in_axes):
        leaves, treedef = tree_flatten(arg)
        if spec is None or isinstance(spec, int):
            per_leaf = [spec] * len(leaves)
        else:
            per_leaf = _broadcast_prefix(spec, arg, name)
        for leaf, axis in zip(leaves, per_leaf):
            if isinstance(leaf, Tensor):
                axes.append(axis)
            elif axis is not None:
                raise TesseraError(f"vmap({name}): in_axes gives a batch dim to a non-tensor argument "
                                   f"({type(leaf).__name__})", user_location())
    return axes


def _broadcast_prefix(spec, arg, name):
    """Per leaf of ``arg``, the in_axes entry of the prefix pytree ``spec`` that covers it."""
    if spec is None or isinstance(spec, int):
        return [spec] * len(tree_flatten(arg)[0])
    if isinstance(spec, dict) and isinstance(arg, dict):
        return [a for k in sorted(arg) for a in _broadcast_prefix(spec.get(k), arg[k], name)]
    if isinstance(spec, (tuple, list)) and isinstance(arg, (tuple, list)) and len(spec) == len(arg):
        return [a for s, x in zip(spec, arg) for a in _broadcast_prefix(s, x, name)]
    raise TesseraError(f"vmap({name}): in_axes {spec!r} does not match the argument's structure", user_location())


def vmap(fn, in_axes=0, out_axes=0, axis_size=None):
    """``fn`` mapped over a batch dim of its arguments (see the module docstring)."""
    name = getattr(fn, "__name__", "fn")

    def batched(*args):
        loc = user_location()
        leaves = []
        spec = _flatten((args, {}), leaves)
        axes = _leaf_axes(args, in_axes, name)
        sizes = set()
        for t, a in zip(leaves, axes):
            if a is not None:
                if not -t.ndim <= a < t.ndim:
                    raise ShapeError(f"vmap({name}): in_axes {a} is out of range for an argument of shape {t.shape}",
                                     loc)
                sizes.add(t.shape[a])
        if axis_size is not None:
            sizes.add(axis_size)
        if len(sizes) != 1:
            raise ShapeError(f"vmap({name}): " + (f"the batched dims differ in size: {sorted(sizes)}" if sizes else
                             "no argument is batched (give in_axes, or axis_size)"), loc)
        batch = sizes.pop()
        norm = [None if a is None else a % t.ndim for t, a in zip(leaves, axes)]
        examples = [t if a is None else Tensor._lazy(Node("param", (), {"trace": f"tessera.vmap({name})"}),
                                                      t.shape[:a] + t.shape[a + 1:], t.dtype, t.device)
                    for t, a in zip(leaves, norm)]
        tr = trace(fn, spec, examples, owner=f"tessera.vmap({name})")
        ax = [-1 if a is None else a for a in norm] + [-1] * len(tr.captured)
        outs = lazy.inline(_C.vmap_transform(tr.text, ax, batch), leaves + tr.captured)
        lazy.add_effects(outs[tr.n_outputs:])
        outs = outs[:tr.n_outputs]
        out_tree = _unflatten(tr.out_spec, outs)
        if out_axes is None or isinstance(out_axes, int):
            o_axes = [out_axes] * len(outs)
        else:  # the prefix's entries for the tensor leaves, in the order of outs
            o_axes = [a for leaf, a in zip(tree_flatten(out_tree)[0], _broadcast_prefix(out_axes, out_tree, name))
                      if isinstance(leaf, Tensor)]
        if any(a is None for a in o_axes):
            raise TesseraError(f"vmap({name}): out_axes=None is not supported; every output carries the batch",
                               loc)
        moved = [moveaxis(o, 0, a) for o, a in zip(outs, o_axes)]
        return _unflatten(tr.out_spec, moved)

    batched.__name__ = f"vmap_{name}"
    return batched
