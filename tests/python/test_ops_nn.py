"""The nn composites (logsumexp, std, softmax, log_softmax, layernorm, rmsnorm, cross_entropy,
mse, embedding, dropout, einsum) and the in-kernel generator rand_like, against torch in
float64 (values and gradients) and numpy.einsum; PTX and SPIR-V of a program using them.

Tolerances: f64 results agree with the float64 reference to ~1e-12. f32 inputs: the
decompositions round each step to f32 (sum of exps, rsqrt, ...), so rtol/atol 1e-5. f16/bf16
inputs are computed in f32 and rounded once to 16 bits, so the error is the final rounding:
half an ulp (2^-11 for f16, 2^-8 for bf16) relative, checked with rtol 2e-3 / 1.6e-2 and an
absolute term of the same size for values near 0."""
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_targets import _tool

import tessera as ts

TOL = {"float64": (1e-12, 1e-12), "float32": (1e-5, 1e-5), "float16": (2e-3, 2e-3), "bfloat16": (1.6e-2, 1.6e-2)}
SHAPES = [(1, 1), (1, 7), (13, 1), (3, 17), (31, 129), (2, 3, 5)]


def rng(seed=0):
    return np.random.default_rng(seed)


def ts_in(a, dtype):
    """A tessera tensor of `a` rounded to dtype, and that rounded value in float64 for torch."""
    t = torch.tensor(a).to(getattr(torch, dtype))
    return ts.from_dlpack(t.contiguous()) if dtype != "float64" else ts.tensor(a), t.double()


def check(got, want, dtype):
    rtol, atol = TOL[dtype]
    got = torch.from_dlpack(got).double() if not isinstance(got, np.ndarray) else torch.tensor(got)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=rtol, atol=atol)


def t64(a):
    return ts.tensor(np.asarray(a, dtype=np.float64))


def torch_grad(f, *arrays):
    ts_ = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    f(*ts_).backward()
    return [t.grad.numpy() for t in ts_]


# ---- values ----

DTYPES = ["float64", "float32", "float16", "bfloat16"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_log_softmax_logsumexp(shape, dtype):
    x = rng(1).standard_normal(shape) * 4
    tx, rx = ts_in(x, dtype)
    for axis in range(-len(shape), len(shape)):
        check(ts.softmax(tx, axis=axis), F.softmax(rx, axis), dtype)
        check(ts.log_softmax(tx, axis=axis), F.log_softmax(rx, axis), dtype)
        check(ts.logsumexp(tx, axis=axis), torch.logsumexp(rx, axis), dtype)
        check(ts.logsumexp(tx, axis=axis, keepdims=True), torch.logsumexp(rx, axis, keepdim=True), dtype)
    check(ts.logsumexp(tx), torch.logsumexp(rx.flatten(), 0), dtype)


def test_softmax_logsumexp_extremes():
    x = np.array([[1000.0, 1000.0, -1000.0], [-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0], [np.nan, 0.0, 1.0],
                  [-np.inf, 0.0, 1.0]])
    tx, rx = t64(x), torch.tensor(x)
    np.testing.assert_allclose(ts.logsumexp(tx, axis=1).numpy(), torch.logsumexp(rx, 1).numpy())
    np.testing.assert_allclose(ts.softmax(tx[0:1]).numpy(), F.softmax(rx[0:1], -1).numpy())
    np.testing.assert_allclose(ts.log_softmax(tx[4:5]).numpy(), F.log_softmax(rx[4:5], -1).numpy())
    assert np.isnan(ts.softmax(tx[3:4]).numpy()).all()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 17), (2, 3, 5)])
def test_std(shape, dtype):
    x = rng(2).standard_normal(shape) * 3 + 1
    tx, rx = ts_in(x, dtype)
    for correction in (0, 1):
        check(ts.std(tx, correction=correction), torch.std(rx, correction=correction), dtype)
        for axis in range(len(shape)):
            check(ts.std(tx, axis=axis, keepdims=True, correction=correction),
                  torch.std(rx, axis, keepdim=True, correction=correction), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (5, 1), (4, 7), (3, 5, 129), (2, 256)])
def test_layernorm_rmsnorm(shape, dtype):
    r = rng(3)
    x = r.standard_normal(shape) * 2 + 0.5
    w, b = r.standard_normal(shape[-1]), r.standard_normal(shape[-1])
    (tx, rx), (tw, rw), (tb, rb) = ts_in(x, dtype), ts_in(w, dtype), ts_in(b, dtype)
    n = (shape[-1],)
    check(ts.layernorm(tx), F.layer_norm(rx, n), dtype)
    check(ts.layernorm(tx, tw, tb, eps=1e-3), F.layer_norm(rx, n, rw, rb, eps=1e-3), dtype)
    check(ts.layernorm(tx, tw), F.layer_norm(rx, n, rw), dtype)
    check(ts.rmsnorm(tx), F.rms_norm(rx, n, eps=1e-6), dtype)
    check(ts.rmsnorm(tx, tw, eps=1e-2), F.rms_norm(rx, n, rw, eps=1e-2), dtype)


def test_layernorm_other_axis():
    x, w = rng(4).standard_normal((6, 5, 3)), rng(5).standard_normal(5)
    want = F.layer_norm(torch.tensor(x).transpose(1, 2), (5,), torch.tensor(w)).transpose(1, 2)
    check(ts.layernorm(t64(x), t64(w), axis=1), want, "float64")


@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
@pytest.mark.parametrize("n,c", [(1, 1), (1, 5), (7, 3), (64, 1000)])
def test_cross_entropy(n, c, dtype):
    r = rng(6)
    logits, labels = r.standard_normal((n, c)) * 3, r.integers(0, c, n)
    tl, rl = ts_in(logits, dtype)
    for red in ("mean", "sum", "none"):
        check(ts.cross_entropy(tl, ts.tensor(labels), reduction=red),
              F.cross_entropy(rl, torch.tensor(labels), reduction=red), dtype)
    for ldt in (np.int32, np.uint8 if c < 256 else np.int64):
        check(ts.cross_entropy(tl, ts.tensor(labels.astype(ldt))), F.cross_entropy(rl, torch.tensor(labels)), dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("shape", [(1,), (13,), (4, 31)])
def test_mse(shape, dtype):
    x, y = rng(7).standard_normal(shape), rng(8).standard_normal(shape)
    (tx, rx), (ty, ry) = ts_in(x, dtype), ts_in(y, dtype)
    for red in ("mean", "sum", "none"):
        check(ts.mse(tx, ty, reduction=red), F.mse_loss(rx, ry, reduction=red), dtype)
    check(ts.mse(tx, ty[:1]), F.mse_loss(rx, ry[:1].expand_as(rx)), dtype)  # broadcast


@pytest.mark.parametrize("idx_shape", [(1,), (5,), (3, 7)])
def test_embedding(idx_shape):
    r = rng(9)
    w, idx = r.standard_normal((11, 4)), r.integers(0, 11, idx_shape)
    want = F.embedding(torch.tensor(idx), torch.tensor(w))
    check(ts.embedding(ts.tensor(idx), t64(w)), want, "float64")
    check(ts.embedding(ts.tensor(idx.astype(np.int32)), ts.tensor(w.astype(np.float32))), want, "float32")


# ---- gradients (float64, vs torch autograd) ----

def assert_grads(ts_f, torch_f, *arrays, argnums=None):
    argnums = tuple(range(len(arrays))) if argnums is None else argnums
    got = ts.grad(ts_f, argnums=argnums)(*[t64(a) for a in arrays])
    want = torch_grad(torch_f, *arrays)
    got = got if isinstance(got, tuple) else (got,)
    for g, i in zip(got, argnums):
        np.testing.assert_allclose(g.numpy(), want[i], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1), (3, 17), (2, 3, 5)])
def test_gradients_softmax_family(shape):
    r = rng(10)
    x, c = r.standard_normal(shape), r.standard_normal(shape)
    assert_grads(lambda x, c: ts.sum(ts.softmax(x) * c), lambda x, c: (F.softmax(x, -1) * c).sum(), x, c, argnums=(0,))
    assert_grads(lambda x, c: ts.sum(ts.log_softmax(x, axis=0) * c), lambda x, c: (F.log_softmax(x, 0) * c).sum(),
                 x, c, argnums=(0,))
    assert_grads(lambda x, c: ts.sum(ts.logsumexp(x, axis=-1) * ts.sum(c, axis=-1)),
                 lambda x, c: (torch.logsumexp(x, -1) * c.sum(-1)).sum(), x, c, argnums=(0,))
    assert_grads(lambda x: ts.logsumexp(x), lambda x: torch.logsumexp(x.flatten(), 0), x)


def test_gradients_norms_and_losses():
    r = rng(11)
    x, w, b, c = r.standard_normal((4, 9)), r.standard_normal(9), r.standard_normal(9), r.standard_normal((4, 9))
    assert_grads(lambda x, w, b, c: ts.sum(ts.layernorm(x, w, b) * c),
                 lambda x, w, b, c: (F.layer_norm(x, (9,), w, b) * c).sum(), x, w, b, c, argnums=(0, 1, 2))
    assert_grads(lambda x, w, c: ts.sum(ts.rmsnorm(x, w) * c),
                 lambda x, w, c: (F.rms_norm(x, (9,), w, eps=1e-6) * c).sum(), x, w, c, argnums=(0, 1))
    assert_grads(lambda x, y: ts.mse(x, y), lambda x, y: F.mse_loss(x, y), x, c)
    assert_grads(lambda x: ts.sum(ts.std(x, axis=1, correction=1)), lambda x: x.std(1).sum(), x)
    labels = r.integers(0, 9, 4)
    for red in ("mean", "sum"):
        # Both functions are differentiated at once, in this iteration.
        assert_grads(lambda z: ts.cross_entropy(z, ts.tensor(labels), reduction=red),  # noqa: B023
                     lambda z: F.cross_entropy(z, torch.tensor(labels), reduction=red), x)  # noqa: B023


def test_gradient_embedding_weight():
    r = rng(12)
    w, idx, c = r.standard_normal((6, 3)), r.integers(0, 6, (2, 5)), r.standard_normal((2, 5, 3))
    assert_grads(lambda w: ts.sum(ts.embedding(ts.tensor(idx), w) * t64(c)),
                 lambda w: (F.embedding(torch.tensor(idx), w) * torch.tensor(c)).sum(), w)


# ---- einsum ----

EINSUMS = [("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ij->ji", [(3, 7)]),
           ("i,i->", [(13,), (13,)]), ("ij,j->i", [(5, 6), (6,)]), ("bhqd,bhkd->bhqk", [(2, 3, 5, 4), (2, 3, 7, 4)]),
           ("ij->", [(4, 3)]), ("ij->j", [(1, 3)]), ("i,j->ij", [(3,), (4,)]),
           ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("ij,ij->ij", [(3, 4), (3, 4)]),
           ("abc,cd,ae->bde", [(2, 3, 4), (4, 5), (2, 6)]), ("ij,jk", [(3, 4), (4, 2)]),
           ("ba", [(2, 3)]), ("ijk->kij", [(1, 2, 3)])]


@pytest.mark.parametrize("eq,shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_vs_numpy(eq, shapes):
    r = rng(13)
    xs = [r.standard_normal(s) for s in shapes]
    want = np.einsum(eq, *xs)
    np.testing.assert_allclose(ts.einsum([t64(x) for x in xs], eq).numpy(), want, rtol=1e-12, atol=1e-12)
    got32 = ts.einsum([ts.tensor(x.astype(np.float32)) for x in xs], eq).numpy()
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("eq,shapes", [EINSUMS[i] for i in (0, 1, 3, 4, 5, 9)], ids=lambda v: str(v))
def test_einsum_gradient(eq, shapes):
    r = rng(14)
    xs = [r.standard_normal(s) for s in shapes]
    c = r.standard_normal(np.einsum(eq, *xs).shape)
    def f(*a):
        y = ts.einsum(list(a), eq) * t64(c)
        return ts.sum(y) if c.ndim else y
    assert_grads(f,
                 lambda *a: (torch.einsum(eq, *a) * torch.tensor(c)).sum(), *xs)


def test_einsum_mixed_dtypes_promote():
    a, b = np.arange(6, dtype=np.int64).reshape(2, 3), rng(15).standard_normal((3, 2)).astype(np.float32)
    got = ts.einsum([ts.tensor(a), ts.tensor(b)], "ij,jk->ik").numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, a @ b, rtol=1e-5)


@pytest.mark.parametrize("eq,shapes,match", [
    ("ii->i", [(3, 4)], "repeats in term 0 .* diagonal"), ("...i->i", [(3, 3)], "output has no '...'"),
    ("i...i.->i", [(3, 3)], "bad character"), ("ij->ii", [(3, 3)], "repeats in the output"),
    ("...i,...i->...", [(2, 3), (3, 3)], "'...' dim 0 has sizes 2 and 3"), ("ij,jk->ik", [(3, 4), (5, 6)], "sizes"),
    ("ij->ik", [(3, 4)], "no operand"), ("ij,jk->ik", [(3, 4)], "operand terms"), ("ijk->i", [(3, 4)], "labels for"),
    ("i1->i", [(3, 4)], "bad character")])
def test_einsum_errors(eq, shapes, match):
    with pytest.raises(ValueError, match="einsum: .*" + match):
        ts.einsum([t64(np.zeros(s)) for s in shapes], eq)


# ---- rand_like and dropout ----

@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (17, 129), (2, 3, 1, 5)])
def test_rand_like_matches_host_generator(shape, dtype):
    x = ts.from_dlpack(torch.zeros(shape, dtype=getattr(torch, dtype)))
    for seed in (0, 7, 2**40 + 3):
        want = torch.from_dlpack(ts.rand(*shape, seed=seed, dtype=dtype)).double().numpy()
        got = torch.from_dlpack(ts.rand_like(x, seed=seed)).double().numpy()
        np.testing.assert_array_equal(got, want)
    # offset k: element i is element i + k of a longer host stream
    n = int(np.prod(shape))
    for k in (1, 5, 1000):
        want = torch.from_dlpack(ts.rand(n + k, seed=3, dtype=dtype)).double().numpy()[k:].reshape(shape)
        np.testing.assert_array_equal(torch.from_dlpack(ts.rand_like(x, seed=3, offset=k)).double().numpy(), want)


def test_rand_like_fuses_with_its_consumer():
    x = t64(np.zeros((4, 6)))
    f = ts.jit(lambda x: ts.rand_like(x, seed=1) * 2 + x)
    np.testing.assert_array_equal(f(x).numpy(), ts.rand(4, 6, seed=1, dtype="float64").numpy() * 2)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9])
def test_dropout_mask_and_scale(p, dtype):
    shape = (37, 211)
    x = rng(16).standard_normal(shape) + 3  # no zeros: a zero output means dropped
    tx, _ = ts_in(x, dtype)
    xr = torch.from_dlpack(tx).double().numpy()
    out = torch.from_dlpack(ts.dropout(tx, p=p, seed=11, offset=4)).double().numpy()
    # the mask is exactly tessera.rand's stream, in the dtype's mapping
    u = torch.from_dlpack(ts.rand(x.size + 4, seed=11, dtype=dtype)).double().numpy()[4:].reshape(shape)
    keep = u >= torch.tensor(p, dtype=getattr(torch, dtype)).double().item()
    np.testing.assert_array_equal(out != 0, keep)
    scale = 1 / (1 - p)
    want = np.where(keep, torch.tensor(xr * scale).to(getattr(torch, dtype)).double().numpy(), 0)
    np.testing.assert_allclose(out, want, rtol=TOL[dtype][0])
    # fraction kept ~ Binomial(n, 1 - p): 6 standard deviations
    n = x.size
    assert abs(keep.mean() - (1 - p)) <= 6 * np.sqrt(p * (1 - p) / n) + 1e-12
    # reproducible; another seed or offset gives another mask
    np.testing.assert_array_equal(torch.from_dlpack(ts.dropout(tx, p=p, seed=11, offset=4)).double().numpy(), out)
    if 0 < p:
        assert not np.array_equal(torch.from_dlpack(ts.dropout(tx, p=p, seed=12, offset=4)).double().numpy(), out)


def test_dropout_p_one_and_errors():
    x = t64(rng(17).standard_normal((5, 5)))
    assert (ts.dropout(x, p=1.0, seed=0).numpy() == 0).all()
    g = ts.grad(lambda x: ts.sum(ts.dropout(x, p=1.0, seed=0)))(x).numpy()
    assert (g == 0).all()
    with pytest.raises(ValueError, match="dropout: p must be in"):
        ts.dropout(x, p=1.5, seed=0)
    with pytest.raises(TypeError, match="dropout: needs a floating-point"):
        ts.dropout(ts.tensor(np.arange(4)), p=0.5, seed=0)


def test_dropout_gradient():
    x = rng(18).standard_normal((9, 33))
    p = 0.25
    xt = t64(x)
    g = ts.grad(lambda z: ts.sum(ts.dropout(z, p=p, seed=5) * xt))(xt).numpy()
    keep = ts.rand(*x.shape, seed=5, dtype="float64").numpy() >= p
    np.testing.assert_allclose(g, np.where(keep, x / (1 - p), 0), rtol=1e-12)
    gr = ts.grad(lambda z: ts.sum(ts.rand_like(z, seed=1) * z))(xt).numpy()  # rand_like: a constant
    np.testing.assert_array_equal(gr, ts.rand(*x.shape, seed=1, dtype="float64").numpy())


# ---- errors name the op ----

@pytest.mark.parametrize("call,exc,match", [
    (lambda: ts.softmax(ts.tensor(np.arange(3))), TypeError, "softmax"),
    (lambda: ts.softmax(t64(np.zeros(3)), axis=2), ValueError, "softmax"),
    (lambda: ts.layernorm(t64(np.zeros((2, 3))), t64(np.zeros(4))), ValueError, "layernorm: weight must have shape"),
    (lambda: ts.rmsnorm(t64(np.zeros((2, 3))), t64(np.zeros((3, 1)))), ValueError, "rmsnorm: weight"),
    (lambda: ts.cross_entropy(t64(np.zeros((2, 3))), t64(np.zeros(2))), TypeError, "cross_entropy: labels"),
    (lambda: ts.cross_entropy(t64(np.zeros((2, 3))), ts.tensor(np.zeros(3, np.int64))), ValueError, "cross_entropy"),
    (lambda: ts.mse(t64(np.zeros(3)), t64(np.zeros(3)), reduction="avg"), ValueError, "mse: reduction"),
    (lambda: ts.mse(t64(np.zeros(3)), t64(np.zeros(4))), ValueError, "mse|sub"),
    (lambda: ts.embedding(t64(np.zeros(3)), t64(np.zeros((4, 2)))), TypeError, "take|embedding"),
    (lambda: ts.logsumexp(ts.tensor(np.arange(3))), TypeError, "logsumexp"),
    (lambda: ts.std(ts.tensor(np.arange(3))), TypeError, "var|std"),
])
def test_errors_name_the_op(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---- GPU code ----

NN_PROGRAM = """module @m {
func @main(%x: f32[37,129], %w: f32[129], %b: f32[129], %seed: i64[]) -> (f32[37,129], f32[37,129], f32[37,129]) {
  %0 = softmax(%x) {axis = -1} : f32[37,129]
  %1 = layernorm(%x, %w, %b) {eps = 1e-05} : f32[37,129]
  %2 = dropout(%1, %seed) {p = 0.1} : f32[37,129]
  return(%0, %1, %2)
}
}
"""


def test_nn_program_ptx_assembles(tmp_path):
    ptx = ts.compile_for_target(NN_PROGRAM, "nvptx:sm_90")["asm"]
    assert ".entry" in ptx
    ptxas = _tool("ptxas", "/usr/local/bin/ptxas", "/usr/local/cuda/bin/ptxas")
    if not ptxas:
        pytest.skip("ptxas is not installed; PTX was generated but not assembled")
    src = tmp_path / "nn.ptx"
    src.write_text(ptx)
    r = subprocess.run([ptxas, "-arch=sm_90", str(src), "-o", str(tmp_path / "nn.cubin")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_nn_program_spirv_validates(tmp_path):
    # As spirv_validates (test_targets.py), but each compile in a fresh child process and up to
    # 5 tries: LLVM 22's intermittent duplicate-id bug gets more frequent late in a long session.
    val = _tool("spirv-val")
    if not val:
        pytest.skip("spirv-val is not installed; SPIR-V was produced but not validated")
    code = ("import sys, tessera as ts; open(sys.argv[1], 'wb').write("
            "ts.compile_for_target(sys.stdin.read(), 'spirv:vulkan')['binary'])")
    errors = []
    for attempt in range(5):
        spv = tmp_path / f"nn{attempt}.spv"
        r = subprocess.run([sys.executable, "-c", code, str(spv)], input=NN_PROGRAM, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
        v = subprocess.run([val, "--target-env", "vulkan1.3", str(spv)], capture_output=True, text=True)
        if v.returncode == 0:
            return
        assert "is defined more than once" in v.stdout + v.stderr, v.stdout + v.stderr
        errors.append(v.stdout + v.stderr)
    pytest.fail("SPIR-V never validated:\n" + "\n".join(errors))
