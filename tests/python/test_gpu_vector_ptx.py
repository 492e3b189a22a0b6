"""NVIDIA memory-bound kernels as PTX (checked here, without a GPU): element-wise kernels read
and write 16 bytes per access through the read-only cache, row-wise reductions combine
within warps by shuffles, and ptxas accepts the result."""
import os
import shutil
import subprocess

import pytest

import tessera as ts

ELEMENTWISE = """module @m {
func @main(%x: f32[1048579], %y: f32[1048579]) -> (f32[1048579]) {
  %0 = exp(%x) : f32[1048579]
  %1 = mul(%0, %y) : f32[1048579]
  %2 = add(%1, %x) : f32[1048579]
  return(%2)
}
}
"""

ROWWISE = """module @m {
func @main(%x: f32[37,8192], %h: bf16[5,4096]) -> (f32[37,8192], f32[5]) {
  %0 = softmax(%x) {axis = -1} : f32[37,8192]
  %1 = cast(%h) {dtype = "f32"} : f32[5,4096]
  %2 = sum(%1) {axis = -1} : f32[5]
  return(%0, %2)
}
}
"""


def _ptxas():
    for p in (shutil.which("ptxas"), "/usr/local/bin/ptxas", "/usr/local/cuda/bin/ptxas"):
        if p and os.path.exists(p):
            return p
    return None


def _assemble(ptx, tmp_path):
    ptxas = _ptxas()
    if not ptxas:
        pytest.skip("ptxas is not installed")
    src = tmp_path / "k.ptx"
    src.write_text(ptx)
    r = subprocess.run([ptxas, "-arch=sm_90", str(src), "-o", str(tmp_path / "k.cubin")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_elementwise_ptx_uses_16_byte_accesses(tmp_path):
    ptx = ts.compile_for_target(ELEMENTWISE, "nvptx:sm_90")["asm"]
    assert "ld.global.nc.v4.f32" in ptx or "ld.global.nc.v4.b32" in ptx
    assert "st.global.v4.f32" in ptx or "st.global.v4.b32" in ptx
    assert ".maxntid 256" in ptx
    _assemble(ptx, tmp_path)


def test_rowwise_ptx_uses_shuffles_and_vectors(tmp_path):
    ptx = ts.compile_for_target(ROWWISE, "nvptx:sm_90")["asm"]
    assert "shfl.sync.bfly" in ptx
    assert "ld.global.nc.v4" in ptx  # f32 rows: 4 x f32; bf16 rows: 8 x bf16 as 4 x b32
    _assemble(ptx, tmp_path)


def test_other_gpu_targets_keep_one_lane_per_thread():
    for target in ("amdgpu:gfx942",):
        out = ts.compile_for_target(ELEMENTWISE, target)
        assert out["asm"]


@pytest.mark.parametrize("dt", ["bf16", "f16"])
def test_16_bit_rows_load_16_bytes_at_once(tmp_path, dt):
    """A bf16/f16 layernorm reads x, weight and bias as 16-byte vectors (one ld.v4 per 8
    elements), not only through the element-by-element path kept for unaligned views: LLVM
    once merged the two paths into scalar loads."""
    text = f"""module @m {{
func @main(%x: {dt}[64,4096], %w: {dt}[4096], %b: {dt}[4096]) -> ({dt}[64,4096]) {{
  %0 = layernorm(%x, %w, %b) {{axis = -1, eps = 1e-5}} : {dt}[64,4096]
  return(%0)
}}
}}
"""
    ptx = ts.compile_for_target(text, "nvptx:sm_90")["asm"]
    assert ptx.count("ld.global.nc.v4.b32") == 6  # 2 chunks of x, w and b per thread
    assert ptx.count("st.global.v4.b32") == 2
    _assemble(ptx, tmp_path)
