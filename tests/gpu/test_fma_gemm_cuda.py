"""f32 matmul on NVIDIA CUDA cores (tile.fma_gemm, TF32 never used unless precision = "tf32"
allows it) against float64 torch at awkward sizes, batched and broadcast, on aligned and
unaligned views, with poisoned outputs; and the TF32 tensor-core path where it is allowed."""
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
    x, w, c = (torch.randn(300, 256, device="cuda"), torch.randn(256, 200, device="cuda"),
               torch.randn(200, device="cuda"))
    check(f(ts.from_dlpack(x), ts.from_dlpack(w), ts.from_dlpack(c)), torch.relu(x.double() @ w.double() + c.double()),
          256)
    assert "tile.fma_gemm" in f.ir("tile")


@pytest.mark.parametrize("m,k,n", [(1, 2048, 7), (128, 2048, 512), (100, 4096, 64), (129, 256, 130), (257, 1024, 129)])
def test_split_k(m, k, n):
    """Few output tiles and a long K: the product is split along K (split-k) into a batched
    matmul and a sum; the epilogue (bias + gelu) follows the sum."""
    f = ts.jit(lambda x, w, c: ts.ops.gelu(x @ w + c))
    a, b, c = torch.randn(m, k, device="cuda"), torch.randn(k, n, device="cuda"), torch.randn(n, device="cuda")
    got = f(ts.from_dlpack(a), ts.from_dlpack(b), ts.from_dlpack(c))
    check(got, torch.nn.functional.gelu(a.double() @ b.double() + c.double()), k)
    assert "sum(" in f.ir("schedule") and "perm = [1, 0, 2]" in f.ir("schedule")
    want = a.double() @ b.double()
    check_tf32(ts.ops.matmul(ts.from_dlpack(a), ts.from_dlpack(b), precision="tf32"), want)


def test_split_k_gradients():
    g = ts.jit(ts.grad(lambda x, w: ts.sum(ts.ops.tanh(x @ w)), argnums=(0, 1)))
    x, w = torch.randn(64, 2048, device="cuda") / 45, torch.randn(2048, 96, device="cuda")  # tanh not saturated
    xd, wd = x.double().requires_grad_(), w.double().requires_grad_()
    torch.tanh(xd @ wd).sum().backward()
    gx, gw = g(ts.from_dlpack(x), ts.from_dlpack(w))
    check(gx, xd.grad, 96)
    check(gw, wd.grad, 64)


def schedule_variant(m, k, n, bk, stages):
    """The matmul's Schedule IR for this GPU with the knobs rewritten to [128, 128, bk] and
    `stages` slices in flight."""
    import re

    from tessera import _C

    major, minor = torch.cuda.get_device_capability()
    target = "nvptx:sm_90a" if major == 9 else f"nvptx:sm_{major}{minor}"
    prog = f"""module @m {{
func @main(%a: f32[{m},{k}], %b: f32[{k},{n}]) -> (f32[{m},{n}]) {{
  %0 = matmul(%a, %b) : f32[{m},{n}]
  return(%0)
}}
}}
"""
    sched = ts.compile_for_target(prog, target)["schedule"]
    sched, count = re.subn(r"stages = \d+, tile = \[128, 128, \d+\]", f"stages = {stages}, tile = [128, 128, {bk}]",
                           sched)
    assert count == 1, sched
    return _C.compile(sched, "cuda:0", target)


@pytest.mark.parametrize("bk,stages", [(8, 2), (8, 5), (16, 2), (16, 3), (32, 2), (32, 4)])
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (131, 37, 260), (257, 200, 129), (64, 8, 64)])
def test_every_depth_and_stage_count(bk, stages, m, k, n):
    """K shorter than, a multiple of and not a multiple of the slice, fewer slices than stages;
    N aligned (16-byte B chunks) and not (element copies)."""
    from tessera import _C
    from tessera.tensor import Tensor

    exe = schedule_variant(m, k, n, bk, stages)
    a, b = torch.randn(m, k, device="cuda"), torch.randn(k, n, device="cuda")
    got = Tensor._from_array(exe.run([_C.from_dlpack(a, None, None), _C.from_dlpack(b, None, None)])[0])
    check(got, a.double() @ b.double(), k)


def check_tf32(got, want, tol=1e-3):
    # inputs rounded to TF32 (10-bit mantissa, 2^-11 relative), products summed in f32
    got = torch.from_dlpack(got).double()
    assert got.shape == want.shape
    err = ((got - want).abs().amax() / want.abs().amax().clamp_min(1e-30)).item()
    assert err < tol, err
    return err


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (127, 129, 131), (256, 64, 256), (1000, 7, 513), (129, 1000, 3),
                                   (2048, 2048, 2048)])
def test_tf32_when_allowed(m, k, n):
    """precision = "tf32": TF32 tensor cores (mma.sync m16n8k8) within 1e-3 of float64, and
    clearly less exact than the default f32 path, which proves the tensor cores ran."""
    a, b = torch.randn(m, k, device="cuda"), torch.randn(k, n, device="cuda")
    want = a.double() @ b.double()
    err = check_tf32(ts.ops.matmul(ts.from_dlpack(a), ts.from_dlpack(b), precision="tf32"), want)
    if k >= 64:
        assert err > 1e-5, err


def test_tf32_batched_epilogue_and_gradients():
    f = ts.jit(lambda x, w, c: ts.ops.gelu(ts.ops.matmul(x, w, precision="tf32") + c))
    x, w, c = (torch.randn(3, 130, 68, device="cuda"), torch.randn(68, 132, device="cuda"),
               torch.randn(132, device="cuda"))
    check_tf32(f(ts.from_dlpack(x), ts.from_dlpack(w), ts.from_dlpack(c)),
               torch.nn.functional.gelu(x.double() @ w.double() + c.double()))
    assert "tf32 = 1" in f.ir("tile")
    g = ts.jit(ts.grad(lambda x, w: ts.sum(ts.ops.matmul(x, w, precision="tf32") ** 2), argnums=(0, 1)))
    x, w = torch.randn(200, 96, device="cuda"), torch.randn(96, 136, device="cuda")
    xd, wd = x.double().requires_grad_(), w.double().requires_grad_()
    ((xd @ wd) ** 2).sum().backward()
    gx, gw = g(ts.from_dlpack(x), ts.from_dlpack(w))
    check_tf32(gx, xd.grad, 2e-3)  # two TF32 products in a chain: the forward's and the gradient's
    check_tf32(gw, wd.grad, 2e-3)


@pytest.mark.parametrize("bk,stages", [(8, 3), (16, 2), (32, 2), (32, 4)])
def test_tf32_every_depth(bk, stages):
    import re

    from tessera import _C
    from tessera.tensor import Tensor

    major, minor = torch.cuda.get_device_capability()
    target = "nvptx:sm_90a" if major == 9 else f"nvptx:sm_{major}{minor}"
    m, k, n = 257, 200, 129
    prog = f"""module @m {{
func @main(%a: f32[{m},{k}], %b: f32[{k},{n}]) -> (f32[{m},{n}]) {{
  %0 = matmul(%a, %b) {{precision = "tf32"}} : f32[{m},{n}]
  return(%0)
}}
}}
"""
    sched = ts.compile_for_target(prog, target)["schedule"]
    sched, count = re.subn(r"stages = \d+, tile = \[128, 128, \d+\]", f"stages = {stages}, tile = [128, 128, {bk}]",
                           sched)
    assert count == 1 and 'mma = "tf32"' in sched, sched
    exe = _C.compile(sched, "cuda:0", target)
    a, b = torch.randn(m, k, device="cuda"), torch.randn(k, n, device="cuda")
    got = Tensor._from_array(exe.run([_C.from_dlpack(a, None, None), _C.from_dlpack(b, None, None)])[0])
    check_tf32(got, a.double() @ b.double())
