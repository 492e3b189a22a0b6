"""Flash attention (tile.flash_attention: mma.sync m16n8k16, online softmax, cp.async) on an
NVIDIA GPU, checked against torch's scaled_dot_product_attention in float64 on fresh random
inputs at awkward sizes, outputs poisoned (NaN) before each run so unwritten rows are caught."""
import math

import pytest

import tessera as ts

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available() or torch.cuda.get_device_capability() < (8, 0), reason="needs an sm_80+ NVIDIA GPU"
)
F = torch.nn.functional


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")


def rel_err(got, want):
    """Largest error relative to the reference's scale (max |want|, at least 1)."""
    got, want = got.double(), want.double()
    assert torch.isfinite(got).all(), "unwritten (NaN) or overflowed outputs"
    return ((got - want).abs().max() / want.abs().max().clamp(min=1)).item()


def reference(q, k, v, causal, scale=None):
    return F.scaled_dot_product_attention(q.double(), k.double(), v.double(), is_causal=causal, scale=scale)


def run_flash(q, k, v, causal, scale=None):
    """Tessera's result, asserting the flash kernel (not the decomposition) computed it."""
    f = ts.jit(lambda a, b, c: ts.scaled_dot_product_attention(a, b, c, is_causal=causal, scale=scale))
    got = torch.from_dlpack(f(ts.from_dlpack(q), ts.from_dlpack(k), ts.from_dlpack(v)))
    assert "tile.flash_attention" in f.ir("tile")
    return got


def rand(*shape, dtype):
    return torch.randn(*shape, device="cuda", dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("s", [1, 17, 128, 257, 1000])
def test_against_sdpa(dtype, d, causal, s):
    q, k, v = (rand(2, 3, s, d, dtype=dtype) for _ in range(3))
    got = run_flash(q, k, v, causal)
    assert got.dtype == dtype and got.shape == q.shape
    assert rel_err(got, reference(q, k, v, causal)) < 1e-2


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("sq,skv", [(1, 300), (100, 37), (129, 513), (300, 64), (65, 1)])
def test_different_query_and_key_lengths(causal, sq, skv):
    q = rand(3, sq, 64, dtype=torch.bfloat16)  # one batch dim; torch's causal mask is top-left aligned too
    k, v = rand(3, skv, 64, dtype=torch.bfloat16), rand(3, skv, 64, dtype=torch.bfloat16)
    assert rel_err(run_flash(q, k, v, causal), reference(q, k, v, causal)) < 1e-2


def test_scale_and_large_logits():
    # Large scores stress the running max: exp would overflow without the online rescale.
    q, k, v = (rand(1, 2, 200, 128, dtype=torch.bfloat16) for _ in range(3))
    q = q * 8
    assert rel_err(run_flash(q, k, v, False, scale=0.5), reference(q, k, v, False, scale=0.5)) < 1e-2


def test_unaligned_views_take_the_element_copies():
    base = torch.randn(2 * 77 * 64 + 3, device="cuda", dtype=torch.bfloat16)
    q = base[3:].view(2, 77, 64)
    k, v = rand(2, 77, 64, dtype=torch.bfloat16), rand(2, 77, 64, dtype=torch.bfloat16)
    assert rel_err(run_flash(q, k, v, True), reference(q, k, v, True)) < 1e-2


@pytest.mark.parametrize("causal", [False, True])
def test_pattern_written_as_ops_runs_the_kernel(causal):
    # softmax(q @ k^T / sqrt(d)) @ v with a tril(-inf) mask becomes one attention op (match-attention).
    def attn(q, k, v):
        s = (q @ k.transpose(0, 1, 3, 2)) / math.sqrt(64)
        if causal:
            s = ts.tril(s, value=-math.inf)
        return ts.softmax(s) @ v

    q, k, v = (rand(2, 2, 150, 64, dtype=torch.float16) for _ in range(3))
    f = ts.jit(attn)
    got = torch.from_dlpack(f(ts.from_dlpack(q), ts.from_dlpack(k), ts.from_dlpack(v)))
    assert "tile.flash_attention" in f.ir("tile")
    assert rel_err(got, reference(q, k, v, causal)) < 1e-2


def test_f32_and_other_head_dims_use_the_decomposition():
    q, k, v = (rand(2, 40, 32, dtype=torch.float32) for _ in range(3))
    f = ts.jit(lambda a, b, c: ts.attention(a, b, c, causal=True))
    got = torch.from_dlpack(f(ts.from_dlpack(q), ts.from_dlpack(k), ts.from_dlpack(v)))
    assert "tile.flash_attention" not in f.ir("tile")
    assert rel_err(got, reference(q, k, v, True)) < 1e-5


@pytest.mark.parametrize("causal", [False, True])
def test_gradients_on_cuda_use_the_decomposition(causal):
    # No flash backward yet: grad differentiates the decomposition (matmul/tril/softmax) on the GPU.
    q, k, v = (torch.randn(2, 37, 16, device="cuda", dtype=torch.float64, requires_grad=True) for _ in range(3))
    w = torch.randn(2, 37, 16, device="cuda", dtype=torch.float64)
    (F.scaled_dot_product_attention(q, k, v, is_causal=causal) * w).sum().backward()

    def loss(a, b, c):
        return ts.sum(ts.attention(a, b, c, causal=causal) * ts.from_dlpack(w))

    grads = ts.grad(loss, argnums=(0, 1, 2))(*(ts.from_dlpack(t.detach()) for t in (q, k, v)))
    for g, t in zip(grads, (q, k, v)):
        g = torch.from_dlpack(g)
        assert ((g - t.grad).abs().max() / t.grad.abs().max()).item() < 1e-10
