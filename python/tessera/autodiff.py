"""Automatic differentiation: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``hessian``.

Each traces the function to Graph IR (like ``tessera.jit``, one trace level deeper), asks the
native core for the derivative as another Graph IR function (the op registry's VJP/JVP rules),
and applies that function (``lazy.inline``): inside an enclosing trace its ops are recorded
there, so derivatives compose to any order (grad of grad, jvp of grad) and work the same inside
and outside ``@tessera.jit``; called eagerly, the derived function runs at once as one compiled
program. Tensors the function closes over, from an enclosing trace or transform, are constants
of this derivative and variables of the enclosing one (so d/dw of ``grad(lambda x: f(w, x))``
is right). An op without a rule raises an error naming the op and its line.
"""
from __future__ import annotations

from . import _C, lazy, profiler
from .errors import TesseraError, TracingError
from .jit import _flatten, _unflatten, trace
from .tensor import Tensor


def _argnum_leaves(args, argnums):
    """Leaf indices (in the flattening of (args, {})) belonging to each argnum."""
    counts = []
    for a in args:
        leaves = []
        _flatten(a, leaves)
        counts.append(len(leaves))
    starts = [sum(counts[:i]) for i in range(len(counts))]
    groups = []
    for n in argnums:
        if not -len(args) <= n < len(args):
            raise TesseraError(f"argnums: {n} is out of range for {len(args)} arguments")
        n %= len(args)
        groups.append(list(range(starts[n], starts[n] + counts[n])))
    return groups


def _settle(leaves):
    """Eagerly, computes deferred argument tensors (in one program) before they are traced."""
    if lazy.state.depth == 0:
        lazy.realize(*[t for t in leaves if t._array is None])


_derived = {}  # (transform, traced program without locations, arguments) -> derived Graph IR text


def _transform(kind, tr, *args):
    """``_C.vjp_transform`` / ``_C.jvp_transform`` of a trace, cached: an eager training loop
    traces the same program every step, and the derived text then also hits the compile cache."""
    key = (kind, tr.key) + tuple(tuple(a) if isinstance(a, list) else a for a in args)
    text = _derived.get(key)
    if text is None:
        if len(_derived) >= 512:
            _derived.clear()
        fn = _C.vjp_transform if kind == "vjp" else _C.jvp_transform
        with profiler.span("derive", kind):
            text = _derived[key] = fn(tr.text, *args)
    return text


def _owner(kind, fn):
    return f"tessera.{kind}({getattr(fn, '__name__', 'fn')})"


def _normalize_argnums(argnums):
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _run_vjp(fn, args, kwargs, argnums, has_aux):
    leaves = []
    spec = _flatten((args, kwargs), leaves)
    nums = _normalize_argnums(argnums)
    groups = _argnum_leaves(args, nums)
    _settle(leaves)
    tr = trace(fn, spec, leaves, owner=_owner("grad", fn))
    name = getattr(fn, "__name__", "function")
    out_kind = tr.out_spec[0]
    if has_aux:
        if out_kind != "tuple" or len(tr.out_spec[1]) != 2 or tr.out_spec[1][0][0] != "T":
            raise TracingError(f"grad({name}, has_aux=True): the function must return (value, aux)")
    elif out_kind != "T":
        raise TracingError(f"grad({name}): the function must return one tensor (use has_aux=True to return "
                           "more, or vjp for non-scalar outputs)")
    wrt = [i for g in groups for i in g]
    gtext = _transform("vjp", tr, wrt, [0], True)
    results = lazy.inline(gtext, leaves + tr.captured)
    n = tr.n_outputs + tr.n_effects
    lazy.add_effects(results[tr.n_outputs:n])
    outputs, grads = results[:tr.n_outputs], results[n:]
    out = _unflatten(tr.out_spec, outputs)
    per_arg, k = [], 0
    for n, g in zip(nums, groups):
        arg_leaves = []
        arg_spec = _flatten(args[n % len(args)], arg_leaves)
        per_arg.append(_unflatten(arg_spec, grads[k:k + len(g)]))
        k += len(g)
    grads_out = per_arg[0] if isinstance(argnums, int) else tuple(per_arg)
    return out, grads_out


def grad(fn, argnums=0, has_aux=False):
    """The gradient of ``fn`` (which returns a one-element tensor) with respect to argument(s)
    ``argnums``. With ``has_aux``, ``fn`` returns ``(value, aux)`` and the gradient function
    returns ``(grads, aux)``. Arguments may be nested lists/tuples/dicts of tensors."""
    def grad_fn(*args, **kwargs):
        out, grads = _run_vjp(fn, args, kwargs, argnums, has_aux)
        return (grads, out[1]) if has_aux else grads
    grad_fn.__name__ = f"grad_{getattr(fn, '__name__', 'fn')}"
    return grad_fn


def value_and_grad(fn, argnums=0, has_aux=False):
    """Like ``grad``, but returns ``(value, grads)`` (``((value, aux), grads)`` with has_aux)."""
    def vg_fn(*args, **kwargs):
        return _run_vjp(fn, args, kwargs, argnums, has_aux)
    vg_fn.__name__ = f"value_and_grad_{getattr(fn, '__name__', 'fn')}"
    return vg_fn


def vjp(fn, *primals):
    """``(outputs, vjp_fn)``: ``vjp_fn(cotangents)`` (same structure as outputs) returns the
    cotangents of ``primals`` (same structure as primals)."""
    leaves = []
    spec = _flatten((primals, {}), leaves)
    _settle(leaves)
    tr = trace(fn, spec, leaves, owner=_owner("vjp", fn))
    inputs = leaves + tr.captured
    outputs = lazy.inline(tr.text, inputs)
    n = tr.n_outputs + tr.n_effects
    lazy.add_effects(outputs[tr.n_outputs:])
    outputs = outputs[:tr.n_outputs]

    def vjp_fn(cotangents):
        ct_leaves = []
        ct_spec = _flatten(cotangents, ct_leaves)
        if ct_spec != _respec(tr.out_spec) or any(c.shape != o.shape for c, o in zip(ct_leaves, outputs)):
            raise TesseraError("vjp: cotangents must have the structure and shapes of the outputs")
        float_leaves = [i for i, t in enumerate(leaves) if t.dtype.is_floating]
        gtext = _transform("vjp", tr, float_leaves, list(range(tr.n_outputs)), False)
        results = lazy.inline(gtext, inputs + ct_leaves)
        lazy.add_effects(results[tr.n_outputs:n])
        results = results[n:]
        grads = [None] * len(leaves)
        for i, g in zip(float_leaves, results):
            grads[i] = g
        return _unflatten(spec, grads)[0]

    return _unflatten(tr.out_spec, outputs), vjp_fn


def _respec(out_spec):
    """The flatten spec of a structure equal to the outputs (static leaves compare equal)."""
    return out_spec


def jvp(fn, primals, tangents):
    """``(outputs, output_tangents)``: the directional derivative of ``fn`` at ``primals`` along
    ``tangents`` (same structure as primals), computed in forward mode. Tangents of
    non-floating-point primals are ignored (those inputs are held fixed)."""
    leaves, t_leaves = [], []
    spec = _flatten((tuple(primals), {}), leaves)
    t_spec = _flatten((tuple(tangents), {}), t_leaves)
    if t_spec != spec or any(a.shape != b.shape or a.dtype != b.dtype for a, b in zip(leaves, t_leaves)):
        raise TesseraError("jvp: tangents must have the structure, shapes and dtypes of the primals")
    _settle(leaves + t_leaves)
    tr = trace(fn, spec, leaves, owner=_owner("jvp", fn))
    # Only floating-point primals have tangents; the others (masks, indices) are held fixed.
    wrt = [i for i, t in enumerate(leaves) if t.dtype.is_floating]
    gtext = _transform("jvp", tr, wrt)
    results = lazy.inline(gtext, leaves + tr.captured + [t_leaves[i] for i in wrt])
    n = tr.n_outputs + tr.n_effects
    lazy.add_effects(results[tr.n_outputs:n])
    outs, touts = results[:tr.n_outputs], results[n:n + tr.n_outputs]
    return _unflatten(tr.out_spec, outs), _unflatten(tr.out_spec, touts)


def hessian(fn, argnum=0):
    """The Hessian of a one-element-valued ``fn`` with respect to one tensor argument, shaped
    ``x.shape + x.shape``: forward-mode derivatives of the gradient along each basis vector."""
    from . import ops
    from .tensor import tensor

    def hess_fn(*args):
        x = args[argnum]
        if not isinstance(x, Tensor):
            raise TesseraError("hessian: the differentiated argument must be a tensor")
        g = grad(fn, argnum)
        n = x.numel()
        rows = []
        primals = list(args)
        for i in range(n):
            basis = tensor([1.0 if j == i else 0.0 for j in range(n)], dtype=x.dtype, device=x.device)
            basis = ops.reshape(basis, x.shape) if x.ndim != 1 else basis
            _, row = jvp(lambda v: g(*primals[:argnum], v, *primals[argnum + 1:]), (x,), (basis,))
            rows.append(row)
        return ops.reshape(ops.stack(rows, axis=0), tuple(x.shape) + tuple(x.shape))
    return hess_fn


def stop_gradient(x):
    """``x`` in the forward pass; no gradient flows through it."""
    from . import ops
    return ops.stop_gradient(x)


def checkpoint(fn):
    """Rematerialisation (as ``jax.checkpoint`` / ``torch.utils.checkpoint``):
    ``checkpoint(fn)(*args)`` is ``fn(*args)``, but reverse mode keeps only the arguments and
    recomputes fn's intermediates during the backward pass instead of keeping them alive (the
    recomputation starts from ``remat_barrier`` ops, which the compiler never merges with the
    forward pass). Gradients are the same; memory falls by fn's activations at the cost of one
    more forward. ``fn`` returns one tensor; arguments may be pytrees (a module and its input).

        block = ts.checkpoint(lambda m, x: m(x))
        y = block(model.blocks[0], x)
    """
    from . import ops
    from .custom import custom_vjp
    from .tensor import Tensor
    from .tree import tree_map

    def barrier(t):
        return ops.remat_barrier(t) if isinstance(t, Tensor) and t.dtype.is_floating else t

    def wrapped(*args):
        f = custom_vjp(fn)

        def fwd(*a):
            return fn(*a), a

        def bwd(a, g):
            _, pull = vjp(fn, *tree_map(barrier, a))
            cts = pull(g)  # non-tensor arguments (numbers, flags) have no cotangent
            return tuple(tree_map(lambda x, c: c if isinstance(x, Tensor) else None, a_i, c_i)
                         for a_i, c_i in zip(a, cts))
        f.defvjp(fwd, bwd)
        return f(*args)
    wrapped.__name__ = f"checkpoint_{getattr(fn, '__name__', 'fn')}"
    return wrapped

