"""The CPU GEMM: sched.pack + sched.packed_matmul + the tile.microkernel micro-kernel, checked against
NumPy in float64 at sizes that cross every block edge (the register tile, mc, nc and kc), with
broadcast batches, vector operands, half-precision storage and 1 or 2 threads."""
import numpy as np
import pytest

import tessera as ts

RNG = np.random.default_rng()


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")  # unwritten elements show up as NaN


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    before = ts.get_num_threads()
    ts.set_num_threads(request.param)
    yield request.param
    ts.set_num_threads(before)


def rand(shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def check(got, a, b, dtype):
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    # Each output is a K-term dot product accumulated in the compute dtype: the rounding errors
    # add like a random walk, sqrt(K) unit roundoffs of the terms' magnitude. 6 of those (six
    # standard deviations) keeps a false failure below 1e-4 per run over tens of thousands of
    # outputs (with 4, one output of 16384 once landed at 4.2); a wrong product is off by far more.
    k = a.shape[-1]
    eps = {np.float32: 6e-8, np.float64: 1.2e-16}[dtype]
    scale = np.sqrt(np.matmul(a.astype(np.float64) ** 2, b.astype(np.float64) ** 2))
    np.testing.assert_array_less(np.abs(np.asarray(got, np.float64) - want), 6 * eps * np.sqrt(k) * scale + 1e-300)


# (M, K, N): single elements, primes, exact register tiles (6x16), past mc (96) / nc (256)
# and across several kc (256) passes, so C accumulates.
SIZES = [(1, 1, 1), (1, 7, 1), (5, 3, 17), (6, 16, 16), (7, 257, 33), (97, 101, 103), (96, 512, 256),
         (191, 523, 269), (13, 1031, 7)]


@pytest.mark.parametrize("m,k,n", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_numpy(m, k, n, dtype, threads):
    a, b = rand((m, k), dtype), rand((k, n), dtype)
    f = ts.jit(lambda x, y: x @ y)
    check(f(ts.tensor(a), ts.tensor(b)).numpy(), a, b, dtype)


def test_uses_the_packed_kernel():
    f = ts.jit(lambda x, y: x @ y)
    f(ts.tensor(rand((8, 8))), ts.tensor(rand((8, 8))))
    sched = f.ir("schedule")
    assert sched.count("sched.pack(") == 2 and "sched.packed_matmul(" in sched
    assert sched.count('kind = "pack"') == 2  # plain inputs: panel copies, not per-element code
    tile = f.ir("tile")
    assert "tile.microkernel(" in tile and tile.count("tile.pack(") == 2
    asm = f.ir("asm")  # x86 assembly, made on request
    assert "packed_matmul" in asm and ("ymm" in asm or "xmm" in asm or "zmm" in asm)


@pytest.mark.parametrize("a_shape,b_shape", [((3, 7, 11), (3, 11, 5)), ((2, 1, 7, 11), (4, 11, 9)),
                                              ((11,), (11, 5)), ((7, 11), (11,)), ((11,), (11,)),
                                              ((2, 7, 11), (11,)), ((11,), (3, 11, 4))])
def test_batches_and_vectors(a_shape, b_shape, threads):
    a, b = rand(a_shape), rand(b_shape)
    got = ts.matmul(ts.tensor(a), ts.tensor(b)).numpy()
    assert got.shape == np.matmul(a, b).shape
    check(got, a, b, np.float32)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (5, 3, 17), (97, 101, 103), (64, 256, 256), (191, 523, 269)])
@pytest.mark.parametrize("which", ["a", "b", "both"])
def test_transposed_operands_pack_without_a_copy(m, k, n, which, threads):
    """x.T @ y, x @ y.T, x.T @ y.T: the pack reads the transpose's input along the other axis."""
    a, b = rand((m, k)), rand((k, n))
    ta, tb = which in ("a", "both"), which in ("b", "both")
    f = ts.jit(lambda x, y: (x.T if ta else x) @ (y.T if tb else y))
    got = f(ts.tensor(np.ascontiguousarray(a.T) if ta else a), ts.tensor(np.ascontiguousarray(b.T) if tb else b))
    check(got.numpy(), a, b, np.float32)
    assert "transpose" not in f.ir("schedule")


def test_batched_transposes_of_the_last_two_dims():
    a, b = rand((3, 13, 7)), rand((3, 5, 13))
    f = ts.jit(lambda x, y: x.transpose(0, 2, 1) @ y.transpose(0, 2, 1))
    check(f(ts.tensor(a), ts.tensor(b)).numpy(), a.transpose(0, 2, 1), b.transpose(0, 2, 1), np.float32)
    assert "transpose" not in f.ir("schedule")


def test_small_products_split_over_the_worker_pool():
    """A 64x256x256 product is 8 MFLOP: C is split into several instances, not one."""
    f = ts.jit(lambda x, y: x @ y)
    f(ts.tensor(rand((64, 256))), ts.tensor(rand((256, 256))))
    (line,) = [ln for ln in f.ir("schedule").splitlines() if "sched.packed_matmul(" in ln]
    attrs = dict(kv.split(" = ") for kv in line[line.index("{") + 1:line.index("}")].split(", "))
    mc, nc = int(attrs["mc"]), int(attrs["nc"])
    assert -(-64 // mc) * -(-256 // nc) >= 4


@pytest.mark.parametrize("dtype", [np.float16, "bfloat16"])
def test_half_storage_accumulates_in_f32(dtype):
    a32, b32 = rand((37, 300)), rand((300, 29))
    if dtype == "bfloat16":
        a, b = ts.tensor(a32).to(dtype=ts.bfloat16), ts.tensor(b32).to(dtype=ts.bfloat16)
        a32 = a.to(dtype=ts.float32).numpy()
        b32 = b.to(dtype=ts.float32).numpy()
        tol = 1e-2
    else:
        a32, b32 = a32.astype(np.float16).astype(np.float32), b32.astype(np.float16).astype(np.float32)
        a, b = ts.tensor(a32.astype(np.float16)), ts.tensor(b32.astype(np.float16))
        tol = 2e-3
    got = (a @ b).to(dtype=ts.float32).numpy()
    want = a32.astype(np.float64) @ b32.astype(np.float64)
    # One rounding of an f32-accumulated result to the storage dtype.
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


def test_same_bits_for_any_thread_count():
    a, b = rand((131, 700)), rand((700, 300))
    f = ts.jit(lambda x, y: x @ y)
    outs = []
    for n in (1, 2, 1):
        before = ts.get_num_threads()
        ts.set_num_threads(n)
        try:
            outs.append(f(ts.tensor(a), ts.tensor(b)).numpy())
        finally:
            ts.set_num_threads(before)
    assert all(np.array_equal(outs[0], o) for o in outs[1:])


def test_fused_producers_and_epilogue():
    x, w, bias = rand((50, 70)), rand((60, 70)), rand(60)
    f = ts.jit(lambda x, w, c: ts.relu(ts.relu(x) @ w.T + c))
    got = f(ts.tensor(x), ts.tensor(w), ts.tensor(bias)).numpy()
    want = np.maximum(np.maximum(x, 0).astype(np.float64) @ w.T.astype(np.float64) + bias, 0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_gradients_through_the_packed_kernel():
    a, b = rand((9, 13)).astype(np.float64), rand((13, 6)).astype(np.float64)
    ga, gb = ts.grad(lambda x, y: ts.sum((x @ y) ** 2), argnums=(0, 1))(ts.tensor(a), ts.tensor(b))
    c = a @ b
    np.testing.assert_allclose(ga.numpy(), 2 * c @ b.T, rtol=1e-12)
    np.testing.assert_allclose(gb.numpy(), 2 * a.T @ c, rtol=1e-12)


def kernel_lines(f):
    return [line for line in f.ir("schedule").splitlines() if "sched.kernel(" in line]


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (50, 70, 60), (97, 300, 269), (6, 16, 16)])
def test_epilogue_fuses_into_the_gemm(m, k, n, threads):
    x, w, bias, res = rand((m, k)), rand((k, n)), rand(n), rand((m, n))
    f = ts.jit(lambda x, w, c, r: ts.relu(x @ w + c) * 0.5 + r)
    got = f(ts.tensor(x), ts.tensor(w), ts.tensor(bias), ts.tensor(res)).numpy()
    want = np.maximum(x.astype(np.float64) @ w.astype(np.float64) + bias, 0) * 0.5 + res
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.sqrt(k))
    matmul_kernel = [line for line in kernel_lines(f) if 'kind = "matmul"' in line]
    assert len(kernel_lines(f)) == 3 and len(matmul_kernel) == 1  # two packs, one GEMM + epilogue
    assert "tile.scratch" in f.ir("tile")


def test_epilogue_with_several_outputs_and_batches(threads):
    x, w, col = rand((3, 37, 41)), rand((41, 29)), rand((37, 1))
    f = ts.jit(lambda x, w, c: (x @ w, ts.tanh(x @ w - c)))
    prod, act = f(ts.tensor(x), ts.tensor(w), ts.tensor(col))
    want = x.astype(np.float64) @ w.astype(np.float64)
    np.testing.assert_allclose(prod.numpy(), want, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(act.numpy(), np.tanh(want - col), rtol=1e-5, atol=1e-4)
    assert sum('kind = "matmul"' in line for line in kernel_lines(f)) == 1


def test_epilogue_rounds_half_results_once():
    a, b = rand((33, 65)).astype(np.float16), rand((65, 17)).astype(np.float16)
    got = ts.relu(ts.tensor(a) @ ts.tensor(b)).numpy().astype(np.float64)
    want = np.maximum(a.astype(np.float64) @ b.astype(np.float64), 0).astype(np.float16).astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3)


def test_movement_after_the_product_starts_a_new_kernel():
    x, w = rand((7, 9)), rand((9, 5))
    f = ts.jit(lambda x, w: ts.relu(x @ w).T)
    np.testing.assert_allclose(f(ts.tensor(x), ts.tensor(w)).numpy(), np.maximum(x @ w, 0).T, rtol=1e-5, atol=1e-5)
    assert "epilogue" in f.explain()
