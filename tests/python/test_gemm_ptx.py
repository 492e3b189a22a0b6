"""The tensor-core GEMM's code, checked without a GPU: bf16/f16 matmuls for nvptx lower to
tile.mma_sync, whose PTX holds mma.sync m16n8k16, ldmatrix and cp.async and assembles with
ptxas for sm_90 (skipped with the reason when ptxas is missing). f32 uses the CUDA-core block GEMM (tile.fma_gemm)."""
import os
import re
import shutil
import subprocess

import pytest

import tessera as ts


def program(dt, a_shape, b_shape, out_shape, out_dt=None):
    s = lambda shape: ",".join(map(str, shape))
    return f"""module @m {{
func @main(%a: {dt}[{s(a_shape)}], %b: {dt}[{s(b_shape)}]) -> ({out_dt or dt}[{s(out_shape)}]) {{
  %0 = matmul(%a, %b) : {out_dt or dt}[{s(out_shape)}]
  return(%0)
}}
}}
"""


def ptxas():
    for p in (shutil.which("ptxas"), "/usr/local/bin/ptxas", "/usr/local/cuda/bin/ptxas"):
        if p and os.path.exists(p):
            return p
    return None


@pytest.mark.parametrize("dt", ["bf16", "f16"])
@pytest.mark.parametrize("shapes,vector", [(((131, 264), (264, 136), (131, 136)), True),
                                           (((3, 64, 32), (32, 48), (3, 64, 48)), True),
                                           (((131, 257), (257, 263), (131, 263)), False)])
def test_ptx_has_mma_sync_and_assembles(tmp_path, dt, shapes, vector):
    out = ts.compile_for_target(program(dt, *shapes), "nvptx:sm_90")
    assert "tile.mma_sync" in out["tile"]
    ptx = out["asm"]
    elt = "bf16" if dt == "bf16" else "f16"
    assert f"mma.sync.aligned.m16n8k16.row.col.f32.{elt}.{elt}.f32" in ptx
    assert "ldmatrix.sync.aligned.m8n8.x4.shared.b16" in ptx and "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16" in ptx
    # Rows of odd length cannot be copied in aligned 16-byte chunks: elements are loaded alone.
    assert ("cp.async.cg.shared.global" in ptx) == vector
    tool = ptxas()
    if not tool:
        pytest.skip("ptxas is not installed; PTX was generated but not assembled")
    (tmp_path / "k.ptx").write_text(ptx)
    r = subprocess.run([tool, "-arch=sm_90", str(tmp_path / "k.ptx"), "-o", str(tmp_path / "k.cubin")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_f32_matmul_keeps_the_fma_kernel():
    out = ts.compile_for_target(program("f32", (33, 20), (20, 17), (33, 17)), "nvptx:sm_90")
    assert "tile.mma_sync" not in out["tile"] and "mma.sync" not in out["asm"]


@pytest.mark.parametrize("arch", ["sm_70", "sm_75"])
@pytest.mark.parametrize("dt,precision", [("bf16", None), ("f16", None), ("f32", None), ("f32", "tf32")])
def test_pre_ampere_matmuls_keep_the_plain_kernel(tmp_path, arch, dt, precision):
    """Volta and Turing have no cp.async, which every block GEMM copies with: their matmuls
    (any dtype, TF32 allowed or not) keep the one-thread-per-element kernel, and its PTX
    assembles for the GPU."""
    text = program(dt, (33, 20), (20, 17), (33, 17))
    if precision:
        text = text.replace("matmul(%a, %b)", f'matmul(%a, %b) {{precision = "{precision}"}}')
    out = ts.compile_for_target(text, f"nvptx:{arch}")
    assert "tile = [16, 16]" in out["schedule"] and "tile.mma_sync" not in out["tile"] \
        and "tile.fma_gemm" not in out["tile"]
    assert "cp.async" not in out["asm"] and "mma" not in out["asm"]
    if arch != "sm_70":  # CUDA 13's ptxas no longer knows Volta
        assemble(tmp_path, out["asm"], arch)


@pytest.mark.parametrize("arch,bk,n", [("sm_90", 32, 129), ("sm_86", 16, 129), ("sm_90", 32, 132)])
def test_f32_matmul_uses_the_cuda_core_block_gemm(tmp_path, arch, bk, n):
    """Every copy into shared memory is a cp.async (A transposed element by element, B in
    16-byte chunks where N keeps them aligned, else by element), so no global loads sit in
    registers across the fma; 64 fma per k step of a bk-deep slice (32 where the GPU's shared
    memory allows)."""
    out = ts.compile_for_target(program("f32", [300, 257], [257, n], [300, n]), f"nvptx:{arch}")
    assert "tile.fma_gemm" in out["tile"] and f"bk = {bk}, bm = 128, bn = 128, stages = 2" in out["tile"]
    ptx = out["asm"]
    assert ptx.count("fma.rn.f32") >= 64 * bk and "ld.shared.v4.b32" in ptx and "mma.sync" not in ptx
    assert "cp.async.ca.shared.global" in ptx and "ld.global" not in ptx
    assert ("cp.async.cg.shared.global" in ptx) == (n % 4 == 0)
    if not ptxas():
        pytest.skip("ptxas is not installed; PTX was generated but not assembled")
    src = tmp_path / "k.ptx"
    src.write_text(ptx)
    r = subprocess.run([ptxas(), f"-arch={arch}", str(src), "-o", str(tmp_path / "k.cubin")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def assemble(tmp_path, ptx, arch):
    tool = ptxas()
    if not tool:
        pytest.skip("ptxas is not installed; PTX was generated but not assembled")
    (tmp_path / "k.ptx").write_text(ptx)
    r = subprocess.run([tool, f"-arch={arch}", "-v", str(tmp_path / "k.ptx"), "-o", str(tmp_path / "k.cubin")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stderr


@pytest.mark.parametrize("dt", ["bf16", "f16"])
@pytest.mark.parametrize("shapes,n_tile", [(((4096, 4096), (4096, 4096), (4096, 4096)), 256),
                                           (((3, 5000, 48), (48, 136), (3, 5000, 136)), 192),
                                           (((3, 67, 48), (48, 136), (3, 67, 136)), 64),
                                           (((1, 8), (8, 8), (1, 8)), 64)])
def test_sm_90a_takes_wgmma_with_tma(tmp_path, dt, shapes, n_tile):
    """Hopper: wgmma.mma_async from shared memory fed by TMA (cp.async.bulk.tensor on mbarriers),
    a producer warpgroup that gives its registers to the consumers (setmaxnreg); no spills."""
    out = ts.compile_for_target(program(dt, *shapes), "nvptx:sm_90a")
    assert "tile.wgmma_gemm" in out["tile"] and "tensor_maps = [" in out["tile"]
    ptx = out["asm"]
    assert ".target sm_90a" in ptx
    assert f"wgmma.mma_async.sync.aligned.m64n{n_tile}k16.f32.{dt}.{dt}" in ptx
    for s in ("cp.async.bulk.tensor.3d", "mbarrier.try_wait.parity", "mbarrier.arrive.expect_tx", "setmaxnreg.inc",
              "setmaxnreg.dec", ".param .align 64 .b8", "cvta.param"):
        assert s in ptx, s
    assert "mma.sync" not in ptx and "ld.local" not in ptx
    report = assemble(tmp_path, ptx, "sm_90a")
    assert "0 bytes spill stores" in report and "C7508" not in report, report


def test_sm_90a_cp_async_variant_assembles(tmp_path):
    """The simpler wgmma pipeline (every thread copies with cp.async; knob tma = 0) from Schedule IR."""
    sched = ts.compile_for_target(program("bf16", (300, 200), (200, 104), (300, 104)), "nvptx:sm_90a")["schedule"]
    knobs = 'lanes = 256, mma = "wgmma", persistent = 132, tile = [64, 64, 64]'  # 10 tiles: the smallest
    assert knobs in sched
    out = ts.compile_for_target(sched.replace(knobs, 'lanes = 256, mma = "wgmma", persistent = 132, '
                                              'tile = [128, 128, 64], tma = 0'), "nvptx:sm_90a")
    ptx = out["asm"]
    assert "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16" in ptx and "cp.async.cg.shared.global" in ptx
    assert "cp.async.bulk.tensor" not in ptx and "fence.proxy.async.shared::cta" in ptx
    assemble(tmp_path, ptx, "sm_90a")


@pytest.mark.parametrize("shapes", [((131, 257), (257, 263), (131, 263)), ((64, 24), (24, 20), (64, 20)),
                                    ((40, 24), (24,), (40,))])
def test_sm_90a_odd_strides_keep_mma_sync(shapes):
    # TMA needs 16-byte row strides (K and N multiples of 8); matrix-vector products stay too.
    out = ts.compile_for_target(program("bf16", *shapes), "nvptx:sm_90a")
    assert "tile.mma_sync" in out["tile"] and "wgmma" not in out["asm"]


@pytest.mark.parametrize("arch,bk", [("sm_90a", 32), ("sm_86", 16)])
def test_tf32_precision_takes_tensor_cores(tmp_path, arch, bk):
    """precision = "tf32" permits TF32: per 8-deep k step 16 mma.sync m16n8k8 tf32 a warp, on
    fragments read from shared memory and rounded with cvt.rna; at most 8 bytes spilled (none
    at 4096^3; this N needs the element copies)."""
    text = program("f32", [300, 257], [257, 129], [300, 129]).replace("matmul(%a, %b)",
                                                                       'matmul(%a, %b) {precision = "tf32"}')
    out = ts.compile_for_target(text, f"nvptx:{arch}")
    assert f"bk = {bk}, bm = 128, bn = 128, stages = 2, tf32 = 1" in out["tile"]
    ptx = out["asm"]
    assert ptx.count("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32") == 16 * bk // 8
    assert ptx.count("cvt.rna.tf32.f32") == 24 * bk // 8 and "fma.rn.f32" not in ptx.split("mma.sync")[0]
    report = assemble(tmp_path, ptx, arch)
    assert int(re.search(r"(\d+) bytes spill stores", report).group(1)) <= 8, report


def test_tf32_needs_permission():
    plain = ts.compile_for_target(program("f32", [64, 64], [64, 64], [64, 64]), "nvptx:sm_90a")
    assert "tf32" not in plain["asm"] and "tf32" not in plain["tile"]  # never without precision = "tf32"
    # Schedule IR with the block GEMM's knobs cannot reach an old GPU either: a clear error.
    sched = plain["schedule"].replace('arch = "sm_90a"', 'arch = "sm_75"')
    with pytest.raises(ts.CompileError, match=r"tile.fma_gemm\) needs sm_80 or newer \(cp.async\), not sm_75"):
        ts.compile_for_target(sched, "nvptx:sm_75")


def cuobjdump():
    for p in (shutil.which("cuobjdump"), "/usr/local/cuda/bin/cuobjdump"):
        if p and os.path.exists(p):
            return p
    return None


@pytest.mark.parametrize("dt,precision,arch,sass_op", [("bf16", None, "sm_90a", "HGMMA.64x256x16.F32.BF16"),
                                                       ("bf16", None, "sm_90", "HMMA.16816.F32.BF16"),
                                                       ("f32", "tf32", "sm_90a", "HMMA.1688.F32.TF32"),
                                                       ("f32", None, "sm_90a", "FFMA")])
def test_sass_has_the_tensor_core_instructions(tmp_path, dt, precision, arch, sass_op):
    """cuobjdump --dump-sass of each GEMM kernel at 4096^3: HGMMA on Hopper (sm_90a), HMMA
    (mma.sync) on sm_90, TF32 HMMA when allowed, FFMA for f32 otherwise."""
    tool = cuobjdump()
    if not tool:
        pytest.skip("cuobjdump is not installed")
    text = program(dt, [4096, 4096], [4096, 4096], [4096, 4096])
    if precision:
        text = text.replace("matmul(%a, %b)", f'matmul(%a, %b) {{precision = "{precision}"}}')
    assemble(tmp_path, ts.compile_for_target(text, f"nvptx:{arch}")["asm"], arch)
    sass = subprocess.run([tool, "--dump-sass", str(tmp_path / "k.cubin")], capture_output=True, text=True).stdout
    assert sass_op in sass, sass[:2000]
    if sass_op == "FFMA":
        assert "HMMA" not in sass and "HGMMA" not in sass


def test_plain_sm_90_keeps_mma_sync():
    # wgmma exists only on sm_90a; a plain sm_90 target (PTX for any later chip) keeps mma.sync.
    out = ts.compile_for_target(program("bf16", (256, 256), (256, 256), (256, 256)), "nvptx:sm_90")
    assert "tile.mma_sync" in out["tile"] and "wgmma" not in out["asm"]


def test_f32_matmul_stays_on_cuda_cores_on_sm90a():
    out = ts.compile_for_target(program("f32", [256, 256], [256, 256], [256, 256]), "nvptx:sm_90a")
    assert "tile.fma_gemm" in out["tile"] and "wgmma" not in out["asm"]


def epilogue_program(dt, m, k, n, out_dt=None):
    """gelu(a @ b + bias) and that plus a residual in f32: two outputs of one fused kernel."""
    return f"""module @m {{
func @main(%a: {dt}[{m},{k}], %b: {dt}[{k},{n}], %c: {dt}[{n}], %r: f32[{m},{n}]) -> ({dt}[{m},{n}], f32[{m},{n}]) {{
  %0 = matmul(%a, %b) : {dt}[{m},{n}]
  %1 = add(%0, %c) : {dt}[{m},{n}]
  %2 = gelu(%1) : {dt}[{m},{n}]
  %3 = cast(%2) {{dtype = "f32"}} : f32[{m},{n}]
  %4 = add(%3, %r) : f32[{m},{n}]
  return(%2, %4)
}}
}}
"""


@pytest.mark.parametrize("dt,m,k,n,arch,gemm", [("bf16", 300, 200, 104, "sm_90a", "tile.wgmma_gemm"),
                                                ("bf16", 4096, 4096, 4096, "sm_90a", "tile.wgmma_gemm"),
                                                ("f16", 131, 257, 263, "sm_90a", "tile.mma_sync"),
                                                ("bf16", 131, 264, 136, "sm_80", "tile.mma_sync"),
                                                ("f32", 300, 257, 129, "sm_90a", "tile.fma_gemm")])
def test_epilogue_fuses_into_the_block_gemm(tmp_path, dt, m, k, n, arch, gemm):
    """Bias, gelu, a cast and a residual run on the product in registers: one kernel whose
    block-GEMM op has an epilogue region, and whose PTX assembles without spills."""
    out = ts.compile_for_target(epilogue_program(dt, m, k, n), f"nvptx:{arch}")
    assert out["tile"].count("rt.launch(") == 1
    assert f"{gemm}(%out0, " in out["tile"] \
        and re.search(r"\^\(%p: (f32|bf16|f16), %z: i64, %row: i64, %col: i64\):", out["tile"])
    # Both outputs (params 4 and 5) are stored to: not marked read-only, which would let LLVM
    # delete the stores.
    params = re.findall(r"ptr addrspace\(1\) ([^%,]*)%(\d+)",
                        out["llvm"].split("define ptx_kernel", 1)[1].split("\n", 1)[0])
    assert [("readonly" in attrs) for attrs, _ in params] == [True] * 4 + [False] * 2, params
    report = assemble(tmp_path, out["asm"], arch)
    spilled = int(re.search(r"(\d+) bytes spill stores", report).group(1))
    # The f32 CUDA-core GEMM runs at the 128-register cap of two blocks per SM and spills a
    # few bytes: 8 on its own, 36 with this two-output epilogue (docs/scheduling.md); the
    # others none.
    assert spilled <= (40 if dt == "f32" else 0), report
