"""Item assignment (x[key] = v, x.at[key].set/add/...), the NumPy-style functions (flip, roll,
repeat, tile, triu, eye, linspace, meshgrid, *_like, randint, bernoulli) and the losses and
norms, each against NumPy or PyTorch in float64; pytrees through the transforms."""
import collections

import numpy as np
import pytest

import tessera as ts

torch = pytest.importorskip("torch")
F = torch.nn.functional
RNG = np.random.default_rng(3)

KEYS = [(1, slice(1, 3)), (slice(None), -1), 0, (Ellipsis, slice(None, None, -2)), (slice(3, 0, -2), None, 2),
        (slice(None), [0, 2]), ([2, 0, 2],)]


@pytest.mark.parametrize("key", KEYS, ids=str)
def test_setitem_matches_numpy_and_writes_in_place(key):
    x = RNG.standard_normal((4, 5))
    want = x.copy()
    region = want[key]
    v = RNG.standard_normal(region.shape)
    want[key] = v
    t = ts.tensor(x)
    view = t.numpy()  # shares t's memory: an in-place write shows through it
    t[key] = ts.tensor(v)
    np.testing.assert_array_equal(t.numpy(), want)
    np.testing.assert_array_equal(view, want)
    t2 = ts.tensor(x)
    t2[key] = 3  # a number broadcasts to the region
    want2 = x.copy()
    want2[key] = 3
    np.testing.assert_array_equal(t2.numpy(), want2)


@pytest.mark.parametrize("how", ["set", "add", "multiply", "min", "max"])
@pytest.mark.parametrize("key", [(slice(1, None), slice(None, None, 2)), ([3, 0],), (slice(None), [1, 1, 4])], ids=str)
def test_at_updates_are_functional(how, key):
    x = RNG.standard_normal((4, 5))
    v = RNG.standard_normal(x[key].shape)
    t = ts.tensor(x)
    got = getattr(t.at[key], how)(ts.tensor(v)).numpy()
    np.testing.assert_array_equal(t.numpy(), x)  # unchanged
    want = x.copy()
    if how == "add":
        np.add.at(want, key, v)  # repeated indices add up, as JAX's .at[].add
    else:
        fn = {"set": lambda a, b: b, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}[how]
        want[key] = fn(x[key], v)
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_at_updates_trace_and_differentiate():
    def f(x, v):
        y = x.at[1:, 0].set(v * 2.0)
        z = y.at[0].add(v.sum())
        return ts.sum(z ** 2, axis=None)

    x, v = RNG.standard_normal((3, 2)), RNG.standard_normal(2)

    def tf(x, v):
        y = x.clone()
        y[1:, 0] = v * 2
        y[0] = y[0] + v.sum()
        return (y ** 2).sum()

    want = torch.func.grad(tf, argnums=(0, 1))(torch.tensor(x), torch.tensor(v))
    for fn in (ts.grad(f, argnums=(0, 1)), ts.jit(ts.grad(f, argnums=(0, 1)))):
        got = fn(ts.tensor(x), ts.tensor(v))
        for a, b in zip(got, want):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-13)


def test_setitem_in_traces():
    @ts.jit
    def f(x):
        y = x * 2
        y[0, ::-1] = ts.tensor([1.0, 2.0])
        return y

    np.testing.assert_array_equal(f(ts.ones(2, 2)).numpy(), [[2.0, 1.0], [2.0, 2.0]])

    @ts.jit
    def g(x):
        y = x * 2
        z = y + 1  # y was read: writing into it now would change z's input
        y[0] = 5.0
        return z

    with pytest.raises(ts.TracingError, match="already read by another op"):
        g(ts.ones(2))
    with pytest.raises(ts.ShapeError, match="does not broadcast"):
        ts.zeros(3, 4)[0] = ts.ones(5)
    with pytest.raises(ts.TesseraIndexError, match="out of range"):
        ts.zeros(3)[5] = 1.0


@pytest.mark.parametrize("shape", [(1,), (5,), (3, 4), (2, 1, 3)])
def test_rearranging_functions_match_numpy(shape):
    x = RNG.standard_normal(shape)
    t = ts.tensor(x)
    for axis in [None, 0, -1, tuple(range(len(shape)))]:
        np.testing.assert_array_equal(ts.flip(t, axis=axis).numpy(), np.flip(x, axis))
    for shift, axis in [(2, None), (-1, 0), (7, -1)]:
        got = ts.roll(t, shift=[shift], axis=None if axis is None else [axis]).numpy()
        np.testing.assert_array_equal(got, np.roll(x, shift, axis))
    for r, axis in [(3, None), (2, 0), (1, -1), (0, 0)]:
        np.testing.assert_array_equal(ts.repeat(t, repeats=r, axis=axis).numpy(), np.repeat(x, r, axis))
    for reps in [(2,), (1, 3), (2, 1, 2, 1)]:
        np.testing.assert_array_equal(ts.tile(t, reps=list(reps)).numpy(), np.tile(x, reps))
    if len(shape) >= 2:
        for k in (-1, 0, 2):
            np.testing.assert_array_equal(ts.triu(t, diagonal=k).numpy(), np.triu(x, k))


def test_creation_functions():
    np.testing.assert_array_equal(ts.eye(3).numpy(), np.eye(3, dtype=np.float32))
    np.testing.assert_array_equal(ts.eye(2, 4, k=1, dtype="i32").numpy(), np.eye(2, 4, 1, dtype=np.int32))
    for args in [(0, 1, 5), (2.5, -1, 7), (0, 1, 1), (0, 1, 0)]:
        np.testing.assert_allclose(ts.linspace(*args, dtype="f64").numpy(), np.linspace(*args), rtol=1e-15)
    np.testing.assert_allclose(ts.linspace(0, 1, 4, endpoint=False).numpy(), np.linspace(0, 1, 4, endpoint=False))
    np.testing.assert_allclose(ts.logspace(0, 3, 4, dtype="f64").numpy(), np.logspace(0, 3, 4), rtol=1e-15)
    a, b = ts.arange(3), ts.arange(4)
    for indexing in ("xy", "ij"):
        for got, want in zip(ts.meshgrid(a, b, indexing=indexing),
                             np.meshgrid(np.arange(3), np.arange(4), indexing=indexing)):
            np.testing.assert_array_equal(got.numpy(), want)
    x = ts.ones(2, 3, dtype="f16")
    assert ts.zeros_like(x).dtype == ts.float16 and ts.full_like(x, 7, dtype="i32").tolist() == [[7] * 3] * 2
    assert ts.ones_like(x).shape == (2, 3) and ts.empty_like(x).shape == (2, 3)


def test_random_integers_and_coin_flips():
    r = ts.randint(-3, 9, (20000,), seed=5).numpy()
    assert r.dtype == np.int64 and r.min() == -3 and r.max() == 8
    counts = np.bincount(r + 3)
    assert np.all(np.abs(counts / len(r) - 1 / 12) < 0.01)
    assert np.array_equal(ts.randint(10, size=(5,), seed=1).numpy(), ts.randint(10, size=(5,), seed=1).numpy())
    b = ts.bernoulli(0.3, (20000,), seed=2).numpy()
    assert b.dtype == bool and abs(b.mean() - 0.3) < 0.015
    p = ts.tensor([0.0, 1.0, 0.5])
    assert ts.bernoulli(p, seed=3).numpy()[:2].tolist() == [False, True]
    with pytest.raises(ts.TesseraValueError, match="high .* must be greater than low"):
        ts.randint(5, 5)


def test_losses_match_torch():
    x, y = RNG.standard_normal((5, 4)), RNG.uniform(0, 1, (5, 4))
    p = RNG.uniform(0.01, 0.99, (5, 4))
    for red in ("mean", "sum", "none"):
        np.testing.assert_allclose(ts.binary_cross_entropy(ts.tensor(p), ts.tensor(y), reduction=red).numpy(),
                                   F.binary_cross_entropy(torch.tensor(p), torch.tensor(y), reduction=red).numpy(),
                                   rtol=1e-13)
        np.testing.assert_allclose(
            ts.binary_cross_entropy_with_logits(ts.tensor(x * 30), ts.tensor(y), reduction=red).numpy(),
            F.binary_cross_entropy_with_logits(torch.tensor(x * 30), torch.tensor(y), reduction=red).numpy(),
            rtol=1e-13)
    assert np.isfinite(ts.binary_cross_entropy(ts.tensor([0.0, 1.0], dtype="f64"),
                                               ts.tensor([1.0, 0.0], dtype="f64")).item())
    lp = np.log(RNG.dirichlet(np.ones(4), 6))
    labels = RNG.integers(0, 4, 6)
    labels[2] = -100
    for red in ("mean", "sum", "none"):
        np.testing.assert_allclose(
            ts.nll_loss(ts.tensor(lp), ts.tensor(labels), reduction=red, ignore_index=-100).numpy(),
            F.nll_loss(torch.tensor(lp), torch.tensor(labels), reduction=red).numpy(), rtol=1e-13)
    q = RNG.dirichlet(np.ones(4), 6)
    q[0, 1] = 0.0
    for red in ("sum", "batchmean", "none", "mean"):
        np.testing.assert_allclose(ts.kl_div(ts.tensor(lp), ts.tensor(q), reduction=red).numpy(),
                                   F.kl_div(torch.tensor(lp), torch.tensor(q), reduction=red).numpy(), rtol=1e-13)
    np.testing.assert_allclose(ts.kl_div(ts.tensor(lp), ts.tensor(np.log(q + 0.1)), log_target=True).numpy(),
                               F.kl_div(torch.tensor(lp), torch.tensor(np.log(q + 0.1)), log_target=True).numpy(),
                               rtol=1e-13)


def test_norms_match_torch():
    x = RNG.standard_normal((4, 6, 3, 5))
    w, b = RNG.standard_normal(6), RNG.standard_normal(6)
    tx, tw, tb = map(torch.tensor, (x, w, b))
    np.testing.assert_allclose(ts.batch_norm(ts.tensor(x), ts.tensor(w), ts.tensor(b)).numpy(),
                               F.batch_norm(tx, None, None, tw, tb, training=True).numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ts.instance_norm(ts.tensor(x), ts.tensor(w), ts.tensor(b)).numpy(),
                               F.instance_norm(tx, weight=tw, bias=tb).numpy(), rtol=1e-12, atol=1e-13)
    for groups in (1, 2, 3, 6):
        np.testing.assert_allclose(ts.group_norm(ts.tensor(x), ts.tensor(w), ts.tensor(b), num_groups=groups).numpy(),
                                   F.group_norm(tx, groups, tw, tb).numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ts.batch_norm(ts.tensor(x[:, :, 0, 0])).numpy(),
                               F.batch_norm(tx[:, :, 0, 0], None, None, training=True).numpy(), rtol=1e-12, atol=1e-13)
    with pytest.raises(ts.TesseraValueError, match="num_groups 4 must divide the channels 6"):
        ts.group_norm(ts.tensor(x), num_groups=4)
    with pytest.raises(ts.ShapeError, match=r"batch_norm: weight must have shape \[6\]"):
        ts.batch_norm(ts.tensor(x), ts.ones(5, dtype="f64"))


def test_pytrees():
    P = collections.namedtuple("P", "w b")

    class Box:
        def __init__(self, items):
            self.items = items

    ts.register_pytree_node(Box, lambda b: (b.items, None), lambda aux, ch: Box(list(ch)))
    tree = {"p": P(ts.ones(2), ts.zeros(2)), "box": Box([ts.ones(3)]), "n": None}
    leaves, treedef = ts.tree_flatten(tree)
    assert len(leaves) == 3 and ts.tree_unflatten(treedef, leaves)["p"].w is leaves[1]
    doubled = ts.tree_map(lambda t: t * 2, tree)
    assert doubled["box"].items[0].tolist() == [2.0] * 3 and doubled["n"] is None
    g = ts.grad(lambda t: ts.sum(t["p"].w * t["box"].items[0][:2], axis=None))(tree)
    assert isinstance(g["p"], P) and g["p"].w.tolist() == [1.0, 1.0] and g["box"].items[0].tolist() == [1.0, 1.0, 0.0]
    f = ts.jit(lambda t: t["p"].w + t["box"].items[0][1:])
    assert f(tree).tolist() == [2.0, 2.0]
    with pytest.raises(ts.TesseraValueError, match="differ in structure"):
        ts.tree_map(lambda a, b: a, {"a": 1}, {"b": 1})
