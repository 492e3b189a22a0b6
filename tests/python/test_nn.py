"""tessera.nn: modules as pytrees (grad, jit, train/eval), state_dict interchange with PyTorch,
layers against torch.nn with the same weights (float64: 1e-12), seeded initialisers."""
import math

import numpy as np
import pytest
import torch

import tessera as ts
from tessera import nn, optim

RNG = np.random.default_rng()


def to_torch(module, torch_module):
    torch_module = torch_module.double()  # before loading: a float32 module would round the weights
    torch_module.load_state_dict({k: torch.from_dlpack(v) for k, v in module.state_dict().items()})
    return torch_module


def close(got, want, tol=1e-12):
    np.testing.assert_allclose(np.asarray(got.numpy(), np.float64), want.detach().numpy(), rtol=tol, atol=tol)


F64 = ts.float64


@pytest.mark.parametrize("case", ["linear", "linear_nobias", "conv1d", "conv2d", "embedding", "layernorm", "rmsnorm"])
def test_layers_match_torch(case):
    make = {
        "linear": (lambda: nn.Linear(7, 5, seed=3, dtype=F64), lambda: torch.nn.Linear(7, 5), (4, 7)),
        "linear_nobias": (lambda: nn.Linear(7, 5, bias=False, dtype=F64), lambda: torch.nn.Linear(7, 5, bias=False),
                          (2, 3, 7)),
        "conv1d": (lambda: nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2, dtype=F64),
                   lambda: torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2), (2, 4, 11)),
        "conv2d": (lambda: nn.Conv2d(3, 5, (3, 2), padding=1, dtype=F64),
                   lambda: torch.nn.Conv2d(3, 5, (3, 2), padding=1), (2, 3, 7, 6)),
        "embedding": (lambda: nn.Embedding(11, 4, dtype=F64), lambda: torch.nn.Embedding(11, 4), None),
        "layernorm": (lambda: nn.LayerNorm(6, dtype=F64), lambda: torch.nn.LayerNorm(6), (3, 6)),
        "rmsnorm": (lambda: nn.RMSNorm(6, dtype=F64), lambda: torch.nn.RMSNorm(6, eps=1e-6), (3, 6)),
    }
    ours, theirs, shape = make[case]
    m = ours()
    assert set(m.state_dict()) == set(theirs().state_dict())  # PyTorch's names and layouts
    t = to_torch(m, theirs())
    x = RNG.integers(0, 11, (3, 5)) if shape is None else RNG.standard_normal(shape)
    close(m(ts.tensor(x)), t(torch.tensor(x)))


def test_default_initialisation_follows_torch_bounds():
    lin = nn.Linear(400, 300, seed=1)
    w = lin.weight.numpy()
    bound = 1 / math.sqrt(400)
    assert w.min() >= -bound and w.max() <= bound and abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    again = nn.Linear(400, 300, seed=1).weight.numpy()
    other = nn.Linear(400, 300, seed=2).weight.numpy()
    assert np.array_equal(w, again) and not np.array_equal(w, other)
    assert not np.array_equal(lin.weight.numpy()[0, :300], lin.bias.numpy())  # separate streams


@pytest.mark.parametrize("name, std", [("xavier_normal", math.sqrt(2 / (200 + 300))),
                                       ("kaiming_normal", math.sqrt(2) / math.sqrt(200)), ("normal", 1.0)])
def test_normal_initialisers_have_their_std(name, std):
    kwargs = {"nonlinearity": "relu"} if name == "kaiming_normal" else {}
    x = getattr(nn.init, name)((300, 200), seed=5, dtype=F64, **kwargs).numpy()
    assert abs(x.std() - std) < 0.02 * std and abs(x.mean()) < 0.02 * std


def test_uniform_initialisers_and_trunc_normal():
    xu = nn.init.xavier_uniform((300, 200), seed=1).numpy()
    assert np.abs(xu).max() <= math.sqrt(6 / 500)
    ku = nn.init.kaiming_uniform((50, 20, 3, 3), nonlinearity="relu", seed=2).numpy()
    assert np.abs(ku).max() <= math.sqrt(2) * math.sqrt(3 / 180)
    tn = nn.init.trunc_normal((200000,), std=0.02, seed=3, dtype=F64).numpy()
    assert np.abs(tn).max() <= 0.04 + 1e-12
    want_std = 0.02 * math.sqrt(1 - 2 * 2 * math.exp(-2) / math.sqrt(2 * math.pi) / math.erf(2 / math.sqrt(2)))
    assert abs(tn.std() - want_std) < 0.01 * want_std


class Net(nn.Module):
    def __init__(self, seed=0):
        self.blocks = [nn.Linear(4, 8, seed=seed, dtype=F64), nn.Linear(8, 2, seed=seed + 1, dtype=F64)]
        self.drop = nn.Dropout(0.5)
        self.scale = 2.0

    def __call__(self, x, key=None):
        h = ts.tanh(self.blocks[0](x))
        return self.blocks[1](self.drop(h, key)) * self.scale


def test_modules_are_pytrees_for_grad_and_jit():
    net = Net().eval()
    x = ts.tensor(RNG.standard_normal((5, 4)))
    grads = ts.grad(lambda m, x: ts.sum(m(x) ** 2))(net, x)
    assert isinstance(grads, Net) and grads.scale == 2.0
    assert [n for n, _ in grads.named_parameters()] == [n for n, _ in net.named_parameters()]
    # the same gradient by hand in torch
    p = {k: torch.from_dlpack(v).clone().requires_grad_() for k, v in net.state_dict().items()}
    xt = torch.tensor(x.numpy())
    h = torch.tanh(xt @ p["blocks.0.weight"].T + p["blocks.0.bias"])
    ((h @ p["blocks.1.weight"].T + p["blocks.1.bias"]) * 2.0).pow(2).sum().backward()
    for name, g in grads.named_parameters():
        close(g, p[name].grad)
    f = ts.jit(lambda m, x: m(x))
    close(f(net, x), torch.from_dlpack(net(x)))


def test_train_and_eval_modes():
    net = Net()
    x = ts.tensor(RNG.standard_normal((64, 4)))
    with pytest.raises(ValueError, match="Dropout: training mode needs a key"):
        net(x)
    a, b = net(x, key=1).numpy(), net(x, key=2).numpy()
    assert not np.allclose(a, b)
    net.eval()
    assert not net.training and not net.drop.training
    np.testing.assert_array_equal(net(x).numpy(), net(x, key=1).numpy())
    f = ts.jit(lambda m, x: m(x, key=3))
    net.train()
    train_out = f(net, x).numpy()
    assert np.allclose(train_out, net(x, key=3).numpy())
    assert not np.allclose(train_out, f(net.eval(), x).numpy())  # the mode is part of the compiled key


def test_state_dict_round_trip_and_errors():
    a, b = Net(seed=1), Net(seed=7)
    b.load_state_dict(a.state_dict())
    for (n1, t1), (n2, t2) in zip(a.named_parameters(), b.named_parameters()):
        assert n1 == n2 and np.array_equal(t1.numpy(), t2.numpy())
    sd = a.state_dict()
    with pytest.raises(ts.TesseraValueError, match=r"missing \['blocks.1.bias'\]; unexpected \['extra'\]"):
        b.load_state_dict({**{k: v for k, v in sd.items() if k != "blocks.1.bias"}, "extra": ts.zeros(2)})
    with pytest.raises(ts.ShapeError, match=r"blocks.0.weight: shape \(4, 8\) != \(8, 4\)"):
        b.load_state_dict({**sd, "blocks.0.weight": ts.zeros(4, 8, dtype=F64)})
    with pytest.raises(ts.DTypeError, match="blocks.0.bias has dtype float32"):
        b.load_state_dict({**sd, "blocks.0.bias": ts.zeros(8)})
    b.load_state_dict({k: v.numpy() for k, v in sd.items()})  # arrays too


def test_sequential_mlp_swiglu():
    mlp = nn.MLP(6, 16, 3, seed=2, dtype=F64)
    t = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.GELU(), torch.nn.Linear(16, 3)).double()
    t[0].weight.data, t[0].bias.data = torch.from_dlpack(mlp.up.weight), torch.from_dlpack(mlp.up.bias)
    t[2].weight.data, t[2].bias.data = torch.from_dlpack(mlp.down.weight), torch.from_dlpack(mlp.down.bias)
    x = RNG.standard_normal((4, 6))
    close(mlp(ts.tensor(x)), t(torch.tensor(x)))
    sw = nn.SwiGLU(6, 10, dtype=F64)
    W = {k: torch.from_dlpack(v) for k, v in sw.state_dict().items()}
    xt = torch.tensor(x)
    want = (torch.nn.functional.silu(xt @ W["gate.weight"].T) * (xt @ W["up.weight"].T)) @ W["down.weight"].T
    close(sw(ts.tensor(x)), want)
    seq = nn.Sequential(nn.Linear(6, 4, dtype=F64), nn.Identity())
    assert seq(ts.tensor(x)).shape == (4, 4) and len(seq.parameters()) == 2


def test_checkpoint_recomputes_with_equal_gradients():
    blocks = [nn.MLP(6, 24, seed=i, dtype=F64) for i in range(3)]
    x = ts.tensor(RNG.standard_normal((5, 6)))

    def net(blocks, remat):
        h = x
        for b in blocks:
            h = h + (ts.checkpoint(lambda m, z: m(z))(b, h) if remat else b(h))
        return ts.sum(ts.tanh(h))
    plain = ts.grad(lambda bs: net(bs, False))(blocks)
    remat = ts.grad(lambda bs: net(bs, True))(blocks)
    for a, b in zip(plain, remat):
        for (name, u), (_, v) in zip(a.named_parameters(), b.named_parameters()):
            np.testing.assert_allclose(v.numpy(), u.numpy(), rtol=1e-13, atol=1e-15, err_msg=name)
    f = ts.jit(ts.grad(lambda bs: net(bs, True)))
    f(blocks)
    graph = f.ir("graph")
    assert graph.count("remat_barrier(") >= 3 * 4  # each block: its input and the weights the backward pass reads
    assert graph.count("gelu(") == 2 * 3  # each block's activation computed twice: forward and recomputed


def test_containers_with_functions_nested_config_and_atomic_loading():
    net = nn.Sequential(nn.Linear(3, 4, dtype=F64), ts.relu, nn.Linear(4, 2, dtype=F64))
    x = ts.tensor(RNG.standard_normal((5, 3)))
    opt = optim.Adam(0.01)
    state = opt.init(net)
    grads = ts.grad(lambda m: ts.sum(m(x) ** 2))(net)
    net2, _ = opt.update(grads, state, net)
    assert net2.layers[1] is ts.relu and len(net2.parameters()) == 4
    cfg = nn.Identity()
    cfg.options = [{"a": 1}, {"b": [2, 3]}]
    back = ts.tree_unflatten(*reversed(ts.tree_flatten(cfg)))
    assert back.options == [{"a": 1}, {"b": [2, 3]}]
    lin = nn.Linear(3, 2, dtype=F64)
    before = lin.bias.numpy().copy()
    with pytest.raises(ts.DTypeError, match="weight has dtype float32"):
        lin.load_state_dict({"bias": ts.zeros(2, dtype=F64), "weight": ts.zeros(2, 3)})
    np.testing.assert_array_equal(lin.bias.numpy(), before)  # nothing changed
    pair = nn.Identity()
    pair.ws = (ts.zeros(2, dtype=F64), ts.zeros(3, dtype=F64))
    pair.load_state_dict({"ws.0": np.ones(2), "ws.1": np.full(3, 2.0)})
    assert pair.ws[1].tolist() == [2.0, 2.0, 2.0]


def test_checkpoint_with_non_tensor_arguments():
    x = ts.tensor(RNG.standard_normal(4))
    g = ts.grad(lambda x: ts.sum(ts.checkpoint(lambda x, k, flag: ts.sin(x) * k if flag else x)(x, 2.0, True)))(x)
    np.testing.assert_allclose(g.numpy(), 2.0 * np.cos(x.numpy()), rtol=1e-14)


def test_16_bit_initialisers_draw_in_float32():
    t = nn.init.trunc_normal((100000,), a=-6.0, b=6.0, seed=1, dtype=ts.bfloat16).astype(ts.float32).numpy()
    assert np.isfinite(t).all()
    u = nn.init.uniform((100000,), -0.1, 0.1, seed=2, dtype=ts.bfloat16).astype(ts.float32).numpy()
    assert len(np.unique(u)) > 1000

