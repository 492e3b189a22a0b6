"""Exported nvptx programs on the GPU: tessera.export for the device's target, loaded by the
runtime and run on CUDA tensors, equal to the jitted function; a program exported for another
architecture is refused; the C program (runtime alone) runs one on the GPU via the C ABI is in
tests/python/test_export_c.py for the CPU. Prints load time and per-call host overhead."""
import time

import numpy as np
import pytest

import tessera as ts
from tessera.errors import DeviceError

RNG = np.random.default_rng()


def block(W1, W2):
    def f(x):
        h = ts.gelu(x @ W1)
        return ts.layernorm(h @ W2 + x, axis=-1)
    return f


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_exported_block_matches_jit_on_cuda(tmp_path, dtype):
    d = 256
    W1 = ts.tensor(RNG.standard_normal((d, 4 * d)).astype(np.float32) / 16, device="cuda").astype(dtype)
    W2 = ts.tensor(RNG.standard_normal((4 * d, d)).astype(np.float32) / 32, device="cuda").astype(dtype)
    x = ts.tensor(RNG.standard_normal((8, 128, d)).astype(np.float32), device="cuda").astype(dtype)
    f = block(W1, W2)
    path = ts.export(f, x, path=tmp_path / "block.tsp")  # the device's default target (sm_90a on H100)
    t0 = time.perf_counter()
    prog = ts.load(path, device="cuda")
    load_s = time.perf_counter() - t0
    got, want = prog(x), ts.jit(f)(x)
    np.testing.assert_array_equal(got.astype(ts.float32).numpy(), want.astype(ts.float32).numpy())
    for _ in range(3):
        prog(x)
    ts.synchronize("cuda")
    t0 = time.perf_counter()
    n = 50
    for _ in range(n):
        prog(x)
    ts.synchronize("cuda")
    per_call = (time.perf_counter() - t0) / n
    gpu = ts.device_properties("cuda")["name"]
    print(f"\nexported GPT-style block ({dtype}) on {gpu}: load {load_s * 1e3:.1f} ms, {per_call * 1e6:.0f} us a call")


def test_program_for_another_architecture_is_refused():
    x = ts.tensor(np.ones((4, 4), np.float32), device="cuda")
    data = ts.export(lambda a: a * 2, x, target="nvptx:sm_100")
    with pytest.raises(DeviceError, match="exported for nvptx:sm_100"):
        ts.load(data, device="cuda")
