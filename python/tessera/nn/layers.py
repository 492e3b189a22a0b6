"""Standard layers. Weights use PyTorch's layouts and default initialisations (so a
``state_dict`` moves between the two), drawn from seeded Philox streams (``nn.init``): the
same ``seed`` gives the same weights on every device."""
from __future__ import annotations

import math

from .. import ops
from ..dtypes import float32
from . import init
from .module import Module

__all__ = ["Linear", "Embedding", "LayerNorm", "RMSNorm", "Dropout", "MLP", "SwiGLU", "Conv1d", "Conv2d", "MaxPool2d",
           "AvgPool2d", "Identity"]


def _bound_uniform(shape, fan_in, seed, dtype, device):  # PyTorch's default for Linear and Conv
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return init.uniform(shape, -bound, bound, seed, dtype, device)


class Identity(Module):
    def __call__(self, x):
        return x


class Linear(Module):
    """y = x @ weight.T + bias, weight [out_features, in_features] (PyTorch's layout)."""

    def __init__(self, in_features, out_features, bias=True, seed=0, dtype=float32, device="cpu"):
        self.in_features, self.out_features = in_features, out_features
        self.weight = _bound_uniform((out_features, in_features), in_features, init.split(seed, 0), dtype, device)
        self.bias = _bound_uniform((out_features,), in_features, init.split(seed, 1), dtype, device) if bias else None

    def __call__(self, x):
        y = x @ ops.transpose(self.weight)
        return y + self.bias if self.bias is not None else y


class Embedding(Module):
    """Rows of ``weight`` [num_embeddings, embedding_dim] (initialised N(0, 1), as PyTorch)."""

    def __init__(self, num_embeddings, embedding_dim, seed=0, dtype=float32, device="cpu"):
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = init.normal((num_embeddings, embedding_dim), seed=init.split(seed, 0), dtype=dtype,
                                  device=device)

    def __call__(self, ids):
        return ops.embedding(ids, self.weight)


class LayerNorm(Module):
    def __init__(self, dim, eps=1e-5, elementwise_affine=True, bias=True, dtype=float32, device="cpu"):
        self.dim, self.eps = dim, eps
        self.weight = init.ones((dim,), dtype, device) if elementwise_affine else None
        self.bias = init.zeros((dim,), dtype, device) if elementwise_affine and bias else None

    def __call__(self, x):
        return ops.layernorm(x, self.weight, self.bias, eps=self.eps)


class RMSNorm(Module):
    def __init__(self, dim, eps=1e-6, elementwise_affine=True, dtype=float32, device="cpu"):
        self.dim, self.eps = dim, eps
        self.weight = init.ones((dim,), dtype, device) if elementwise_affine else None

    def __call__(self, x):
        return ops.rmsnorm(x, self.weight, eps=self.eps)


class Dropout(Module):
    """Zeroes each element with probability ``p`` and scales the rest by 1/(1 - p) in training
    mode; the identity in eval mode. ``key`` (an integer tensor or int: a new one each step)
    seeds the mask."""

    def __init__(self, p=0.5):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = float(p)

    def __call__(self, x, key=None):
        if not self.training or self.p == 0.0:
            return x
        if key is None:
            raise ValueError("Dropout: training mode needs a key (an integer, a new one each step), "
                             "or call .eval() on the model")
        return ops.dropout(x, key, p=self.p)


class MLP(Module):
    """Linear -> activation -> Linear (activation: a function, default exact gelu)."""

    def __init__(self, in_features, hidden, out_features=None, activation=ops.gelu, bias=True, seed=0,
                 dtype=float32, device="cpu"):
        self.up = Linear(in_features, hidden, bias, init.split(seed, 0), dtype, device)
        self.down = Linear(hidden, out_features or in_features, bias, init.split(seed, 1), dtype, device)
        self.activation = activation

    def __call__(self, x):
        return self.down(self.activation(self.up(x)))


class SwiGLU(Module):
    """down(silu(gate(x)) * up(x)), as LLaMA's feed-forward block (no biases)."""

    def __init__(self, dim, hidden, seed=0, dtype=float32, device="cpu"):
        self.gate = Linear(dim, hidden, False, init.split(seed, 0), dtype, device)
        self.up = Linear(dim, hidden, False, init.split(seed, 1), dtype, device)
        self.down = Linear(hidden, dim, False, init.split(seed, 2), dtype, device)

    def __call__(self, x):
        return self.down(ops.silu(self.gate(x)) * self.up(x))


class _ConvNd(Module):
    _op = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 seed=0, dtype=float32, device="cpu", dims=2):
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{type(self).__name__}: in_channels {in_channels} and out_channels {out_channels} "
                             f"must be divisible by groups {groups}")
        k = (kernel_size,) * dims if isinstance(kernel_size, int) else tuple(kernel_size)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        fan_in = in_channels // groups * math.prod(k)
        self.weight = _bound_uniform((out_channels, in_channels // groups) + k, fan_in, init.split(seed, 0), dtype,
                                     device)
        self.bias = _bound_uniform((out_channels,), fan_in, init.split(seed, 1), dtype, device) if bias else None

    def __call__(self, x):
        return type(self)._op(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                              dilation=self.dilation, groups=self.groups)


class Conv1d(_ConvNd):
    """As torch.nn.Conv1d: x [N, C, L] (or [C, L]); weight [out, in / groups, k]."""
    _op = staticmethod(ops.conv1d)

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 seed=0, dtype=float32, device="cpu"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, seed, dtype,
                         device, dims=1)


class Conv2d(_ConvNd):
    """As torch.nn.Conv2d: x [N, C, H, W] (or [C, H, W]); weight [out, in / groups, kh, kw]."""
    _op = staticmethod(ops.conv2d)


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation

    def __call__(self, x):
        return ops.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=True):
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.count_include_pad = count_include_pad

    def __call__(self, x):
        return ops.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)
