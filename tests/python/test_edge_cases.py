"""Edge cases that used to be wrong or crash: empty concatenations, bool padding, reductions of
rank-0 tensors and over zero-length axes, several axes at once, pow's gradients at 0, out-of-range
indices and labels (modes and run-time checks), and mixed dtypes promoting in every op."""
import subprocess
import sys

import numpy as np
import pytest

import tessera as ts

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("parts, axis", [([(0,), (0,)], 0), ([(0, 3), (0, 3)], 0), ([(2, 0), (2, 0)], 1),
                                         ([(0, 2), (1, 2)], 0)])
def test_concat_of_empty_pieces(parts, axis):
    arrays = [np.zeros(p, np.float32) for p in parts]
    got = ts.concat([ts.tensor(a) for a in arrays], axis=axis).numpy()
    np.testing.assert_array_equal(got, np.concatenate(arrays, axis))


def test_concat_of_empty_pieces_in_a_fresh_process():  # used to crash the interpreter (SIGSEGV)
    code = ("import numpy as np, tessera as ts; "
            "print(ts.concat([ts.tensor(np.zeros(0, np.float32))] * 2, axis=0).numpy().shape)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "(0,)", r.stderr


@pytest.mark.parametrize("value, want", [(2.0, True), (0.5, True), (0.0, False), (-1.0, True)])
def test_pad_of_bool_pads_value_not_zero(value, want):
    got = ts.pad(ts.tensor([True, False]), [(1, 1)], value=value).numpy()
    np.testing.assert_array_equal(got, [want, True, False, want])
    assert ts.pad(ts.ones(2, 3), 1).shape == (4, 5) and ts.pad(ts.ones(2, 3), ((0, 1), (2, 0))).shape == (3, 5)


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min", "var", "std", "logsumexp", "any", "all"])
def test_reductions_of_rank_0_tensors(name):
    x = ts.tensor(3.0)
    got = getattr(ts, name)(x)
    want = {"var": 0.0, "std": 0.0, "any": True, "all": True}.get(name, 3.0)
    assert got.shape == () and got.item() == pytest.approx(want)


@pytest.mark.parametrize("axis", [(0, 1), (1, 2), (0, 2), (-1, 0), (0, 1, 2), ()])
@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min", "var", "std", "logsumexp", "any", "all"])
def test_reductions_over_several_axes(name, axis):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5))
    if name in ("any", "all"):
        x = x > 0.5
    ref = (lambda a, axis, keepdims: np.log(np.exp(a).sum(axis=axis, keepdims=keepdims))) if name == "logsumexp" \
        else getattr(np, name)
    for keepdims in (False, True):
        got = getattr(ts, name)(ts.tensor(x), axis=axis, keepdims=keepdims).numpy()
        np.testing.assert_allclose(got, ref(x, axis=axis, keepdims=keepdims), rtol=1e-12, err_msg=f"{name} {axis}")
    with pytest.raises(ts.TesseraError, match="repeats an axis"):
        getattr(ts, name)(ts.tensor(x), axis=(0, 0))


def test_softmax_and_logsumexp_over_a_zero_length_axis():
    x = ts.zeros(3, 0)
    assert ts.softmax(x, axis=-1).shape == (3, 0) and ts.log_softmax(x, axis=-1).shape == (3, 0)
    np.testing.assert_array_equal(ts.logsumexp(x, axis=-1).numpy(), np.full(3, -np.inf))
    np.testing.assert_array_equal(ts.logsumexp(ts.zeros(2, 0, 4), axis=(1, 2)).numpy(), [-np.inf, -np.inf])
    with pytest.raises(ts.TesseraValueError, match="max: zero-size reduction"):
        ts.max(x, axis=-1)  # no identity: an error, as NumPy


def test_pow_gradients_at_zero_match_torch():
    base = np.array([0.0, 0.0, 0.0, 2.0, 1.5])
    expo = np.array([0.0, 1.0, 2.5, 0.0, 3.0])
    gb, ge = ts.grad(lambda b, e: ts.sum(b ** e, axis=None), argnums=(0, 1))(ts.tensor(base), ts.tensor(expo))
    tb, te = torch.tensor(base, requires_grad=True), torch.tensor(expo, requires_grad=True)
    (tb ** te).sum().backward()
    np.testing.assert_allclose(gb.numpy(), tb.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(ge.numpy(), te.grad.numpy(), rtol=1e-15)
    assert np.isfinite(gb.numpy()).all() and np.isfinite(ge.numpy()).all()


def test_take_modes():
    x = ts.tensor([1.0, 2.0, 3.0])
    idx = ts.tensor([5, -1, -4, 1])
    assert ts.take(x, idx).tolist() == [3.0, 3.0, 1.0, 2.0]  # clip (default): negatives from the end, then clamp
    assert ts.take(x, idx, mode="wrap").tolist() == [3.0, 3.0, 3.0, 2.0]
    filled = ts.take(x, idx, mode="fill").numpy()
    assert np.isnan(filled[0]) and filled[1] == 3.0 and np.isnan(filled[2])
    assert ts.take(x, idx, mode="fill", fill_value=-7.0).tolist() == [-7.0, 3.0, -7.0, 2.0]
    assert ts.take(ts.tensor([1, 2]), ts.tensor([9]), mode="fill").tolist() == [0]
    with pytest.raises(ts.TesseraValueError,
                       match=r'take: an index is outside \[-3, 3\).*mode "error"\) at .*test_edge_cases.py'):
        ts.take(x, idx, mode="error")
    with pytest.raises(ts.TesseraValueError, match="take: mode must be"):
        ts.take(x, idx, mode="nearest")
    # fill: out-of-range reads pass no gradient back; wrap: to the wrapped element
    g = ts.grad(lambda a: ts.sum(ts.take(a, idx, mode="fill", fill_value=0.0), axis=None))(x)
    assert g.tolist() == [0.0, 1.0, 1.0]
    g = ts.grad(lambda a: ts.sum(ts.take(a, idx, mode="wrap"), axis=None))(x)
    assert g.tolist() == [0.0, 1.0, 3.0]


def test_index_checks_under_jit_and_in_debug_mode():
    f = ts.jit(lambda x, i: ts.take(x, i, mode="error") * 2)
    assert f(ts.tensor([1.0, 2.0]), ts.tensor([1])).tolist() == [4.0]
    with pytest.raises(ts.TesseraValueError, match=r"take: an index is outside \[-2, 2\)"):
        f(ts.tensor([1.0, 2.0]), ts.tensor([2]))
    g = ts.jit(lambda w, i: ts.embedding(i, w))
    w = ts.ones(4, 3)
    assert g(w, ts.tensor([7])).shape == (1, 3)  # clip by default
    with ts.debug.checks():
        with pytest.raises(ts.TesseraValueError, match=r"embedding: an index is outside \[-4, 4\)"):
            ts.jit(lambda w, i: ts.embedding(i, w))(w, ts.tensor([7]))
        with pytest.raises(ts.TesseraValueError, match=r"cross_entropy: a label is outside \[0, 3\)"):
            ts.cross_entropy(ts.zeros(2, 3), ts.tensor([0, 7]))
        assert ts.take(ts.tensor([1.0, 2.0]), ts.tensor([9]), mode="clip").tolist() == [2.0]  # explicit mode kept
    assert ts.cross_entropy(ts.zeros(2, 3), ts.tensor([0, 7])).item() == pytest.approx(np.log(3) / 2)  # ignored


def test_cross_entropy_label_modes_and_ignore_index():
    logits = ts.tensor(np.random.default_rng(1).standard_normal((3, 4)))
    with pytest.raises(ts.TesseraValueError, match="cross_entropy: a label is outside"):
        ts.cross_entropy(logits, ts.tensor([0, 4, 1]), mode="error")
    # ignore_index is not out of range, even in error mode
    got = ts.cross_entropy(logits, ts.tensor([0, -100, 1]), mode="error", ignore_index=-100)
    want = torch.nn.functional.cross_entropy(torch.tensor(logits.numpy()), torch.tensor([0, -100, 1]))
    assert got.item() == pytest.approx(want.item(), rel=1e-12)


def test_mixed_dtypes_promote_in_every_op():
    f32, f64 = ts.ones(2, 3), ts.ones(3, 2, dtype="f64")
    assert (f32 @ f64).dtype == ts.float64 and ts.matmul(f32, f64).tolist() == [[3.0, 3.0]] * 2
    assert ts.layernorm(f32, ts.ones(3, dtype="f64"), ts.zeros(3)).dtype == ts.float64
    assert ts.concat([ts.ones(2), ts.ones(2, dtype="i32")]).dtype == ts.float32
    assert ts.stack([ts.ones(2, dtype="f16"), ts.ones(2, dtype="bf16")]).dtype == ts.float32
    g = ts.grad(lambda a, b: ts.sum(a @ b, axis=None), argnums=(0, 1))(f32, f64)
    assert g[0].dtype == ts.float32 and g[1].dtype == ts.float64
    with pytest.raises(ts.DTypeError, match="matmul: not defined for bool"):
        ts.matmul(ts.ones(2, 2, dtype="bool"), ts.ones(2, 2, dtype="bool"))
