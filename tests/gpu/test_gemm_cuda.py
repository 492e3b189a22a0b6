"""The tensor-core GEMM (tile.mma_sync: mma.sync m16n8k16, ldmatrix, cp.async) on an NVIDIA
GPU, checked against torch on fresh random inputs at awkward sizes, outputs poisoned (NaN)
before each run so unwritten elements are caught."""
import pytest

import tessera as ts

torch = pytest.importorskip("torch")
from gpu_checks import rel_err  # noqa: E402

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available() or torch.cuda.get_device_capability() < (8, 0), reason="needs an sm_80+ NVIDIA GPU"
)


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")


def check(a, b, dtype):
    got = torch.from_dlpack(ts.from_dlpack(a) @ ts.from_dlpack(b))
    want = a.double() @ b.double()
    assert got.dtype == dtype and got.shape == want.shape
    assert rel_err(got, want) < 1e-2


SIZES = [(1, 1, 1), (1, 64, 1), (7, 13, 5), (17, 31, 65), (128, 32, 128), (129, 33, 127), (131, 257, 263),
         (64, 8, 136), (300, 200, 100), (1000, 520, 1030), (256, 4096, 256)]


@pytest.mark.parametrize("m,k,n", SIZES)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_matmul_sizes(m, k, n, dtype):
    a = torch.randn(m, k, device="cuda", dtype=dtype)
    b = torch.randn(k, n, device="cuda", dtype=dtype)
    check(a, b, dtype)


@pytest.mark.parametrize("a_shape,b_shape", [((3, 67, 45), (3, 45, 129)), ((2, 1, 40, 24), (5, 24, 72)),
                                              ((4, 33, 16), (16, 9)), ((130, 24), (2, 24, 17)), ((24,), (24, 40)),
                                              ((40, 24), (24,))])
def test_batched_and_broadcast(a_shape, b_shape):
    a = torch.randn(a_shape, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(b_shape, device="cuda", dtype=torch.bfloat16)
    check(a, b, torch.bfloat16)


def test_unaligned_views_take_the_element_copies():
    # Offset views: the 16-byte copies would be misaligned, so every element is loaded alone.
    base_a = torch.randn(97 * 64 + 3, device="cuda", dtype=torch.bfloat16)
    base_b = torch.randn(64 * 96 + 1, device="cuda", dtype=torch.bfloat16)
    a, b = base_a[3:].view(97, 64), base_b[1:].view(64, 96)
    check(a, b, torch.bfloat16)


def test_f32_result_and_fused_cast():
    a = torch.randn(70, 90, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(90, 50, device="cuda", dtype=torch.bfloat16)
    got = torch.from_dlpack((ts.from_dlpack(a) @ ts.from_dlpack(b)).astype("float32"))
    assert rel_err(got, a.double() @ b.double()) < 1e-2


def test_jit_and_large_k_accuracy():
    a = torch.randn(257, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 129, device="cuda", dtype=torch.bfloat16)
    f = ts.jit(lambda x, y: x @ y)
    got = torch.from_dlpack(f(ts.from_dlpack(a), ts.from_dlpack(b)))
    # f32 accumulation: the error is the final bf16 rounding, not K roundings.
    assert rel_err(got, a.double() @ b.double()) < 1e-2


def test_ptx_uses_tensor_cores():
    a = ts.from_dlpack(torch.randn(64, 64, device="cuda", dtype=torch.bfloat16))
    f = ts.jit(lambda x: x @ x)
    f(a)
    asm = f.ir("asm")
    if torch.cuda.get_device_capability() == (9, 0):  # Hopper compiles for sm_90a: wgmma (test_wgmma_cuda.py)
        assert "wgmma.mma_async" in asm and "cp.async" in asm
    else:
        assert "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32" in asm and "cp.async" in asm and "ldmatrix" in asm
