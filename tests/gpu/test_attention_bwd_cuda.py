"""Flash attention's backward on an NVIDIA GPU (the forward kernel writing the lse, then
tile.flash_attention_bwd: a dq kernel and a dk/dv kernel), checked against torch autograd of
scaled_dot_product_attention in float64 on fresh random inputs at awkward sizes, with outputs
poisoned (NaN) before each run so unwritten rows are caught."""
import math
import re

import pytest

import tessera as ts

torch = pytest.importorskip("torch")
import gpu_checks  # noqa: E402

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available() or torch.cuda.get_device_capability() < (8, 0), reason="needs an sm_80+ NVIDIA GPU"
)
F = torch.nn.functional


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")


def rel_err(got, want):
    """Largest error relative to the reference's scale (max |want|, at least 1e-3)."""
    return gpu_checks.rel_err(got, want, floor=1e-3)


def rand(*shape, dtype=torch.bfloat16):
    return torch.randn(*shape, device="cuda", dtype=dtype)


def torch_grads(q, k, v, w, causal, scale, argnums):
    """Gradients of sum(sdpa(q, k, v) * w) in float64 by torch autograd."""
    xs = [t.double().requires_grad_(i in argnums) for i, t in enumerate((q, k, v))]
    out = F.scaled_dot_product_attention(*xs, is_causal=causal, scale=scale)
    out.backward(w.double())
    return [xs[i].grad for i in argnums]


def flash_grads(q, k, v, w, causal, scale=None, argnums=(0, 1, 2)):
    """Tessera's gradients, asserting that the flash kernels computed them (no S x S tensor)."""
    wt = ts.from_dlpack(w)

    def loss(a, b, c):
        return ts.sum(ts.scaled_dot_product_attention(a, b, c, is_causal=causal, scale=scale) * wt)

    f = ts.jit(ts.grad(loss, argnums=argnums))
    got = f(ts.from_dlpack(q), ts.from_dlpack(k), ts.from_dlpack(v))
    tile = f.ir("tile")
    # The forward kernel writing the lse: tile.flash_attention_wgmma on Hopper, tile.flash_attention elsewhere.
    assert "tile.flash_attention_bwd" in tile and re.search(r"tile\.flash_attention(_wgmma)?\(", tile)
    sq, skv = q.shape[-2], k.shape[-2]
    if sq > 1 and skv > 1 and q.shape[-1] not in (sq, skv):
        assert f"{sq},{skv}]" not in f.ir("schedule"), "an S x S tensor was materialised"
    return [torch.from_dlpack(g) for g in got]


def check(q, k, v, causal, scale=None, argnums=(0, 1, 2), tol=1e-2):
    w = rand(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    got = flash_grads(q, k, v, w, causal, scale, argnums)
    want = torch_grads(q, k, v, w, causal, scale, argnums)
    for name, g, wnt in zip("qkv", got, want):
        assert g.dtype == q.dtype and g.shape == wnt.shape
        err = rel_err(g, wnt)
        assert err < tol, f"d{name}: relative error {err:.3g}"


@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("s", [1, 17, 128, 257, 1000])
def test_against_torch_autograd(d, causal, s):
    q, k, v = (rand(2, 3, s, d) for _ in range(3))
    check(q, k, v, causal)


@pytest.mark.parametrize("causal", [False, True])
def test_float16(causal):
    q, k, v = (rand(1, 2, 201, 128, dtype=torch.float16) for _ in range(3))
    check(q, k, v, causal)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("sq,skv", [(1, 300), (100, 37), (129, 513), (300, 64), (65, 1)])
def test_different_query_and_key_lengths(causal, sq, skv):
    q = rand(3, sq, 64)
    k, v = rand(3, skv, 64), rand(3, skv, 64)
    check(q, k, v, causal)


@pytest.mark.parametrize("argnums", [(0,), (1,), (2,), (1, 2), (0, 2)])
def test_some_gradients_only(argnums):
    # dk alone and dv alone are the dk/dv kernel writing one output.
    q, k, v = (rand(2, 190, 128) for _ in range(3))
    check(q, k, v, True, argnums=argnums)


def test_scale_and_large_logits():
    q, k, v = (rand(1, 2, 200, 128) for _ in range(3))
    check(q * 4, k, v, False, scale=0.5)


def test_unaligned_views_take_the_element_copies():
    base = torch.randn(2 * 77 * 64 + 3, device="cuda", dtype=torch.bfloat16)
    q = base[3:].view(2, 77, 64)
    k, v = rand(2, 77, 64), rand(2, 77, 64)
    check(q, k, v, True)


def test_training_step_reuses_the_compiled_kernels():
    # Two calls of one jitted gradient: the second finds the compiled program.
    q, k, v = (rand(2, 4, 300, 64) for _ in range(3))
    w = rand(2, 4, 300, 64)
    for _ in range(2):
        got = flash_grads(q, k, v, w, True)
    want = torch_grads(q, k, v, w, True, None, (0, 1, 2))
    assert max(rel_err(g, wnt) for g, wnt in zip(got, want)) < 1e-2
    assert math.isfinite(sum(float(g.float().sum()) for g in got))
