"""Transformer building blocks: rope (rotary position embedding) in both pair conventions
against a NumPy float64 reference (rotate (x1, x2) by p * base^(-2i/D)), at default and given
positions (batched, integer or float), f16/bf16 within their rounding, gradients against torch
autograd of the same formula, errors for bad shapes."""
import numpy as np
import pytest

import tessera as ts

torch = pytest.importorskip("torch")
RNG = np.random.default_rng()


def reference(x, pos, base=10000.0, interleaved=False):
    d = x.shape[-1]
    ang = np.asarray(pos, np.float64)[..., None] * base ** (-2 * np.arange(d // 2) / d)
    c, s = np.cos(ang), np.sin(ang)
    x1, x2 = (x[..., 0::2], x[..., 1::2]) if interleaved else (x[..., : d // 2], x[..., d // 2:])
    y1, y2 = x1 * c - x2 * s, x2 * c + x1 * s
    if interleaved:
        return np.stack([y1, y2], axis=-1).reshape(x.shape)
    return np.concatenate([y1, y2], axis=-1)


@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("shape", [(1, 2), (5, 6), (2, 3, 7, 8), (1, 13, 64)])
def test_rope_matches_the_formula(interleaved, shape):
    x = RNG.standard_normal(shape)
    s = shape[-2]
    got = ts.rope(ts.tensor(x), interleaved=interleaved).numpy()
    np.testing.assert_allclose(got, reference(x, np.arange(s), interleaved=interleaved), rtol=1e-12, atol=1e-12)
    pos = RNG.integers(0, 4096, shape[:-1])  # batched integer positions, e.g. packed sequences
    got = ts.rope(ts.tensor(x), ts.tensor(pos), base=500.0, interleaved=interleaved).numpy()
    np.testing.assert_allclose(got, reference(x, pos, 500.0, interleaved), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dtype, tol", [("float16", 2e-3), ("bfloat16", 1.6e-2), ("float32", 2e-6)])
def test_rope_narrow_dtypes(dtype, tol):
    x = RNG.standard_normal((3, 17, 32))
    xt = ts.tensor(x).astype(dtype)
    y = ts.rope(xt)
    assert y.dtype == xt.dtype
    want = reference(xt.astype("float64").numpy(), np.arange(17))
    np.testing.assert_allclose(y.astype("float64").numpy(), want, rtol=tol, atol=tol)


def test_rope_gradient_matches_torch():
    x, pos = RNG.standard_normal((2, 5, 8)), RNG.uniform(0, 50, (2, 5))
    tx = torch.tensor(x, requires_grad=True)
    ang = torch.tensor(pos)[..., None] * 10000.0 ** (-2 * torch.arange(4, dtype=torch.float64) / 8)
    x1, x2 = tx[..., :4], tx[..., 4:]
    y = torch.cat([x1 * ang.cos() - x2 * ang.sin(), x2 * ang.cos() + x1 * ang.sin()], -1)
    w = RNG.standard_normal(y.shape)
    (y * torch.tensor(w)).sum().backward()
    g = ts.grad(lambda a: (ts.rope(a, ts.tensor(pos)) * ts.tensor(w)).sum())(ts.tensor(x))
    np.testing.assert_allclose(g.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: ts.rope(ts.zeros(4, 5)), "even D"),
    (lambda: ts.rope(ts.zeros(6)), "[..., S, D]"),
    (lambda: ts.rope(ts.zeros(4, 6), ts.zeros(5)), "must end in x's S dim"),
    (lambda: ts.rope(ts.zeros(4, 6, dtype="int32")), "float"),
])
def test_bad_input_names_the_op_and_line(call, message):
    with pytest.raises(ts.TesseraError) as e:
        call()
    assert message in str(e.value) and "test_transformer_ops.py" in str(e.value)


@pytest.mark.parametrize("heads, kv", [(4, 4), (4, 2), (6, 1)])
def test_qkv_projection_splits_a_fused_product(heads, kv):
    rng = np.random.default_rng()
    hd, d = 3, 10
    x, w = rng.standard_normal((2, 7, d)), rng.standard_normal((d, (heads + 2 * kv) * hd))
    y = x @ w
    parts = {"q": (0, heads), "k": (heads, kv), "v": (heads + kv, kv)}
    for part, (first, count) in parts.items():
        got = ts.qkv_projection(ts.tensor(x), ts.tensor(w), heads=heads, kv_heads=kv, part=part).numpy()
        want = y[..., first * hd:(first + count) * hd].reshape(2, 7, count, hd).transpose(0, 2, 1, 3)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=part)
    with pytest.raises(ts.ShapeError, match="qkv_projection: x f64\\[2,7,10\\] and weight f64\\[10,7\\]"):
        ts.qkv_projection(ts.tensor(x), ts.tensor(w[:, :7]), heads=heads, kv_heads=kv, part="q")
    with pytest.raises(ts.TesseraValueError, match="part must be"):
        ts.qkv_projection(ts.tensor(x), ts.tensor(w), heads=heads, kv_heads=kv, part="o")
