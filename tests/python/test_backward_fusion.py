"""Backward-pass rewrites of the compiler, checked against torch autograd in float64 on fresh
random inputs at awkward shapes: weight gradients of batched layers folded into one product
with the batch in K (fold-batch-sums), bias gradients as one column sum, and activation
derivatives computed in the epilogue of the GEMM that produces the incoming gradient
(form-kernels). Each case also checks that the rewrite happened."""

import numpy as np
import pytest

import tessera as ts

torch = pytest.importorskip("torch")


def ref_grads(loss, *arrays):
    xs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    return [g.numpy() for g in torch.autograd.grad(loss(*xs), xs)]


@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (4, 17, 8, 3), (1, 1, 1, 1), (3, 64, 33, 65)])
def test_linear_layer_gradients(shape):
    b, s, d, n = shape
    rng = np.random.default_rng(sum(shape))
    x, w, bias = rng.standard_normal((b, s, d)), rng.standard_normal((d, n)) / np.sqrt(d), rng.standard_normal(n)
    f = ts.jit(ts.grad(lambda x_, w_, b_: ts.sum(ts.gelu(x_ @ w_ + b_) ** 2), argnums=(0, 1, 2)))
    got = [np.asarray(g) for g in f(ts.tensor(x), ts.tensor(w), ts.tensor(bias))]
    want = ref_grads(lambda x_, w_, b_: torch.nn.functional.gelu(x_ @ w_ + b_).pow(2).sum(), x, w, bias)
    for g, r in zip(got, want):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-10 * np.abs(r).max())
    graph = f.ir("schedule")
    if b > 1:  # dW = x^T g over all b*s rows: one product, no batched [b, d, n] one
        assert f"f64[{b},{d},{n}]" not in graph


def test_two_layer_mlp_gelu_derivative_in_the_epilogue():
    # The hidden layer's gelu derivative (from the saved pre-activation) joins the epilogue of
    # the product g @ w2^T that brings the incoming gradient: no kernel of its own.
    rng = np.random.default_rng(0)
    x, w1, w2 = rng.standard_normal((3, 11, 8)), rng.standard_normal((8, 16)) / 3, rng.standard_normal((16, 5)) / 4

    def loss(x_, w1_, w2_):
        return ts.sum((ts.gelu(x_ @ w1_) @ w2_) ** 2)

    f = ts.jit(ts.grad(loss, argnums=(0, 1, 2)))
    got = [np.asarray(g) for g in f(ts.tensor(x), ts.tensor(w1), ts.tensor(w2))]
    want = ref_grads(lambda a, b, c: (torch.nn.functional.gelu(a @ b) @ c).pow(2).sum(), x, w1, w2)
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-10 * np.abs(r).max())
    sched = f.ir("schedule")
    matmul_kernels = [k for k in sched.split("sched.kernel(")[1:] if k.startswith(tuple("%")) and
                      'kind = "matmul"' in k.split("\n")[0]]
    assert any("erf" in k.split("sched.yield")[0] and "matmul(" in k for k in matmul_kernels)


def test_bias_gradient_of_3d_activations_is_one_sum():
    rng = np.random.default_rng(1)
    g = rng.standard_normal((4, 300, 7))
    f = ts.jit(ts.grad(lambda b_: ts.sum(ts.tensor(g) * ts.sin(ts.zeros((4, 300, 7)) + b_))))
    bias = rng.standard_normal(7)
    got = np.asarray(f(ts.tensor(bias)))
    np.testing.assert_allclose(got, (g * np.cos(bias)).sum(axis=(0, 1)), rtol=1e-12, atol=1e-12)
    assert "f64[300,7]" not in f.ir("schedule")  # no sum over the first axis, then the next


@pytest.mark.parametrize("c", [0.0, 1.0, 2.0, 3.0, 0.5, -1.5])
def test_gradient_of_a_constant_power(c):
    # d/dx x**c for a constant c: c x**(c-1) with no guard; 2x for squares (no pow in the kernel).
    rng = np.random.default_rng(int(10 * c) + 20)
    x = np.abs(rng.standard_normal(37)) + 0.1
    if c >= 0 and float(c).is_integer():
        x[0] = 0.0  # defined at 0 for non-negative integer powers
    f = ts.jit(ts.grad(lambda a: ts.sum(a ** c)))
    got = np.asarray(f(ts.tensor(x)))
    want = ref_grads(lambda a: (a ** c).sum(), x)[0]
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)
    if c == 2.0:
        assert "pow(" not in f.ir("schedule")
