"""Seeded initialisers. Each draws from Tessera's counter-based (Philox) generator, so the same
seed gives the same values on every device and every run. ``fan_in``/``fan_out`` follow PyTorch
(a weight [out, in, *kernel] has fan_in = in * prod(kernel)).

Layers derive one seed per parameter from theirs with ``split(seed, i)``.
"""
from __future__ import annotations

import math

from .. import ops
from ..dtypes import dtype as as_dtype
from ..dtypes import float32, float64
from ..tensor import rand, randn

__all__ = ["split", "normal", "uniform", "trunc_normal", "xavier_uniform", "xavier_normal", "kaiming_uniform",
           "kaiming_normal", "zeros", "ones", "fans"]

_M64 = (1 << 64) - 1


def split(seed: int, i: int) -> int:
    """The i-th seed derived from ``seed`` (a 64-bit mix: nearby seeds give unrelated streams)."""
    x = (seed * 0x9E3779B97F4A7C15 + (i + 1) * 0xBF58476D1CE4E5B9) & _M64
    x ^= x >> 31
    x = (x * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 29)


def fans(shape):
    shape = tuple(shape)
    if len(shape) < 2:
        n = shape[0] if shape else 1
        return n, n
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _drawn_in(dtype):
    """Draws and transforms run in float32 (float64 for float64) and round once at the end:
    16-bit arithmetic would coarsen the values (a bfloat16 uniform has a few hundred) and can
    overflow the inverse CDF."""
    dt = as_dtype(dtype)
    return dt if dt in (float32, float64) else float32


def normal(shape, std=1.0, mean=0.0, seed=0, dtype=float32, device="cpu"):
    x = randn(*shape, seed=seed, dtype=_drawn_in(dtype), device=device)
    x = x * std + mean if (std, mean) != (1.0, 0.0) else x
    return x.astype(dtype)


def uniform(shape, low=0.0, high=1.0, seed=0, dtype=float32, device="cpu"):
    x = rand(*shape, seed=seed, dtype=_drawn_in(dtype), device=device) * (high - low) + low
    return x.astype(dtype)


def trunc_normal(shape, std=1.0, mean=0.0, a=-2.0, b=2.0, seed=0, dtype=float32, device="cpu"):
    """Normal(mean, std) truncated to [mean + a*std, mean + b*std] by inverting the CDF of a
    uniform draw (as ``torch.nn.init.trunc_normal_``; a and b in units of std here)."""
    cdf = lambda z: 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))  # noqa: E731
    lo, hi = cdf(a), cdf(b)
    u = rand(*shape, seed=seed, dtype=_drawn_in(dtype), device=device) * (hi - lo) + lo
    z = _erfinv(u * 2.0 - 1.0) * math.sqrt(2.0)
    return (ops.clamp(z, min=a, max=b) * std + mean).astype(dtype)


def _erfinv(y):
    # Giles' single-precision approximation refined by two Newton steps on erf: accurate to
    # float64 rounding over (-1, 1).
    w = -ops.log((1.0 - y) * (1.0 + y))
    small = w < 5.0
    ws, wl = w - 2.5, ops.sqrt(w) - 3.0
    p_small = _poly(ws, [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                         -0.00125372503, -0.00417768164, 0.246640727, 1.50140941])
    p_large = _poly(wl, [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                         -0.0076224613, 0.00943887047, 1.00167406, 2.83297682])
    x = ops.where(small, p_small, p_large) * y
    for _ in range(2):
        x = x - (ops.erf(x) - y) / (2.0 / math.sqrt(math.pi) * ops.exp(-x * x))
    return x


def _poly(x, coeffs):
    p = x * 0.0 + coeffs[0]
    for c in coeffs[1:]:
        p = p * x + c
    return p


def xavier_uniform(shape, gain=1.0, seed=0, dtype=float32, device="cpu"):
    fan_in, fan_out = fans(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, -bound, bound, seed, dtype, device)


def xavier_normal(shape, gain=1.0, seed=0, dtype=float32, device="cpu"):
    fan_in, fan_out = fans(shape)
    return normal(shape, gain * math.sqrt(2.0 / (fan_in + fan_out)), 0.0, seed, dtype, device)


def _gain(nonlinearity, a):
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity in ("linear", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    raise ValueError(f"kaiming: unknown nonlinearity {nonlinearity!r}")


def kaiming_uniform(shape, a=0.0, nonlinearity="leaky_relu", mode="fan_in", seed=0, dtype=float32, device="cpu"):
    fan = fans(shape)[0 if mode == "fan_in" else 1]
    bound = _gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform(shape, -bound, bound, seed, dtype, device)


def kaiming_normal(shape, a=0.0, nonlinearity="leaky_relu", mode="fan_in", seed=0, dtype=float32, device="cpu"):
    fan = fans(shape)[0 if mode == "fan_in" else 1]
    return normal(shape, _gain(nonlinearity, a) / math.sqrt(fan), 0.0, seed, dtype, device)


def zeros(shape, dtype=float32, device="cpu"):
    from ..tensor import zeros as z
    return z(*shape, dtype=dtype, device=device)


def ones(shape, dtype=float32, device="cpu"):
    from ..tensor import ones as o
    return o(*shape, dtype=dtype, device=device)
