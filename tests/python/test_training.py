"""Whole programs: gradients of multi-op models against PyTorch autograd, and a 2-layer MLP
that learns a synthetic classification task with tessera.grad and plain SGD, eagerly and under
@tessera.jit with the same numbers."""
import numpy as np
import pytest

import tessera as ts

torch = pytest.importorskip("torch")


def cross_entropy(logits, labels, classes):
    """Mean cross-entropy from logits and integer labels, from primitives (stable logsumexp)."""
    m = ts.max(logits, axis=1, keepdims=True)
    lse = ts.log(ts.sum(ts.exp(logits - m), axis=1, keepdims=True)) + m
    picked = ts.sum(ts.one_hot(labels, num_classes=classes, dtype=logits.dtype.short) * (logits - lse), axis=1)
    return -ts.mean(picked, axis=0)


def mlp_loss(params, x, labels, classes):
    h = ts.relu(x @ params["w1"] + params["b1"])
    return cross_entropy(h @ params["w2"] + params["b2"], labels, classes)


def init(rng, d_in, hidden, classes, dtype=np.float32):
    return {"w1": (rng.standard_normal((d_in, hidden)) / np.sqrt(d_in)).astype(dtype),
            "b1": np.zeros(hidden, dtype),
            "w2": (rng.standard_normal((hidden, classes)) / np.sqrt(hidden)).astype(dtype),
            "b2": np.zeros(classes, dtype)}


def test_mlp_gradients_match_torch_autograd():
    rng = np.random.default_rng(0)
    n, d, hidden, classes = 13, 7, 11, 5
    params = init(rng, d, hidden, classes, np.float64)
    params["b1"] = rng.standard_normal(hidden)
    x, labels = rng.standard_normal((n, d)), rng.integers(0, classes, n)

    grads = ts.grad(mlp_loss)({k: ts.tensor(v) for k, v in params.items()}, ts.tensor(x), ts.tensor(labels), classes)

    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h = torch.relu(torch.tensor(x) @ tp["w1"] + tp["b1"])
    torch.nn.functional.cross_entropy(h @ tp["w2"] + tp["b2"], torch.tensor(labels)).backward()
    for k in params:
        np.testing.assert_allclose(grads[k].numpy(), tp[k].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)


def test_layernorm_attention_block_gradients_match_torch():
    rng = np.random.default_rng(1)
    s, d = 6, 8
    x, wq, wk, wv = (rng.standard_normal(shape) for shape in [(s, d), (d, d), (d, d), (d, d)])
    gamma, beta = rng.standard_normal(d), rng.standard_normal(d)

    def block(x, wq, wk, wv, gamma, beta):
        mu = ts.mean(x, axis=-1, keepdims=True)
        var = ts.var(x, axis=-1, keepdims=True)
        xn = (x - mu) / ts.sqrt(var + 1e-5) * gamma + beta
        q, k, v = xn @ wq, xn @ wk, xn @ wv
        scores = (q @ k.T) * (1.0 / np.sqrt(d))
        m = ts.max(scores, axis=-1, keepdims=True)
        e = ts.exp(scores - m)
        attn = e / ts.sum(e, axis=-1, keepdims=True)
        return ts.sum(ts.sum((attn @ v) * xn, axis=1), axis=0)

    args = [x, wq, wk, wv, gamma, beta]
    grads = ts.grad(block, argnums=tuple(range(6)))(*[ts.tensor(a) for a in args])

    t = [torch.tensor(a, requires_grad=True) for a in args]
    xn = torch.nn.functional.layer_norm(t[0], (d,), t[4], t[5], eps=1e-5)
    q, k, v = xn @ t[1], xn @ t[2], xn @ t[3]
    attn = torch.softmax((q @ k.T) / np.sqrt(d), dim=-1)
    ((attn @ v) * xn).sum().backward()
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g.numpy(), t[i].grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=f"argument {i}")


def make_blobs(rng, n, d, classes):
    centers = rng.standard_normal((classes, d)) * 3
    labels = rng.integers(0, classes, n)
    return (centers[labels] + rng.standard_normal((n, d))).astype(np.float32), labels


def train(step_fn, params, x, labels, steps, lr):
    losses = []
    for _ in range(steps):
        loss, grads = step_fn(params, x, labels)
        params = {k: params[k] - grads[k] * lr for k in params}
        losses.append(loss.item())
    return params, losses


@pytest.mark.parametrize("use_jit", [False, True], ids=["eager", "jit"])
def test_mlp_trains_with_sgd(use_jit):
    rng = np.random.default_rng(2)
    classes = 3
    x, labels = make_blobs(rng, 96, 4, classes)
    params = {k: ts.tensor(v) for k, v in init(rng, 4, 16, classes).items()}
    step = ts.value_and_grad(lambda p, x, y: mlp_loss(p, x, y, classes))
    if use_jit:
        step = ts.jit(step)
    params, losses = train(step, params, ts.tensor(x), ts.tensor(labels), 60, 0.5)
    assert losses[0] > 0.5 and losses[-1] < 0.15, losses[::10]


def test_jit_and_eager_training_give_the_same_numbers():
    rng = np.random.default_rng(3)
    x, labels = make_blobs(rng, 32, 4, 3)
    start = {k: ts.tensor(v) for k, v in init(rng, 4, 8, 3).items()}
    step = ts.value_and_grad(lambda p, x, y: mlp_loss(p, x, y, 3))
    _, eager = train(step, start, ts.tensor(x), ts.tensor(labels), 5, 0.3)
    _, jitted = train(ts.jit(step), start, ts.tensor(x), ts.tensor(labels), 5, 0.3)
    assert eager == jitted
