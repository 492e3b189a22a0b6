"""f32 matmul on NVIDIA CUDA cores (tile.fma_gemm, TF32 never used) against float64 torch at
awkward sizes, batched and broadcast, on aligned and unaligned views, with poisoned outputs."""
import pytest

import tessera as ts

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")


def check(got, want, k):
    got = torch.from_dlpack(got).double()
    assert got.shape == want.shape
    # f32 fma in order of k: error grows like sqrt(k) ulps of the row's magnitude
    scale = want.abs().amax().clamp_min(1e-30)
    err = ((got - want).abs().amax() / scale).item()
    assert err < 1e-6 * max(4.0, k ** 0.5), err


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (1, 300, 7), (128, 16, 128), (127, 129, 131), (256, 64, 256),
                                   (1000, 7, 513), (129, 1000, 3), (260, 260, 260)])
def test_sizes(m, k, n):
    a, b = torch.randn(m, k, device="cuda"), torch.randn(k, n, device="cuda")
    check(ts.from_dlpack(a) @ ts.from_dlpack(b), a.double() @ b.double(), k)


@pytest.mark.parametrize("a_shape,b_shape", [((3, 130, 68), (3, 68, 132)), ((2, 1, 33, 17), (4, 17, 65)),
                                             ((5, 64, 96), (96, 40))])
def test_batched_and_broadcast(a_shape, b_shape):
    a, b = torch.randn(a_shape, device="cuda"), torch.randn(b_shape, device="cuda")
    check(ts.from_dlpack(a) @ ts.from_dlpack(b), a.double() @ b.double(), a_shape[-1])


@pytest.mark.parametrize("offset", [1, 2])
def test_unaligned_views(offset):
    base_a = torch.randn(200 * 132 + offset, device="cuda")
    base_b = torch.randn(132 * 136 + offset, device="cuda")
    a = base_a[offset:].reshape(200, 132)  # not 16-byte aligned: element-wise global reads
    b = base_b[offset:].reshape(132, 136)
    check(ts.from_dlpack(a) @ ts.from_dlpack(b), a.double() @ b.double(), 132)


def test_jit_epilogue_and_schedule():
    f = ts.jit(lambda x, w, c: ts.relu(x @ w + c))
    x, w, c = torch.randn(300, 256, device="cuda"), torch.randn(256, 200, device="cuda"), torch.randn(200, device="cuda")
    check(f(ts.from_dlpack(x), ts.from_dlpack(w), ts.from_dlpack(c)), torch.relu(x.double() @ w.double() + c.double()), 256)
    assert "tile.fma_gemm" in f.ir("tile")
