"""Transposed GEMM operands read in their stored layout (absorb-transposes, tile.wgmma_gemm
trans_a / trans_b) on an sm_90 GPU: x.T @ y, x @ y.T and x.T @ y.T at awkward sizes, batched and
broadcast, through both operand pipelines (TMA and cp.async), checked against torch in float64
with outputs poisoned; the program has no transpose kernel left. Shapes whose stored rows are
not whole 16-byte chunks keep the transposed copy. And the gradients of a linear layer, whose
backward multiplies by both transposes, against torch autograd."""

import pytest

import tessera as ts

torch = pytest.importorskip("torch")
from gpu_checks import rel_err, run_wgmma_pipeline  # noqa: E402

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available() or torch.cuda.get_device_capability() != (9, 0),
    reason="needs a Hopper (sm_90) NVIDIA GPU",
)


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")


def swap(t):
    return t.transpose(-1, -2)


def ts_swap(x):
    perm = list(range(x.ndim))
    perm[-2:] = perm[-1], perm[-2]
    return x.transpose(*perm)


CASES = {"a_t": (True, False), "b_t": (False, True), "both": (True, True)}


def run_case(m, k, n, case, batch=(), b_batch=None, dtype=torch.bfloat16):
    ta, tb = CASES[case]
    b_batch = batch if b_batch is None else b_batch
    a = torch.randn(*batch, *((k, m) if ta else (m, k)), device="cuda", dtype=dtype)
    b = torch.randn(*b_batch, *((n, k) if tb else (k, n)), device="cuda", dtype=dtype)

    f = ts.jit(lambda x, y: (ts_swap(x) if ta else x) @ (ts_swap(y) if tb else y))
    got = torch.from_dlpack(f(ts.from_dlpack(a), ts.from_dlpack(b)))
    want = (swap(a) if ta else a).double() @ (swap(b) if tb else b).double()
    assert got.shape == want.shape
    assert rel_err(got, want) < 1e-2
    return f


# (m, k, n): K and N multiples of 8 (wgmma), M too (A stored [K, M] is copied in 16-byte rows).
SIZES = [(8, 8, 8), (64, 64, 64), (24, 40, 72), (136, 264, 200), (1000, 520, 1032), (256, 2048, 136)]


@pytest.mark.parametrize("m,k,n", SIZES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_transposed_operands(m, k, n, case):
    f = run_case(m, k, n, case)
    tile = f.ir("tile")
    assert "tile.wgmma_gemm" in tile
    assert ("trans_a = 1" in tile) == CASES[case][0] and ("trans_b = 1" in tile) == CASES[case][1]
    assert "_transpose(" not in tile.replace("_transpose_matmul(", "")  # no transpose kernel of its own


@pytest.mark.parametrize("case", sorted(CASES))
def test_batched_and_broadcast(case):
    run_case(72, 48, 136, case, batch=(3,))
    run_case(40, 24, 72, case, batch=(2,), b_batch=())
    run_case(40, 24, 72, case, batch=(), b_batch=(5,))


def test_f16():
    run_case(136, 72, 200, "both", dtype=torch.float16)


def test_rows_not_whole_chunks_keep_the_copy():
    # A stored [K, M] with M = 100: 200-byte rows are not whole 16-byte chunks.
    f = run_case(100, 64, 64, "a_t")
    assert "trans_a" not in f.ir("tile")


@pytest.mark.parametrize("tma", [0, 1])
@pytest.mark.parametrize("case", sorted(CASES))
def test_both_pipelines(tma, case):
    m, k, n = 312, 264, 200
    ta, tb = CASES[case]
    a_shape, b_shape = ((k, m) if ta else (m, k)), ((n, k) if tb else (k, n))
    s = lambda shape: ",".join(map(str, shape))  # noqa: E731
    body, lhs, rhs = "", "%a", "%b"
    if ta:
        body += f"  %at = transpose(%a) : bf16[{m},{k}]\n"
        lhs = "%at"
    if tb:
        body += f"  %bt = transpose(%b) : bf16[{k},{n}]\n"
        rhs = "%bt"
    text = (
        f"module @m {{\nfunc @main(%a: bf16[{s(a_shape)}], %b: bf16[{s(b_shape)}]) -> (bf16[{m},{n}]) {{\n"
        f"{body}  %0 = matmul({lhs}, {rhs}) : bf16[{m},{n}]\n  return(%0)\n}}\n}}\n"
    )
    a = torch.randn(a_shape, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(b_shape, device="cuda", dtype=torch.bfloat16)
    got, exe = run_wgmma_pipeline(text, tma, [a, b])
    want = (a.double().T if ta else a.double()) @ (b.double().T if tb else b.double())
    assert rel_err(got, want) < 1e-2
    assert ("trans_a = 1" in exe.ir("tile")) == ta and ("trans_b = 1" in exe.ir("tile")) == tb


def test_repeatable_bits():
    a = torch.randn(1024, 512, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(768, 1024, device="cuda", dtype=torch.bfloat16)
    f = ts.jit(lambda x, y: x.T @ y.T)
    ta, tb = ts.from_dlpack(a), ts.from_dlpack(b)
    first = torch.from_dlpack(f(ta, tb)).clone()
    for _ in range(5):
        assert torch.equal(torch.from_dlpack(f(ta, tb)), first)


@pytest.mark.parametrize("shape", [(2, 128, 256, 512), (3, 40, 72, 136)])
def test_linear_layer_gradients(shape):
    """y = x @ w + b on [B, S, D] activations: dx = g @ w.T and dw = sum over the batch of
    x.T @ g, both read through transposed operands, against torch autograd."""
    bsz, s, d, n = shape
    x = torch.randn(bsz, s, d, device="cuda", dtype=torch.bfloat16)
    w = (0.05 * torch.randn(d, n, device="cuda")).to(torch.bfloat16)
    bias = torch.randn(n, device="cuda", dtype=torch.bfloat16)
    loss = lambda x_, w_, b_: ts.sum(ts.gelu(x_ @ w_ + b_).astype("float32") ** 2)  # noqa: E731
    f = ts.jit(ts.grad(loss, argnums=(0, 1, 2)))
    got = [torch.from_dlpack(g) for g in f(ts.from_dlpack(x), ts.from_dlpack(w), ts.from_dlpack(bias))]
    xs = [t.double().requires_grad_() for t in (x, w, bias)]
    ref = torch.nn.functional.gelu(xs[0] @ xs[1] + xs[2]).pow(2).sum()
    want = torch.autograd.grad(ref, xs)
    for g, r in zip(got, want):
        assert g.shape == r.shape
        assert rel_err(g, r) < 2e-2  # bf16 activations and gradients between the products
    assert "trans_b = 1" in f.ir("tile")
