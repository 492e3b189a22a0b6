"""Flash attention on an NVIDIA GPU, checked against torch's scaled_dot_product_attention in
float64 on fresh random inputs at awkward sizes, outputs poisoned (NaN) before each run so
unwritten rows are caught. On Hopper (sm_90, compiled for sm_90a) the forward kernel is
tile.flash_attention_wgmma (TMA, mbarriers, wgmma; FlashAttention-3's scheme), elsewhere
tile.flash_attention (mma.sync m16n8k16, cp.async; FlashAttention-2's); both forward kernels run
here on Hopper, the first by default and the second through its Schedule IR knobs.

Tolerances: bf16 has 8 significant bits (relative rounding error 2^-9 = 2e-3); the inputs are
exact in both, the kernel rounds P to 16 bits before P V and O once at the end, so errors of a
few 1e-3 of the output's scale are expected; 1e-2 leaves room without hiding a wrong row (one
wrong element is an error of order 1). The lse is computed in f32 from scores that are exact
products of the 16-bit inputs summed in f32: its values are at most about 10 here, so f32
rounding, ex2.approx (2 ulp) and log (1 ulp) stay near 1e-5; 2e-4 absolute still sees one key of
a thousand missing (its weight shifts the lse by about 1e-3)."""
import math

import pytest

import tessera as ts

torch = pytest.importorskip("torch")
from gpu_checks import rel_err  # noqa: E402

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available() or torch.cuda.get_device_capability() < (8, 0), reason="needs an sm_80+ NVIDIA GPU"
)
F = torch.nn.functional


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")


def reference(q, k, v, causal, scale=None):
    return F.scaled_dot_product_attention(q.double(), k.double(), v.double(), is_causal=causal, scale=scale)


HOPPER = torch.cuda.is_available() and torch.cuda.get_device_capability() == (9, 0)
# The forward kernel this GPU takes (the Hopper kernel on sm_90, which Tessera compiles for sm_90a).
FORWARD = "tile.flash_attention_wgmma(" if HOPPER else "tile.flash_attention("


def run_flash(q, k, v, causal, scale=None):
    """Tessera's result, asserting the flash kernel (not the decomposition) computed it."""
    f = ts.jit(lambda a, b, c: ts.scaled_dot_product_attention(a, b, c, is_causal=causal, scale=scale))
    got = torch.from_dlpack(f(ts.from_dlpack(q), ts.from_dlpack(k), ts.from_dlpack(v)))
    assert FORWARD in f.ir("tile")
    return got


def rand(*shape, dtype):
    return torch.randn(*shape, device="cuda", dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("s", [1, 17, 100, 128, 129, 257, 1000])
def test_against_sdpa(dtype, d, causal, s):
    q, k, v = (rand(2, 3, s, d, dtype=dtype) for _ in range(3))
    got = run_flash(q, k, v, causal)
    assert got.dtype == dtype and got.shape == q.shape
    assert rel_err(got, reference(q, k, v, causal)) < 1e-2


@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("sq,skv", [(1, 300), (100, 37), (129, 513), (300, 64), (65, 1), (17, 1000), (1000, 17)])
def test_different_query_and_key_lengths(d, causal, sq, skv):
    q = rand(3, sq, d, dtype=torch.bfloat16)  # one batch dim; torch's causal mask is top-left aligned too
    k, v = rand(3, skv, d, dtype=torch.bfloat16), rand(3, skv, d, dtype=torch.bfloat16)
    assert rel_err(run_flash(q, k, v, causal), reference(q, k, v, causal)) < 1e-2


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("sq,skv", [(1, 1), (100, 37), (129, 513), (1000, 1000)])
def test_lse_written_by_the_forward_kernel(dtype, d, causal, sq, skv):
    """attention_lse next to its attention: one kernel writes o and the lse (natural log of the
    row's sum of e^(scale q.k)), which the backward kernels read."""
    q, k, v = rand(2, 3, sq, d, dtype=dtype), rand(2, 3, skv, d, dtype=dtype), rand(2, 3, skv, d, dtype=dtype)
    scale = 1 / math.sqrt(d)
    f = ts.jit(lambda a, b, c: (ts.attention(a, b, c, causal=causal, scale=scale),
                                ts.ops.attention_lse(a, b, scale=scale, causal=causal)))
    o, lse = (torch.from_dlpack(x) for x in f(ts.from_dlpack(q), ts.from_dlpack(k), ts.from_dlpack(v)))
    assert f.ir("tile").count(FORWARD) == 1 and f.ir("schedule").count("sched.kernel(") == 1  # one kernel, two outputs
    s = (q.double() @ k.double().transpose(-1, -2)) * scale
    if causal:
        s = s.masked_fill(~torch.ones(sq, skv, dtype=torch.bool, device="cuda").tril(), -math.inf)
    want = torch.logsumexp(s, -1)
    assert lse.dtype == torch.float32 and lse.shape == want.shape
    assert torch.isfinite(lse).all(), "unwritten (NaN) lse rows"
    assert (lse.double() - want).abs().max().item() < 2e-4
    assert rel_err(o, reference(q, k, v, causal, scale)) < 1e-2


def test_many_heads_use_grid_z():
    # 65535 (batch x heads) pairs: the most grid axis 2 holds.
    q, k, v = (rand(65535, 3, 64, dtype=torch.bfloat16) for _ in range(3))
    assert rel_err(run_flash(q, k, v, True), reference(q, k, v, True)) < 1e-2


def test_repeatable_bits():
    # A race (a missing barrier, a buffer refilled too early) shows as results that move between runs.
    q, k, v = (rand(4, 8, 1000, 128, dtype=torch.bfloat16) for _ in range(3))
    f = ts.jit(lambda a, b, c: ts.attention(a, b, c, causal=True))
    args = [ts.from_dlpack(t) for t in (q, k, v)]
    first = torch.from_dlpack(f(*args)).clone()
    assert rel_err(first, reference(q, k, v, True)) < 1e-2
    for _ in range(5):
        assert torch.equal(torch.from_dlpack(f(*args)), first)


def forward_knob_variants():
    """Schedule IR knobs of the forward kernel on this GPU: the Hopper kernel's tile, overlap and
    pingpong variants, and the mma.sync kernel (lanes 256, tile [128, 64, 3]) for comparison."""
    if not HOPPER:
        return []
    wgmma = ['overlap = 0, tile = [128, 128, 2]', 'pingpong = 0, tile = [128, 128, 2]',
             'overlap = 0, pingpong = 0, tile = [128, 128, 2]', 'tile = [128, 64, 3]', 'tile = [128, 176, 2]',
             'tile = [128, 128, 3]']
    return [f'lanes = 384, mma = "wgmma", {k}' for k in wgmma] + ["lanes = 256, tile = [128, 64, 3]"]


@pytest.mark.skipif(not HOPPER, reason="the knob variants are of the Hopper kernel")
@pytest.mark.parametrize("knobs", forward_knob_variants())
@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("sq,skv", [(17, 1000), (300, 300), (1000, 129)])
def test_hopper_kernel_schedule_variants(knobs, d, causal, sq, skv):
    from tessera import _C
    from tessera.tensor import Tensor
    text = f"""module @m {{
func @main(%q: bf16[2,3,{sq},{d}], %k: bf16[2,3,{skv},{d}], %v: bf16[2,3,{skv},{d}]) -> (bf16[2,3,{sq},{d}]) {{
  %0 = attention(%q, %k, %v) {{causal = {str(causal).lower()}}} : bf16[2,3,{sq},{d}]
  return(%0)
}}
}}
"""
    sched = ts.compile_for_target(text, "nvptx:sm_90a")["schedule"]
    default = 'lanes = 384, mma = "wgmma", tile = [128, 128, 2]'
    assert default in sched
    exe = _C.compile(sched.replace(default, knobs), "cuda:0", "nvptx:sm_90a")
    assert ("tile.flash_attention_wgmma(" in exe.ir("tile")) == ("wgmma" in knobs)
    q, k, v = (rand(2, 3, n, d, dtype=torch.bfloat16) for n in (sq, skv, skv))
    got = torch.from_dlpack(Tensor._from_array(exe.run([_C.from_dlpack(t, None, None) for t in (q, k, v)])[0]))
    assert rel_err(got, reference(q, k, v, causal)) < 1e-2


def test_scale_and_large_logits():
    # Large scores stress the running max: exp would overflow without the online rescale.
    q, k, v = (rand(1, 2, 200, 128, dtype=torch.bfloat16) for _ in range(3))
    q = q * 8
    assert rel_err(run_flash(q, k, v, False, scale=0.5), reference(q, k, v, False, scale=0.5)) < 1e-2


@pytest.mark.parametrize("d", [64, 128])
def test_unaligned_views(d):
    # Views that start off a 16-byte boundary: the mma.sync kernel copies them element by
    # element; TMA needs aligned tensors, so the launch copies them to fresh buffers first.
    base = torch.randn(3 * 2 * 77 * d + 7, device="cuda", dtype=torch.bfloat16)
    q, k, v = (base[i:i + 2 * 77 * d].view(2, 77, d) for i in (3, 2 * 77 * d + 5, 4 * 77 * d + 7))
    assert rel_err(run_flash(q, k, v, True), reference(q, k, v, True)) < 1e-2


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_one_tensor(causal):
    # q, k and v are one buffer: one kernel parameter read through three tensor maps.
    x = rand(2, 2, 300, 128, dtype=torch.bfloat16)
    assert rel_err(run_flash(x, x, x, causal), reference(x, x, x, causal)) < 1e-2


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
    assert FORWARD in f.ir("tile")
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
