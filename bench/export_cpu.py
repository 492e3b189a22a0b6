"""Ahead-of-time export on the CPU: how long tessera.export takes, how long a program file
takes to load (tessera.load; the C ABI's tsrProgramLoad does the same work), and the cost of a
call of the exported program against the same function under @jit in the same process (the
same compiled code: the difference is host overhead). Every exported result is checked
bitwise against jit first. Times are medians after warm-up.

    python bench/export_cpu.py [--out results.md]
"""
import argparse
import datetime
import os
import platform
import tempfile
import time

import numpy as np
from cpu_ops import bench, fmt_time
from report import publish

import tessera as ts

RNG = np.random.default_rng(3)


def tiny():
    x = ts.tensor(RNG.standard_normal(8).astype(np.float32))
    return "x * 2 + 1, 8 floats (overhead only)", (lambda a: a * 2 + 1), (x,)


def mlp():
    model = ts.nn.Sequential(ts.nn.Linear(784, 256, seed=0), ts.gelu, ts.nn.Linear(256, 10, seed=1))
    x = ts.tensor(RNG.standard_normal((32, 784)).astype(np.float32))
    return "MLP 784-256-10, batch 32, weights as constants", model, (x,)


def gpt_block():
    d, s = 256, 128
    W = [ts.tensor(RNG.standard_normal(shape).astype(np.float32) / np.sqrt(shape[0]))
         for shape in ((d, 3 * d), (d, d), (d, 4 * d), (4 * d, d))]

    def block(x):
        q, k, v = ts.split(ts.layernorm(x) @ W[0], 3, axis=-1)
        x = x + ts.scaled_dot_product_attention(q, k, v, is_causal=True) @ W[1]
        return x + ts.gelu(ts.layernorm(x) @ W[2]) @ W[3]

    x = ts.tensor(RNG.standard_normal((4, s, d)).astype(np.float32))
    return f"transformer block (one head) B4 S{s} D{d}", block, (x,)


def run_case(rows, make):
    name, fn, args = make()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = ts.export(fn, *args, path=os.path.join(tmp, "p.tsp"))
        export_s = time.perf_counter() - t0
        size = os.path.getsize(path)
        load_s = bench(lambda: ts.load(path), reps=5, min_time=0.2)
        prog = ts.load(path)
    jitted = ts.jit(fn)
    np.testing.assert_array_equal(prog(*args).numpy(), jitted(*args).numpy())
    arrays = [a._array for a in args]
    # Interleaved rounds, the best median of each: this machine's speed drifts between runs.
    rounds = [(bench(lambda: jitted(*args)), bench(lambda: prog(*args)), bench(lambda: prog._loaded.run(arrays)))
              for _ in range(3)]
    t_jit, t_prog, t_raw = (min(r[i] for r in rounds) for i in range(3))
    rows.append(f"| {name} | {export_s * 1e3:.0f} ms | {size / 1024:.0f} KiB | {fmt_time(load_s)} | "
                f"{fmt_time(t_jit)} | {fmt_time(t_prog)} | {fmt_time(t_raw)} | {t_jit / t_prog:.2f}x |")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=None)
    args = p.parse_args()
    rows = []
    for make in (tiny, mlp, gpt_block):
        run_case(rows, make)
    lines = [f"# Exported programs on the CPU ({datetime.date.today()})", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
             f"tessera {ts.__version__}. `jit` and the exported program run the same code (results equal "
             "bitwise); ratio = jit call / exported call (> 1: the exported call is cheaper).", "",
             "| program | export | file | load | jit call | exported call | runtime call (no Python wrapper) | ratio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |", *rows]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
