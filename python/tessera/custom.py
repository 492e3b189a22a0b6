"""``tessera.custom_vjp``: a function whose gradient the user defines.

    @tessera.custom_vjp
    def f(x, y): ...
    f.defvjp(fwd, bwd)   # fwd(x, y) -> (out, residuals); bwd(residuals, g) -> (dx, dy)

A call records one Graph IR op, ``custom_vjp``, whose attributes name three functions of the
module: the primal ``f``, ``fwd`` and ``bwd``, each traced once per call from the Python
functions (see cpp/ir/custom_vjp.hpp). Compiling inlines the primal; the VJP transform inlines
fwd and, in the reverse sweep, bwd. bwd is traced with tessera ops, so its result is
differentiable again (grad of grad). Forward mode (jvp) has no rule and raises.

Functions are named by a hash of their text and kept by the native core, which links them
into every module that calls them, so equal calls give equal programs (and hit the compile
cache) and a module can hold the functions of any number of calls, nested or not.
"""
from __future__ import annotations

import functools
import re

from . import _C, lazy
from .errors import ShapeError, TesseraError, TracingError
from .jit import _flatten, _unflatten
from .lazy import Node, TypeAttr, user_location
from .tensor import Tensor
from .tree import node_children


def _define(base, role, outputs, params, level):
    """Keeps the Graph IR function ``params -> outputs`` in the native function table (named by
    a hash of its text; cpp/ir/function_table.hpp) and returns its name."""
    ps, ops, outs, inputs = lazy.trace_graph(outputs, params, level)
    assert len(inputs) == len(params), "closed-over tensors are passed as parameters"
    return _C.define_function(f"{base}_{role}", ps, ops, outs)


def _stand_in(t, index=-1):
    """A parameter tensor of ``t``'s type, for tracing."""
    return Tensor._lazy(Node("param", (), None, "", index), t.shape, t.dtype, t.device)


def _zeros(t):
    return Tensor._lazy(Node("constant", (), {"value": 0.0, "type": TypeAttr(t.dtype, t.shape)}),
                        t.shape, t.dtype, t.device)


def _describe(v):
    return f"Tensor{list(v.shape)} {v.dtype.name}" if isinstance(v, Tensor) else type(v).__name__


class custom_vjp:
    """Decorator: ``f`` with a gradient given by ``f.defvjp(fwd, bwd)``.

    ``fwd`` takes f's arguments and returns ``(output, residuals)`` (residuals: any nesting of
    tensors and Python values). ``bwd(residuals, g)`` takes the residuals and the output's
    cotangent and returns a tuple with one cotangent per positional argument of ``f``, shaped
    like that argument (``None`` for zero, and for non-tensor arguments). ``f`` returns one
    tensor; it is used as is whenever nothing differentiates the call.
    """

    def __init__(self, fn):
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._fwd = None
        self._bwd = None
        self._tracing = False

    def defvjp(self, fwd, bwd):
        """Sets the forward and backward functions; returns ``self``."""
        self._fwd, self._bwd = fwd, bwd
        return self

    def __repr__(self):
        return f"<tessera.custom_vjp {self.__name__}>"

    def __call__(self, *args):
        # fwd commonly calls f itself: inside fwd and bwd, f is its plain primal.
        if self._tracing:
            return self._fn(*args)
        self._tracing = True
        try:
            return self._record(args)
        finally:
            self._tracing = False

    def _record(self, args):
        name = self.__name__
        loc = user_location()
        if self._fwd is None:
            raise TesseraError(f"custom_vjp({name}): call {name}.defvjp(fwd, bwd) before calling {name}", loc)
        leaves = []
        spec = _flatten(args, leaves)
        if not leaves:
            raise TesseraError(f"custom_vjp({name}): needs at least one tensor argument", loc)
        devices = {str(t.device) for t in leaves}
        if len(devices) > 1:
            raise TesseraError(f"custom_vjp({name}): tensor arguments are on several devices "
                               f"({', '.join(sorted(devices))})", loc)
        with lazy.tracing() as level:
            attrs, captured, (shape, dtype) = self._define_all(name, spec, leaves, args, level, loc)
        lazy.no_effects(level, "custom_vjp functions", loc)
        node = Node("custom_vjp", leaves + captured, attrs, loc)
        out = Tensor._lazy(node, shape, dtype, leaves[0].device)
        if lazy.eager():
            lazy.realize(out)
        return out

    def _define_all(self, name, spec, leaves, args, level, loc):
        """Traces f, fwd and bwd on stand-ins (at trace ``level``) and defines their functions;
        returns the custom_vjp node's attributes, the tensors they close over and f's result
        type (shape, dtype)."""
        params = [_stand_in(t, i) for i, t in enumerate(leaves)]
        p_args = _unflatten(spec, params)

        y = self._fn(*p_args)
        if not isinstance(y, Tensor):
            raise TracingError(f"custom_vjp({name}): {name} must return one tensor, got {_describe(y)}", loc)
        out = self._fwd(*p_args)
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], Tensor)):
            raise TracingError(f"custom_vjp({name}): fwd must return (output, residuals) with one output tensor, "
                               f"got {_describe(out)}", loc)
        y_fwd, residuals = out
        if y_fwd.shape != y.shape or y_fwd.dtype != y.dtype:
            raise ShapeError(f"custom_vjp({name}): fwd's output {_describe(y_fwd)} differs from {name}'s output "
                             f"{_describe(y)}", loc)
        res_leaves = []
        res_spec = _flatten(residuals, res_leaves)
        r_params = [_stand_in(t) for t in res_leaves]
        g = _stand_in(y)
        cts = self._bwd(_unflatten(res_spec, r_params), g)
        ct_leaves = _cotangent_leaves(name, cts, args, loc)

        # Tensors the three functions close over become operands after the arguments.
        captured = []
        for outs, ps in (([y], params), ([y_fwd] + res_leaves, params), (ct_leaves, r_params + [g])):
            for t in _closed_over(name, outs, ps, level):
                if all(t is not c for c in captured):
                    captured.append(t)
        operands = params + captured
        base = re.sub(r"[^A-Za-z0-9_]", "_", name)  # IR names are ASCII
        attrs = {
            "name": name,
            "fn": _define(base, "fn", [y], operands, level),
            "fwd": _define(base, "fwd", [y_fwd] + res_leaves, operands, level),
            "bwd": _define(base, "bwd", ct_leaves + _captured_cotangents(y, operands, len(params), g, level),
                           operands + r_params + [g], level),
        }
        return attrs, captured, (y.shape, y.dtype)


def _captured_cotangents(y, operands, n_params, g, level):
    """Cotangents of the tensors f closes over (operands from ``n_params`` on): bwd cannot see
    them, so they come from differentiating f itself, as if it had no custom rule. Only values
    of an enclosing trace can be differentiated; the others (realized tensors) get zeros."""
    captured = operands[n_params:]
    wrt = [n_params + i for i, c in enumerate(captured) if c._array is None and c.dtype.is_floating]
    out = [_zeros(c) for c in captured]
    if wrt:
        text = lazy.build_function([y], operands, level)[0]
        grads = lazy.inline(_C.vjp_transform(text, wrt, [0], False), operands + [g])[1:]
        for i, gr in zip(wrt, grads):
            out[i - n_params] = gr
    return out


def _closed_over(name, outputs, params, level):
    try:
        return lazy.build_function(outputs, params, level)[2][len(params):]
    except TracingError as e:
        raise TracingError(f"custom_vjp({name}): {name}, fwd and bwd may use only their arguments and tensors "
                           f"that have values (not values of an enclosing trace): {e.message}", e.location) from None


def _cotangent_leaves(name, cts, args, loc):
    """bwd's cotangents as one tensor per tensor leaf of ``args`` (zeros for None), checked."""
    if not isinstance(cts, (tuple, list)) or len(cts) != len(args):
        got = f"{len(cts)} values" if isinstance(cts, (tuple, list)) else _describe(cts)
        raise TesseraError(f"custom_vjp({name}): bwd must return a tuple of {len(args)} cotangent(s), one per "
                           f"positional argument of {name}, got {got}", loc)
    out = []

    def match(a, c, where):
        if isinstance(a, Tensor):
            if c is None:
                out.append(_zeros(a))
            elif not isinstance(c, Tensor):
                raise TesseraError(f"custom_vjp({name}): bwd's cotangent for {where} must be a tensor or None, "
                                   f"got {_describe(c)}", loc)
            elif tuple(c.shape) != tuple(a.shape):
                raise ShapeError(f"custom_vjp({name}): bwd's cotangent for {where} has shape {list(c.shape)}, "
                                 f"but the argument has shape {list(a.shape)}", loc)
            else:
                out.append(c if c.dtype == a.dtype else c.astype(a.dtype))
        elif isinstance(a, (list, tuple, dict)):
            keys = sorted(a) if isinstance(a, dict) else range(len(a))
            if c is None:
                for k in keys:
                    match(a[k], None, f"{where}[{k!r}]")
                return
            if type(c) is not type(a) and not (isinstance(a, (list, tuple)) and isinstance(c, (list, tuple))) \
                    or len(c) != len(a) or (isinstance(a, dict) and sorted(c) != sorted(a)):
                raise TesseraError(f"custom_vjp({name}): bwd's cotangent for {where} must have the structure of "
                                   f"the argument", loc)
            for k in keys:
                match(a[k], c[k], f"{where}[{k!r}]")
        elif a is not None and node_children(a) is not None:  # namedtuples, registered classes (modules)
            kind, children, _ = node_children(a)
            theirs = None if c is None else node_children(c)
            if c is not None and (theirs is None or theirs[0] is not kind or len(theirs[1]) != len(children)):
                raise TesseraError(f"custom_vjp({name}): bwd's cotangent for {where} must have the structure of "
                                   f"the argument ({type(a).__name__})", loc)
            for k, child in enumerate(children):
                match(child, None if c is None else theirs[1][k], f"{where}.{k}")
        elif c is not None:
            raise TesseraError(f"custom_vjp({name}): {where} is not a tensor ({_describe(a)}), so its cotangent "
                               f"must be None, got {_describe(c)}", loc)

    for i, (a, c) in enumerate(zip(args, cts)):
        match(a, c, f"argument {i}")
    return out
