"""The libraries must load beside other LLVMs (PyTorch, Triton, Numba): libtessera.so keeps its
LLVM inside and exports only the C ABI and Tessera's own C++ symbols; the extension links it
and exports only its Python entry point; libtessera_runtime.so exports only the C ABI and
needs no C++ runtime. None needs a shared LLVM."""
import shutil
import subprocess
from pathlib import Path

import pytest

from tessera import _C

SYSTEM = {"libc.so.6", "libm.so.6", "libz.so.1", "libzstd.so.1", "ld-linux-x86-64.so.2", "libpthread.so.0",
          "libdl.so.2", "librt.so.1"}
CXX_RUNTIME = {"libstdc++.so.6", "libgcc_s.so.1"}
LIB = Path(_C.__file__).parent / "lib"


def _run(tool, path, *args):
    exe = shutil.which(tool)
    if not exe:
        pytest.skip(f"{tool} is not installed")
    return subprocess.run([exe, *args, str(path)], capture_output=True, text=True, check=True).stdout


def _needed(path):
    return {line.split("[")[1].rstrip("]") for line in _run("readelf", path, "-d").splitlines() if "(NEEDED)" in line}


def _symbols(path, *flags):
    return [line.split(maxsplit=2)[-1] for line in _run("nm", path, "-D", *flags).splitlines() if line.strip()]


@pytest.mark.parametrize("path, allowed", [
    (_C.__file__, SYSTEM | CXX_RUNTIME | {"libtessera.so"}),
    (LIB / "libtessera.so", SYSTEM | CXX_RUNTIME),
    (LIB / "libtessera_runtime.so", SYSTEM),
], ids=["_C", "libtessera", "libtessera_runtime"])
def test_needs_only_system_libraries(path, allowed):
    needed = _needed(path)
    assert needed <= allowed, f"unexpected run-time dependencies: {sorted(needed - allowed)}"


def test_extension_exports_only_the_module_entry_point():
    assert _symbols(_C.__file__, "--defined-only") == ["PyInit__C"]


def test_libtessera_exports_the_c_abi_and_tessera_only():
    names = _symbols(LIB / "libtessera.so", "--defined-only")  # mangled: what the version script sees
    assert "tsrProgramRun" in names and "tsrFunctionCompile" in names
    ours = ("tsr", "_ZN7tessera", "_ZNK7tessera", "_ZZN7tessera", "_ZGVN7tessera", "_ZGVZN7tessera", "_ZTIN7tessera",
            "_ZTSN7tessera", "_ZTVN7tessera", "_ZTTN7tessera")
    other = [n for n in names if not n.startswith(ours)]
    assert not other, other[:10]


def test_runtime_library_exports_only_the_c_abi():
    names = _symbols(LIB / "libtessera_runtime.so", "--defined-only")
    assert names and all(n.startswith("tsr") for n in names), [n for n in names if not n.startswith("tsr")][:10]


@pytest.mark.parametrize("path", [_C.__file__, LIB / "libtessera.so", LIB / "libtessera_runtime.so"],
                         ids=["_C", "libtessera", "libtessera_runtime"])
def test_no_llvm_symbols_cross_the_boundary(path):
    """No LLVM or lld symbol is exported or imported (tessera:: functions whose parameters are
    LLVM types are Tessera's own)."""
    defined = _symbols(path, "-C", "--defined-only")
    assert not [s for s in defined if s.startswith(("llvm::", "LLVM", "lld::", "polly"))]
    # Strong references only: a weak one to the initialiser of one of LLVM's thread_locals is
    # left by any code that reads the variable, and stays null (ours has no dynamic initialiser).
    strong = [line.split(maxsplit=1)[1] for line in _run("nm", path, "-D", "-C", "--undefined-only").splitlines()
              if line.split()[0] == "U"]
    assert not [s for s in strong if "llvm" in s.lower() or "lld::" in s]
