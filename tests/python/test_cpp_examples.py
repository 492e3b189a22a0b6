"""examples/cpp built with CMake against the installed package (find_package(tessera)), as a
user would: a C program linking only libtessera_runtime.so runs exported programs and matches
Python bitwise; a C++ caller lends strided memory through DLPack; a C++ program trains an MLP
with the compiler's C++ API (libtessera.so); the runtime library loads next to PyTorch in a
process that never loads the compiler."""
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tessera as ts

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cpp"
RNG = np.random.default_rng()


def tessera_cli(flag):
    r = subprocess.run([sys.executable, "-m", "tessera", flag], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"python -m tessera {flag} failed: {r.stderr}"
    return r.stdout.strip()


@pytest.fixture(scope="module")
def runtime_library():
    return Path(tessera_cli("--runtime-library"))


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    """examples/cpp built against the installed Tessera, as a user would."""
    if not shutil.which("cmake") or not shutil.which("cc"):
        pytest.fail("cmake and a C compiler are needed (scripts/setup.sh installs them)")
    build = tmp_path_factory.mktemp("examples")
    prefix = tessera_cli("--cmake-prefix-path")
    for cmd in (["cmake", "-S", str(EXAMPLES), "-B", str(build), f"-DCMAKE_PREFIX_PATH={prefix}",
                 "-DCMAKE_BUILD_TYPE=Release"],
                ["cmake", "--build", str(build)]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{' '.join(cmd)}:\n{r.stdout}\n{r.stderr}"
    return build


def run_c(build, program, inputs, tmp_path, *flags):
    files = []
    for i, a in enumerate(inputs):
        files.append(tmp_path / f"in{i}.bin")
        np.ascontiguousarray(a).tofile(files[-1])
    r = subprocess.run([str(build / "run_program"), *flags, str(program), *map(str, files), str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)
    return r


def test_c_program_matches_python_bitwise(examples, tmp_path):
    W = ts.tensor(RNG.standard_normal((9, 31)).astype(np.float32))

    def f(x, y):
        h = ts.gelu(x @ W)
        return h.astype(ts.bfloat16), ts.softmax(h, axis=-1) + y

    x = RNG.standard_normal((5, 9)).astype(np.float32)
    y = RNG.standard_normal((31,)).astype(np.float32)
    path = ts.export(f, x, y, path=tmp_path / "f.tsp")
    r = run_c(examples, path, [x, y], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "target: cpu" in r.stderr  # the manifest
    want = ts.load(path)(x, y)
    bf16_bits = np.fromfile(tmp_path / "out0.bin", dtype=np.uint16).reshape(5, 31)
    h = (bf16_bits.astype(np.uint32) << 16).view(np.float32)  # bfloat16 -> float32 is exact
    np.testing.assert_array_equal(h, want[0].astype(ts.float32).numpy())
    out1 = np.fromfile(tmp_path / "out1.bin", dtype=np.float32).reshape(5, 31)
    np.testing.assert_array_equal(out1, want[1].numpy())
    np.testing.assert_array_equal(out1, ts.jit(f)(x, y)[1].numpy())


def test_c_program_reports_bad_files_and_inputs(examples, tmp_path):
    path = ts.export(lambda a: a * 2, np.ones(4, np.float32), path=tmp_path / "g.tsp")
    data = path.read_bytes()
    (tmp_path / "cut.tsp").write_bytes(data[: len(data) // 2])
    r = run_c(examples, tmp_path / "cut.tsp", [np.ones(4, np.float32)], tmp_path)
    assert r.returncode == 1 and "TSR_ERROR_INVALID_PROGRAM" in r.stderr and "truncated" in r.stderr
    r = run_c(examples, path, [np.ones(3, np.float32)], tmp_path)
    assert r.returncode == 1 and "should hold 16 bytes" in r.stderr


def test_cpp_caller_lends_strided_memory_through_dlpack(examples, tmp_path):
    """examples/cpp/dlpack_exchange.cpp: every other column of the application's buffer, borrowed."""
    x = np.zeros((5, 6), np.float32)
    path = ts.export(lambda a: ts.softmax(a, axis=-1) * a, x, path=tmp_path / "s.tsp")
    r = subprocess.run([str(examples / "dlpack_exchange"), str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    storage = (np.arange(5 * 12) % 7 - 3).astype(np.float32).reshape(5, 12)
    want = ts.load(path)(np.ascontiguousarray(storage[:, ::2])).numpy().astype(np.float64).sum()
    line = [s for s in r.stdout.splitlines() if s.startswith("result")]
    assert line and line[0].startswith("result [5, 6] sum ")
    np.testing.assert_allclose(float(line[0].split()[-1]), want, rtol=1e-8)
    bad = subprocess.run([str(examples / "dlpack_exchange"), str(tmp_path / "none.tsp")], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1 and "TSR_ERROR_NOT_FOUND" in bad.stderr and "status 8" in bad.stderr


def test_cpp_program_trains_an_mlp(examples):
    """examples/cpp/train_mlp.cpp: built, differentiated and compiled from C++; its gradient
    agrees with finite differences and the loss falls tenfold."""
    r = subprocess.run([str(examples / "train_mlp"), "300"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    rel = float(r.stdout.split("relative error ")[1].split(")")[0])
    assert rel < 1e-6
    first, last = (float(v) for v in r.stdout.strip().splitlines()[-1].split()[1::2])
    assert last < first / 10


def test_runtime_alone_next_to_pytorch(runtime_library, tmp_path):
    """A Python process that never imports tessera (so the compiler is not loaded) but does load
    PyTorch runs an exported program through ctypes and libtessera_runtime.so."""
    pytest.importorskip("torch")
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    path = ts.export(lambda a: ts.exp(a) - 1, x, path=tmp_path / "h.tsp")
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(f"""
        import ctypes, sys
        import numpy as np
        import torch  # its own libraries (libstdc++, OpenMP, ...) in the same process
        lib = ctypes.CDLL({str(runtime_library)!r})
        class Device(ctypes.Structure):
            _fields_ = [("type", ctypes.c_int), ("index", ctypes.c_int32)]
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from dlpack_ctypes import DLDataType, DLDevice, DLManagedTensorVersioned, DLTensor
        lib.tsrGetLastError.restype = ctypes.c_char_p
        prog = ctypes.c_void_p()
        assert lib.tsrProgramLoad({str(path).encode()!r}, Device(1, 0), ctypes.byref(prog)) == 0, lib.tsrGetLastError()
        x = np.load({str(tmp_path / "x.npy")!r})
        shape = (ctypes.c_int64 * 2)(3, 4)
        t = DLTensor(x.ctypes.data, DLDevice(1, 0), 2, DLDataType(2, 32, 1), shape, None, 0)
        out = (ctypes.POINTER(DLManagedTensorVersioned) * 1)()
        assert lib.tsrProgramRun(prog, ctypes.byref(t), 1, out, 1) == 0, lib.tsrGetLastError()
        r = out[0].contents.dl_tensor
        y = np.ctypeslib.as_array(ctypes.cast(r.data, ctypes.POINTER(ctypes.c_float)), shape=(3, 4)).copy()
        out[0].contents.deleter(out[0])
        assert lib.tsrProgramDestroy(prog) == 0
        maps = open("/proc/self/maps").read()
        compiler = [m for m in maps.splitlines() if m.endswith("/libtessera.so") or "tessera/_C." in m]
        assert not compiler, compiler  # the compiler library or the extension was loaded
        assert [m for m in maps.splitlines() if m.endswith("/libtessera_runtime.so")]
        np.save({str(tmp_path / "y.npy")!r}, y)
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), ts.load(path)(x).numpy())


@pytest.mark.skipif(ts.is_available("cuda"), reason="checks the machine without a GPU")
def test_cpp_program_asking_for_a_missing_gpu_gets_a_clear_error(examples):
    r = subprocess.run([str(examples / "train_mlp"), "5", "--cuda"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "TSR_ERROR_DEVICE_UNAVAILABLE" in r.stderr, r.stdout + r.stderr


@pytest.mark.skipif(not ts.is_available("cuda"), reason="needs an NVIDIA GPU")
def test_cpp_program_trains_on_the_gpu(examples):
    """train_mlp --cuda: the C++ API compiles the loss and its gradient for the GPU."""
    r = subprocess.run([str(examples / "train_mlp"), "300", "--cuda"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(not ts.is_available("cuda"), reason="needs an NVIDIA GPU")
def test_c_program_runs_an_exported_gpu_program(examples, tmp_path):
    """The issue's H100 check: a program exported for the GPU's architecture runs from C with
    the runtime alone and matches Python; prints load time and the time of one run."""
    rng = np.random.default_rng()
    W1 = ts.tensor(rng.standard_normal((512, 2048)).astype(np.float32) / 22, device="cuda")
    W2 = ts.tensor(rng.standard_normal((2048, 512)).astype(np.float32) / 45, device="cuda")

    def block(x):
        return ts.layernorm(ts.gelu(x @ W1) @ W2 + x, axis=-1)

    x = rng.standard_normal((4, 128, 512)).astype(np.float32)
    xc = ts.tensor(x, device="cuda")
    path = ts.export(block, xc, path=tmp_path / "block.tsp")
    r = run_c(examples, path, [x], tmp_path, "--cuda")
    assert r.returncode == 0, r.stderr
    got = np.fromfile(tmp_path / "out0.bin", dtype=np.float32).reshape(4, 128, 512)
    np.testing.assert_array_equal(got, ts.jit(block)(xc).numpy())
    print(f"\n{ts.device_properties('cuda')['name']}: {r.stderr.strip().splitlines()[-1]}")
