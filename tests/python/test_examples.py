"""Every example runs and does what it says."""
import pathlib
import runpy
import sys

import numpy as np
import pytest

import tessera as ts

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def test_quickstart_runs(capsys):
    runpy.run_path(str(EXAMPLES / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "max relative difference" in out and "sched.kernel" in out


def test_train_mlp_converges(capsys):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import train_mlp
        final_loss, accuracy = train_mlp.main(steps=60)
    finally:
        sys.path.remove(str(EXAMPLES))
    assert final_loss < 0.3 and accuracy > 0.9


def _example(name):
    sys.path.insert(0, str(EXAMPLES))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(EXAMPLES))


def test_small_gpt_trains_eagerly_and_under_jit_with_the_same_losses():
    gpt = _example("small_gpt")
    eager, eager_times = gpt.train(steps=12, eager=True, log_every=0, dim=64, layers=1, seq=32)
    jitted, _ = gpt.train(steps=12, eager=False, log_every=0, dim=64, layers=1, seq=32)
    np.testing.assert_allclose(eager, jitted, rtol=2e-4)
    assert jitted[-1] < jitted[0] - 0.5
    later = sorted(eager_times[4:])
    assert later[-1] < 3 * later[0] + 0.02  # flat: nothing pending grows from step to step


def test_moe_topk_gradients_match_torch_and_it_trains():
    moe = _example("moe_topk")
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    params = moe.init(rng, dim=8, hidden=16, experts=4)
    x = rng.standard_normal((10, 8)).astype(np.float32)
    target = rng.standard_normal((10, 8)).astype(np.float32)
    g = ts.grad(moe.loss_fn)(params, ts.tensor(x), ts.tensor(target))

    def torch_loss(p, x, target, k=2):
        logits = x @ p["router"]
        top, idx = torch.topk(logits, k)
        gates = torch.softmax(top, -1)
        combine = (torch.nn.functional.one_hot(idx, logits.shape[1]).float() * gates[..., None]).sum(1)
        out = torch.einsum("eth,ehd->etd", torch.nn.functional.gelu(torch.einsum("td,edh->eth", x, p["w1"])), p["w2"])
        y = torch.einsum("te,etd->td", combine, out)
        routed = (combine > 0).float().mean(0) / k
        balance = logits.shape[1] * (routed * torch.softmax(logits, -1).mean(0)).sum()
        return ((y - target) ** 2).mean() + 0.01 * balance

    tp = {k: torch.tensor(v.numpy(), requires_grad=True) for k, v in params.items()}
    torch_loss(tp, torch.tensor(x), torch.tensor(target)).backward()
    for k in params:
        np.testing.assert_allclose(g[k].numpy(), tp[k].grad.numpy(), rtol=2e-4, atol=2e-6, err_msg=k)
    losses, _, _ = moe.train(steps=60, log_every=0)
    assert losses[-1] < 0.9 * losses[0]


def test_pinn_with_nested_grads_trains():
    pinn = _example("pinn_poisson")
    losses, params, _ = pinn.train(steps=200, n=32, log_every=0)
    assert losses[-1] < losses[0] / 100
