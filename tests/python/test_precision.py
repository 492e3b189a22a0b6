"""Mixed precision: bf16 compute with float32 master weights matches float32 training to bf16
tolerance; dynamic loss scaling halves on overflow (skipping the step), grows after a period of
finite steps, and the whole float16 step jits."""
import numpy as np

import tessera as ts
from tessera import nn, optim, precision

RNG = np.random.default_rng()


def data():
    x = RNG.standard_normal((32, 8)).astype(np.float32)
    y = RNG.standard_normal((32, 2)).astype(np.float32)
    return ts.tensor(x), ts.tensor(y)


def loss_fn(m, x, y):
    return ts.mean((m(x).astype("f32") - y) ** 2)


def test_bf16_compute_with_float32_master_weights():
    model = nn.MLP(8, 32, 2, seed=1)
    x, y = data()
    policy = precision.Policy("f32", "bf16", "f32")
    loss16, g16 = ts.value_and_grad(lambda m: loss_fn(policy.cast_to_compute(m), policy.cast_to_compute(x), y))(model)
    loss32, g32 = ts.value_and_grad(lambda m: loss_fn(m, x, y))(model)
    assert abs(loss16.item() - loss32.item()) < 2e-2 * abs(loss32.item())
    for (name, a), (_, b) in zip(g16.named_parameters(), g32.named_parameters()):
        assert a.dtype == ts.float32, name  # the cast's derivative casts back
        err = np.abs(a.numpy() - b.numpy()).max() / np.abs(b.numpy()).max()
        assert err < 5e-2, (name, err)  # bf16 keeps 8 mantissa bits


def test_dynamic_loss_scale_adjusts():
    s = precision.DynamicLossScale(1024.0, period=3, min_scale=256.0)
    yes, no = ts.tensor(True), ts.tensor(False)
    history = []
    for finite in [yes, yes, yes, yes, no, no, no, yes]:
        s = s.adjust(finite)
        history.append((s.loss_scale.item(), s.good_steps.item()))
    assert history == [(1024.0, 1), (1024.0, 2), (2048.0, 0), (2048.0, 1), (1024.0, 0), (512.0, 0), (256.0, 0),
                       (256.0, 1)]


def test_float16_step_skips_overflow_and_jits():
    model = nn.MLP(8, 16, 2, seed=2)
    x, y = data()
    policy = precision.Policy("f32", "f16", "f32")
    opt = optim.SGD(0.05)

    @ts.jit
    def step(model, state, scale):
        loss, grads = ts.value_and_grad(
            lambda m: scale.scale(loss_fn(policy.cast_to_compute(m), policy.cast_to_compute(x), y)))(model)
        grads = scale.unscale(grads)
        finite = precision.all_finite(grads)
        new_model, new_state = opt.update(grads, state, model)
        model, state = precision.select(finite, (new_model, new_state), (model, state))
        return model, state, scale.adjust(finite), finite

    state = opt.init(model)
    scale = precision.DynamicLossScale(2.0 ** 24, period=1000)  # overflows f16 (max 65504) at once
    before = model.up.weight.numpy()
    model, state, scale, finite = step(model, state, scale)
    assert not finite.item() and scale.loss_scale.item() == 2.0 ** 23
    np.testing.assert_array_equal(model.up.weight.numpy(), before)  # the step was skipped
    for _ in range(30):
        model, state, scale, finite = step(model, state, scale)
    assert finite.item() and scale.loss_scale.item() < 2.0 ** 23  # halved until the gradients fit f16
    assert loss_fn(model, x, y).item() < loss_fn(nn.MLP(8, 16, 2, seed=2), x, y).item()


def test_loss_scale_never_grows_to_infinity():
    s = precision.DynamicLossScale(2.0 ** 127, period=1)  # float32: doubling overflows
    s = s.adjust(ts.tensor(True))
    assert s.loss_scale.item() == 2.0 ** 127
