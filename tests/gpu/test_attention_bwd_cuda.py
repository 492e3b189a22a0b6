"""Flash attention's backward on an NVIDIA GPU (the forward kernel writing the lse, then a dq
kernel and a dk/dv kernel: tile.flash_attention_bwd_wgmma on Hopper, tile.flash_attention_bwd
elsewhere), checked against torch autograd of
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
    # The forward kernel writing the lse and the backward kernels: *_wgmma on Hopper.
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


HOPPER = torch.cuda.is_available() and torch.cuda.get_device_capability() == (9, 0)


def grad_program(b, sq, skv, d, causal, wrts):
    """attention_grad ops alone (q, k, v, do, lse, delta as inputs): the backward kernels."""
    dt, attrs = "bf16", f"causal = {str(causal).lower()}, scale = {d ** -0.5}"
    shape = {"q": f"{dt}[{b},{sq},{d}]", "k": f"{dt}[{b},{skv},{d}]", "v": f"{dt}[{b},{skv},{d}]"}
    body = "\n".join(f'  %d{w} = attention_grad(%q, %k, %v, %g, %lse, %delta) {{{attrs}, wrt = "{w}"}} : {shape[w]}'
                     for w in wrts)
    stats = f"f32[{b},{sq}]"
    outs = ", ".join(shape[w] for w in wrts)
    return f"""module @m {{
func @main(%q: {shape['q']}, %k: {shape['k']}, %v: {shape['v']}, %g: {shape['q']}, %lse: {stats}, %delta: {stats}) \
-> ({outs}) {{
{body}
  return({', '.join('%d' + w for w in wrts)})
}}
}}
"""


def lse_and_delta(q, k, v, w, causal):
    """The forward's logsumexp and rowsum(do * o), in float64."""
    s = (q.double() @ k.double().transpose(-1, -2)) * q.shape[-1] ** -0.5
    if causal:
        s = s.masked_fill(torch.ones(s.shape[-2:], device="cuda", dtype=torch.bool).triu(1), float("-inf"))
    o = F.scaled_dot_product_attention(q.double(), k.double(), v.double(), is_causal=causal)
    return torch.logsumexp(s, -1).float(), (w.double() * o).sum(-1).float()


# The backward kernels' Schedule IR knobs on Hopper: [own rows, streamed rows, stages] of the
# wgmma kernel, and the mma.sync kernel (lanes 2 x own rows) for comparison.
BACKWARD_VARIANTS = ['lanes = 384, mma = "wgmma", tile = [128, 32, 2]',
                     'lanes = 384, mma = "wgmma", tile = [128, 64, 1]',
                     'lanes = 384, mma = "wgmma", overlap = 1, tile = [128, 48, 3]',
                     'lanes = 384, mma = "wgmma", tile = [128, 64, 3]',
                     'lanes = 384, mma = "wgmma", tile = [128, 128, 2]',
                     'lanes = 384, mma = "wgmma", tile = [128, 16, 4]', "lanes = 128, tile = [64, 64, 2]"]


@pytest.mark.skipif(not HOPPER, reason="the knob variants are of the Hopper kernels")
@pytest.mark.parametrize("knobs", BACKWARD_VARIANTS)
@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("sq,skv", [(17, 300), (300, 300), (257, 129)])
def test_hopper_backward_schedule_variants(knobs, d, causal, sq, skv):
    from tessera import _C
    from tessera.tensor import Tensor
    q, g = rand(2, sq, d), rand(2, sq, d)
    k, v = rand(2, skv, d), rand(2, skv, d)
    lse, delta = lse_and_delta(q, k, v, g, causal)
    want = torch_grads(q, k, v, g, causal, None, (0, 1, 2))
    sched = ts.compile_for_target(grad_program(2, sq, skv, d, causal, "qkv"), "nvptx:sm_90a")["schedule"]
    sched, n = re.subn(r'lanes = 384, mma = "wgmma", (overlap = 1, )?tile = \[[0-9, ]+\]', knobs, sched)
    assert n == 2, sched
    exe = _C.compile(sched, "cuda:0", "nvptx:sm_90a")
    assert ("tile.flash_attention_bwd_wgmma(" in exe.ir("tile")) == ("wgmma" in knobs)
    outs = exe.run([_C.from_dlpack(t, None, None) for t in (q, k, v, g, lse, delta)])
    for name, out, wnt in zip("qkv", outs, want):
        err = rel_err(torch.from_dlpack(Tensor._from_array(out)), wnt)
        assert err < 1e-2, f"d{name}: relative error {err:.3g}"


@pytest.mark.skipif(not HOPPER, reason="checks the Hopper kernels' schedule")
def test_hopper_runs_the_wgmma_backward_with_repeatable_bits():
    # No atomics: the same inputs give the same bits (a race, such as a buffer refilled too early, would not).
    q, k, v, w = (rand(2, 4, 700, 128) for _ in range(4))
    wt = ts.from_dlpack(w)
    f = ts.jit(ts.grad(lambda a, b, c: ts.sum(ts.scaled_dot_product_attention(a, b, c, is_causal=True) * wt),
                       argnums=(0, 1, 2)))
    args = [ts.from_dlpack(t) for t in (q, k, v)]
    first = [torch.from_dlpack(g).clone() for g in f(*args)]
    assert f.ir("tile").count("tile.flash_attention_bwd_wgmma(") == 2
    for _ in range(3):
        assert all(torch.equal(torch.from_dlpack(g), h) for g, h in zip(f(*args), first))
    want = torch_grads(q, k, v, w, True, None, (0, 1, 2))
    assert max(rel_err(g, wnt) for g, wnt in zip(first, want)) < 1e-2
