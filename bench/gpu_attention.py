"""Attention forward and backward on an NVIDIA GPU: Tessera's flash-attention kernels vs torch's
scaled_dot_product_attention (FlashAttention / cuDNN backends), same run.

    python3 bench/gpu_attention.py [--shape B H S D] [--out results.md]

Each case checks Tessera's result against torch first (relative error < 1e-2 on poisoned
outputs), then times both with triton.testing.do_bench (median, device events). FLOPs: 4*B*H*S*S*D
non-causal (two GEMMs), half of that causal; the backward counts 2.5x the forward (five GEMMs).

Backward: Tessera runs jit(grad(sum(sdpa(q, k, v) * w))) as one program (the forward writing
the lse, delta = rowsum(do * o), the dq and dk/dv kernels); torch runs sdpa forward then
backward with w as the output gradient. Both are timed whole ("fwd+bwd"); "bwd" is that time
minus each side's forward time measured in the same run."""
import argparse
import os
import sys
import time

import torch
import triton.testing

import tessera as ts

sys.path.insert(0, os.path.dirname(__file__))
from report import publish  # noqa: E402

F = torch.nn.functional


def bench_case(shape, causal, dtype):
    b, h, s, d = shape
    q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=dtype) for _ in range(3))
    f = ts.jit(lambda x, y, z: ts.scaled_dot_product_attention(x, y, z, is_causal=causal))
    tq, tk, tv = ts.from_dlpack(q), ts.from_dlpack(k), ts.from_dlpack(v)
    os.environ["TESSERA_POISON_OUTPUTS"] = "1"
    got = torch.from_dlpack(f(tq, tk, tv))
    os.environ.pop("TESSERA_POISON_OUTPUTS")
    assert "tile.flash_attention" in f.ir("tile"), "the flash kernel was not chosen"
    want = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    err = ((got.float() - want.float()).abs().max() / want.float().abs().max()).item()
    assert torch.isfinite(got).all() and err < 1e-2, f"{shape}: Tessera differs from torch (rel err {err:.3g})"
    ms_ts = triton.testing.do_bench(lambda: f(tq, tk, tv), warmup=25, rep=200, return_mode="median")
    ms_ref = triton.testing.do_bench(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
                                     warmup=25, rep=200, return_mode="median")
    flop = 4.0 * b * h * s * s * d / (2 if causal else 1)
    name = f"fwd {str(dtype).split('.')[-1]} B{b} H{h} S{s} D{d} {'causal' if causal else 'non-causal'}"
    return {"case": name, "ms_ts": ms_ts, "ms_ref": ms_ref, "tf_ts": flop / ms_ts / 1e9, "tf_ref": flop / ms_ref / 1e9,
            "ratio": ms_ref / ms_ts, "err": err}


def bench_bwd_case(shape, causal, dtype, fwd):
    b, h, s, d = shape
    q, k, v, w = (torch.randn(b, h, s, d, device="cuda", dtype=dtype) for _ in range(4))
    wt = ts.from_dlpack(w)
    f = ts.jit(ts.grad(lambda x, y, z: ts.sum(ts.scaled_dot_product_attention(x, y, z, is_causal=causal) * wt),
                       argnums=(0, 1, 2)))
    tq, tk, tv = ts.from_dlpack(q), ts.from_dlpack(k), ts.from_dlpack(v)
    os.environ["TESSERA_POISON_OUTPUTS"] = "1"
    got = [torch.from_dlpack(g) for g in f(tq, tk, tv)]
    os.environ.pop("TESSERA_POISON_OUTPUTS")
    assert "tile.flash_attention_bwd" in f.ir("tile"), "the flash backward kernels were not chosen"
    xs = [t.detach().clone().requires_grad_() for t in (q, k, v)]

    def torch_step():
        out = F.scaled_dot_product_attention(*xs, is_causal=causal)
        return torch.autograd.grad(out, xs, w)

    want = torch_step()
    err = max(((g.float() - wnt.float()).abs().max() / wnt.float().abs().max()).item() for g, wnt in zip(got, want))
    assert all(torch.isfinite(g).all() for g in got) and err < 2e-2, f"{shape}: gradients differ from torch (rel err {err:.3g})"
    ms_ts = triton.testing.do_bench(lambda: f(tq, tk, tv), warmup=10, rep=200, return_mode="median")
    ms_ref = triton.testing.do_bench(torch_step, warmup=10, rep=200, return_mode="median")
    flop = 10.0 * b * h * s * s * d / (2 if causal else 1)
    bwd_ts, bwd_ref = ms_ts - fwd["ms_ts"], ms_ref - fwd["ms_ref"]
    name = f"fwd+bwd {str(dtype).split('.')[-1]} B{b} H{h} S{s} D{d} {'causal' if causal else 'non-causal'}"
    return {"case": name, "ms_ts": ms_ts, "ms_ref": ms_ref, "ratio": ms_ref / ms_ts, "err": err,
            "bwd_ts": bwd_ts, "bwd_ref": bwd_ref, "tf_ts": flop / bwd_ts / 1e9, "tf_ref": flop / bwd_ref / 1e9,
            "bwd_ratio": bwd_ref / bwd_ts}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shape", type=int, nargs=4, default=[4, 16, 4096, 128], metavar=("B", "H", "S", "D"))
    p.add_argument("--out", default=None)
    p.add_argument("--no-bwd", action="store_true")
    args = p.parse_args()
    rows = [bench_case(tuple(args.shape), causal, torch.bfloat16) for causal in (False, True)]
    bwd = [] if args.no_bwd else [bench_bwd_case(tuple(args.shape), r["case"].endswith(" causal"), torch.bfloat16, r) for r in rows]
    lines = [f"# Attention forward, Tessera (tile.flash_attention) vs torch SDPA — {torch.cuda.get_device_name()}, "
             f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}", "",
             "| case | Tessera ms | SDPA ms | Tessera TFLOP/s | SDPA TFLOP/s | ratio | rel err |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['ms_ts']:.3f} | {r['ms_ref']:.3f} | {r['tf_ts']:.0f} | {r['tf_ref']:.0f} | "
                     f"{r['ratio']:.2f}x | {r['err']:.1e} |")
    if bwd:
        lines += ["", "| case | Tessera ms | torch ms | ratio | bwd: Tessera ms | torch ms | Tessera TFLOP/s | torch TFLOP/s | "
                  "bwd ratio | rel err |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in bwd:
            lines.append(f"| {r['case']} | {r['ms_ts']:.3f} | {r['ms_ref']:.3f} | {r['ratio']:.2f}x | {r['bwd_ts']:.3f} | "
                         f"{r['bwd_ref']:.3f} | {r['tf_ts']:.0f} | {r['tf_ref']:.0f} | {r['bwd_ratio']:.2f}x | {r['err']:.1e} |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
