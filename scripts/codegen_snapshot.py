"""Snapshots the GPU code Tessera generates for a fixed set of programs, and compares snapshots.

For refactors of the code generators (cpp/backends/, cpp/tilegen/): a change that leaves every
kernel's PTX byte-identical cannot change its speed, so it needs no GPU to be checked. The
corpus covers each hand-designed kernel family: the Hopper wgmma + TMA GEMM (plain, persistent,
with a fused and a staged epilogue, batched, at edge sizes), the cp.async wgmma variant,
mma.sync GEMMs (sm_80 and odd strides on sm_90a), the f32 CUDA-core GEMM (both slice depths),
flash attention forward and backward (Hopper and mma.sync, head dims 64 and 128, causal or
not), wgmma GEMMs reading transposed operands in their stored layout, and the memory-bound
element-wise and row-wise kernels.

    python scripts/codegen_snapshot.py write DIR       # DIR/<case>.ptx and DIR/manifest.txt
    python scripts/codegen_snapshot.py compare A B     # lists the cases whose PTX differs

Needs an installed tessera (CPU build is enough; nothing runs on a GPU).
"""
import hashlib
import pathlib
import sys

import numpy as np

import tessera as ts


def matmul(dt, a, b, out, epilogue=""):
    s = lambda shape: ",".join(map(str, shape))  # noqa: E731
    body = f"  %0 = matmul(%a, %b) : {dt}[{s(out)}]\n"
    ret = "%0"
    if epilogue == "bias_gelu":
        body += (f"  %1 = add(%0, %c) : {dt}[{s(out)}]\n  %2 = gelu(%1) : {dt}[{s(out)}]\n")
        ret = "%2"
    extra = f", %c: {dt}[{out[-1]}]" if epilogue else ""
    return (f"module @m {{\nfunc @main(%a: {dt}[{s(a)}], %b: {dt}[{s(b)}]{extra}) -> ({dt}[{s(out)}]) {{\n"
            f"{body}  return({ret})\n}}\n}}\n")


def traced(fn, *shapes, dtype="bfloat16"):
    """The Graph IR of fn traced on zero tensors of `shapes` (CPU tracing; target independent)."""
    args = [ts.tensor(np.zeros(s, np.float32)).astype(dtype) for s in shapes]
    f = ts.jit(fn)
    f(*args)
    return f.ir("traced")


def attention_fwd(causal):
    return lambda q, k, v: ts.scaled_dot_product_attention(q, k, v, is_causal=causal)


def attention_bwd(causal, argnums=(0, 1, 2)):
    def loss(q, k, v):
        return ts.sum(ts.scaled_dot_product_attention(q, k, v, is_causal=causal).astype("float32") ** 2)
    return ts.grad(loss, argnums=argnums)


def cases():
    out = {}
    for arch in ("sm_90a", "sm_80"):
        out[f"gemm_bf16_4096_{arch}"] = (matmul("bf16", (4096, 4096), (4096, 4096), (4096, 4096)), arch)
        out[f"gemm_bf16_bias_gelu_4096_{arch}"] = (
            matmul("bf16", (4096, 4096), (4096, 4096), (4096, 4096), "bias_gelu"), arch)
        out[f"gemm_f16_batched_edges_{arch}"] = (matmul("f16", (3, 67, 48), (48, 136), (3, 67, 136)), arch)
        out[f"gemm_f32_{arch}"] = (matmul("f32", (4096, 4096), (4096, 4096), (4096, 4096)), arch)
    out["gemm_bf16_small_sm_90a"] = (matmul("bf16", (1, 8), (8, 8), (1, 8)), "sm_90a")
    out["gemm_bf16_odd_strides_sm_90a"] = (matmul("bf16", (131, 257), (257, 263), (131, 263)), "sm_90a")
    out["gemm_f32_sm_86"] = (matmul("f32", (300, 257), (257, 129), (300, 129)), "sm_86")
    tf32 = matmul("f32", (300, 257), (257, 129), (300, 129)).replace(
        "matmul(%a, %b) :", 'matmul(%a, %b) {precision = "tf32"} :')
    out["gemm_tf32_sm_90a"] = (tf32, "sm_90a")
    out["gemm_tf32_sm_80"] = (tf32, "sm_80")
    for d in (64, 128):
        for causal in (False, True):
            tag = f"d{d}_{'causal' if causal else 'full'}"
            shape = (2, 4, 512, d)
            fwd = traced(attention_fwd(causal), shape, shape, shape)
            bwd = traced(attention_bwd(causal), shape, shape, shape)
            for arch in ("sm_90a", "sm_80"):
                out[f"attention_fwd_{tag}_{arch}"] = (fwd, arch)
                out[f"attention_bwd_{tag}_{arch}"] = (bwd, arch)
            # The Hopper forward's other schedules (knobs set in Schedule IR, as the autotuner does).
            sched = ts.compile_for_target(fwd, "nvptx:sm_90a")["schedule"]
            for knobs in ("overlap = 0, ", "pingpong = 0, ", "overlap = 0, pingpong = 0, "):
                name = knobs.replace(" = 0, ", "0_").rstrip("_")
                variant = sched.replace('mma = "wgmma", ', f'mma = "wgmma", {knobs}')
                out[f"attention_fwd_{tag}_{name}_sm_90a"] = (variant, "sm_90a")
    shape = (2, 4, 512, 64)
    dv_only = traced(attention_bwd(True, 2), shape, shape, shape)
    dk_only = traced(attention_bwd(False, 1), shape, shape, shape)
    for arch in ("sm_90a", "sm_80"):
        out[f"attention_bwd_dv_only_{arch}"] = (dv_only, arch)
        out[f"attention_bwd_dk_only_{arch}"] = (dk_only, arch)
    # Operands read in their stored (transposed) layout: TMA and cp.async, batched at edge sizes.
    mt = lambda x: x.transpose(*range(x.ndim - 2), x.ndim - 1, x.ndim - 2)  # noqa: E731
    out["gemm_bf16_trans_a_4096_sm_90a"] = (traced(lambda a, b: mt(a) @ b, (4096, 4096), (4096, 4096)), "sm_90a")
    out["gemm_bf16_trans_b_4096_sm_90a"] = (traced(lambda a, b: a @ mt(b), (4096, 4096), (4096, 4096)), "sm_90a")
    both = traced(lambda a, b: mt(a) @ mt(b), (3, 48, 72), (3, 136, 48))
    out["gemm_bf16_trans_ab_batched_edges_sm_90a"] = (both, "sm_90a")
    sched = ts.compile_for_target(both, "nvptx:sm_90a")["schedule"]
    out["gemm_bf16_trans_ab_cp_async_sm_90a"] = (sched.replace('mma = "wgmma", ', 'mma = "wgmma", tma = 0, '), "sm_90a")
    ew = traced(lambda x, w: (ts.gelu(x * 2.0 + 1.0) * ts.sigmoid(x), ts.softmax(x, axis=-1) @ w),
                (256, 1000), (1000, 128), dtype="float32")
    out["elementwise_rowwise_f32_sm_90a"] = (ew, "sm_90a")
    ln = traced(lambda x, w, b: ts.layernorm(x, w, b), (64, 4096), (4096,), (4096,), dtype="bfloat16")
    out["layernorm_bf16_sm_90a"] = (ln, "sm_90a")
    return out


def write(directory):
    d = pathlib.Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("*.ptx"):  # a run that dies half-way must not leave an older snapshot behind
        old.unlink()
    manifest = []
    for name, (text, arch) in sorted(cases().items()):
        ptx = ts.compile_for_target(text, f"nvptx:{arch}")["asm"]
        (d / f"{name}.ptx").write_text(ptx)
        manifest.append(f"{name} {hashlib.sha256(ptx.encode()).hexdigest()[:16]} {len(ptx)}")
        print(manifest[-1], flush=True)
    (d / "manifest.txt").write_text("\n".join(manifest) + "\n")


def compare(a, b):
    a, b = pathlib.Path(a), pathlib.Path(b)
    names = sorted({p.stem for p in a.glob("*.ptx")} | {p.stem for p in b.glob("*.ptx")})
    differ = [n for n in names if not (a / f"{n}.ptx").exists() or not (b / f"{n}.ptx").exists()
              or (a / f"{n}.ptx").read_text() != (b / f"{n}.ptx").read_text()]
    for n in differ:
        print(f"differs: {n}")
    print(f"{len(names) - len(differ)} of {len(names)} cases identical")
    return 1 if differ else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
