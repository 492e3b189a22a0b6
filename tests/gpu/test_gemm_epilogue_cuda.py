"""Element-wise ops fused into the NVIDIA block GEMMs as their epilogue (bias, activation,
residual, cast, several outputs): checked against torch in float64 on fresh random inputs at
awkward sizes, on each GEMM kernel (sm_90a: tile.wgmma_gemm, persistent or not, TMA or
cp.async; K or N not multiples of 8: tile.mma_sync; f32: tile.fma_gemm), outputs poisoned (NaN)
before each run so unwritten elements are caught."""
import re

import pytest

import tessera as ts

torch = pytest.importorskip("torch")
from gpu_checks import rel_err, run_wgmma_pipeline  # noqa: E402

F = torch.nn.functional


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")


def tol(dtype):
    # bf16 results: 8 mantissa bits (2^-8 = 4e-3 per rounding, a few roundings); f16 11; f32
    # products over K <= 1024 accumulate ~1e-6 relative error.
    return {torch.bfloat16: 1e-2, torch.float16: 2e-3, torch.float32: 1e-5}[dtype]


def one_kernel(f, gemm):
    tile = f.ir("tile")
    assert tile.count("rt.launch(") == 1, "the epilogue did not fuse"
    # The region takes the product in f32, or (wgmma's staged epilogue) as stored, in 16 bits.
    assert f"{gemm}(" in tile and re.search(r"\^\(%p: (f32|bf16|f16), %z: i64", tile)
    return tile


def hopper():
    return torch.cuda.get_device_capability() == (9, 0)


def block_gemm(dt, k, n):
    if dt == torch.float32:
        return "tile.fma_gemm"
    return "tile.wgmma_gemm" if hopper() and k % 8 == 0 and n % 8 == 0 else "tile.mma_sync"


SIZES = [(1, 8, 8), (17, 40, 72), (300, 200, 104), (131, 257, 263), (1000, 520, 1032), (4096, 256, 2048)]


@pytest.mark.parametrize("m,k,n", SIZES)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_bias_gelu(m, k, n, dtype):
    a = torch.randn(m, k, device="cuda", dtype=dtype)
    b = torch.randn(k, n, device="cuda", dtype=dtype) / k**0.5
    c = torch.randn(n, device="cuda", dtype=dtype)
    f = ts.jit(lambda x, y, z: ts.ops.gelu(x @ y + z))
    got = torch.from_dlpack(f(ts.from_dlpack(a), ts.from_dlpack(b), ts.from_dlpack(c)))
    want = F.gelu(a.double() @ b.double() + c.double())
    assert got.dtype == dtype and rel_err(got, want) < tol(dtype)
    one_kernel(f, block_gemm(dtype, k, n))


@pytest.mark.parametrize("m,k,n", [(33, 64, 136), (131, 257, 263), (257, 128, 129)])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_two_outputs_cast_and_residual(m, k, n, dtype):
    """The product itself and relu(product + bias) in f32 plus a residual: two outputs of
    different dtypes from one kernel."""
    a = torch.randn(m, k, device="cuda", dtype=dtype)
    b = torch.randn(k, n, device="cuda", dtype=dtype) / k**0.5
    c = torch.randn(n, device="cuda", dtype=dtype)
    r = torch.randn(m, n, device="cuda", dtype=torch.float32)

    def fn(x, y, z, res):
        p = x @ y
        return p, ts.relu(p + z).astype("float32") + res

    f = ts.jit(fn)
    p, q = f(*(ts.from_dlpack(t) for t in (a, b, c, r)))
    p, q = torch.from_dlpack(p), torch.from_dlpack(q)
    want_p = a.double() @ b.double()
    assert p.dtype == dtype and rel_err(p, want_p) < tol(dtype)
    assert q.dtype == torch.float32 and rel_err(q, F.relu(want_p + c.double()) + r.double()) < tol(dtype)
    one_kernel(f, block_gemm(dtype, k, n))


@pytest.mark.parametrize("a_shape,b_shape", [((3, 67, 48), (3, 48, 136)), ((2, 1, 40, 24), (5, 24, 72)),
                                              ((4, 33, 16), (16, 8))])
def test_batched_with_broadcast_bias_and_residual(a_shape, b_shape):
    a = torch.randn(a_shape, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(b_shape, device="cuda", dtype=torch.bfloat16)
    out_shape = torch.broadcast_shapes(a_shape[:-2], b_shape[:-2]) + (a_shape[-2], b_shape[-1])
    c = torch.randn(out_shape[-1], device="cuda", dtype=torch.bfloat16)
    r = torch.randn(out_shape, device="cuda", dtype=torch.bfloat16)
    f = ts.jit(lambda x, y, z, res: ts.tanh(x @ y + z) * res)
    got = torch.from_dlpack(f(*(ts.from_dlpack(t) for t in (a, b, c, r))))
    want = torch.tanh(a.double() @ b.double() + c.double()) * r.double()
    assert rel_err(got, want) < 1e-2
    one_kernel(f, block_gemm(torch.bfloat16, a_shape[-1], b_shape[-1]))


@pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.get_device_capability() != (9, 0),
                    reason="needs a Hopper (sm_90) NVIDIA GPU")
@pytest.mark.parametrize("tma", [0, 1])
def test_wgmma_pipelines_with_epilogue(tma):
    """Both wgmma operand pipelines (knob tma) with an epilogue, from Schedule IR with a 128 x 128
    block tile; the persistent grid (more tiles than SMs) runs in test_bias_gelu's 4096 case."""
    m, k, n = 301, 264, 200
    text = f"""module @m {{
func @main(%a: bf16[{m},{k}], %b: bf16[{k},{n}], %c: bf16[{n}]) -> (bf16[{m},{n}]) {{
  %0 = matmul(%a, %b) : bf16[{m},{n}]
  %1 = add(%0, %c) : bf16[{m},{n}]
  %2 = sigmoid(%1) : bf16[{m},{n}]
  return(%2)
}}
}}
"""
    a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(k, n, device="cuda", dtype=torch.bfloat16) / k**0.5
    c = torch.randn(n, device="cuda", dtype=torch.bfloat16)
    got, exe = run_wgmma_pipeline(text, tma, [a, b, c])
    assert rel_err(got, torch.sigmoid(a.double() @ b.double() + c.double())) < 1e-2
    assert ("cp.async.bulk.tensor" in exe.ir("asm")) == bool(tma)


def test_repeatable_bits():
    a = torch.randn(1024, 1024, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(1024, 1024, device="cuda", dtype=torch.bfloat16)
    c = torch.randn(1024, device="cuda", dtype=torch.bfloat16)
    f = ts.jit(lambda x, y, z: ts.ops.gelu(x @ y + z))
    args = [ts.from_dlpack(t) for t in (a, b, c)]
    first = torch.from_dlpack(f(*args)).clone()
    for _ in range(3):
        assert torch.equal(torch.from_dlpack(f(*args)), first)
