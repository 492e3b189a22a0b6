"""The operator library and autodiff on an NVIDIA GPU, against torch on the same device."""
import pytest

import tessera as ts

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")


def cuda(t):
    return ts.from_dlpack(t)


def close(got, want, rtol):
    got = torch.from_dlpack(got).double()
    want = want.double()
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=rtol, atol=rtol, equal_nan=True)


UNARY = ["log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "erf", "abs", "exp"]


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype,rtol", [(torch.float32, 2e-6), (torch.float64, 1e-13)])
def test_math_functions(name, dtype, rtol):
    x = torch.rand(4099, device="cuda", dtype=dtype) * 4 + 0.01
    got = getattr(ts.ops, name)(cuda(x))
    want = getattr(torch, name)(x.double())
    close(got, want, rtol * 4)


def test_gelu_silu_softplus_and_promotion():
    x = torch.randn(3, 1000, device="cuda")
    close(ts.ops.gelu(cuda(x)), torch.nn.functional.gelu(x.double()), 1e-5)
    close(ts.ops.silu(cuda(x)), torch.nn.functional.silu(x.double()), 1e-5)
    close(ts.ops.softplus(cuda(x)), torch.nn.functional.softplus(x.double()), 1e-5)
    h = torch.randn(257, device="cuda", dtype=torch.float16)
    y = cuda(h) * cuda(torch.ones(257, device="cuda"))  # f16 * f32 -> f32
    assert y.dtype == ts.float32


def test_fused_movement_and_indexing():
    x, b = torch.randn(33, 65, device="cuda"), torch.randn(17, device="cuda")
    f = ts.jit(lambda x, b: ts.relu(x.T[1:, ::-2] + b))
    got = f(cuda(x), cuda(b))
    want = torch.relu(x.T[1:].flip(1)[:, ::2] + b)
    close(got, want, 1e-6)
    assert f.ir("schedule").count("sched.kernel") == 1


def test_concat_pad_take():
    a, c = torch.randn(4, 5, device="cuda"), torch.randn(4, 3, device="cuda")
    close(ts.ops.concat([cuda(a), cuda(c)], axis=1), torch.cat([a, c], 1), 0)
    close(ts.ops.pad(cuda(a), pad=[1, 2, 0, 3]), torch.nn.functional.pad(a, (0, 3, 1, 2)), 0)
    idx = torch.tensor([3, 0, 2], device="cuda")
    close(ts.ops.take(cuda(a), cuda(idx), axis=0), a[idx], 0)


def test_grad_on_cuda_matches_torch_autograd():
    x = torch.randn(16, 32, device="cuda", dtype=torch.float64, requires_grad=True)
    w = torch.randn(32, 8, device="cuda", dtype=torch.float64, requires_grad=True)
    (torch.tanh(x @ w) * 2.0).sum().backward()

    def loss(x, w):
        return ts.sum(ts.sum(ts.tanh(x @ w) * 2.0, axis=1), axis=0)

    gx, gw = ts.grad(loss, argnums=(0, 1))(cuda(x.detach()), cuda(w.detach()))
    close(gx, x.grad, 1e-12)
    close(gw, w.grad, 1e-12)
