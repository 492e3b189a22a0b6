"""attention (softmax(q @ k^T * scale) @ v) and tril on the CPU, against NumPy in float64:
values (causal or not, Sq != Skv, Dv != D, S = 1), errors, gradients (central differences),
the match-attention pattern (which leaves CPU programs alone), and the NVIDIA flash kernel's
PTX (assembled with ptxas where present; the GPU run is tests/gpu/test_attention_cuda.py)."""
import math
import re

import numpy as np
import pytest
from test_gemm_ptx import assemble

import tessera as ts


def rng(seed):
    return np.random.default_rng(seed)


def np_attention(q, k, v, scale=None, causal=False):
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, -np.inf)
    s = s - s.max(-1, keepdims=True)
    p = np.exp(s)
    return (p / p.sum(-1, keepdims=True)) @ v


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shapes", [((1, 8), (1, 8), (1, 8)), ((17, 8), (13, 8), (13, 5)),
                                    ((2, 3, 5, 4), (2, 3, 9, 4), (2, 3, 9, 4)), ((3, 1, 16), (3, 7, 16), (3, 7, 2))])
def test_values_match_numpy(causal, shapes):
    r = rng(1)
    q, k, v = (r.standard_normal(s) for s in shapes)
    got = ts.attention(ts.tensor(q), ts.tensor(k), ts.tensor(v), causal=causal).numpy()
    assert got.dtype == np.float64 and got.shape == shapes[0][:-1] + shapes[2][-1:]
    np.testing.assert_allclose(got, np_attention(q, k, v, causal=causal), rtol=1e-12, atol=1e-12)


def test_sdpa_follows_torch_signature_and_explicit_scale():
    r = rng(2)
    q, k, v = (r.standard_normal((2, 6, 8)) for _ in range(3))
    t = [ts.tensor(a) for a in (q, k, v)]
    np.testing.assert_allclose(ts.scaled_dot_product_attention(*t, is_causal=True, scale=0.3).numpy(),
                               np_attention(q, k, v, 0.3, True), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ts.scaled_dot_product_attention(*t).numpy(), np_attention(q, k, v), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), ("bf16", 1e-2), ("f16", 1e-2)])
def test_low_precision_on_cpu(dtype, tol):
    r = rng(3)
    q, k, v = (r.standard_normal((2, 33, 64)) for _ in range(3))
    if isinstance(dtype, str):
        t = [ts.tensor(a.astype(np.float32)).astype(dtype) for a in (q, k, v)]
        q, k, v = (x.astype("f32").numpy().astype(np.float64) for x in t)
    else:
        t = [ts.tensor(a.astype(dtype)) for a in (q, k, v)]
    got = ts.attention(*t, causal=True)
    assert got.dtype == t[0].dtype
    want = np_attention(q, k, v, causal=True)
    got = got.astype("f64").numpy() if isinstance(dtype, str) else got.numpy()
    assert np.abs(got - want).max() / max(np.abs(want).max(), 1) < tol


@pytest.mark.parametrize("shapes,dtypes,match", [
    (((8,), (8,), (8,)), None, r"q must be \[\.\.\., S, D\] \(rank >= 2\)"),
    (((4, 8), (4, 8), (4, 8)), ("f32", "f64", "f32"), "q, k and v must have one dtype"),
    (((4, 8), (5, 6), (5, 6)), None, r"head dims \(D\) differ"),
    (((4, 8), (5, 8), (6, 8)), None, "k and v sequence lengths differ"),
    (((2, 4, 8), (3, 5, 8), (3, 5, 8)), None, "batch dims of q, k and v differ"),
    (((2, 4, 8), (5, 8), (5, 8)), None, "q, k and v must have one rank"),
])
def test_errors(shapes, dtypes, match):
    dtypes = dtypes or ("f32",) * 3
    t = [ts.zeros(*s, dtype=d) for s, d in zip(shapes, dtypes)]
    with pytest.raises(ts.TesseraError, match=match):
        ts.attention(*t)


def test_integer_inputs_and_unsupported_sdpa_arguments():
    with pytest.raises(ts.DTypeError, match="q must be floating-point"):
        ts.attention(*(ts.zeros(4, 8, dtype="i32") for _ in range(3)))
    t = [ts.zeros(4, 8) for _ in range(3)]
    with pytest.raises(ts.TesseraValueError, match="attn_mask is not supported"):
        ts.scaled_dot_product_attention(*t, attn_mask=t[0])
    with pytest.raises(ts.TesseraValueError, match="dropout"):
        ts.scaled_dot_product_attention(*t, dropout_p=0.1)


@pytest.mark.parametrize("diagonal", [-2, 0, 3])
def test_tril(diagonal):
    x = rng(4).standard_normal((2, 5, 7))
    np.testing.assert_array_equal(ts.tril(ts.tensor(x), diagonal=diagonal).numpy(), np.tril(x, diagonal))
    want = np.where(np.tril(np.ones((5, 7), bool), diagonal), x, -np.inf)
    np.testing.assert_array_equal(ts.tensor(x).tril(diagonal=diagonal, value=-math.inf).numpy(), want)
    with pytest.raises(ts.ShapeError, match="rank >= 2"):
        ts.tril(ts.zeros(3))


def numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


@pytest.mark.parametrize("causal", [False, True])
def test_gradients_match_finite_differences(causal):
    r = rng(5)
    q, k, v, w = (r.standard_normal((2, 5, 4)), r.standard_normal((2, 6, 4)), r.standard_normal((2, 6, 3)),
                  r.standard_normal((2, 5, 3)))

    def loss(q, k, v):
        return ts.sum(ts.attention(q, k, v, scale=0.7, causal=causal) * ts.tensor(w))

    got = ts.grad(loss, argnums=(0, 1, 2))(ts.tensor(q), ts.tensor(k), ts.tensor(v))
    ref = lambda q_, k_, v_: float((np_attention(q_, k_, v_, 0.7, causal) * w).sum())
    want = (numeric_grad(lambda x: ref(x, k, v), q), numeric_grad(lambda x: ref(q, x, v), k),
            numeric_grad(lambda x: ref(q, k, x), v))
    for g, wnt in zip(got, want):
        np.testing.assert_allclose(g.numpy(), wnt, rtol=1e-6, atol=1e-8)


def test_tril_gradient():
    x, c = rng(6).standard_normal((4, 3)), rng(7).standard_normal((4, 3))
    g = ts.grad(lambda x: ts.sum(ts.tril(x, diagonal=-1, value=5.0) * ts.tensor(c)))(ts.tensor(x)).numpy()
    np.testing.assert_array_equal(g, np.tril(c, -1))


def test_cpu_keeps_the_users_ops():
    @ts.jit
    def f(q, k, v):
        return ts.softmax(q @ k.T * 0.125) @ v

    q = ts.tensor(rng(8).standard_normal((9, 64)).astype(np.float32))
    f(q, q, q)
    assert 'kind = "attention"' not in f.ir("schedule") and "softmax" in f.ir("graph")


# ---- the NVIDIA flash kernel, compiled here (no GPU needed) ----

def program(dt, d, body):
    return f"""module @m {{
func @main(%q: {dt}[2,3,200,{d}], %k: {dt}[2,3,150,{d}], %v: {dt}[2,3,150,{d}]) -> ({dt}[2,3,200,{d}]) {{
{body}
}}
}}
"""


ATTENTION = "  %0 = attention(%q, %k, %v) {{causal = {causal}}} : {dt}[2,3,200,{d}]\n  return(%0)"
PATTERN = """  %0 = transpose(%k) {{perm = [0, 1, 3, 2]}} : {dt}[2,3,{d},150]
  %1 = matmul(%q, %0) : {dt}[2,3,200,150]
  %c = constant() {{type = {dt}[], value = 0.125}} : {dt}[]
  %2 = mul(%1, %c) : {dt}[2,3,200,150]
  %3 = softmax(%2) {{axis = -1}} : {dt}[2,3,200,150]
  %4 = matmul(%3, %v) : {dt}[2,3,200,{d}]
  return(%4)"""


def ptxas_report(tmp_path, ptx, arch="sm_90a"):
    """ptxas -v: asserts the PTX assembles, returns the report (skips without ptxas)."""
    return assemble(tmp_path, ptx, arch)


@pytest.mark.parametrize("dt", ["bf16", "f16"])
@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("causal", ["false", "true"])
def test_flash_kernel_ptx_assembles_with_few_spills(tmp_path, dt, d, causal):
    out = ts.compile_for_target(program(dt, d, ATTENTION.format(causal=causal, dt=dt, d=d)), "nvptx:sm_90")
    assert "tile.flash_attention" in out["tile"]
    ptx = out["asm"]
    assert f"mma.sync.aligned.m16n8k16.row.col.f32.{dt}.{dt}.f32" in ptx
    for needle in ("ldmatrix.sync.aligned.m8n8.x4.shared.b16", "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16",
                   "cp.async.cg.shared.global", "ex2.approx", "shfl.sync.bfly"):
        assert needle in ptx
    report = ptxas_report(tmp_path, ptx, "sm_90")
    # 255 registers at D = 128: ptxas may spill a few words at some shapes (16 bytes seen), never more.
    spilled = int(re.search(r"(\d+) bytes spill stores", report).group(1))
    assert spilled <= 32, report


def test_pattern_becomes_the_flash_kernel_on_nvptx_only():
    text = program("bf16", 64, PATTERN.format(dt="bf16", d=64))
    assert "tile.flash_attention" in ts.compile_for_target(text, "nvptx:sm_90")["tile"]
    assert 'kind = "attention"' not in ts.compile_for_target(text, "cpu")["schedule"]
    f32 = program("f32", 64, PATTERN.format(dt="f32", d=64))
    assert 'kind = "attention"' not in ts.compile_for_target(f32, "nvptx:sm_90")["schedule"]


@pytest.mark.parametrize("tile", ["128, 32, 2", "64, 32", "64, 64, 2", "128, 64", "128, 128, 3"])
def test_flash_kernel_schedule_variants_assemble(tmp_path, tile):
    # The kernel's tile knob [query rows, K/V rows, stages], set in Schedule IR as the autotuner would.
    sched = ts.compile_for_target(program("bf16", 64, ATTENTION.format(causal="true", dt="bf16", d=64)),
                                  "nvptx:sm_90")["schedule"]
    assert 'kind = "attention", lanes = 128, tile = [64, 64, 3]' in sched
    rows = int(tile.split(",")[0])
    out = ts.compile_for_target(
        sched.replace("lanes = 128, tile = [64, 64, 3]", f"lanes = {2 * rows}, tile = [{tile}]"), "nvptx:sm_90")
    assert f"block = [{2 * rows}, 1, 1]" in out["tile"]
    ptxas_report(tmp_path, out["asm"], "sm_90")


def test_flash_kernel_needs_sm80():
    with pytest.raises(ts.CompileError, match=r"flash-attention kernel .* needs sm_80 or newer, not sm_75"):
        ts.compile_for_target(program("f16", 64, ATTENTION.format(causal="false", dt="f16", d=64)), "nvptx:sm_75")


# ---- the Hopper flash kernel (sm_90a: tile.flash_attention_wgmma), compiled here ----

def program_sq_skv(dt, d, causal, sq=300, skv=1000, lse=False):
    """attention (and, with lse, its attention_lse, which the forward kernel then writes) of
    [2, 3, sq, d] queries and [2, 3, skv, d] keys: enough key tiles for both loops of the kernel."""
    outs = f"{dt}[2,3,{sq},{d}]" + (f", f32[2,3,{sq}]" if lse else "")
    body = f"  %0 = attention(%q, %k, %v) {{causal = {causal}, scale = 0.125}} : {dt}[2,3,{sq},{d}]\n"
    if lse:
        body += f"  %1 = attention_lse(%q, %k) {{causal = {causal}, scale = 0.125}} : f32[2,3,{sq}]\n  return(%0, %1)"
    else:
        body += "  return(%0)"
    return f"""module @m {{
func @main(%q: {dt}[2,3,{sq},{d}], %k: {dt}[2,3,{skv},{d}], %v: {dt}[2,3,{skv},{d}]) -> ({outs}) {{
{body}
}}
}}
"""


def check_hopper_report(report):
    # No spills; 168 registers a thread at launch (65536 / 384, what setmaxnreg's 40 + 2 x 232
    # redistribute); ptxas did not serialize the wgmma pipeline (its C75xx performance warnings).
    assert "0 bytes spill stores" in report and "0 bytes spill loads" in report, report
    assert "Used 168 registers" in report, report
    assert "Potential Performance Loss" not in report and "C75" not in report, report


@pytest.mark.parametrize("dt", ["bf16", "f16"])
@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("causal", ["false", "true"])
def test_sm_90a_flash_kernel_is_wgmma_with_tma(tmp_path, dt, d, causal):
    out = ts.compile_for_target(program_sq_skv(dt, d, causal), "nvptx:sm_90a")
    tile = out["tile"]
    assert "tile.flash_attention_wgmma(" in tile and "block = [384, 1, 1]" in tile
    # Three TMA descriptors, q then k then v, each [heads = 6, S, D] with 64 x rows boxes, 128-byte swizzle.
    es = 2
    maps = [0, es, d, 300, 6, d * es, 300 * d * es, 64, 128, 1, 128,
            1, es, d, 1000, 6, d * es, 1000 * d * es, 64, 128, 1, 128,
            2, es, d, 1000, 6, d * es, 1000 * d * es, 64, 128, 1, 128]
    assert f"tensor_maps = [{', '.join(map(str, maps))}]" in tile
    ptx = out["asm"]
    assert ".target sm_90a" in ptx
    # S = Q K^T from shared memory (K-major B: imm-trans-b 0), O += P V with P from registers (V N-major: 1).
    s_mma = re.findall(rf"wgmma\.mma_async\.sync\.aligned\.m64n128k16\.f32\.{dt}\.{dt} \{{[^}}]*\}}, "
                       r"%rd\d+, %rd\d+, [01], 1, 1, 0, 0;", ptx)
    pv_mma = re.findall(rf"wgmma\.mma_async\.sync\.aligned\.m64n{d}k16\.f32\.{dt}\.{dt} \{{[^}}]*\}}, "
                        r"\{%r\d+, %r\d+, %r\d+, %r\d+\}, %rd\d+, 1, 1, 1, 1;", ptx)
    # The prologue's S, two loops (unmasked, masked) of S and P V, the last P V.
    assert len(s_mma) == 3 * d // 16 and len(pv_mma) == 3 * 128 // 16, (len(s_mma), len(pv_mma))
    for needle in ("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes",
                   "mbarrier.try_wait.parity", "mbarrier.arrive.expect_tx", "mbarrier.arrive.shared",
                   "setmaxnreg.dec.sync.aligned.u32 40", "setmaxnreg.inc.sync.aligned.u32 232",
                   "wgmma.wait_group.sync.aligned \t1", "ex2.approx", "shfl.sync.bfly", "bar.arrive",
                   ".param .align 64 .b8", "st.global.v4"):
        assert needle in ptx, needle
    assert "mma.sync" not in ptx and "ld.local" not in ptx and "ldmatrix" not in ptx
    check_hopper_report(ptxas_report(tmp_path, ptx))


def hopper_schedule(dt="bf16", d=128, causal="true", **kw):
    sched = ts.compile_for_target(program_sq_skv(dt, d, causal, **kw), "nvptx:sm_90a")["schedule"]
    assert 'kind = "attention", lanes = 384, mma = "wgmma", tile = [128, 128, 2]' in sched
    return sched


@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("knobs", ["overlap = 0, tile = [128, 128, 2]", "pingpong = 0, tile = [128, 128, 2]",
                                   "overlap = 0, pingpong = 0, tile = [128, 128, 2]", "tile = [128, 64, 3]",
                                   "tile = [128, 176, 2]", "overlap = 0, tile = [128, 192, 2]", "tile = [128, 128, 3]"])
def test_sm_90a_flash_kernel_knobs_assemble(tmp_path, d, knobs):
    # The tile knob [query rows, key rows, stages], overlap (FA3's intra-warpgroup pipelining) and
    # pingpong (the consumer warpgroups take turns: named barriers), both 1 by default, set in
    # Schedule IR as the autotuner would.
    sched = hopper_schedule(d=d).replace("tile = [128, 128, 2]", knobs)
    out = ts.compile_for_target(sched, "nvptx:sm_90a")
    bn = int(knobs.split("tile = [128, ")[1].split(",")[0])
    assert f"block_n = {bn}" in out["tile"] and ("overlap = 0" in out["tile"]) == ("overlap = 0" in knobs)
    ptx = out["asm"]
    assert f"m64n{bn}k16" in ptx and ("wgmma.wait_group.sync.aligned \t1" in ptx) == ("overlap = 0" not in knobs)
    assert ("bar.arrive" in ptx) == ("pingpong = 0" not in knobs)
    check_hopper_report(ptxas_report(tmp_path, ptx))


@pytest.mark.parametrize("d", [64, 128])
def test_sm_90a_flash_kernel_writes_the_lse(tmp_path, d):
    out = ts.compile_for_target(program_sq_skv("bf16", d, "true", lse=True), "nvptx:sm_90a")
    tile = out["tile"]
    assert len(re.findall(r"tile\.flash_attention_wgmma\(", tile)) == 1 and "f32[2,3,300]" in tile
    call = re.search(r"tile\.flash_attention_wgmma\(([^)]*)\)", tile).group(1)
    assert len(call.split(",")) == 11  # o, o_off, q, k, v, head, m0, rows, s_kv, lse, lse_off
    ptx = out["asm"]
    assert "st.global.b32" in ptx  # the f32 lse (o goes out in 16-byte vectors, or 16-bit elements at edges)
    assert "st.global.b32" not in ts.compile_for_target(program_sq_skv("bf16", d, "true"), "nvptx:sm_90a")["asm"]
    check_hopper_report(ptxas_report(tmp_path, ptx))


def backward_program(d=64, causal="true", dt="bf16", sq=100, skv=90):
    """The program jit(grad(attention)) runs: forward with lse, delta = rowsum(do * o), dq, dk, dv."""
    q, kv = f"{dt}[2,{sq},{d}]", f"{dt}[2,{skv},{d}]"
    attrs = f"causal = {causal}, scale = 0.125"
    return f"""module @m {{
func @main(%q: {q}, %k: {kv}, %v: {kv}, %g: {q}) -> ({q}, {q}, {kv}, {kv}) {{
  %lse = attention_lse(%q, %k) {{{attrs}}} : f32[2,{sq}]
  %o = attention(%q, %k, %v) {{{attrs}}} : {q}
  %a = cast(%g) {{dtype = "f32"}} : f32[2,{sq},{d}]
  %b = cast(%o) {{dtype = "f32"}} : f32[2,{sq},{d}]
  %p = mul(%a, %b) : f32[2,{sq},{d}]
  %delta = sum(%p) {{axis = -1}} : f32[2,{sq}]
  %dq = attention_grad(%q, %k, %v, %g, %lse, %delta) {{{attrs}, wrt = "q"}} : {q}
  %dk = attention_grad(%q, %k, %v, %g, %lse, %delta) {{{attrs}, wrt = "k"}} : {kv}
  %dv = attention_grad(%q, %k, %v, %g, %lse, %delta) {{{attrs}, wrt = "v"}} : {kv}
  return(%o, %dq, %dk, %dv)
}}
}}
"""


BACKWARD = backward_program()


def kernel_reports(report):
    """ptxas -v's lines per kernel: {name: text}."""
    return dict(re.findall(r"Compiling entry function '(\w+)' for 'sm_90a'\n((?:(?!ptxas info    : Compiling).*\n?)*)",
                           report))


@pytest.mark.parametrize("dt", ["bf16", "f16"])
@pytest.mark.parametrize("d", [64, 128])
@pytest.mark.parametrize("causal", ["false", "true"])
def test_sm_90a_backward_is_wgmma_with_tma(tmp_path, dt, d, causal):
    out = ts.compile_for_target(backward_program(d, causal, dt, sq=300, skv=1000), "nvptx:sm_90a")
    tile = out["tile"]
    assert tile.count("tile.flash_attention_wgmma(") == 1 and tile.count("tile.flash_attention_bwd_wgmma(") == 2
    assert "tile.flash_attention(" not in tile and "tile.flash_attention_bwd(" not in tile
    # Four TMA descriptors per backward kernel (q, k, v, do): 16 numbers of the forward's 3 x 11 and 2 x 44.
    assert len(re.findall(r"tensor_maps = \[(?:\d+, ){43}\d+\]", tile)) == 4  # two launches, two kernel functions
    ptx = out["asm"]
    assert "setmaxnreg.dec.sync.aligned.u32 24" in ptx and "setmaxnreg.inc.sync.aligned.u32 240" in ptx
    for wrt in ("q", "kv"):
        bs = int(re.search(rf'block_stream = (\d+), .*wrt = "{wrt}"', tile).group(1))
        entry = re.search(r"\.entry main_k\d+_attention_grad" + ("" if wrt == "q" else "_attention_grad") + r"\(",
                          ptx).start()
        body = ptx[entry:]
        body = body[:body.find(".entry", 1)] if ".entry" in body[1:] else body
        # S and dP: A and B from shared memory (K-major B: imm-trans-b 0); the products with P and dS:
        # A from registers, B N-major (imm-trans-b 1). Two loops (unmasked, masked), and wrt kv causal
        # a third for the diagonal tiles; overlap (dq) adds the first tile's scores before them and the
        # last tile's products after them.
        overlap = re.search(rf'overlap = 1, [^}}]*wrt = "{wrt}"', tile) is not None
        assert overlap == (wrt == "q")
        loops = 3 if wrt == "kv" and causal == "true" else 2
        scores = re.findall(rf"wgmma\.mma_async\.sync\.aligned\.m64n{bs}k16\.f32\.{dt}\.{dt} \{{[^}}]*\}}, "
                            r"%rd\d+, %rd\d+, [01], 1, 1, 0, 0;", body)
        products = re.findall(rf"wgmma\.mma_async\.sync\.aligned\.m64n{d}k16\.f32\.{dt}\.{dt} \{{[^}}]*\}}, "
                              r"\{%r\d+, %r\d+, %r\d+, %r\d+\}, %rd\d+, 1, 1, 1, 1;", body)
        assert len(scores) == (loops + overlap) * 2 * d // 16, (wrt, len(scores))
        assert len(products) == (loops + overlap) * (2 if wrt == "kv" else 1) * bs // 16, (wrt, len(products))
    for needle in ("cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes", "ex2.approx"):
        assert needle in ptx
    reports = kernel_reports(ptxas_report(tmp_path, ptx))
    for name, rep in reports.items():
        if "attention_grad" in name:
            assert "0 bytes spill stores" in rep and "Used 168 registers" in rep, (name, rep)
            assert "Potential Performance Loss" not in rep and "C75" not in rep, (name, rep)


def test_mma_sync_backward_still_runs_on_sm_90a_through_its_knobs(tmp_path):
    # Without the knob mma = "wgmma" (and with its own lanes and tile) the FlashAttention-2
    # backward of other GPUs compiles for sm_90a: how the two are compared on a Hopper GPU.
    sched = ts.compile_for_target(BACKWARD, "nvptx:sm_90a")["schedule"]
    sched, n = re.subn(r'lanes = 384, mma = "wgmma", (overlap = 1, )?tile = \[128, \d+, \d\], why_split',
                       "lanes = 128, tile = [64, 64, 2], why_split", sched)
    assert n == 2, sched
    out = ts.compile_for_target(sched, "nvptx:sm_90a")
    assert out["tile"].count("tile.flash_attention_bwd(") == 2 and "tile.flash_attention_bwd_wgmma" not in out["tile"]
    ptxas_report(tmp_path, out["asm"])


def test_mma_sync_kernel_still_runs_on_sm_90a_through_its_knobs(tmp_path):
    # Without the knob mma = "wgmma" (and with its own lanes and tile), the FlashAttention-2
    # kernel of other GPUs compiles for sm_90a: how the two are compared on a Hopper GPU.
    sched = hopper_schedule(d=64).replace('lanes = 384, mma = "wgmma", tile = [128, 128, 2]',
                                          "lanes = 128, tile = [64, 64, 3]")
    out = ts.compile_for_target(sched, "nvptx:sm_90a")
    assert "tile.flash_attention(" in out["tile"] and "tile.flash_attention_wgmma" not in out["tile"]
    assert "mma.sync.aligned.m16n8k16" in out["asm"] and "wgmma" not in out["asm"]
    ptxas_report(tmp_path, out["asm"])


@pytest.mark.parametrize("arch", ["sm_90", "sm_80"])
def test_wgmma_kernel_needs_sm_90a(arch):
    with pytest.raises(ts.CompileError,
                       match=rf"tile\.flash_attention_wgmma \(wgmma\.mma_async\) needs the sm_90a target, not {arch}"):
        ts.compile_for_target(hopper_schedule(), f"nvptx:{arch}")


def test_plain_sm_90_keeps_the_mma_sync_kernel():
    out = ts.compile_for_target(program_sq_skv("bf16", 128, "true"), "nvptx:sm_90")
    assert "tile.flash_attention(" in out["tile"] and "wgmma" not in out["asm"]


def test_backward_program_writes_no_f32_copy_of_do():
    # jit(grad(sum(sdpa(q, k, v) * w))) as traced: grad's ones * w folds to w (canonicalize after
    # fold-constants), and delta = sum(cast(do) * cast(o)) reads do and o in bf16 (sink-casts
    # moves the casts into the row-wise kernel): no kernel writes an f32 tensor of q's shape.
    rng = np.random.default_rng(0)
    q, k, v, w = (ts.tensor(rng.standard_normal((1, 2, 64, 128)).astype(np.float32)).to(dtype="bf16") for _ in range(4))
    f = ts.jit(ts.grad(lambda a, b, c: ts.sum(ts.scaled_dot_product_attention(a, b, c, is_causal=True) * w),
                       argnums=(0, 1, 2)))
    f(q, k, v)
    sched = ts.compile_for_target(f.ir("traced"), "nvptx:sm_90a")["schedule"]
    kernels = [line for line in sched.splitlines() if "sched.kernel" in line]
    # (w's cast to bf16 ran eagerly, before the trace: w is a bf16 input)
    assert [re.search(r'kind = "(\w+)"', k).group(1) for k in kernels] == ["attention", "rowwise", "attention",
                                                                          "attention"]
    assert not any(re.search(r"\) : .*f32\[1,2,64,128\]", k) for k in kernels), kernels
