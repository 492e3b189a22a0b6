"""Mixed precision: a policy for the dtypes of parameters, compute and outputs (as DeepMind's
jmp), and dynamic loss scaling for float16.

    policy = precision.Policy(param_dtype="f32", compute_dtype="bf16", output_dtype="f32")
    loss, grads = ts.value_and_grad(lambda m: loss_fn(policy.cast_to_compute(m), x))(model)

The parameters stay float32 ("master weights"); the forward and backward run in bfloat16; the
gradients arrive in float32 because the cast's derivative casts back.

float16's range is narrow, so its gradients are computed on a scaled loss and unscaled after;
``DynamicLossScale`` halves the scale when a step's gradients are not finite (the step is then
skipped) and doubles it after ``period`` finite steps in a row:

    scale = precision.DynamicLossScale(2.0 ** 15)
    loss, grads = ts.value_and_grad(lambda m: scale.scale(loss_fn(policy.cast_to_compute(m), x)))(model)
    grads = scale.unscale(grads)
    finite = precision.all_finite(grads)
    new_model, new_state = opt.update(grads, state, model)
    model, state = precision.select(finite, (new_model, new_state), (model, state))
    scale = scale.adjust(finite)

Everything is a tensor function, so the whole step jits.
"""
from __future__ import annotations

from . import ops
from .dtypes import dtype as as_dtype
from .tensor import Tensor, tensor
from .tree import register_pytree_node, tree_flatten, tree_map

__all__ = ["Policy", "DynamicLossScale", "all_finite", "select"]


def _cast_floats(tree, dt):
    return tree_map(lambda x: x.astype(dt) if isinstance(x, Tensor) and x.dtype.is_floating else x, tree)


class Policy:
    """Dtypes for parameters, computation and outputs; each ``cast_to_*`` casts the floating
    tensors of a pytree (a model, a batch) and leaves integers alone."""

    def __init__(self, param_dtype="f32", compute_dtype="f32", output_dtype=None):
        self.param_dtype = as_dtype(param_dtype)
        self.compute_dtype = as_dtype(compute_dtype)
        self.output_dtype = as_dtype(output_dtype or compute_dtype)

    def cast_to_param(self, tree):
        return _cast_floats(tree, self.param_dtype)

    def cast_to_compute(self, tree):
        return _cast_floats(tree, self.compute_dtype)

    def cast_to_output(self, tree):
        return _cast_floats(tree, self.output_dtype)


def all_finite(tree):
    """A bool tensor: every element of every floating tensor of ``tree`` is finite."""
    ok = None
    for x in tree_flatten(tree)[0]:
        if isinstance(x, Tensor) and x.dtype.is_floating:
            f = ops.all(ops.isfinite(x))
            ok = f if ok is None else ops.logical_and(ok, f)
    return tensor(True) if ok is None else ok


def select(pred, on_true, on_false):
    """``on_true`` where the bool tensor ``pred`` holds, else ``on_false``, leaf by leaf (two
    pytrees of the same structure): how a skipped step keeps the old state."""
    return tree_map(lambda a, b: ops.where(pred, a, b) if isinstance(a, Tensor) else a, on_true, on_false)


class DynamicLossScale:
    """The loss scale and the count of finite steps since it last changed (a pytree)."""

    def __init__(self, scale=2.0 ** 15, period=2000, factor=2.0, min_scale=1.0, good_steps=None):
        self.loss_scale = scale if isinstance(scale, Tensor) else tensor(float(scale))
        self.good_steps = good_steps if good_steps is not None else tensor(0)
        self.period, self.factor, self.min_scale = int(period), float(factor), float(min_scale)

    def scale(self, loss):
        return loss * self.loss_scale.astype(loss.dtype)

    def unscale(self, grads):
        inv = 1.0 / self.loss_scale
        return tree_map(lambda g: g * inv.astype(g.dtype) if isinstance(g, Tensor) else g, grads)

    def adjust(self, finite):
        """The next scale: halved (not below min_scale) after a non-finite step, multiplied by
        ``factor`` after ``period`` finite steps in a row."""
        grown = self.good_steps + 1
        # grow only to a finite scale (an inf scale could never come back down)
        grow = ops.logical_and(ops.logical_and(finite, grown >= self.period),
                               ops.isfinite(self.loss_scale * self.factor))
        scale = ops.where(finite, ops.where(grow, self.loss_scale * self.factor, self.loss_scale),
                          ops.maximum(self.loss_scale / self.factor, self.min_scale))
        steps = ops.where(ops.logical_and(finite, ops.logical_not(grow)), grown, grown * 0)
        return DynamicLossScale(scale, self.period, self.factor, self.min_scale, steps)


register_pytree_node(
    DynamicLossScale, lambda s: ([s.loss_scale, s.good_steps], (s.period, s.factor, s.min_scale)),
    lambda aux, ch: DynamicLossScale(ch[0], aux[0], aux[1], aux[2], ch[1]))
