"""tessera.linalg on an NVIDIA GPU (one thread block per matrix, barriers between the phases)
against torch.linalg (cuSOLVER) on the same device: float64 to 1e-10, float32 to 1e-4 of the
result's scale (condition numbers below about 1e3); gradients in float64.

Until these have passed on a GPU, lower_to_tile.cpp refuses linear-algebra kernels on GPU
targets with a clear error (checked below); GPU_LINALG turns the numeric checks on."""
import pytest

import tessera as ts
from tessera import linalg as la

torch = pytest.importorskip("torch")
TOL = {torch.float64: 1e-10, torch.float32: 1e-4}
GPU_LINALG = False
numeric = pytest.mark.skipif(not GPU_LINALG, reason="the GPU linear-algebra kernels await their first GPU run")


def test_linalg_on_cuda_is_a_clear_error_for_now():
    if GPU_LINALG:
        pytest.skip("linear algebra runs on GPUs")
    a = torch.eye(3, device="cuda", dtype=torch.float64)
    with pytest.raises(ts.CompileError, match=r"\(linear algebra\) does not run on GPU targets yet"):
        la.solve(ts.from_dlpack(a), ts.from_dlpack(a)).numpy()


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")


def rel(got, want):
    got = torch.from_dlpack(got).double()
    assert got.device.type == "cuda" and got.shape == want.shape and torch.isfinite(got).all()
    return ((got - want.double()).abs().max() / want.double().abs().max().clamp(min=1.0)).item()


def general(*shape, dtype=torch.float64):
    n = shape[-1]
    a = torch.randn(*shape, device="cuda", dtype=torch.float64) + 2 * n**0.5 * torch.eye(n, device="cuda")
    return a.to(dtype)


@numeric
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shape", [(1, 1), (7, 7), (100, 8, 8), (70, 70)])
def test_factorizations_and_solves(dtype, shape):
    a = general(*shape, dtype=dtype)
    spd = a @ a.mT
    b = torch.randn(*shape[:-1], 3, device="cuda", dtype=dtype)
    ta, tspd, tb = ts.from_dlpack(a), ts.from_dlpack(spd), ts.from_dlpack(b)
    tol = TOL[dtype]
    assert rel(la.cholesky(tspd), torch.linalg.cholesky(spd.double())) < tol
    assert rel(la.solve(ta, tb), torch.linalg.solve(a.double(), b.double())) < tol
    assert rel(la.inv(ta), torch.linalg.inv(a.double())) < tol
    assert rel(la.slogdet(ta)[1], torch.linalg.slogdet(a.double())[1]) < tol
    assert rel(la.solve_triangular(ta, tb, lower=False),
               torch.linalg.solve_triangular(a.double().triu(), b.double(), upper=True)) < tol
    q, r = la.qr(ta)
    tq, tr = torch.linalg.qr(a.double())
    assert rel(r, tr) < tol * 10 and rel(q, tq) < tol * 10  # the same Householder signs as LAPACK


@numeric
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shape", [(5, 5), (50, 6, 6), (40, 40), (9, 4), (3, 12)])
def test_eigh_and_svd(dtype, shape):
    a = torch.randn(*shape, device="cuda", dtype=dtype)
    tol = TOL[dtype] * 10
    s = la.svdvals(ts.from_dlpack(a))
    assert rel(s, torch.linalg.svdvals(a.double())) < tol
    u, s, vh = la.svd(ts.from_dlpack(a))
    u, s, vh = (torch.from_dlpack(t).double() for t in (u, s, vh))
    back = u @ torch.diag_embed(s) @ vh
    assert (back - a.double()).abs().max().item() < tol * a.abs().max().item()
    if shape[-1] == shape[-2]:
        sym = a + a.mT
        w, v = la.eigh(ts.from_dlpack(sym))
        assert rel(w, torch.linalg.eigvalsh(sym.double())) < tol
        vv = torch.from_dlpack(v).double()
        back = vv @ torch.diag_embed(torch.from_dlpack(w).double()) @ vv.mT
        assert (back - sym.double()).abs().max().item() < tol * sym.abs().max().item()


@numeric
def test_gradients_on_cuda():
    a = general(4, 5, 5)
    b = torch.randn(4, 5, 2, device="cuda", dtype=torch.float64)
    ta, tb = a.clone().requires_grad_(), b.clone().requires_grad_()
    (torch.linalg.solve(ta, tb).sum() + torch.linalg.slogdet(ta)[1].sum()).backward()
    ga, gb = ts.grad(lambda x, y: ts.sum(la.solve(x, y)) + ts.sum(la.slogdet(x)[1]), argnums=(0, 1))(
        ts.from_dlpack(a), ts.from_dlpack(b))
    assert rel(ga, ta.grad) < 1e-10 and rel(gb, tb.grad) < 1e-10


@numeric
def test_singular_matrix_error_on_cuda():
    s = torch.tensor([[1.0, 2.0], [2.0, 4.0]], device="cuda", dtype=torch.float64)
    with pytest.raises(ts.TesseraValueError, match="solve: a f64\\[2,2\\] is singular"):
        la.solve(ts.from_dlpack(s), ts.from_dlpack(s)).numpy()
