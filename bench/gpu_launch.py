"""The launch path (issue 5): host time and time per call of cached `@jit` calls of small
functions whose kernels take a few microseconds, with CUDA graph replay on and off
(TESSERA_CUDA_GRAPHS=0), against torch eager running the same function in the same process.

    python bench/gpu_launch.py [--out results.md]

"host us" is the host time of one call (1000 calls queued without waiting; median of 15 runs);
"us/call" is 1000 calls plus the final synchronisation, divided by 1000: what a loop of such
calls costs when nothing else hides the launch overhead.
"""
import argparse
import datetime
import os
import time

import torch
from report import publish

import tessera as ts


def mlp_block(x, w1, w2, g, b):
    h = ts.ops.layernorm(x, g, b)
    y = ts.ops.gelu(h @ w1) @ w2 + x
    return y


def mlp_block_torch(x, w1, w2, g, b):
    h = torch.nn.functional.layer_norm(x, (x.shape[-1],), g, b)
    return torch.nn.functional.gelu(h @ w1) @ w2 + x


def two_blocks(x, w1, w2, g, b):
    return mlp_block(mlp_block(x, w1, w2, g, b), w1, w2, g, b)


def two_blocks_torch(x, w1, w2, g, b):
    return mlp_block_torch(mlp_block_torch(x, w1, w2, g, b), w1, w2, g, b)


def per_call(fn, calls=1000, runs=15):
    """(host us, us per call with the final synchronisation), medians."""
    fn()
    torch.cuda.synchronize()
    host, total = [], []
    for _ in range(runs):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        t1 = time.perf_counter()
        torch.cuda.synchronize()
        t2 = time.perf_counter()
        host.append((t1 - t0) / calls * 1e6)
        total.append((t2 - t0) / calls * 1e6)
    return sorted(host)[runs // 2], sorted(total)[runs // 2]


def measure(name, f_ts, args_ts, f_torch, args_torch, rtol):
    jf = ts.jit(f_ts)
    got = torch.from_dlpack(jf(*args_ts)).double()
    torch.testing.assert_close(got, f_torch(*[a.double() for a in args_torch]), rtol=rtol, atol=rtol)
    kernels = len(jf._last.exe.kernel_names)
    os.environ["TESSERA_CUDA_GRAPHS"] = "0"
    direct = per_call(lambda: jf(*args_ts))
    os.environ.pop("TESSERA_CUDA_GRAPHS")
    before = jf._last.exe.graph_replays
    graph = per_call(lambda: jf(*args_ts))
    replayed = jf._last.exe.graph_replays > before
    torch_eager = per_call(lambda: f_torch(*args_torch))
    return (name, kernels, replayed, direct, graph, torch_eager)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=None)
    args = p.parse_args()
    rows = []
    x = torch.randn(1024, device="cuda")
    rows.append(measure("x * 2 + 1, 1024 fp32", lambda a: a * 2 + 1, [ts.from_dlpack(x)], lambda a: a * 2 + 1, [x],
                        1e-6))
    for m, d, dtype, tol in ((16, 128, torch.float32, 1e-5), (64, 256, torch.float32, 1e-5),
                             (128, 512, torch.bfloat16, 3e-2)):
        gen = torch.Generator(device="cuda").manual_seed(0)
        r = lambda *s, dtype=dtype, gen=gen: torch.randn(*s, device="cuda", dtype=dtype, generator=gen)  # noqa: E731
        a = [r(m, d), r(d, 4 * d) / d**0.5, r(4 * d, d) / (4 * d)**0.5, 1 + 0.1 * r(d), 0.1 * r(d)]
        ta = [ts.from_dlpack(t) for t in a]
        dt = str(dtype).replace("torch.", "")
        rows.append(measure(f"MLP block {m}x{d} {dt}", mlp_block, ta, mlp_block_torch, a, tol))
        rows.append(measure(f"two MLP blocks {m}x{d} {dt}", two_blocks, ta, two_blocks_torch, a, 2 * tol))

    lines = [f"# Launch path, {datetime.date.today()}, {torch.cuda.get_device_name()}", "",
             f"torch {torch.__version__}. A block is layernorm -> matmul + gelu -> matmul + residual. "
             "host us: host time a call (1000 queued calls, median of 15 runs); us/call: the same "
             "with the final synchronisation. direct = TESSERA_CUDA_GRAPHS=0.", "",
             "| case | kernels | graph replayed | direct host us | graph host us | torch host us | "
             "direct us/call | graph us/call | torch us/call | graph vs torch (us/call) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, kernels, replayed, direct, graph, te in rows:
        lines.append(f"| {name} | {kernels} | {'yes' if replayed else 'no'} | {direct[0]:.1f} | {graph[0]:.1f} | "
                     f"{te[0]:.1f} | {direct[1]:.1f} | {graph[1]:.1f} | {te[1]:.1f} | {te[1] / graph[1]:.2f}x |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
