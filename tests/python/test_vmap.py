"""vmap against torch.func.vmap and Python loops in float64: every primitive's batching rule
(an op of the registry without one fails the coverage test), in/out axes and pytrees,
composition with grad, jit and itself, control flow inside, closures."""
import numpy as np
import pytest

import tessera as ts
from tessera import _opgen

torch = pytest.importorskip("torch")
tf = torch.func
RNG = np.random.default_rng(11)


def t64(a):
    return ts.tensor(np.asarray(a, dtype=np.float64))


def loop(f, *batched):
    """f applied to each example along axis 0 of every argument, stacked: the reference."""
    outs = [f(*[a[i] for a in batched]) for i in range(len(batched[0]))]
    return np.stack([np.asarray(o) for o in outs])


# op -> (function of one example, example shapes); every batched with in_axes 0 except "None".
CASES = {
    "elementwise": (lambda x, y: ts.where(x > 0, ts.exp(x) * y, ts.atan2(x, y)), [(3, 4), (4,)]),
    "reductions": (lambda x: ts.sum(x, axis=0) + ts.max(x, axis=-1, keepdims=True).sum() + ts.argmax(x, axis=0),
                   [(3, 4)]),
    "matmul-mm": (lambda a, b: a @ b, [(3, 4), (4, 2)]),
    "matmul-vv": (lambda a, b: a @ b, [(4,), (4,)]),
    "matmul-mv": (lambda a, b: a @ b, [(3, 4), (4,)]),
    "matmul-vm": (lambda a, b: a @ b, [(4,), (4, 2)]),
    "matmul-batched": (lambda a, b: a @ b, [(2, 3, 4), (4, 5)]),
    "movement": (lambda x: ts.concat([x.T.reshape(2, 6), ts.pad(x, 1)[1:3, ::-1].reshape(2, -1)[:, :6]], axis=0),
                 [(3, 4)]),
    "squeeze-expand": (lambda x: x.expand_dims(0).squeeze().expand_dims(-1), [(1, 4)]),
    "stack-broadcast": (lambda x: ts.stack([x, ts.broadcast_to(x[:1], shape=[3, 4])], axis=1), [(3, 4)]),
    "take": (lambda x, i: ts.take(x, i, axis=1), [(3, 4), ((2,), "index4")]),
    "take-unbatched-x": (lambda i: ts.take(ts.tensor(np.arange(12.0).reshape(3, 4)), i, axis=1), [((5,), "index4")]),
    "gather": (lambda x, i: ts.gather(x, i, axis=0), [(3, 4), ((2, 4), "index3")]),
    "slice_update": (lambda x, v: x.at[1:, ::2].set(v), [(3, 4), (2, 2)]),
    "tril-onehot": (lambda x, i: ts.tril(x) + ts.one_hot(i, num_classes=4, dtype="f64"), [(4, 4), ((4,), "index4")]),
    "nn": (lambda x, w: ts.cross_entropy(x @ w, ts.argmax(x, axis=1)) + ts.layernorm(x).sum(), [(3, 4), (4, 5)]),
    "conv-pool": (lambda x, w: ts.avg_pool2d(ts.conv2d(x, w, padding=1, groups=2), kernel_size=2)
                  + ts.max_pool2d(ts.conv_transpose2d(x, w), kernel_size=2).sum(), [(4, 5, 6), (4, 2, 3, 3)]),
    "sort-scan": (lambda x: ts.sort(x, axis=0) + ts.cumsum(x, axis=1) * ts.cummax(x, axis=0, reverse=True)
                  + ts.argsort(x, axis=1, descending=True), [(4, 5)]),
    "attention": (lambda q, k, v: ts.scaled_dot_product_attention(q, k, v, is_causal=True), [(5, 4), (5, 4), (5, 3)]),
}


def make(shape):
    if len(shape) == 2 and isinstance(shape[1], str):
        return RNG.integers(0, int(shape[1][5:]), shape[0])
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("case", sorted(CASES))
def test_vmap_matches_a_loop_over_examples(case):
    f, shapes = CASES[case]
    batch = 5
    args = [np.stack([make(s) for _ in range(batch)]) for s in shapes]
    to_ts = lambda a: ts.tensor(a) if a.dtype.kind == "i" else t64(a)  # noqa: E731
    got = ts.vmap(f)(*map(to_ts, args)).numpy()
    want = loop(lambda *xs: f(*map(to_ts, xs)).numpy(), *args)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    jitted = ts.jit(ts.vmap(f))(*map(to_ts, args)).numpy()
    np.testing.assert_allclose(jitted, want, rtol=1e-12, atol=1e-13)


def test_every_primitive_has_a_batching_rule():
    # composites are decomposed first; structural and tile ops never reach vmap
    missing = [s["name"] for s in _opgen.op_specs() if not s["batchable"] and not s["composite"]]
    assert not missing, f"primitive ops without a batching rule: {missing}"


def test_per_example_gradients_match_torch_func():
    w, x, y = RNG.standard_normal((4, 3)), RNG.standard_normal((6, 4)), RNG.integers(0, 3, 6)
    loss = lambda w, x, y: ts.cross_entropy(ts.tanh(x @ w).reshape(1, 3), y.reshape(1))  # noqa: E731
    got = ts.vmap(ts.grad(loss), in_axes=(None, 0, 0))(t64(w), t64(x), ts.tensor(y))
    tloss = lambda w, x, y: torch.nn.functional.cross_entropy(torch.tanh(x @ w).reshape(1, 3), y.reshape(1))  # noqa
    want = tf.vmap(tf.grad(tloss), in_dims=(None, 0, 0))(torch.tensor(w), torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-14)
    # and the gradient of a vmapped function
    g = ts.grad(lambda w: ts.sum(ts.vmap(lambda x: ts.tanh(x @ w))(t64(x)), axis=None))(t64(w))
    np.testing.assert_allclose(g.numpy(), x.T @ (1 - np.tanh(x @ w) ** 2), rtol=1e-13)


def test_axes_pytrees_and_nesting():
    x = RNG.standard_normal((4, 5))
    out = ts.vmap(lambda a: a * 2, in_axes=1, out_axes=1)(t64(x))
    np.testing.assert_allclose(out.numpy(), x * 2)
    d = {"a": RNG.standard_normal((3, 2)), "b": RNG.standard_normal(2)}
    got = ts.vmap(lambda p: p["a"] + p["b"], in_axes=({"a": 0, "b": None},))({k: t64(v) for k, v in d.items()})
    np.testing.assert_allclose(got.numpy(), d["a"] + d["b"])
    outer = ts.vmap(ts.vmap(lambda a, b: a * b), in_axes=(0, None))(t64(x), t64(x[0]))
    np.testing.assert_allclose(outer.numpy(), x * x[0])
    pair = ts.vmap(lambda a: (a.sum(), {"m": a.max()}))(t64(x))
    np.testing.assert_allclose(pair[0].numpy(), x.sum(1))
    np.testing.assert_allclose(pair[1]["m"].numpy(), x.max(1))
    w = t64(RNG.standard_normal(5))
    np.testing.assert_allclose(ts.vmap(lambda a: a * w)(t64(x)).numpy(), x * w.numpy())  # a closure: unbatched


def test_control_flow_inside_vmap():
    xs = RNG.standard_normal((4, 6, 2))
    total = ts.vmap(lambda seq: ts.scan(lambda c, x: (c + x, c * 2), ts.zeros(2, dtype="f64"), seq))(t64(xs))
    np.testing.assert_allclose(total[0].numpy(), xs.sum(1), rtol=1e-14)
    np.testing.assert_allclose(total[1].numpy(), 2 * (np.cumsum(xs, 1) - xs), rtol=1e-14)
    x = RNG.standard_normal((5, 3))
    sel = ts.vmap(lambda a: ts.cond(ts.sum(a, axis=None) > 0, lambda v: v * 10, lambda v: -v, a))(t64(x))
    np.testing.assert_allclose(sel.numpy(), np.where(x.sum(1, keepdims=True) > 0, x * 10, -x))
    powers = ts.vmap(lambda n: ts.while_loop(lambda s: s[0] < n, lambda s: (s[0] + 1, s[1] * 2),
                                             (ts.tensor(0), ts.tensor(1)))[1])(ts.tensor([0, 3, 5]))
    assert powers.tolist() == [1, 8, 32]


def test_vmap_errors():
    with pytest.raises(ts.ShapeError, match="the batched dims differ in size"):
        ts.vmap(lambda a, b: a + b)(ts.ones(3, 2), ts.ones(4, 2))
    with pytest.raises(ts.ShapeError, match="no argument is batched"):
        ts.vmap(lambda a: a, in_axes=None)(ts.ones(3))
    with pytest.raises(ts.TesseraError, match="in_axes has 1 entries for 2 arguments"):
        ts.vmap(lambda a, b: a, in_axes=(0,))(ts.ones(3), ts.ones(3))
