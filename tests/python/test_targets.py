"""Code generation for targets this machine may lack: PTX assembled by ptxas, AMDGPU code
objects inspected with llvm-readelf, SPIR-V checked by spirv-val. Each check runs the real tool
when it is installed and skips with the reason otherwise."""
import os
import shutil
import subprocess
import sys

import pytest

import tessera as ts

PROGRAM = """module @m {
func @main(%x: f32[1000], %y: f32[1000], %a: f32[37,53], %b: f32[53,29]) -> (f32[1000], f32[], f32[37,29]) {
  %0 = exp(%x) : f32[1000]
  %1 = mul(%0, %y) : f32[1000]
  %2 = relu(%1) : f32[1000]
  %3 = sum(%2) {axis = 0} : f32[]
  %4 = matmul(%a, %b) : f32[37,29]
  return(%2, %3, %4)
}
}
"""

KERNELS = ["main_k0_exp_mul_relu_etc", "main_k1_matmul"]  # the sum fuses with its prologue


def _tool(*names):
    for n in names:
        path = shutil.which(n) or (os.path.exists(n) and n)
        if path:
            return path
    return None


def test_ptx_is_emitted_for_sm90_and_assembles(tmp_path):
    out = ts.compile_for_target(PROGRAM, "nvptx:sm_90")
    ptx = out["asm"]
    assert ".target sm_90" in ptx
    for k in KERNELS:
        assert f".entry {k}" in ptx
    assert "bar.sync" in ptx or "barrier.sync" in ptx  # the reduction combines lanes in shared memory
    assert out["binary"].endswith(b"\0")
    ptxas = _tool("ptxas", "/usr/local/cuda/bin/ptxas")
    if not ptxas:
        pytest.skip("ptxas is not installed; PTX was generated but not assembled")
    src = tmp_path / "k.ptx"
    src.write_text(ptx)
    r = subprocess.run([ptxas, "-arch=sm_90", str(src), "-o", str(tmp_path / "k.cubin")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_amdgpu_code_object_has_kernel_descriptors(tmp_path):
    if not (_tool("ld.lld-22", "ld.lld", "/usr/lib/llvm-22/bin/ld.lld") or os.environ.get("TESSERA_LD_LLD")):
        with pytest.raises(ts.CompileError, match="needs ld.lld"):
            ts.compile_for_target(PROGRAM, "amdgpu:gfx942")
        pytest.skip("ld.lld is not installed: AMDGPU code objects cannot be linked here (clear error checked)")
    out = ts.compile_for_target(PROGRAM, "amdgpu:gfx942")
    hsaco = out["binary"]
    assert hsaco[:4] == b"\x7fELF"
    assert "amdhsa" in out["asm"] and ".amdhsa_kernel main_k0_exp_mul_relu_etc" in out["asm"]
    readelf = _tool("llvm-readelf-22", "/usr/lib/llvm-22/bin/llvm-readelf")
    if not readelf:
        pytest.skip("llvm-readelf is not installed; the code object was produced but not inspected")
    path = tmp_path / "k.hsaco"
    path.write_bytes(hsaco)
    notes = subprocess.run([readelf, "--notes", str(path)], capture_output=True, text=True, check=True).stdout
    assert "AMDGPU" in notes and "amdhsa.kernels" in notes
    for k in KERNELS:
        assert f".name:           {k}" in notes or f".name: {k}" in notes or k in notes
    syms = subprocess.run([readelf, "--symbols", str(path)], capture_output=True, text=True, check=True).stdout
    for k in KERNELS:
        assert f"{k}.kd" in syms  # the kernel descriptor the loader reads
    assert "gfx942" in subprocess.run([readelf, "-h", str(path)], capture_output=True, text=True).stdout.lower() \
        or "gfx942" in notes


MIXED = """module @m {
func @main(%x: f64[300], %y: f32[300], %i: i32[7]) -> (f64[300], f32[], i32[7]) {
  %0 = exp(%x) : f64[300]
  %1 = sum(%y) {axis = 0} : f32[]
  %2 = add(%i, %i) : i32[7]
  return(%0, %1, %2)
}
}
"""


def spirv_validates(program, tmp_path, tries=3):
    """Compiles ``program`` to SPIR-V in a fresh process and runs spirv-val on it. LLVM 22's
    SPIR-V backend intermittently emits a module with a duplicated result id ("Id N is
    defined more than once"), more often the longer a process has been compiling, so each try
    is a new process and up to ``tries`` are made; every other problem fails at once."""
    val = _tool("spirv-val")
    if not val:
        pytest.skip("spirv-val is not installed; SPIR-V was produced but not validated")
    src, spv = tmp_path / "program.tir", tmp_path / "k.spv"
    src.write_text(program)
    code = ("import sys, tessera as ts; out = ts.compile_for_target(open(sys.argv[1]).read(), 'spirv:vulkan'); "
            "open(sys.argv[2], 'wb').write(out['binary']); open(sys.argv[2] + '.s', 'w').write(out['asm'])")
    for _ in range(tries):
        subprocess.run([sys.executable, "-c", code, str(src), str(spv)], check=True)
        assert spv.read_bytes()[:4] == b"\x03\x02\x23\x07"  # SPIR-V magic, little endian
        r = subprocess.run([val, "--target-env", "vulkan1.3", str(spv)], capture_output=True, text=True)
        if r.returncode == 0:
            return {"asm": (tmp_path / "k.spv.s").read_text()}
        assert "is defined more than once" in r.stdout + r.stderr, r.stdout + r.stderr
    pytest.fail(f"SPIR-V failed validation {tries} times: {r.stdout}{r.stderr}")


@pytest.mark.parametrize("program", [PROGRAM, MIXED], ids=["f32", "mixed-dtypes"])
def test_spirv_vulkan_module_validates(tmp_path, program):
    # MIXED: kernels with buffers of different dtypes in one module.
    out = spirv_validates(program, tmp_path)
    if program is PROGRAM:
        for k in KERNELS:
            assert f'"{k}"' in out["asm"]


def test_cpu_levels_are_available():
    out = ts.compile_for_target(PROGRAM, "cpu")
    assert "sched.kernel" in out["schedule"]
    assert "tile.for" in out["tile"] and "rt.launch" in out["tile"]
    assert "define void @main_k0_exp_mul_relu_etc(ptr" in out["llvm"] and "matmul(ptr" in out["llvm"]


def test_repeated_compiles_for_every_target_are_stable(tmp_path):
    # The SPIR-V and AMDGPU code generators keep state in their target machines: compiling
    # again and again, interleaved, must not crash. PTX must come out identical every time.
    # LLVM's SPIR-V backend does not promise identical output from one compile to the next
    # (declaration order and block splitting vary), so SPIR-V is checked valid instead.
    first_ptx = ts.compile_for_target(PROGRAM, "nvptx:sm_90")["asm"]
    for _ in range(3):
        for t in ("nvptx:sm_90", "spirv:vulkan", "cpu"):
            out = ts.compile_for_target(PROGRAM, t)
            if t.startswith("spirv"):  # validity is checked by spirv_validates, in fresh processes
                assert all(f'"{k}"' in out["asm"] for k in KERNELS)
            if t.startswith("nvptx"):
                assert out["asm"] == first_ptx


@pytest.mark.parametrize("target", ["nvptx:sm_1000", "amdgpu:gfx9999", "spirv:opencl", "tpu", ""])
def test_unknown_targets_are_clear_errors(target):
    with pytest.raises(ts.CompileError) as e:
        ts.compile_for_target(PROGRAM, target)
    assert "unknown" in str(e.value)
