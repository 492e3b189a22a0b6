"""tessera.export / tessera.load: programs compiled ahead of time, run by the runtime alone.

Checked against the same function run by jit (bitwise: the same compiler makes the same code)
and NumPy in float64; bad files each give a clear error; a C program that links only
libtessera_runtime.so runs an exported program (test_export_c.py)."""
import struct

import numpy as np
import pytest

import tessera as ts
from tessera.errors import DeviceError, TesseraError

RNG = np.random.default_rng()


def randn(*shape, dtype=np.float32):
    return ts.tensor(RNG.standard_normal(shape).astype(dtype))


def mlp_with_weights(d_in, d_hidden, d_out):
    W1, b1 = randn(d_in, d_hidden), randn(d_hidden)
    W2 = randn(d_hidden, d_out)

    def f(x, scale):
        h = ts.relu(x @ W1 + b1)
        return {"y": (h @ W2) * scale, "norm": ts.sum(h * h)}

    def reference(x, scale):
        h = np.maximum(x.astype(np.float64) @ W1.numpy().astype(np.float64) + b1.numpy(), 0)
        return (h @ W2.numpy().astype(np.float64)) * scale, np.sum(h * h)

    return f, reference


@pytest.mark.parametrize("batch", [0, 1, 13])
def test_round_trip_matches_jit_bitwise_and_numpy(tmp_path, batch):
    f, reference = mlp_with_weights(7, 33, 5)
    x = randn(batch, 7)
    path = ts.export(f, x, 1.5, path=tmp_path / "mlp.tsp")
    prog = ts.load(path)
    got = prog(x, 1.5)
    want = ts.jit(f)(x, 1.5)
    assert set(got) == {"y", "norm"}
    for k in got:
        assert got[k].shape == want[k].shape and got[k].dtype == want[k].dtype
        np.testing.assert_array_equal(got[k].numpy(), want[k].numpy())
    ref_y, ref_norm = reference(x.numpy(), 1.5)
    # float32 products of 7 and 33 terms: a few ulps of the largest partial sums
    np.testing.assert_allclose(got["y"].numpy(), ref_y, rtol=1e-5, atol=1e-5 * (1 + np.abs(ref_y).max(initial=0)))
    np.testing.assert_allclose(float(got["norm"]), ref_norm, rtol=1e-5)
    # a float input is a run-time value, as in jit
    np.testing.assert_array_equal(prog(x, -2.0)["y"].numpy(), ts.jit(f)(x, -2.0)["y"].numpy())


def test_bytes_round_trip_and_signature():
    f, _ = mlp_with_weights(4, 8, 3)
    x = randn(2, 4)
    data = ts.export(f, x, 1.0)
    assert isinstance(data, bytes) and data.startswith(b"TESSERA-PROGRAM\0")
    prog = ts.load(data)
    assert prog.input_types == [((2, 4), "f32"), ((), "f64")]
    assert sorted(prog.output_types) == [((), "f32"), ((2, 3), "f32")]
    assert prog.target == "cpu"
    m = prog.manifest
    assert "format: 1" in m and "target: cpu" in m and "compiler: tessera " in m
    assert "constants: f32[4,8], f32[8], f32[8,3]" in m


def test_control_flow_and_half_precision(tmp_path):
    def f(x):
        def body(carry, row):
            return carry + row, carry * 2
        total, ys = ts.scan(body, ts.zeros_like(x[0]), x)
        return total.astype(ts.bfloat16).astype(ts.float32), ys.astype(ts.float16)

    x = randn(11, 6)
    prog = ts.load(ts.export(f, x, path=tmp_path / "scan.tsp"))
    got, want = prog(x), ts.jit(f)(x)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g.numpy().astype(np.float32), w.numpy().astype(np.float32))
    np.testing.assert_allclose(got[0].numpy(), x.numpy().astype(np.float64).sum(0), rtol=2**-7)


def test_jit_function_and_numpy_arguments():
    @ts.jit
    def f(a, b):
        return a * b + 1

    a = RNG.standard_normal((3, 5))
    prog = ts.load(ts.export(f, a, a))
    np.testing.assert_array_equal(prog(a, a).numpy(), a * a + 1)


def test_wrong_inputs_are_clear_errors():
    f, _ = mlp_with_weights(4, 8, 3)
    prog = ts.load(ts.export(f, randn(2, 4), 1.0))
    with pytest.raises(ts.ShapeError, match=r"input 0 is f32\[3,4\], the compiled program expects f32\[2,4\]"):
        prog(randn(3, 4), 1.0)
    with pytest.raises(ts.ShapeError, match=r"input 0 is f64\[2,4\]"):
        prog(randn(2, 4, dtype=np.float64), 1.0)
    with pytest.raises(TesseraError, match="args was exported with 2 items, got 1"):
        prog(randn(2, 4))
    with pytest.raises(TesseraError, match=r"args\[0\] was exported as a tensor, got a float"):
        prog(1.0, 1.0)


def test_keywords_and_static_values_must_match():
    def f(a, b, n=2):
        return a * n - b

    a, b = randn(3), randn(3)
    prog = ts.load(ts.export(f, a, b=b, n=2))
    np.testing.assert_array_equal(prog(a, b=b, n=2).numpy(), (a * 2 - b).numpy())
    with pytest.raises(TesseraError, match=r"kwargs\['n'\] was exported as the static value 2, got 3"):
        prog(a, b=b, n=3)  # a static value compiled in
    with pytest.raises(TesseraError, match="args was exported with 1 items, got 2"):
        prog(a, b)  # positional where a keyword was exported


def test_index_checks_travel_with_the_program():
    table = randn(5, 3)
    prog = ts.load(ts.export(lambda i: ts.take(table, i, axis=0, mode="error"), ts.tensor(np.array([0, 4]))))
    np.testing.assert_array_equal(prog(ts.tensor(np.array([4, 1]))).numpy(), table.numpy()[[4, 1]])
    with pytest.raises(TesseraError, match="an index is outside"):
        prog(ts.tensor(np.array([0, 5])))


def test_outputs_never_alias_constants():
    w = randn(4)
    prog = ts.load(ts.export(lambda x: (w, x + 1), randn(4)))
    out = prog(randn(4))[0]
    np.testing.assert_array_equal(out.numpy(), w.numpy())
    out[0] = 100.0  # a returned constant is the caller's copy
    np.testing.assert_array_equal(prog(randn(4))[0].numpy(), w.numpy())


# ---- bad files: the container is magic, u32 format, u32 count, then (name, u64 checksum, payload)

def sections(data):
    at = 16 + 8
    out = []
    for _ in range(struct.unpack_from("<I", data, 20)[0]):
        n, = struct.unpack_from("<Q", data, at)
        name = data[at + 8:at + 8 + n].decode()
        at += 8 + n + 8
        size, = struct.unpack_from("<Q", data, at)
        out.append((name, at + 8, size))
        at += 8 + size
    return out


@pytest.fixture(scope="module")
def exported():
    f, _ = mlp_with_weights(4, 8, 3)
    return ts.export(f, randn(2, 4), 1.0)


def test_not_a_program(tmp_path):
    with pytest.raises(TesseraError, match="not an exported Tessera program"):
        ts.load(b"PK\x03\x04 a zip file")
    with pytest.raises(TesseraError, match="cannot read .*missing.tsp"):
        ts.load(tmp_path / "missing.tsp")


def test_newer_format_is_refused(exported):
    newer = bytearray(exported)
    struct.pack_into("<I", newer, 16, 2)
    with pytest.raises(TesseraError, match="format 2, but this Tessera runtime reads formats up to 1"):
        ts.load(bytes(newer))


@pytest.mark.parametrize("fraction", [0.0001, 0.01, 0.3, 0.7, 0.999])
def test_truncated_file(exported, fraction):
    with pytest.raises(TesseraError, match="truncated"):
        ts.load(exported[:max(17, int(len(exported) * fraction))])


def test_every_corrupted_section_is_caught(exported):
    for name, start, size in sections(exported):
        bad = bytearray(exported)
        bad[start + size // 2] ^= 0x5A
        with pytest.raises(TesseraError, match=f"corrupted: section '{name}' does not match its checksum"):
            ts.load(bytes(bad))


def test_trailing_bytes_are_refused(exported):
    with pytest.raises(TesseraError, match="bytes after its last section"):
        ts.load(exported + b"\0")


def test_gpu_program_on_the_cpu_is_refused():
    x = randn(16, 16)
    data = ts.export(lambda a: a @ a + 1, x, target="nvptx:sm_90a")  # no GPU needed to export
    assert b"nvptx:sm_90a" in data
    with pytest.raises(DeviceError, match="exported for nvptx:sm_90a and cannot run on cpu: load it on a CUDA"):
        ts.load(data)
    if not ts.is_available("cuda"):
        with pytest.raises(DeviceError):
            ts.load(data, device="cuda")


def test_export_refuses_what_it_cannot_carry():
    x = randn(3)
    with pytest.raises(TesseraError, match="symbolic dims"):
        ts.export(ts.jit(lambda a: a * 2, dynamic=True), x)
    with pytest.raises(TesseraError, match="debug_print"):
        ts.export(lambda a: ts.debug_print("{}", a) or a * 2, x)
    with pytest.raises(TesseraError, match="results must be tensors"):
        ts.export(lambda a: ts.nn.Linear(3, 2, seed=0), x)


def kernel_images(data):
    """(names, parameter counts, bytes, offset of the first count) of each image of 'kernels'."""
    (start, size), = [(s, n) for name, s, n in sections(data) if name == "kernels"]
    at = start

    def u64():
        nonlocal at
        at += 8
        return struct.unpack_from("<Q", data, at - 8)[0]

    def string():
        nonlocal at
        n = u64()
        at += n
        return data[at - n:at]

    images = []
    for _ in range(u64()):
        names = [string().decode() for _ in range(u64())]
        n = u64()
        params = list(struct.unpack_from(f"<{n}i", data, at))
        first = at
        at += 4 * n
        images.append((names, params, string(), first))
    assert at == start + size
    return images


def fnv1a(payload):
    h = 14695981039346656037  # FNV-1a 64, as cpp/runtime/bytes.hpp
    for c in payload:
        h = ((h ^ c) * 1099511628211) % 2**64
    return h


def with_checksums(data):
    """`data` with every section's checksum recomputed (a file edited on purpose, not corrupted)."""
    out = bytearray(data)
    for _name, start, size in sections(data):
        struct.pack_into("<Q", out, start - 16, fnv1a(bytes(out[start:start + size])))
    return bytes(out)


def test_a_launch_that_does_not_fit_its_kernel_is_refused(exported):
    (_names, params, _so, first), *_ = kernel_images(exported)
    bad = bytearray(exported)
    struct.pack_into("<i", bad, first, params[0] + 1)
    with pytest.raises(TesseraError, match=f"takes {params[0] + 1} buffers, its launch passes {params[0]}"):
        ts.load(with_checksums(bytes(bad)))


def test_gpu_exports_record_their_kernels_signatures():
    """bf16 GEMMs on sm_90a launch with TMA descriptors: the file's checks accept them (the
    load then stops at the device, as it must on a machine without one)."""
    a, b = randn(256, 128).astype(ts.bfloat16), randn(128, 192).astype(ts.bfloat16)
    data = ts.export(lambda x, y: ts.gelu(x @ y), a, b, target="nvptx:sm_90a")
    with pytest.raises(DeviceError, match="exported for nvptx:sm_90a"):
        ts.load(data)


def test_gpu_export_holds_ptx_that_ptxas_accepts(tmp_path):
    import shutil
    import subprocess
    ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
    data = ts.export(lambda a, b: ts.gelu(a @ b) + 1, randn(64, 32), randn(32, 48), target="nvptx:sm_90a")
    images = kernel_images(data)
    assert images and all(names for names, *_ in images)
    for i, (names, _params, ptx, _at) in enumerate(images):
        assert b".target sm_90a" in ptx
        for name in names:
            assert f".entry {name}".encode() in ptx
        if shutil.which(ptxas):
            (tmp_path / f"p{i}.ptx").write_bytes(ptx.rstrip(b"\0"))  # the driver reads it NUL-terminated
            r = subprocess.run([ptxas, "-arch=sm_90a", str(tmp_path / f"p{i}.ptx"), "-o", str(tmp_path / "p.cubin")],
                               capture_output=True, text=True, timeout=300)
            assert r.returncode == 0, r.stderr


def test_cpu_export_is_a_shared_object():
    images = kernel_images(ts.export(lambda a: ts.tanh(a) * 3, randn(8)))
    (names, params, so, _at), = images
    assert len(params) == len(names) and all(p >= 1 for p in params)
    assert so[:4] == b"\x7fELF" and so[16] == 3  # ET_DYN
    assert names
