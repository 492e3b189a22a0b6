"""Optimizers with PyTorch's update rules (``torch.optim``: SGD, Adam, AdamW) and Lion, as pure
functions of pytrees, so a whole training step (loss, gradient, update) is one ``jit``:

    opt = optim.AdamW(lr=optim.cosine(3e-4, total=1000, warmup=100), weight_decay=0.1)
    state = opt.init(model)

    @ts.jit
    def step(model, state, x, y):
        loss, grads = ts.value_and_grad(loss_fn)(model, x, y)
        grads, norm = optim.clip_grad_norm(grads, 1.0)
        model, state = opt.update(grads, state, model)
        return model, state, loss

``lr`` is a number or a schedule (a function of the step count, a tensor, traced into the step).
Updates are element-wise over every parameter and fuse into one kernel per parameter inside a
jitted step.
"""
from __future__ import annotations

import math

from . import ops
from .errors import TesseraValueError
from .lazy import user_location
from .tensor import Tensor, tensor, zeros
from .tree import tree_flatten, tree_map

__all__ = ["SGD", "Adam", "AdamW", "Lion", "clip_grad_norm", "global_norm", "constant", "linear_warmup", "cosine",
           "step_decay"]


def _zeros_like(p):
    return zeros(*p.shape, dtype=p.dtype, device=p.device) if isinstance(p, Tensor) else p


def _lr(lr, count):
    return lr(count) if callable(lr) else lr


def _like(x, p):
    """A step-dependent value (float64 when it comes from the step count) in p's dtype."""
    return x.astype(p.dtype) if isinstance(x, Tensor) else x


class _Optimizer:
    def init(self, params):
        """The optimizer state for ``params`` (a pytree of tensors, e.g. a model)."""
        return {"count": tensor(0.0, dtype="f64"), **{k: tree_map(_zeros_like, params) for k in self._slots}}

    def update(self, grads, state, params):
        """(new params, new state) after one step with ``grads`` (the structure of ``params``)."""
        count = state["count"] + 1.0
        lr = _lr(self.lr, count)
        p_leaves, treedef = tree_flatten(params)
        g_leaves, g_def = tree_flatten(grads)
        if g_def != treedef:
            raise TesseraValueError(f"{type(self).__name__}.update: the gradients' structure {g_def} differs from the "
                                    f"parameters' {treedef}", user_location())
        slots = {k: tree_flatten(state[k])[0] for k in self._slots}
        new_p, new_slots = [], {k: [] for k in self._slots}
        for i, (p, g) in enumerate(zip(p_leaves, g_leaves)):
            if not (isinstance(p, Tensor) and isinstance(g, Tensor) and p.dtype.is_floating):
                out = (p, {k: slots[k][i] for k in self._slots})  # not a trainable tensor: unchanged
            else:
                out = self._step(p, g.astype(p.dtype), {k: slots[k][i] for k in self._slots}, _like(lr, p), count)
            new_p.append(out[0])
            for k in self._slots:
                new_slots[k].append(out[1][k])
        new_state = {"count": count, **{k: treedef.unflatten(v) for k, v in new_slots.items()}}
        return treedef.unflatten(new_p), new_state


class SGD(_Optimizer):
    """torch.optim.SGD: weight decay added to the gradient, momentum (the first step's buffer is
    the gradient itself), dampening, Nesterov."""

    def __init__(self, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self._slots = ("momentum",) if momentum else ()

    def _step(self, p, g, s, lr, count):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if not self.momentum:
            return p - lr * g, {}
        first = ops.equal(count, 1.0)  # torch starts the buffer at the first gradient
        buf = ops.where(first, g, s["momentum"] * self.momentum + (1.0 - self.dampening) * g)
        d = g + self.momentum * buf if self.nesterov else buf
        return p - lr * d, {"momentum": buf}


class Adam(_Optimizer):
    """torch.optim.Adam (weight decay added to the gradient: L2, not decoupled)."""

    _decoupled = False

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay
        self._slots = ("m", "v")

    def _step(self, p, g, s, lr, count):
        b1, b2 = self.betas
        if self.weight_decay and not self._decoupled:
            g = g + self.weight_decay * p
        if self.weight_decay and self._decoupled:
            p = p * (1.0 - lr * self.weight_decay)
        m = s["m"] * b1 + (1.0 - b1) * g
        v = s["v"] * b2 + (1.0 - b2) * g * g
        bc1 = 1.0 - ops.pow(b1, count)
        bc2 = 1.0 - ops.pow(b2, count)
        # torch's arithmetic: step = lr / bc1; denom = sqrt(v) / sqrt(bc2) + eps
        step = _like(lr / bc1, p)
        denom = ops.sqrt(v) / _like(ops.sqrt(bc2), p) + self.eps
        return p - step * m / denom, {"m": m, "v": v}


class AdamW(Adam):
    """torch.optim.AdamW: decoupled weight decay (p *= 1 - lr * weight_decay), default 0.01."""

    _decoupled = True

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(lr, betas, eps, weight_decay)


class Lion(_Optimizer):
    """Lion (Chen et al. 2023): p -= lr * (sign(b1 m + (1 - b1) g) + weight_decay * p);
    m = b2 m + (1 - b2) g."""

    def __init__(self, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        self.lr, self.betas, self.weight_decay = lr, tuple(betas), weight_decay
        self._slots = ("m",)

    def _step(self, p, g, s, lr, count):
        b1, b2 = self.betas
        if self.weight_decay:
            p = p * (1.0 - lr * self.weight_decay)
        c = s["m"] * b1 + (1.0 - b1) * g
        return p - lr * ops.sign(c), {"m": s["m"] * b2 + (1.0 - b2) * g}


def global_norm(tree):
    """sqrt of the sum of squares of every tensor leaf (float64 accumulation)."""
    leaves = [x for x in tree_flatten(tree)[0] if isinstance(x, Tensor)]
    total = None
    for x in leaves:
        x = x.astype("f64")
        s = ops.sum(x * x)
        total = s if total is None else total + s
    return ops.sqrt(total) if total is not None else tensor(0.0, dtype="f64")


def clip_grad_norm(grads, max_norm, eps=1e-6):
    """(grads scaled so that their global norm is at most ``max_norm``, the norm before), as
    ``torch.nn.utils.clip_grad_norm_``: the scale is min(1, max_norm / (norm + eps))."""
    norm = global_norm(grads)
    scale = ops.minimum(max_norm / (norm + eps), 1.0)
    return tree_map(lambda g: g * scale.astype(g.dtype) if isinstance(g, Tensor) else g, grads), norm


# ---- learning-rate schedules: functions of the step count (1 at the first update) ----

def constant(lr):
    return lambda count: lr


def linear_warmup(peak, warmup):
    """peak * min(1, count / warmup): the first update uses peak / warmup, update ``warmup`` and
    later ones peak."""
    return lambda count: peak * ops.minimum(count / float(max(warmup, 1)), 1.0)


def cosine(peak, total, warmup=0, final=0.0):
    """Linear warmup to ``peak`` at update ``warmup``, then a cosine decay towards ``final`` over the
    remaining ``total - warmup`` updates. Without a warmup the first update uses ``peak``, as
    torch's CosineAnnealingLR(T_max=total) stepped after each update."""
    def lr(count):
        t = ops.clamp((count - float(max(warmup, 1))) / float(max(total - warmup, 1)), min=0.0, max=1.0)
        decayed = final + 0.5 * (peak - final) * (1.0 + ops.cos(math.pi * t))
        if warmup <= 0:
            return decayed
        return ops.where(count <= float(warmup), peak * count / float(warmup), decayed)
    return lr


def step_decay(lr0, step_size, gamma=0.1):
    """lr0 * gamma ** floor((count - 1) / step_size), as torch's StepLR (stepped after each update)."""
    return lambda count: lr0 * ops.pow(gamma, ops.floor((count - 1.0) / float(step_size)))
