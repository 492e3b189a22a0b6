"""The Navier-Stokes PINN training step (examples/models/pinn_navier_stokes) in Tessera and in
PyTorch (torch.func: vmap over points of nested grad, then the parameter gradient and Adam), the
same network, points and float64 data, timed in one run. The losses of the two at the same
weights are compared first. Ratio = PyTorch time / Tessera time (> 1: Tessera is faster).

    python bench/pinn_cpu.py [--size ci|full] [--out results.md]
"""
import argparse
import datetime
import os
import platform
import sys

import numpy as np
from cpu_ops import bench, fmt_time
from report import publish

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "models",
                                "pinn_navier_stokes"))
import torch  # noqa: E402
from pinn import NU, StreamNet, loss_fn, points, training_step  # noqa: E402
from torch.func import functional_call, grad, vmap  # noqa: E402
from train import SIZES  # noqa: E402

from tessera import optim  # noqa: E402

torch.set_num_threads(os.cpu_count() or 1)


def torch_model(model):
    layers = []
    for lin in model.layers:
        t = torch.nn.Linear(lin.in_features, lin.out_features).double()
        t.weight.data, t.bias.data = torch.from_dlpack(lin.weight).clone(), torch.from_dlpack(lin.bias).clone()
        layers.append(t)
    seq = torch.nn.Sequential(*[m for t in layers[:-1] for m in (t, torch.nn.Tanh())], layers[-1])
    return seq


def torch_loss(seq, params, inner, known, uv):
    def out(q):
        return functional_call(seq, params, (q,))
    psi = lambda q: out(q)[0]  # noqa: E731
    p = lambda q: out(q)[1]  # noqa: E731
    u = lambda q: grad(psi)(q)[1]  # noqa: E731
    v = lambda q: -grad(psi)(q)[0]  # noqa: E731

    def residual(q):
        du, dv, dp = grad(u)(q), grad(v)(q), grad(p)(q)
        u_xx = grad(lambda r: grad(u)(r)[0])(q)[0]
        u_yy = grad(lambda r: grad(u)(r)[1])(q)[1]
        v_xx = grad(lambda r: grad(v)(r)[0])(q)[0]
        v_yy = grad(lambda r: grad(v)(r)[1])(q)[1]
        uq, vq = u(q), v(q)
        rx = du[2] + uq * du[0] + vq * du[1] + dp[0] - NU * (u_xx + u_yy)
        ry = dv[2] + uq * dv[0] + vq * dv[1] + dp[1] - NU * (v_xx + v_yy)
        return rx, ry
    rx, ry = vmap(residual)(inner)
    g = vmap(grad(psi))(known)
    fit = ((g[:, 1] - uv[:, 0]) ** 2 + (-g[:, 0] - uv[:, 1]) ** 2).mean()
    return (rx ** 2 + ry ** 2).mean() + fit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="ci", choices=sorted(SIZES))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    hidden, n_in, n_b = SIZES[args.size]
    model = StreamNet(hidden, seed=0)
    inner, known, uv = points(np.random.default_rng(0), n_in, n_b)
    opt = optim.Adam(1e-3)
    state = opt.init(model)
    step = training_step(opt, inner, known, uv)

    seq = torch_model(model)
    params = {k: v.detach().requires_grad_() for k, v in seq.named_parameters()}
    tin, tkn, tuv = (torch.from_dlpack(x).clone() for x in (inner, known, uv))
    topt = torch.optim.Adam(params.values(), 1e-3)
    want = torch_loss(seq, params, tin, tkn, tuv).item()
    got = loss_fn(model, inner, known, uv).item()
    if abs(got - want) > 1e-10 * abs(want):
        raise SystemExit(f"the losses differ: Tessera {got}, PyTorch {want}")

    def torch_step():
        topt.zero_grad()
        loss = torch_loss(seq, params, tin, tkn, tuv)
        loss.backward()
        topt.step()
        return loss

    holder = [model, state]

    def tessera_step():
        holder[0], holder[1], loss = step(holder[0], holder[1])
        return loss.item()

    t_ts = bench(tessera_step, reps=10, min_time=1.0)
    t_torch = bench(lambda: torch_step().item(), reps=10, min_time=1.0)
    lines = [f"# Navier-Stokes PINN training step, {datetime.date.today()}, "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, float64", "",
             f"torch {torch.__version__} (torch.func); size {args.size}: hidden {hidden}, {n_in} interior + "
             f"{2 * n_b} boundary/initial points; median step (forward, third derivatives, parameter gradient, "
             "Adam); the losses agree to 1e-10 before timing.", "",
             "| | ms/step | ratio |", "|---|---|---|",
             f"| Tessera (jit) | {fmt_time(t_ts)} | {t_torch / t_ts:.2f}x |",
             f"| PyTorch (torch.func, eager) | {fmt_time(t_torch)} | — |"]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
