"""Kernel-only device times (CUPTI via torch.profiler) of the bench/gpu_memory.py cases, next to
the wall time of a whole jit call: separates kernel speed from per-call overhead (allocation).

    python bench/gpu_memory_profile.py
"""
import time

import torch
from torch.profiler import ProfilerActivity, profile

import tessera as ts

n = 2**28
x = torch.randn(n, device="cuda")
tx = ts.from_dlpack(x)
g = ts.jit(lambda x: ts.ops.gelu(2 * x + 1) * ts.ops.sigmoid(x))
a = torch.randn(2**26, device="cuda")
b = torch.randn(2**26, device="cuda")
ta, tb = ts.from_dlpack(a), ts.from_dlpack(b)
f = ts.jit(lambda x, y: ts.ops.exp(x) * y + x)
s = torch.randn(8192, 8192, device="cuda")
tsm = ts.from_dlpack(s)
sm = ts.jit(lambda x: ts.ops.softmax(x, axis=-1))
rs = ts.jit(lambda x: ts.ops.sum(x, axis=-1))
h = torch.randn(16384, 4096, device="cuda", dtype=torch.bfloat16)
w = torch.randn(4096, device="cuda", dtype=torch.bfloat16)
th, tw = ts.from_dlpack(h), ts.from_dlpack(w)
ln = ts.jit(lambda x, w, b: ts.ops.layernorm(x, w, b))
cases = [("gelu", lambda: g(tx)), ("expmul", lambda: f(ta, tb)), ("softmax", lambda: sm(tsm)),
         ("rowsum", lambda: rs(tsm)), ("layernorm", lambda: ln(th, tw, tw))]
for name, fn in cases:
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA, ProfilerActivity.CPU]) as p:
        for _ in range(5):
            fn()
        torch.cuda.synchronize()
    ev = [e for e in p.events() if e.device_type.name == "CUDA"]
    tot = {}
    for e in ev:
        tot.setdefault(e.name, []).append(e.device_time_total if hasattr(e, 'device_time_total') else e.cuda_time_total)
    print(name, {k: (len(v), round(sum(v)/len(v),1)) for k, v in tot.items()})
    t = time.perf_counter()
    [fn() for _ in range(10)]  # a list: the 10 outputs stay alive until all calls are made
    torch.cuda.synchronize()
    print(name, "wall per call us", round((time.perf_counter()-t)/10*1e6,1))
