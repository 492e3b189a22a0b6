"""Kernels generated through NVPTX and run on an NVIDIA GPU, checked against torch on fresh
random inputs at awkward sizes, with outputs poisoned (NaN) before each run."""
import pytest

import tessera as ts

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")


def cuda(t):
    return ts.from_dlpack(t)


def rel_err(got, want):
    got = torch.from_dlpack(got).double()
    want = want.double()
    return ((got - want).abs() / want.abs().clamp(min=1)).max().item() if want.numel() else 0.0


@pytest.mark.parametrize("shape", [(1,), (257,), (1000, 37), (2**20 + 3,)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_elementwise(shape, dtype):
    x, y = torch.randn(shape, device="cuda", dtype=dtype), torch.randn(shape, device="cuda", dtype=dtype)
    got = ts.relu(ts.exp(cuda(x) * cuda(y)) + cuda(x))
    assert got.device.type == "cuda"
    want = torch.relu(torch.exp(x.double() * y.double()) + x.double())
    assert rel_err(got, want) < (1e-5 if dtype == torch.float32 else 1e-12)


def test_bf16_and_f16_elementwise():
    for dtype in (torch.bfloat16, torch.float16):
        x = torch.randn(4099, device="cuda", dtype=dtype)
        got = torch.from_dlpack(ts.exp(cuda(x)) + cuda(x))
        want = (torch.exp(x.float()) + x.float()).to(dtype)
        assert (got.float() - want.float()).abs().max().item() <= 1e-2 * want.float().abs().max().item()


def test_broadcast():
    x, b = torch.randn(33, 65, device="cuda"), torch.randn(65, device="cuda")
    assert rel_err(cuda(x) * cuda(b) + cuda(x), x.double() * b.double() + x.double()) < 1e-5


@pytest.mark.parametrize("shape,axis", [((1, 1), -1), ((7, 1000), -1), ((33, 4099), 1), ((5, 6, 7), 0), ((3, 2049), 1)])
def test_sum(shape, axis):
    x = torch.randn(shape, device="cuda")
    got = ts.sum(cuda(x), axis=axis)
    want = x.double().sum(axis)
    tol = 1e-6 * shape[axis] ** 0.5 * 4
    assert rel_err(got, want) < max(tol, 1e-5)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (17, 31, 65), (128, 256, 96), (300, 200, 100)])
def test_matmul(m, k, n):
    a, b = torch.randn(m, k, device="cuda"), torch.randn(k, n, device="cuda")
    got = cuda(a) @ cuda(b)
    want = a.double() @ b.double()
    assert rel_err(got, want) < 1e-5 * max(1, k ** 0.5)


def test_jit_on_cuda_and_zero_copy_result():
    f = ts.jit(lambda x, w: ts.relu(x @ w).sum(axis=-1))
    x, w = torch.randn(64, 48, device="cuda"), torch.randn(48, 32, device="cuda")
    out = f(cuda(x), cuda(w))
    assert ".entry" in f.ir("asm") and "sm_" in f.ir("asm")
    t = torch.from_dlpack(out)
    assert t.device.type == "cuda" and t.data_ptr() == out.data_ptr()
    torch.testing.assert_close(t, torch.relu(x @ w).sum(-1), rtol=1e-4, atol=1e-4)


def test_mixed_devices_is_a_clear_error():
    with pytest.raises(ts.DeviceError, match="different devices"):
        ts.ones(3) + cuda(torch.ones(3, device="cuda"))


def test_out_of_memory_names_the_kernel_and_the_process_recovers():
    a, b = torch.randn(1 << 21, device="cuda"), torch.randn(1 << 21, device="cuda")
    outer = ts.jit(lambda x, y: x.reshape(-1, 1) * y.reshape(1, -1))  # 2^42 floats: 16 TiB
    with pytest.raises(ts.TesseraRuntimeError, match=r"output of kernel \w+.*(out of memory|OUT_OF_MEMORY)"):
        outer(cuda(a), cuda(b))
    # Nothing leaked or broke: the device, the caches and the same program at a size that fits.
    x, y = torch.randn(300, device="cuda"), torch.randn(200, device="cuda")
    got = torch.from_dlpack(outer(cuda(x), cuda(y)))
    assert torch.equal(got, x[:, None] * y[None, :])
    assert torch.equal(torch.from_dlpack(ts.jit(lambda t: t * 2)(cuda(x))), x * 2)
