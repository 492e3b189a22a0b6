"""Attention forward and backward on an NVIDIA GPU: Tessera's flash-attention kernels vs torch's
scaled_dot_product_attention (FlashAttention / cuDNN backends), same run.

    python3 bench/gpu_attention.py [--shape B H S D] [--out results.md]

Each case checks Tessera's result against torch first (relative error < 1e-2 on poisoned
outputs), then times both with triton.testing.do_bench (median, device events). FLOPs: 4*B*H*S*S*D
non-causal (two GEMMs), half of that causal; the backward counts 2.5x the forward (five GEMMs).
The "kernel" column names the forward kernel that ran: wgmma (tile.flash_attention_wgmma, the
Hopper kernel: TMA, mbarriers, wgmma) or mma.sync (tile.flash_attention, other GPUs).

--variants (Hopper): also times the forward kernel's Schedule IR variants, compiled from the same
program with other knobs (tile [query rows, key rows, stages], overlap 0/1, pingpong 0/1) and the
mma.sync kernel on the same GPU, each checked against torch first.

Backward: Tessera runs jit(grad(sum(sdpa(q, k, v) * w))) as one program (the forward writing
the lse, delta = rowsum(do * o), the dq and dk/dv kernels); torch runs sdpa forward then
backward with w as the output gradient. Both are timed whole ("fwd+bwd"); "bwd" is that time
minus each side's forward time measured in the same run."""
import argparse
import os
import re
import sys
import time

import torch
import triton.testing

import tessera as ts
from tessera import _C
from tessera.tensor import Tensor

sys.path.insert(0, os.path.dirname(__file__))
from report import publish  # noqa: E402

F = torch.nn.functional


def kernel_of(tile_ir):
    """The forward flash kernel in a program's Tile IR, with its knobs."""
    m = re.search(r"tile\.(flash_attention_wgmma|flash_attention)\([^)]*\) \{([^}]*)\}", tile_ir)
    assert m, "the flash kernel was not chosen"
    attrs = dict(a.split(" = ") for a in m.group(2).split(", "))
    knobs = f"[{attrs['block_m']}, {attrs['block_n']}, {attrs.get('stages', '1')}]"
    if m.group(1) == "flash_attention_wgmma":
        return f"wgmma {knobs} overlap={attrs.get('overlap', '1')} pingpong={attrs.get('pingpong', '1')}"
    return f"mma.sync {knobs}"


def check_and_time(run, q, k, v, causal, shape):
    """Relative error vs torch on poisoned outputs, then the median time of run()."""
    os.environ["TESSERA_POISON_OUTPUTS"] = "1"
    got = run()
    os.environ.pop("TESSERA_POISON_OUTPUTS")
    want = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    err = ((got.float() - want.float()).abs().max() / want.float().abs().max()).item()
    assert torch.isfinite(got).all() and err < 1e-2, f"{shape}: Tessera differs from torch (rel err {err:.3g})"
    return err, triton.testing.do_bench(run, warmup=25, rep=200, return_mode="median")


def bench_case(shape, causal, dtype):
    b, h, s, d = shape
    q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=dtype) for _ in range(3))
    f = ts.jit(lambda x, y, z: ts.scaled_dot_product_attention(x, y, z, is_causal=causal))
    tq, tk, tv = ts.from_dlpack(q), ts.from_dlpack(k), ts.from_dlpack(v)
    err, ms_ts = check_and_time(lambda: torch.from_dlpack(f(tq, tk, tv)), q, k, v, causal, shape)
    ms_ref = triton.testing.do_bench(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
                                     warmup=25, rep=200, return_mode="median")
    flop = 4.0 * b * h * s * s * d / (2 if causal else 1)
    name = f"fwd {str(dtype).split('.')[-1]} B{b} H{h} S{s} D{d} {'causal' if causal else 'non-causal'}"
    return {"case": name, "kernel": kernel_of(f.ir("tile")), "ms_ts": ms_ts, "ms_ref": ms_ref,
            "tf_ts": flop / ms_ts / 1e9, "tf_ref": flop / ms_ref / 1e9, "ratio": ms_ref / ms_ts, "err": err,
            "flop": flop}


# Hopper: the forward kernel's Schedule IR knobs (the default is 'lanes = 384, mma = "wgmma",
# tile = [128, 128, 2]'), then the mma.sync kernel with its defaults for the head dim.
VARIANTS = ['lanes = 384, mma = "wgmma", overlap = 0, tile = [128, 128, 2]',
            'lanes = 384, mma = "wgmma", pingpong = 0, tile = [128, 128, 2]',
            'lanes = 384, mma = "wgmma", overlap = 0, pingpong = 0, tile = [128, 128, 2]',
            'lanes = 384, mma = "wgmma", tile = [128, 128, 3]',
            'lanes = 384, mma = "wgmma", tile = [128, 176, 2]',
            'lanes = 384, mma = "wgmma", tile = [128, 64, 3]']
MMA_SYNC = {128: "lanes = 256, tile = [128, 64, 3]", 64: "lanes = 128, tile = [64, 64, 3]"}


def bench_variants(shape, causal, dtype, row):
    """The forward's Schedule IR variants on this GPU, timed like bench_case (one compiled
    executable each; its run() is what a jit call runs)."""
    b, h, s, d = shape
    dt = {torch.bfloat16: "bf16", torch.float16: "f16"}[dtype]
    t = f"{dt}[{b},{h},{s},{d}]"
    text = f"""module @m {{
func @main(%q: {t}, %k: {t}, %v: {t}) -> ({t}) {{
  %0 = attention(%q, %k, %v) {{causal = {str(causal).lower()}}} : {t}
  return(%0)
}}
}}
"""
    sched = ts.compile_for_target(text, "nvptx:sm_90a")["schedule"]
    default = 'lanes = 384, mma = "wgmma", tile = [128, 128, 2]'
    assert default in sched, sched
    q, k, v = (torch.randn(b, h, s, d, device="cuda", dtype=dtype) for _ in range(3))
    arrays = [_C.from_dlpack(t, None, None) for t in (q, k, v)]
    rows = []
    for knobs in VARIANTS + [MMA_SYNC[d]]:
        exe = _C.compile(sched.replace(default, knobs), "cuda:0", "nvptx:sm_90a")
        run = lambda exe=exe: torch.from_dlpack(Tensor._from_array(exe.run(arrays)[0]))  # noqa: E731
        err, ms = check_and_time(run, q, k, v, causal, shape)
        rows.append({"case": row["case"], "kernel": kernel_of(exe.ir("tile")), "ms_ts": ms, "ms_ref": row["ms_ref"],
                     "tf_ts": row["flop"] / ms / 1e9, "tf_ref": row["tf_ref"], "ratio": row["ms_ref"] / ms, "err": err})
    return rows


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
    assert all(torch.isfinite(g).all() for g in got) and err < 2e-2, \
        f"{shape}: gradients differ from torch (rel err {err:.3g})"
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
    p.add_argument("--variants", action="store_true",
                   help="Hopper: also time the forward's other knobs and the mma.sync kernel")
    args = p.parse_args()
    rows = [bench_case(tuple(args.shape), causal, torch.bfloat16) for causal in (False, True)]
    if args.variants:
        rows += [r for row in list(rows) for r in bench_variants(tuple(args.shape), row["case"].endswith(" causal"),
                                                                 torch.bfloat16, row)]
    bwd = [] if args.no_bwd else [bench_bwd_case(tuple(args.shape), r["case"].endswith(" causal"), torch.bfloat16, r)
                                  for r in rows[:2]]
    lines = [f"# Attention forward, Tessera's flash kernels vs torch SDPA — {torch.cuda.get_device_name()}, "
             f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}", "",
             "| case | kernel | Tessera ms | SDPA ms | Tessera TFLOP/s | SDPA TFLOP/s | ratio | rel err |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['kernel']} | {r['ms_ts']:.3f} | {r['ms_ref']:.3f} | {r['tf_ts']:.0f} | "
                     f"{r['tf_ref']:.0f} | {r['ratio']:.2f}x | {r['err']:.1e} |")
    if bwd:
        lines += ["", "| case | Tessera ms | torch ms | ratio | bwd: Tessera ms | torch ms | Tessera TFLOP/s | "
                  "torch TFLOP/s | bwd ratio | rel err |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in bwd:
            lines.append(f"| {r['case']} | {r['ms_ts']:.3f} | {r['ms_ref']:.3f} | {r['ratio']:.2f}x | "
                         f"{r['bwd_ts']:.3f} | {r['bwd_ref']:.3f} | {r['tf_ts']:.0f} | {r['tf_ref']:.0f} | "
                         f"{r['bwd_ratio']:.2f}x | {r['err']:.1e} |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
