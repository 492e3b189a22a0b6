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

from ..errors import DTypeError, ShapeError, TesseraValueError
from ..lazy import user_location
from ..tensor import Tensor
from ..tensor import tensor as as_tensor
from ..tree import register_pytree_node

__all__ = ["Module", "Sequential"]


def _dynamic(value):
    """Whether an attribute holds parameters or submodules (a pytree child), not configuration."""
    if isinstance(value, (Tensor, Module)):
        return True
    if type(value) in (list, tuple):
        return any(_dynamic(v) for v in value)
    if type(value) is dict:
        return any(_dynamic(v) for v in value.values())
    return False


def _frozen(value):
    """Configuration as a hashable value (jit keys its compiled programs on it)."""
    if type(value) in (list, tuple):
        return tuple(_frozen(v) for v in value)
    if type(value) is dict:
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


def _flatten_module(m):
    names = sorted(vars(m))
    children = tuple(n for n in names if _dynamic(vars(m)[n]))
    static = tuple((n, _frozen(vars(m)[n])) for n in names if n not in children)
    kinds = tuple(type(vars(m)[n]) for n in names if n not in children)
    return [vars(m)[n] for n in children], (children, static, kinds)


def _unflatten_module(cls, aux, values):
    children, static, kinds = aux
    m = object.__new__(cls)
    for (name, value), kind in zip(static, kinds):
        object.__setattr__(m, name, dict(value) if kind is dict else list(value) if kind is list else value)
    for name, value in zip(children, values):
        object.__setattr__(m, name, value)
    return m


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
        module. Missing or unexpected names (with ``strict``), and shape or dtype mismatches, are
        errors that list every offending name."""
        own = dict(self.named_parameters())
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if strict and (missing or unexpected):
            raise TesseraValueError("load_state_dict: " + "; ".join(
                p for p in (f"missing {missing}" if missing else "", f"unexpected {unexpected}" if unexpected else "")
                if p), user_location())
        bad = []
        for name in sorted(set(own) & set(state)):
            want, got = own[name], state[name]
            shape = tuple(getattr(got, "shape", ()))
            if shape != tuple(want.shape):
                bad.append(f"{name}: shape {shape} != {tuple(want.shape)}")
        if bad:
            raise ShapeError("load_state_dict: " + "; ".join(bad), user_location())
        for name in sorted(set(own) & set(state)):
            value = state[name]
            tensor = value if isinstance(value, Tensor) else as_tensor(value)
            if tensor.dtype != own[name].dtype:
                raise DTypeError(f"load_state_dict: {name} has dtype {tensor.dtype}, the model {own[name].dtype}",
                                 user_location())
            _set_path(self, name.split("."), tensor)
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


def _walk(value, prefix, out):
    if isinstance(value, Tensor):
        out.append((prefix, value))
    elif isinstance(value, Module):
        for name in sorted(vars(value)):
            if _dynamic(vars(value)[name]):
                _walk(vars(value)[name], f"{prefix}.{name}" if prefix else name, out)
    elif type(value) in (list, tuple):
        for i, v in enumerate(value):
            _walk(v, f"{prefix}.{i}" if prefix else str(i), out)
    elif type(value) is dict:
        for k in sorted(value):
            _walk(value[k], f"{prefix}.{k}" if prefix else str(k), out)


def _set_path(obj, path, tensor):
    head, rest = path[0], path[1:]
    if isinstance(obj, Module):
        child = vars(obj)[head]
        if not rest:
            object.__setattr__(obj, head, tensor)
            return
    elif type(obj) is dict:
        child = obj[head]
        if not rest:
            obj[head] = tensor
            return
    else:  # list (tuples are rebuilt by the caller's pytree; modules keep lists)
        child = obj[int(head)]
        if not rest:
            obj[int(head)] = tensor
            return
    _set_path(child, rest, tensor)


class Sequential(Module):
    """Applies its layers in order."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
