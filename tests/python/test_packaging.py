"""The extension must load beside other LLVMs (PyTorch, Triton, Numba): it exports only its
Python entry point and needs no shared LLVM or C++ runtime at run time."""
import shutil
import subprocess

import pytest

from tessera import _C

ALLOWED = {"libc.so.6", "libm.so.6", "libz.so.1", "libzstd.so.1", "ld-linux-x86-64.so.2", "libpthread.so.0",
           "libdl.so.2", "librt.so.1"}


def _run(tool, *args):
    path = shutil.which(tool)
    if not path:
        pytest.skip(f"{tool} is not installed")
    return subprocess.run([path, *args, _C.__file__], capture_output=True, text=True, check=True).stdout


def test_needs_only_system_libraries():
    needed = {line.split("[")[1].rstrip("]") for line in _run("readelf", "-d").splitlines() if "(NEEDED)" in line}
    assert needed <= ALLOWED, f"unexpected run-time dependencies: {sorted(needed - ALLOWED)}"


def test_exports_only_the_module_entry_point():
    exported = [line.split()[-1] for line in _run("nm", "-D", "--defined-only").splitlines() if line.strip()]
    assert exported == ["PyInit__C"]


def test_no_unresolved_llvm_symbols():
    undefined = [line.split()[-1] for line in _run("nm", "-D", "--undefined-only").splitlines() if line.strip()]
    assert not [s for s in undefined if "llvm" in s.lower() or s.startswith("LLVM")]
