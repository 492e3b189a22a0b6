"""Pytrees: nested tuples, lists, dicts, namedtuples and registered classes whose leaves are
tensors (or anything else), as in JAX. ``jit``, ``grad`` and the other transforms take and
return pytrees; these functions walk them.

    leaves, treedef = tessera.tree_flatten({"w": w, "b": [b1, b2]})
    tessera.tree_map(lambda p, g: p - 0.1 * g, params, grads)

Dict keys are visited in sorted order; ``None`` is an empty subtree. A class registers itself
with ``register_pytree_node(cls, flatten, unflatten)``: ``flatten(x) -> (children, aux)`` with
hashable ``aux``, ``unflatten(aux, children) -> x``.
"""
from __future__ import annotations

from .errors import TesseraValueError

__all__ = ["register_pytree_node", "tree_flatten", "tree_unflatten", "tree_map", "tree_leaves", "tree_structure",
           "TreeDef"]

_registry = {}  # class -> (flatten, unflatten)


def register_pytree_node(cls, flatten, unflatten):
    """Makes instances of ``cls`` pytree nodes (see the module docstring)."""
    _registry[cls] = (flatten, unflatten)
    return cls


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def node_children(x):
    """``(kind, children, aux)`` for a pytree node, or None for a leaf. ``kind`` rebuilds it."""
    t = type(x)
    if t in (tuple, list):
        return t, list(x), None
    if t is dict:
        keys = sorted(x)
        return dict, [x[k] for k in keys], tuple(keys)
    if x is None:
        return type(None), [], None
    if _is_namedtuple(x):
        return t, list(x), None
    entry = _registry.get(t)
    if entry is not None:
        children, aux = entry[0](x)
        return t, list(children), aux
    return None


def rebuild(kind, aux, children):
    if kind is tuple:
        return tuple(children)
    if kind is list:
        return list(children)
    if kind is dict:
        return dict(zip(aux, children))
    if kind is type(None):
        return None
    if issubclass(kind, tuple) and hasattr(kind, "_fields"):
        return kind(*children)
    return _registry[kind][1](aux, children)


class TreeDef:
    """The structure of a pytree without its leaves; equal structures compare equal."""

    __slots__ = ("kind", "aux", "children", "num_leaves")

    def __init__(self, kind, aux, children):
        self.kind, self.aux, self.children = kind, aux, tuple(children)
        self.num_leaves = 1 if kind is None else sum(c.num_leaves for c in self.children)

    def _key(self):
        return (self.kind, self.aux, self.children)

    def __eq__(self, other):
        return isinstance(other, TreeDef) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        if self.kind is None:
            return "*"
        name = self.kind.__name__
        return f"{name}({', '.join(map(repr, self.children))})"

    def unflatten(self, leaves):
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise TesseraValueError(f"tree_unflatten: the structure has {self.num_leaves} leaves, got {len(leaves)}")
        return self._build(iter(leaves))

    def _build(self, it):
        if self.kind is None:
            return next(it)
        return rebuild(self.kind, self.aux, [c._build(it) for c in self.children])


def _flatten(x, leaves, is_leaf):
    node = None if is_leaf is not None and is_leaf(x) else node_children(x)
    if node is None:
        leaves.append(x)
        return TreeDef(None, None, ())
    kind, children, aux = node
    return TreeDef(kind, aux, [_flatten(c, leaves, is_leaf) for c in children])


def tree_flatten(tree, is_leaf=None):
    """(leaves in order, TreeDef)."""
    leaves = []
    return leaves, _flatten(tree, leaves, is_leaf)


def tree_unflatten(treedef, leaves):
    return treedef.unflatten(leaves)


def tree_leaves(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f, tree, *rest, is_leaf=None):
    """``f`` applied leaf by leaf; ``rest`` are pytrees of the same structure as ``tree``."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = []
    for r in rest:
        r_leaves, r_def = tree_flatten(r, is_leaf)
        if r_def != treedef:
            raise TesseraValueError(f"tree_map: the trees differ in structure: {treedef} and {r_def}")
        others.append(r_leaves)
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *others)])
