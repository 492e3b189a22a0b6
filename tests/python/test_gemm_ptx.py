"""The tensor-core GEMM's code, checked without a GPU: bf16/f16 matmuls for nvptx lower to
tile.mma_sync, whose PTX holds mma.sync m16n8k16, ldmatrix and cp.async and assembles with
ptxas for sm_90 (skipped with the reason when ptxas is missing). f32 uses the CUDA-core block GEMM (tile.fma_gemm)."""
import os
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


def test_pre_ampere_is_a_clear_error():
    with pytest.raises(ts.CompileError, match="needs sm_80 or newer"):
        ts.compile_for_target(program("bf16", (33, 20), (20, 17), (33, 17)), "nvptx:sm_75")


def test_f32_matmul_uses_the_cuda_core_block_gemm(tmp_path):
    out = ts.compile_for_target(program("f32", [300, 257], [257, 129], [300, 129]), "nvptx:sm_90")
    assert "tile.fma_gemm" in out["tile"] and "bm = 128" in out["tile"]
    ptx = out["asm"]
    assert ptx.count("fma.rn.f32") >= 1024 and "ld.shared.v4.b32" in ptx and "mma.sync" not in ptx
    if not ptxas():
        pytest.skip("ptxas is not installed; PTX was generated but not assembled")
    src = tmp_path / "k.ptx"
    src.write_text(ptx)
    r = subprocess.run([ptxas(), "-arch=sm_90", str(src), "-o", str(tmp_path / "k.cubin")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
