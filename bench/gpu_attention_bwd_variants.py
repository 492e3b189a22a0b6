"""The flash-attention backward kernels alone on an NVIDIA Hopper GPU, per Schedule IR variant,
next to torch SDPA's backward in the same run.

    python3 bench/gpu_attention_bwd_variants.py [--shape B H S D] [--variants KNOBS ...] [--out log.txt]

Programs of attention_grad ops only (q, k, v, do and the forward's lse and delta as inputs:
torch computes those), compiled for sm_90a: wrt q (the dq kernel), wrt k and v (the dk/dv
kernel), and all three. Each variant replaces both kernels' knobs ('lanes = 384, mma = "wgmma"[,
overlap = 1], tile = [own rows, streamed rows, stages]'). Results are checked against torch's
gradients (relative error, printed) before timing with triton.testing.do_bench (median). The
SDPA time is its backward alone (autograd with retain_graph)."""
import argparse
import os
import re
import sys

import torch
import triton.testing

import tessera as ts
from tessera import _C
from tessera.tensor import Tensor

F = torch.nn.functional
DEFAULT = r'lanes = 384, mma = "wgmma", (overlap = 1, )?tile = \[[0-9, ]*\]'


def program(shape, causal, wrts):
    b, h, s, d = shape
    t = f"bf16[{b},{h},{s},{d}]"
    body = "\n".join(f'  %d{w} = attention_grad(%q, %k, %v, %g, %lse, %delta) '
                     f'{{causal = {causal}, scale = {d ** -0.5}, wrt = "{w}"}} : {t}' for w in wrts)
    stats = f"f32[{b},{h},{s}]"
    outs = ", ".join([t] * len(wrts))
    return f"""module @m {{
func @main(%q: {t}, %k: {t}, %v: {t}, %g: {t}, %lse: {stats}, %delta: {stats}) -> ({outs}) {{
{body}
  return({', '.join('%d' + w for w in wrts)})
}}
}}
"""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shape", type=int, nargs=4, default=[4, 16, 4096, 128])
    p.add_argument("--variants", nargs="*", default=[])
    p.add_argument("--out", default=None)
    a = p.parse_args()
    b, h, s, d = a.shape
    log = open(a.out, "a") if a.out else sys.stdout
    for causal in ("false", "true"):
        c = causal == "true"
        q, k, v, g = (torch.randn(b, h, s, d, device="cuda", dtype=torch.bfloat16) for _ in range(4))
        xs = [t.clone().requires_grad_() for t in (q, k, v)]
        o = F.scaled_dot_product_attention(*xs, is_causal=c)
        o.backward(g, retain_graph=True)
        want = {n: x.grad.float() for n, x in zip("qkv", xs)}

        # Timed right below, in this iteration. (Default arguments would keep this iteration's tensors and
        # graph alive into the next one.)
        def sdpa_backward():
            for x in xs:  # noqa: B023
                x.grad = None
            o.backward(g, retain_graph=True)  # noqa: B023

        ms_ref = triton.testing.do_bench(sdpa_backward, warmup=10, rep=100, return_mode="median")
        lse = torch.empty(b, h, s, device="cuda")
        for i in range(b):  # one batch at a time: the S x S scores of all of them would not fit
            sc = (q[i].float() @ k[i].float().transpose(-1, -2)) * d ** -0.5
            if c:
                sc = sc.masked_fill(torch.ones(s, s, device="cuda", dtype=torch.bool).triu(1), float("-inf"))
            lse[i] = torch.logsumexp(sc, -1)
            del sc
        delta = (g.float() * o.detach().float()).sum(-1)
        arrays = [_C.from_dlpack(t, None, None) for t in (q, k, v, g, lse, delta)]
        flop = 10.0 * b * h * s * s * d / (2 if c else 1)
        print(f"causal={causal}: SDPA backward {ms_ref:.3f} ms ({flop / ms_ref / 1e9:.0f} TFLOP/s)", file=log,
              flush=True)
        for variant in ["default"] + a.variants:
            for wrts in ("q", "kv", "qkv"):
                sched = ts.compile_for_target(program(a.shape, causal, wrts), "nvptx:sm_90a")["schedule"]
                if variant != "default":
                    sched = re.sub(DEFAULT, variant, sched)
                exe = _C.compile(sched, "cuda:0", "nvptx:sm_90a")
                os.environ["TESSERA_POISON_OUTPUTS"] = "1"
                got = [torch.from_dlpack(Tensor._from_array(x)).float() for x in exe.run(arrays)]
                os.environ.pop("TESSERA_POISON_OUTPUTS")
                errs = [((x - want[w]).abs().max() / want[w].abs().max()).item() for x, w in zip(got, wrts)]
                ms = triton.testing.do_bench(lambda exe=exe, arrays=arrays: exe.run(arrays), warmup=10, rep=100,
                                             return_mode="median")
                knobs = re.findall(r"tile\.flash_attention_bwd_wgmma\([^)]*\) \{([^}]*)\}", exe.ir("tile"))
                print(f"  {variant}: wrt {wrts} {ms:.3f} ms, rel err {max(errs):.1e}; {' | '.join(knobs)}",
                      file=log, flush=True)


if __name__ == "__main__":
    main()
