"""Tessera quickstart: build a small program, run it on the CPU, compare with NumPy.

The same Python function runs three ways: eagerly (each tensor op runs at once through a kernel
compiled on first use and cached), under @tessera.jit (traced once per input signature, fused
and compiled as one program, then called directly), and in NumPy as the reference. The
generated IR of every level can be printed.
"""
import time

import numpy as np

import tessera as ts


def layer(x, w, b):
    """relu(x @ w + b), then the sum of each row."""
    return ts.relu(x @ w + b).sum(axis=-1)


def timed(fn, repeats=5):
    """(result, first call seconds, best later call seconds)."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return result, first, best


def main():
    m, k, n = 256, 512, 384
    x = ts.randn(m, k, seed=0)
    w = ts.randn(k, n, seed=1) * 0.05
    b = ts.randn(n, seed=2)
    xn, wn, bn = x.numpy(), w.numpy(), b.numpy()

    jitted = ts.jit(layer)
    eager, eager_first, eager_best = timed(lambda: layer(x, w, b).numpy())
    compiled, jit_first, jit_best = timed(lambda: jitted(x, w, b).numpy())
    reference, _, np_best = timed(lambda: layer_numpy(xn, wn, bn))

    print(f"relu(x @ w + b).sum(axis=-1) with x {x.shape}, w {w.shape}, b {b.shape} (float32, CPU)\n")
    print("first values   tessera:", np.array2string(compiled[:4], precision=4))
    print("               numpy:  ", np.array2string(reference[:4], precision=4))
    err = np.max(np.abs(compiled - reference) / np.maximum(1.0, np.abs(reference)))
    print(f"max relative difference: {err:.2e}\n")
    print(f"{'':24}{'first call':>12}{'steady':>12}")
    print(f"{'tessera eager':24}{eager_first * 1e3:10.1f}ms{eager_best * 1e3:10.2f}ms")
    print(f"{'tessera @jit':24}{jit_first * 1e3:10.1f}ms{jit_best * 1e3:10.2f}ms")
    print(f"{'numpy':24}{'':12}{np_best * 1e3:10.2f}ms")
    print("\n(first calls include compiling)\n")
    print("Schedule IR of the jitted function:\n")
    print(jitted.ir("schedule"))
    if err > 1e-4:
        raise SystemExit("results differ from NumPy")
    assert np.allclose(eager, reference, rtol=1e-4, atol=1e-4)


def layer_numpy(x, w, b):
    return np.maximum(x @ w + b, 0).sum(axis=-1)


if __name__ == "__main__":
    main()
