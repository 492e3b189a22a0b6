"""Structured control flow: ``scan``, ``while_loop``, ``cond`` and ``fori_loop`` (JAX's lax
semantics), recorded as Graph IR control flow, not unrolled.

Each function argument (the loop body, the branches) is traced once on stand-ins into a Graph IR
function of the module; the op (``scan``, ``while_loop``, ``cond``) names it, and the executor
runs it step by step (docs/design.md, "Control flow"). Loop state and branch results are pytrees
of tensors whose structure, shapes and dtypes must stay the same from step to step. Tensors the
functions close over become extra operands, so closures work at any nesting, under jit and
under grad. ``scan`` and ``cond`` are differentiable in both modes; ``while_loop`` in forward
mode only (its number of steps is not known until it runs, as in JAX).
"""
from __future__ import annotations

import re

from . import lazy
from .custom import _closed_over, _define
from .errors import DeviceError, ShapeError, TesseraError, TracingError
from .lazy import Node, user_location
from .tensor import Tensor, tensor
from .tree import tree_flatten

__all__ = ["scan", "while_loop", "cond", "fori_loop", "recursive"]


def _as_tensor(x, what, loc):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, int, float)) or type(x).__module__ == "numpy":
        return tensor(x)
    raise TracingError(f"{what}: leaves must be tensors or numbers, got {type(x).__name__}", loc)


def _leaves(tree, what, loc):
    leaves, treedef = tree_flatten(tree)
    return [_as_tensor(x, what, loc) for x in leaves], treedef


def _stand_in(dtype, shape, device):
    return Tensor._lazy(Node("param", (), {"trace": "a control-flow function"}), shape, dtype, device)


def _types(ts):
    return [(t.dtype, tuple(t.shape)) for t in ts]


def _describe(types):
    return "(" + ", ".join(f"{dt.short}[{','.join(map(str, s))}]" for dt, s in types) + ")"


def _same_types(what, got, want, loc):
    if _types(got) != _types(want):
        raise TracingError(f"{what}: {_describe(_types(got))} must match {_describe(_types(want))} "
                           f"(same structure, shapes and dtypes at every step)", loc)


def _device(tensors, loc, what):
    devices = {str(t.device) for t in tensors}
    if len(devices) > 1:
        raise DeviceError(f"{what}: tensors are on several devices ({', '.join(sorted(devices))})", loc)
    return tensors[0].device if tensors else "cpu"


def _base(fn, prefix):
    return prefix + "_" + re.sub(r"[^A-Za-z0-9_]", "_", getattr(fn, "__name__", "fn"))


def _run(op, operands, attrs, loc, result_types, device):
    outs = lazy.multi_result(op, operands, attrs, loc, result_types, device)
    if lazy.eager():
        lazy.realize(*outs)
    return outs


def scan(f, init, xs=None, length=None, reverse=False):
    """Loops ``f(carry, x) -> (carry, y)`` over slices of ``xs`` along axis 0; returns the last
    carry and the ys stacked along a new axis 0 (``jax.lax.scan``). ``xs`` may be None (then
    ``length`` steps with x = None); ``reverse`` runs from the last slice to the first."""
    loc = user_location()
    c_leaves, c_def = _leaves(init, "scan: init", loc)
    x_leaves, x_def = _leaves(xs, "scan: xs", loc)
    lengths = {int(x.shape[0]) for x in x_leaves if x.ndim}
    if any(x.ndim == 0 for x in x_leaves) or len(lengths) > 1 or (length is not None and lengths - {length}):
        raise ShapeError(f"scan: every xs leaf needs the same length along axis 0 (and length={length}), got shapes "
                         f"{[tuple(x.shape) for x in x_leaves]}", loc)
    if length is None and not lengths:
        raise TesseraError("scan: give xs or length", loc)
    n = int(length if length is not None else lengths.pop())
    device = _device(c_leaves + x_leaves, loc, "scan")
    with lazy.tracing() as level:
        c_params = [_stand_in(t.dtype, t.shape, t.device) for t in c_leaves]
        x_params = [_stand_in(t.dtype, t.shape[1:], t.device) for t in x_leaves]
        out = f(c_def.unflatten(c_params), x_def.unflatten(x_params))
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TracingError(f"scan: {getattr(f, '__name__', 'f')} must return (carry, y)", loc)
        new_c, c2_def = _leaves(out[0], "scan: the carry", loc)
        ys, y_def = _leaves(out[1], "scan: y", loc)
    lazy.no_effects(level, "scan bodies", loc)
    if c2_def != c_def:
        raise TracingError(f"scan: the carry's structure changed from {c_def} to {c2_def}", loc)
    _same_types("scan: the carry out of the body", new_c, c_leaves, loc)
    params = c_params + x_params
    captured = _closed_over("scan", new_c + ys, params, level)
    body = _define(_base(f, "scan"), "body", new_c + ys, params + captured, level)
    results = _types(c_leaves) + [(y.dtype, (n,) + tuple(y.shape)) for y in ys]
    attrs = {"body": body, "length": n, "n_carry": len(c_leaves), "n_xs": len(x_leaves), "reverse": bool(reverse)}
    outs = _run("scan", c_leaves + x_leaves + captured, attrs, loc, results, device)
    return c_def.unflatten(outs[:len(c_leaves)]), y_def.unflatten(outs[len(c_leaves):])


def while_loop(cond_fun, body_fun, init_val):
    """Runs ``val = body_fun(val)`` while ``cond_fun(val)`` (a rank-0 bool tensor) holds; returns
    the last ``val`` (``jax.lax.while_loop``). Forward-mode differentiable only."""
    loc = user_location()
    c_leaves, c_def = _leaves(init_val, "while_loop: init_val", loc)
    device = _device(c_leaves, loc, "while_loop")
    with lazy.tracing() as level:
        params = [_stand_in(t.dtype, t.shape, t.device) for t in c_leaves]
        ok = _as_tensor(cond_fun(c_def.unflatten(params)), "while_loop: cond_fun's result", loc)
        if ok.shape != () and ok.numel() != 1:
            raise ShapeError(f"while_loop: cond_fun must return one value, got shape {ok.shape}", loc)
        ok = ok.reshape(()) if ok.shape != () else ok
        ok = ok if ok.dtype.short == "bool" else ok.astype("bool")
        new_c, c2_def = _leaves(body_fun(c_def.unflatten(params)), "while_loop: body_fun's result", loc)
    lazy.no_effects(level, "while_loop functions", loc)
    if c2_def != c_def:
        raise TracingError(f"while_loop: the loop value's structure changed from {c_def} to {c2_def}", loc)
    _same_types("while_loop: body_fun's result", new_c, c_leaves, loc)
    captured = []
    for outs in ([ok], new_c):
        for t in _closed_over("while_loop", outs, params, level):
            if all(t is not c for c in captured):
                captured.append(t)
    operands = params + captured
    attrs = {"cond": _define(_base(cond_fun, "while"), "cond", [ok], operands, level),
             "body": _define(_base(body_fun, "while"), "body", new_c, operands, level), "n_carry": len(c_leaves)}
    outs = _run("while_loop", c_leaves + captured, attrs, loc, _types(c_leaves), device)
    return c_def.unflatten(outs)


def cond(pred, true_fun, false_fun, *operands):
    """``true_fun(*operands)`` if pred else ``false_fun(*operands)``, choosing when the program
    runs (``jax.lax.cond``): both branches are traced and must return the same structure,
    shapes and dtypes. A Python bool pred just calls one branch."""
    loc = user_location()
    if isinstance(pred, bool):
        return (true_fun if pred else false_fun)(*operands)
    p = _as_tensor(pred, "cond: pred", loc)
    if p.numel() != 1:
        raise ShapeError(f"cond: pred must hold one value, got shape {p.shape}", loc)
    p = p.reshape(()) if p.shape != () else p
    p = p if p.dtype.short == "bool" else p.astype("bool")
    o_leaves, o_def = _leaves(operands, "cond: operands", loc)
    device = _device([p] + o_leaves, loc, "cond")
    with lazy.tracing() as level:
        params = [_stand_in(t.dtype, t.shape, t.device) for t in o_leaves]
        branches = []
        for fn in (true_fun, false_fun):
            leaves, treedef = _leaves(fn(*o_def.unflatten(params)), "cond: a branch's result", loc)
            branches.append((fn, leaves, treedef))
    lazy.no_effects(level, "cond branches", loc)
    (_, t_out, t_def), (_, f_out, f_def) = branches
    if t_def != f_def:
        raise TracingError(f"cond: the branches return different structures: {t_def} and {f_def}", loc)
    _same_types("cond: false_fun's result", f_out, t_out, loc)
    captured = []
    for _, outs, _ in branches:
        for t in _closed_over("cond", outs, params, level):
            if all(t is not c for c in captured):
                captured.append(t)
    args = params + captured
    attrs = {"then": _define(_base(true_fun, "cond"), "then", t_out, args, level),
             "else": _define(_base(false_fun, "cond"), "else", f_out, args, level)}
    outs = _run("cond", [p] + o_leaves + captured, attrs, loc, _types(t_out), device)
    return t_def.unflatten(outs)


def recursive(fn, depth):
    """``fn`` applied ``depth`` times: ``recursive(f, 3)(x) == f(f(f(x)))`` for a pytree ``x``
    whose structure, shapes and dtypes ``f`` keeps. One Graph IR loop (a scan over the depth),
    not ``depth`` copies of ``f``: the recurrent core of models like HRM. Differentiable in both
    modes."""
    if type(depth) is not int or depth < 0:
        raise TracingError(f"recursive: depth must be an int >= 0, got {depth!r}", user_location())

    def apply(x):
        return x if depth == 0 else fori_loop(0, depth, lambda i, v: fn(v), x)
    apply.__name__ = f"recursive_{getattr(fn, '__name__', 'fn')}_{depth}"
    return apply


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for i in range(lower, upper) (``jax.lax.fori_loop``). With int
    bounds it is a scan over the indices (differentiable); with tensor bounds a while_loop."""
    if isinstance(lower, int) and isinstance(upper, int):
        from .tensor import arange
        idx = arange(lower, max(lower, upper))
        final, _ = scan(lambda val, i: (body_fun(i, val), None), init_val, idx)
        return final

    def test(state):
        return state[0] < upper

    def step(state):
        i, val = state
        return i + 1, body_fun(i, val)

    lo = lower if isinstance(lower, Tensor) else tensor(int(lower))
    return while_loop(test, step, (lo, init_val))[1]
