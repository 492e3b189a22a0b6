"""Fusion of reductions with their neighbours (form-kernels row-wise kernels, split-reductions,
fn.explain()): results against NumPy in float64 at awkward shapes, on 1 and 2 threads, the same
bits run to run and for any thread count, kernel counts, and explanations."""
import inspect
import subprocess

import numpy as np
import pytest
from test_targets import _tool  # finds ptxas, spirv-val, ...

import tessera as ts

# 1 and primes; non-multiples of the vector width; a row longer than the CPU's one-tile
# limit (8192, looping passes) and one longer than 16384 (split into blocks).
SHAPES = [(1, 1), (1, 7), (13, 1), (5, 17), (3, 1000), (2, 8195), (2, 40009)]


def line_of(fn):
    return inspect.getsourcelines(fn)[1]


def kernels(fn):
    return fn.ir("schedule").count("sched.kernel")


def data(shape, seed=0, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def np_layernorm(x, w, b):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-5) * w + b


def np_rmsnorm(x, w):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * w


@pytest.fixture
def threads():
    saved = ts.get_num_threads()
    yield
    ts.set_num_threads(saved)


def run_on_threads(f, *args):
    """Runs f on 1 and 2 threads, twice each; every result must be the same bits."""
    outs = []
    for n in (1, 2, 1, 2):
        ts.set_num_threads(n)
        outs.append(np.asarray(f(*args).numpy()))
    for o in outs[1:]:
        assert o.tobytes() == outs[0].tobytes(), "results differ between runs or thread counts"
    return outs[0]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_softmax_family_matches_numpy_on_any_thread_count(shape, threads):
    x = data(shape)
    tx, xd = ts.from_dlpack(x), x.astype(np.float64)
    softmax = ts.jit(lambda a: ts.softmax(a, axis=-1))
    np.testing.assert_allclose(run_on_threads(softmax, tx), np_softmax(xd), rtol=2e-5, atol=1e-7)
    log_softmax = ts.jit(lambda a: ts.log_softmax(a, axis=-1))
    np.testing.assert_allclose(run_on_threads(log_softmax, tx), np_log_softmax(xd), rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_norms_match_numpy_on_any_thread_count(shape, threads):
    x = data(shape, 1)
    w, b = data(shape[-1:], 2, 1.0), data(shape[-1:], 3, 1.0)
    tx, tw, tb = ts.from_dlpack(x), ts.from_dlpack(w), ts.from_dlpack(b)
    xd = x.astype(np.float64)
    layernorm = ts.jit(lambda a, w, b: ts.layernorm(a, w, b))
    np.testing.assert_allclose(run_on_threads(layernorm, tx, tw, tb), np_layernorm(xd, w, b), rtol=1e-4, atol=1e-4)
    rmsnorm = ts.jit(lambda a, w: ts.rmsnorm(a, w))
    np.testing.assert_allclose(run_on_threads(rmsnorm, tx, tw), np_rmsnorm(xd, w), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (3, 1000), (2, 40009)], ids=lambda s: "x".join(map(str, s)))
def test_prologue_and_epilogue_fuse_into_one_kernel(shape, threads):
    x, y = data(shape, 4, 1.0), data(shape[-1:], 5, 1.0)
    tx, ty = ts.from_dlpack(x), ts.from_dlpack(y)
    xd, yd = x.astype(np.float64), y.astype(np.float64)

    f = ts.jit(lambda a, b: ts.sum(ts.exp(a) * b, axis=-1))  # prologue only
    np.testing.assert_allclose(run_on_threads(f, tx, ty), (np.exp(xd) * yd).sum(-1), rtol=1e-5, atol=1e-4)
    assert kernels(f) == (1 if shape[-1] <= 16384 else 2)

    g = ts.jit(lambda a: a - ts.max(a, axis=-1, keepdims=True))  # epilogue over the row
    np.testing.assert_allclose(run_on_threads(g, tx), xd - xd.max(-1, keepdims=True), rtol=1e-6)
    assert kernels(g) == 1 or shape[-1] > 16384


@pytest.mark.parametrize("axis", [0, 1])
def test_reductions_over_other_axes_take_a_prologue(axis, threads):
    x, y = data((37, 5, 3), 9, 1.0), data((5, 3), 10, 1.0)
    tx, ty = ts.from_dlpack(x), ts.from_dlpack(y)
    f = ts.jit(lambda a, b: ts.sum(ts.exp(a) * b, axis=axis))
    want = (np.exp(x.astype(np.float64)) * y).sum(axis)
    np.testing.assert_allclose(run_on_threads(f, tx, ty), want, rtol=1e-5, atol=1e-5)
    assert kernels(f) == 1
    g = ts.jit(lambda a: ts.argmax(ts.abs(a), axis=axis))
    np.testing.assert_array_equal(run_on_threads(g, tx), np.abs(x).argmax(axis))
    assert kernels(g) == 1


@pytest.mark.parametrize("axis", [0, 1])
def test_reductions_over_other_axes_take_an_epilogue(axis, threads):
    """The element-wise ops after a reduction over another axis run in its kernel, on the
    reduction as it would have been stored (bf16: rounded first); the reduction and the
    epilogue values can both be outputs."""
    x, b = data((37, 5, 3), 11, 1.0), data((3,), 12, 1.0)
    tx, tb = ts.from_dlpack(x), ts.from_dlpack(b)
    f = ts.jit(lambda a, c: (lambda s: (s, ts.tanh(s * 0.5 + c)))(ts.sum(ts.exp(a), axis=axis)))
    s = np.exp(x.astype(np.float64)).sum(axis)
    got_s, got_y = (t.numpy() for t in f(tx, tb))
    np.testing.assert_allclose(got_s, s, rtol=1e-5)
    np.testing.assert_allclose(got_y, np.tanh(s * 0.5 + b), rtol=1e-5, atol=1e-6)
    assert kernels(f) == 1
    g = ts.jit(lambda a: ts.argmax(a, axis=axis) * 2 + 1)
    np.testing.assert_array_equal(run_on_threads(g, tx), x.argmax(axis) * 2 + 1)
    assert kernels(g) == 1
    # Epilogues of other dtypes: the reduction still accumulates in its own dtype.
    c = ts.jit(lambda a: ts.sum(a, axis=axis) > 0.5)
    np.testing.assert_array_equal(c(tx).numpy(), x.astype(np.float64).sum(axis) > 0.5)
    assert kernels(c) == 1
    m = ts.jit(lambda a: ts.max(a, axis=axis) > 0)
    np.testing.assert_array_equal(m(tx).numpy(), x.max(axis) > 0)
    i = ts.jit(lambda a: ts.sum(a * 10, axis=axis).astype(ts.int32))
    np.testing.assert_array_equal(i(tx).numpy(), np.trunc((x.astype(np.float64) * 10).sum(axis)).astype(np.int32))
    xd = data((37, 5, 3), 15, 1e8).astype(np.float64)  # f64 sums accumulate in f64, then round
    d = ts.jit(lambda a: ts.sum(a, axis=axis).astype(ts.float32))
    np.testing.assert_array_equal(d(ts.from_dlpack(xd)).numpy(), xd.sum(axis).astype(np.float32))
    xb = tx.astype(ts.bfloat16)
    h = ts.jit(lambda a: ts.sum(a, axis=axis) * 3)
    stored = ts.jit(lambda a: ts.sum(a, axis=axis))(xb)  # a kernel of its own: rounded to bf16
    want = ts.jit(lambda v: v * 3)(stored)
    assert h(xb).astype(ts.float32).numpy().tobytes() == want.astype(ts.float32).numpy().tobytes()
    assert kernels(h) == 1


def test_reshapes_between_kernels_move_no_data(threads):
    """A reshape whose result only feeds other kernels is the same buffer with another shape
    (rt.view), also of a function input; a returned reshape is still a copy of its own."""
    a, b = data((6, 40), 13, 1.0), data((240,), 14, 1.0)
    a_before = a.copy()
    ta, tb = ts.from_dlpack(a), ts.from_dlpack(b)  # shares a's memory
    f = ts.jit(lambda x, y: (ts.reshape(x, (240,)), x @ ts.reshape(ts.exp(ts.reshape(y, (40, 6))), (40, 6)) + 1))
    flat, prod = f(ta, tb)
    want = a.astype(np.float64) @ np.exp(b.astype(np.float64).reshape(40, 6)) + 1
    np.testing.assert_allclose(prod.numpy(), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(flat.numpy(), a.reshape(240))
    flat.numpy()[:] = 0  # the returned reshape does not share the input's memory
    np.testing.assert_array_equal(ta.numpy(), a_before)
    g = ts.jit(lambda x, y: x @ ts.reshape(y, (40, 6)))
    np.testing.assert_allclose(g(ta, tb).numpy(), a.astype(np.float64) @ b.reshape(40, 6), rtol=1e-5, atol=1e-5)
    assert "rt.view(%1)" in g.ir("tile") and "_reshape" not in g.ir("tile")


def test_composites_are_one_kernel_per_row_block():
    x, w, b = ts.randn(6, 37, seed=1), ts.randn(37, seed=2), ts.randn(37, seed=3)
    labels = ts.from_dlpack(np.array([0, 5, 36, 2, 7, 1], dtype=np.int64))
    cases = {
        "softmax": (lambda a: ts.softmax(a, axis=-1), (x,)),
        "log_softmax": (lambda a: ts.log_softmax(a, axis=-1), (x,)),
        "layernorm": (lambda a, w, b: ts.layernorm(a, w, b), (x, w, b)),
        "rmsnorm": (lambda a, w: ts.rmsnorm(a, w), (x, w)),
        "cross_entropy none": (lambda a, tgt: ts.cross_entropy(a, tgt, reduction="none"), (x, labels)),
    }
    for name, (fn, args) in cases.items():
        f = ts.jit(fn)
        f(*args).numpy()
        assert kernels(f) == 1, f"{name}: {f.ir('schedule')}"
    # The mean over the batch needs every row's loss first: a second, small kernel.
    f = ts.jit(lambda a, tgt: ts.cross_entropy(a, tgt))
    got = f(x, labels).numpy()
    ls = np_log_softmax(x.numpy().astype(np.float64))
    np.testing.assert_allclose(got, -ls[np.arange(6), labels.numpy()].mean(), rtol=1e-5)
    assert kernels(f) == 2


@pytest.mark.parametrize("n", [1, 7, 16385, 2**20 + 3])
def test_full_sum_is_split_deterministic_and_accurate(n, threads):
    x = data((n,), 6, 1.0)
    f = ts.jit(lambda a: ts.sum(a))
    got = run_on_threads(f, ts.from_dlpack(x))
    assert abs(float(got) - x.astype(np.float64).sum()) <= 1e-6 * np.abs(x.astype(np.float64)).sum() + 1e-6
    assert kernels(f) == (2 if n > 16384 else 1)


def test_float_sums_are_at_least_as_accurate_as_numpy_pairwise():
    # 0.1 is not a float: every add rounds. A sequential float32 sum of 2^22 of them is off by
    # percents; pairwise summation keeps the error near float32 resolution.
    for n in (4096 * 3 + 1, 2**22 + 5):
        x = np.full(n, 0.1, dtype=np.float32)
        exact = x.astype(np.float64).sum()
        ours = float(ts.jit(lambda a: ts.sum(a))(ts.from_dlpack(x)).numpy())
        theirs = float(x.sum())
        assert abs(ours - exact) <= 2 * abs(theirs - exact) + 4 * np.finfo(np.float32).eps * exact
        rows = ts.jit(lambda a: ts.sum(a, axis=-1))(ts.from_dlpack(x.reshape(1, n))).numpy()
        assert abs(float(rows[0]) - exact) <= 2 * abs(theirs - exact) + 4 * np.finfo(np.float32).eps * exact


def test_argmax_and_integer_rows_fuse_with_a_prologue():
    x = data((5, 300), 7)
    x[1, 17] = np.nan
    f = ts.jit(lambda a: ts.argmax(ts.abs(a), axis=-1))
    np.testing.assert_array_equal(f(ts.from_dlpack(x)).numpy(), np.abs(x).argmax(-1))
    assert kernels(f) == 1
    i = np.random.default_rng(8).integers(-1000, 1000, (4, 33)).astype(np.int32)
    g = ts.jit(lambda a: ts.max(a * 2, axis=-1))
    np.testing.assert_array_equal(g(ts.from_dlpack(i)).numpy(), (i * 2).max(-1))
    h = ts.jit(lambda a: ts.sum(a, axis=-1))
    np.testing.assert_array_equal(h(ts.from_dlpack(i)).numpy(), i.astype(np.int64).sum(-1))


def test_rows_vectorise_on_the_cpu():
    f = ts.jit(lambda a: ts.softmax(a, axis=-1))
    f(ts.randn(64, 512, seed=1)).numpy()
    assert "<8 x float>" in f.ir("llvm") or "<16 x float>" in f.ir("llvm")


def test_explain_lists_kernels_fused_ops_lines_and_reasons():
    def model(x, w):
        h = x @ w
        return ts.softmax(h, axis=-1)

    f = ts.jit(model)
    f(ts.randn(4, 6, seed=1), ts.randn(6, 5, seed=2)).numpy()
    text = f.explain()
    first = line_of(model)
    n = kernels(f)
    assert text.startswith(f"{n} kernels\n")
    assert "rowwise" in text and "matmul" in text
    assert f"softmax at test_fusion.py:{first + 2}: max, sub, equal, where, sub, exp, sum, div" in text
    assert f"test_fusion.py:{first + 1}" in text  # the matmul's line
    assert "contractions are kernels of their own" in text or "follows a contraction" in text

    g = ts.jit(lambda a: ts.softmax(a, axis=-1))
    g(ts.randn(3, 4, seed=1)).numpy()
    assert g.explain().startswith("1 kernel\n") and "not fused" not in g.explain()


def test_explain_says_why_a_per_row_result_cannot_fuse():
    def model(x):
        m = ts.max(x, axis=-1, keepdims=True)
        return (x - m).T

    f = ts.jit(model)
    f(ts.randn(4, 5, seed=1)).numpy()
    text = f.explain()
    assert "2 kernels" in text
    assert "not fused with kernel 0: transpose of a per-row result ([4,5] rows)" in text


def test_explain_needs_a_call_first():
    with pytest.raises(ts.TracingError):
        ts.jit(lambda a: ts.sum(a)).explain()


def test_row_kernels_generate_ptx(tmp_path):
    # Short rows (one tile of threads) and long ones (looping passes and a split): the same
    # Tile IR lowered with lanes = threads.
    program = """module @m {
func @main(%x: f32[37,129], %y: f32[3,5000], %z: f32[70000]) -> (f32[37,129], f32[3,5000], f32[]) {
  %0 = softmax(%x) {axis = -1} : f32[37,129]
  %1 = layernorm(%y) {eps = 1e-05} : f32[3,5000]
  %2 = sum(%z) : f32[]
  return(%0, %1, %2)
}
}
"""
    ptx = ts.compile_for_target(program, "nvptx:sm_90")["asm"]
    assert ptx.count(".entry") == 4 and ("bar.sync" in ptx or "barrier.sync" in ptx)
    ptxas = _tool("ptxas", "/usr/local/cuda/bin/ptxas")
    if not ptxas:
        pytest.skip("ptxas is not installed; PTX was generated but not assembled")
    src = tmp_path / "rows.ptx"
    src.write_text(ptx)
    r = subprocess.run([ptxas, "-arch=sm_90", str(src), "-o", str(tmp_path / "rows.cubin")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
