"""The Hopper GEMM (tile.wgmma_gemm: wgmma.mma_async from 128-byte-swizzled shared memory) on an
sm_90 GPU, which Tessera compiles for sm_90a: checked against torch in float64 on fresh random
inputs at awkward sizes (1, primes, non-multiples of the 128 x 256 x 64 block tile), batched and
broadcast, bf16 and f16, offset views, both operand pipelines (TMA and cp.async), outputs
poisoned (NaN) before each run so unwritten elements are caught. Shapes whose K or N is not a
multiple of 8 keep mma.sync."""

import pytest

import tessera as ts

torch = pytest.importorskip("torch")
from gpu_checks import rel_err, run_wgmma_pipeline  # noqa: E402

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available() or torch.cuda.get_device_capability() != (9, 0),
    reason="needs a Hopper (sm_90) NVIDIA GPU")


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")


def run(a, b):
    f = ts.jit(lambda x, y: x @ y)
    got = torch.from_dlpack(f(ts.from_dlpack(a), ts.from_dlpack(b)))
    return got, f


def check(a, b, dtype, wgmma=True):
    got, f = run(a, b)
    want = a.double() @ b.double()
    assert got.dtype == dtype and got.shape == want.shape
    assert rel_err(got, want) < 1e-2
    assert ("tile.wgmma_gemm" in f.ir("tile")) == wgmma
    return f


# (m, k, n): K and N multiples of 8 (wgmma); M anything.
SIZES = [(1, 8, 8), (1, 64, 64), (7, 16, 24), (17, 40, 72), (64, 64, 64), (127, 128, 256), (129, 136, 264),
         (131, 256, 520), (300, 200, 104), (1000, 520, 1032), (257, 4096, 136), (2048, 1024, 2048)]


@pytest.mark.parametrize("m,k,n", SIZES)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_wgmma_sizes(m, k, n, dtype):
    a = torch.randn(m, k, device="cuda", dtype=dtype)
    b = torch.randn(k, n, device="cuda", dtype=dtype)
    check(a, b, dtype)


@pytest.mark.parametrize("m,k,n", [(7, 13, 5), (131, 257, 263), (64, 24, 20), (33, 20, 64)])
def test_odd_k_or_n_keeps_mma_sync(m, k, n):
    a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(k, n, device="cuda", dtype=torch.bfloat16)
    check(a, b, torch.bfloat16, wgmma=False)


@pytest.mark.parametrize("a_shape,b_shape", [((3, 67, 48), (3, 48, 136)), ((2, 1, 40, 24), (5, 24, 72)),
                                              ((4, 33, 16), (16, 8)), ((130, 24), (2, 24, 16))])
def test_batched_and_broadcast(a_shape, b_shape):
    a = torch.randn(a_shape, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(b_shape, device="cuda", dtype=torch.bfloat16)
    check(a, b, torch.bfloat16)


def test_unaligned_views_take_the_element_copies():
    # Offset views: 16-byte copies would be misaligned, so the kernel loads every element alone.
    base_a = torch.randn(97 * 64 + 3, device="cuda", dtype=torch.bfloat16)
    base_b = torch.randn(64 * 96 + 1, device="cuda", dtype=torch.bfloat16)
    a, b = base_a[3:].view(97, 64), base_b[1:].view(64, 96)
    check(a, b, torch.bfloat16)


def test_f32_result_and_large_k():
    a = torch.randn(200, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 136, device="cuda", dtype=torch.bfloat16)
    f = ts.jit(lambda x, y: (x @ y).astype("float32"))
    got = torch.from_dlpack(f(ts.from_dlpack(a), ts.from_dlpack(b)))
    assert got.dtype == torch.float32
    assert rel_err(got, a.double() @ b.double()) < 1e-2


def test_repeatable_bits():
    # A race (a missing barrier or fence) shows as results that move between runs.
    a = torch.randn(1024, 1024, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(1024, 1024, device="cuda", dtype=torch.bfloat16)
    f = ts.jit(lambda x, y: x @ y)
    ta, tb = ts.from_dlpack(a), ts.from_dlpack(b)
    first = torch.from_dlpack(f(ta, tb)).clone()
    for _ in range(5):
        assert torch.equal(torch.from_dlpack(f(ta, tb)), first)


def test_sm_90a_code_has_wgmma():
    a = ts.from_dlpack(torch.randn(128, 128, device="cuda", dtype=torch.bfloat16))
    f = ts.jit(lambda x: x @ x)
    f(a)
    asm = f.ir("asm")
    # 4 block tiles: the smallest tile (64 x 64) that spreads them furthest
    assert ".target sm_90a" in asm and "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16" in asm


@pytest.mark.parametrize("tma", [0, 1])
def test_schedule_knobs_cp_async_and_tma(tma):
    """Both operand pipelines (knob tma: 0 = cp.async by every thread, 1 = TMA producer) at an
    awkward size, from Schedule IR with a 128 x 128 block tile."""
    m, k, n = 301, 264, 200
    text = f"""module @m {{
func @main(%a: bf16[{m},{k}], %b: bf16[{k},{n}]) -> (bf16[{m},{n}]) {{
  %0 = matmul(%a, %b) : bf16[{m},{n}]
  return(%0)
}}
}}
"""
    a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(k, n, device="cuda", dtype=torch.bfloat16)
    got, exe = run_wgmma_pipeline(text, tma, [a, b])
    assert rel_err(got, a.double() @ b.double()) < 1e-2
    assert ("cp.async.bulk.tensor" in exe.ir("asm")) == bool(tma)

