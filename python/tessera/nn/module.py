"""``Module``: a model is a pytree, as in Equinox. Tensor attributes are its parameters, Module
attributes (also inside lists, tuples and dicts) its submodules, and everything else (sizes,
flags, activation functions) static configuration. So ``grad``, ``jit``, ``vjp`` and ``vmap`` take
a model as an argument, ``grad`` returns a model-shaped gradient, and an optimizer maps a model
and its gradient to the next model.

    class MLP(nn.Module):
        def __init__(self, seed=0):
            self.fc1, self.fc2 = nn.Linear(4, 16, seed=seed), nn.Linear(16, 2, seed=seed + 1)
        def __call__(self, x):
            return self.fc2(ts.relu(self.fc1(x)))

    loss, grads = ts.jit(ts.value_and_grad(lambda m, x: ts.sum(m(x) ** 2)))(model, x)

Parameters are named by attribute path (``fc1.weight``, ``blocks.0.attn.wq.weight``), as in
PyTorch's ``state_dict``. ``train()``/``eval()`` set ``training`` on every submodule: static, so
a jitted function compiles once per mode.
"""
from __future__ import annotations

import numpy as np

from ..errors import DTypeError, ShapeError, TesseraValueError
from ..lazy import user_location
from ..tensor import Tensor
from ..tensor import tensor as as_tensor
from ..tree import node_children, register_pytree_node, tree_flatten

__all__ = ["Module", "Sequential", "named_leaves"]


def _dynamic(value):
    """Whether an attribute holds parameters or submodules (a pytree child), not configuration."""
    if isinstance(value, (Tensor, Module)):
        return True
    if type(value) in (list, tuple):
        return any(_dynamic(v) for v in value)
    if type(value) is dict:
        return any(_dynamic(v) for v in value.values())
    return False


class _Static:
    """A configuration value inside a dynamic container (a function in a list of layers): kept
    out of the pytree's leaves, so optimizers and transforms see tensors only."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _split(value):
    """A dynamic container with its configuration elements wrapped in _Static (pytree nodes with
    no leaves), so that only tensors and modules are leaves."""
    if isinstance(value, (Tensor, Module)):
        return value
    if type(value) in (list, tuple):
        return type(value)(_split(v) for v in value)
    if type(value) is dict:
        return {k: _split(v) for k, v in value.items()}
    return _Static(value)


def _join(value):
    if isinstance(value, _Static):
        return value.value
    if type(value) in (list, tuple):
        return type(value)(_join(v) for v in value)
    if type(value) is dict:
        return {k: _join(v) for k, v in value.items()}
    return value


def _frozen(value):
    """Configuration as a hashable value (jit keys its compiled programs on it), tagged so that
    _thawed rebuilds nested lists and dicts exactly."""
    if type(value) is list:
        return ("__list__", tuple(_frozen(v) for v in value))
    if type(value) is tuple:
        return ("__tuple__", tuple(_frozen(v) for v in value))
    if type(value) is dict:
        return ("__dict__", tuple((k, _frozen(v)) for k, v in value.items()))
    return ("__value__", value)


def _thawed(frozen):
    tag, payload = frozen
    if tag == "__list__":
        return [_thawed(v) for v in payload]
    if tag == "__tuple__":
        return tuple(_thawed(v) for v in payload)
    if tag == "__dict__":
        return {k: _thawed(v) for k, v in payload}
    return payload


def _flatten_module(m):
    names = sorted(vars(m))
    children = tuple(n for n in names if _dynamic(vars(m)[n]))
    static = tuple((n, _frozen(vars(m)[n])) for n in names if n not in children)
    return [_split(vars(m)[n]) for n in children], (children, static)


def _unflatten_module(cls, aux, values):
    children, static = aux
    m = object.__new__(cls)
    for name, value in static:
        object.__setattr__(m, name, _thawed(value))
    for name, value in zip(children, values):
        object.__setattr__(m, name, _join(value))
    return m


register_pytree_node(_Static, lambda s: ([], s.value), lambda aux, children: _Static(aux))


class Module:
    """Base class of layers and models (see the module docstring)."""

    training = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        register_pytree_node(cls, _flatten_module, lambda aux, values, cls=cls: _unflatten_module(cls, aux, values))

    def named_parameters(self, prefix=""):
        """(dotted name, tensor) for every parameter, in a fixed (sorted attribute) order."""
        out = []
        _walk(self, prefix, out)
        return out

    def parameters(self):
        return [t for _, t in self.named_parameters()]

    def state_dict(self):
        """{dotted name: tensor}, as ``torch.nn.Module.state_dict``."""
        return dict(self.named_parameters())

    def load_state_dict(self, state, strict=True):
        """Sets the parameters from ``state`` ({name: tensor or array}) in place and returns the
        module. Every entry is checked before anything changes: missing or unexpected names (with
        ``strict``), shape and dtype mismatches are errors that list every offending name."""
        own = self.named_parameters()
        names = [n for n, _ in own]
        missing = [n for n in names if n not in state]
        unexpected = sorted(set(state) - set(names))
        if strict and (missing or unexpected):
            raise TesseraValueError("load_state_dict: " + "; ".join(
                p for p in (f"missing {missing}" if missing else "", f"unexpected {unexpected}" if unexpected else "")
                if p), user_location())
        new, shapes, dtypes = [], [], []
        for name, t in own:
            if name not in state:
                new.append(t)
                continue
            value = state[name]
            value = value if isinstance(value, Tensor) else as_tensor(np.asarray(value))
            if tuple(value.shape) != tuple(t.shape):
                shapes.append(f"{name}: shape {tuple(value.shape)} != {tuple(t.shape)}")
            elif value.dtype != t.dtype:
                dtypes.append(f"{name} has dtype {value.dtype}, the model {t.dtype}")
            new.append(value)
        if shapes:
            raise ShapeError("load_state_dict: " + "; ".join(shapes), user_location())
        if dtypes:
            raise DTypeError("load_state_dict: " + "; ".join(dtypes), user_location())
        # The tensors in named_parameters order are the module's pytree leaves in order.
        leaves, treedef = tree_flatten(self)
        rebuilt = treedef.unflatten(new)
        for name in vars(rebuilt):
            object.__setattr__(self, name, vars(rebuilt)[name])
        return self

    def train(self, mode=True):
        """Sets ``training`` on this module and every submodule; returns the module."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def modules(self):
        """This module and every submodule, depth first."""
        out = [self]
        for name in sorted(vars(self)):
            for sub in _submodules(vars(self)[name]):
                out.extend(sub.modules())
        return out

    def __repr__(self):
        params = sum(int(t.size) for t in self.parameters())
        return f"{type(self).__name__}({params} parameters)"


def _submodules(value):
    if isinstance(value, Module):
        return [value]
    if type(value) in (list, tuple):
        return [m for v in value for m in _submodules(v)]
    if type(value) is dict:
        return [m for k in sorted(value) for m in _submodules(value[k])]
    return []


def named_leaves(tree, prefix=""):
    """[(dotted path, tensor)] of a pytree's tensor leaves, in its leaf order: module attributes
    (as ``Module.named_parameters``), dict keys, list/tuple/namedtuple indices, the children of
    other registered nodes by position."""
    out = []
    _walk(tree, prefix, out)
    return out


def _walk(value, prefix, out):
    def join(name):
        return f"{prefix}.{name}" if prefix else str(name)
    if isinstance(value, Tensor):
        out.append((prefix, value))
    elif isinstance(value, Module):
        for name in sorted(vars(value)):
            if _dynamic(vars(value)[name]):
                _walk(vars(value)[name], join(name), out)
    elif type(value) is dict:
        for k in sorted(value):
            _walk(value[k], join(k), out)
    elif isinstance(value, (list, tuple)):  # namedtuples too
        for i, v in enumerate(value):
            _walk(v, join(i), out)
    elif value is not None and not isinstance(value, _Static) and node_children(value) is not None:
        for i, v in enumerate(node_children(value)[1]):
            _walk(v, join(i), out)


class Sequential(Module):
    """Applies its layers in order."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
