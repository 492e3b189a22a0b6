"""The disk cache of compiled code: a new process loads machine code instead of running LLVM,
bad files are rebuilt, and no cache problem is ever an error. Also the autotune cache API and
TESSERA_LOG=recompiles.

Programs differ per test (their constants), because a program compiled earlier in this process
is served from memory and never reaches the disk cache."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tessera as ts


def program(c):
    """A Graph IR module of a few fused ops; ``c`` makes it unique."""
    return f"""module @main {{
func @main(%a0: f32[8], %a1: f32[8]) -> (f32[8]) {{
  %0 = mul(%a0, %a1) : f32[8]
  %1 = constant() {{type = f32[], value = {c!r}}} : f32[]
  %2 = add(%0, %1) : f32[8]
  %3 = exp(%2) : f32[8]
  %4 = tanh(%3) : f32[8]
  return(%4)
}}
}}
"""


INPUTS = ts.randn(8, seed=1), ts.randn(8, seed=2)


def run_program(text):
    (out,) = ts._C.compile(text, "cpu").run([t._realize() for t in INPUTS])
    return ts.Tensor._from_array(out).numpy()


def expected(c):
    x, y = (t.numpy().astype(np.float64) for t in INPUTS)
    return np.tanh(np.exp(x * y + c))


def cache_files(d):
    return sorted(p for p in (d / "cpu").glob("*.tsc")) if (d / "cpu").exists() else []


# A child process: compiles the programs of the constants in argv, prints their results' bytes
# and the process's counters as JSON.
CHILD = """
import json, sys
import tessera as ts
sys.path.insert(0, {here!r})
from test_disk_cache import program, run_program
out = {{c: run_program(program(c)).tobytes().hex() for c in json.loads(sys.argv[1])}}
print(json.dumps({{"results": out, "stats": ts._C.compile_stats()}}))
"""


def child(consts, cache_dir, log=""):
    env = dict(os.environ, TESSERA_CACHE_DIR=str(cache_dir), TESSERA_LOG=log)
    env.pop("TESSERA_CACHE", None)
    code = CHILD.format(here=os.path.dirname(__file__))
    p = subprocess.run([sys.executable, "-c", code, json.dumps(consts)], env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    return {float(k): v for k, v in out["results"].items()}, out["stats"], p.stderr


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TESSERA_CACHE", raising=False)
    monkeypatch.delenv("TESSERA_DUMP_IR", raising=False)
    return tmp_path


def test_a_second_process_loads_the_code_instead_of_compiling(cache_dir):
    first, stats1, _ = child([0.25], cache_dir)
    assert stats1["backend_compiles"] == 1 and stats1["disk_stores"] == 1
    assert len(cache_files(cache_dir)) == 1
    second, stats2, log = child([0.25], cache_dir, log="cache")
    assert stats2["backend_compiles"] == 0 and stats2["disk_hits"] == 1
    assert "tessera[cache]: hit cpu" in log
    # Same bits from the cache as from a fresh compile, in a child and in this process.
    assert second == first
    assert run_program(program(0.25)).tobytes().hex() == first[0.25]
    np.testing.assert_allclose(run_program(program(0.25)), expected(0.25), rtol=1e-5)


def test_ir_of_a_cached_program_is_regenerated(cache_dir):
    code = ("import tessera as ts\nf = ts.jit(lambda x: ts.exp(x) * 3.75)\nf(ts.ones(5))\n"
            "print(ts._C.compile_stats()['backend_compiles'], f._last.exe.from_disk_cache)\n"
            "print(f.ir('tile'))\nprint(f.ir('llvm'))\n")
    env = dict(os.environ, TESSERA_CACHE_DIR=str(cache_dir))
    run = lambda: subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,  # noqa: E731
                                 check=True).stdout
    assert run().startswith("1 False")
    out = run()
    assert out.startswith("0 True")  # loaded, not compiled, until the IR was asked for
    assert "rt.launch" in out and "define void" in out


CORRUPTIONS = {
    "garbage": lambda b, other: os.urandom(len(b)),
    "truncated": lambda b, other: b[: len(b) // 2],
    "empty": lambda b, other: b"",
    "bit flip": lambda b, other: b[:200] + bytes([b[200] ^ 1]) + b[201:],
    "old format": lambda b, other: b[:8] + (999).to_bytes(4, "little") + b[12:],
    "another key": lambda b, other: other,
}


def test_bad_files_are_ignored_logged_and_rebuilt(cache_dir):
    consts = [1.5 + i for i in range(len(CORRUPTIONS))]
    files = []
    for c in consts:  # compile here, one file each
        before = set(cache_files(cache_dir))
        run_program(program(c))
        (new,) = set(cache_files(cache_dir)) - before
        files.append(new)
    good = [f.read_bytes() for f in files]
    for i, (_, corrupt) in enumerate(CORRUPTIONS.items()):
        files[i].write_bytes(corrupt(good[i], good[(i + 1) % len(good)]))

    results, stats, log = child(consts, cache_dir, log="cache")
    assert stats["disk_rejected"] == len(consts) and stats["backend_compiles"] == len(consts)
    for reason in ("not a Tessera cache file", "truncated header", "checksum mismatch", "format version 999",
                   "written for another key"):
        assert reason in log
    for c in consts:
        np.testing.assert_allclose(np.frombuffer(bytes.fromhex(results[c]), np.float32), expected(c), rtol=1e-5)
    # Rebuilt: the next process hits every one.
    _, stats, _ = child(consts, cache_dir)
    assert stats["disk_hits"] == len(consts) and stats["backend_compiles"] == 0


def test_an_unwritable_directory_works_without_the_cache(tmp_path, monkeypatch, capfd):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(blocker / "cache"))  # cannot be created, even by root
    monkeypatch.setenv("TESSERA_LOG", "cache")
    before = ts._C.compile_stats()
    np.testing.assert_allclose(run_program(program(11.0)), expected(11.0), rtol=1e-5)
    np.testing.assert_allclose(run_program(program(12.0)), expected(12.0), rtol=1e-5)
    after = ts._C.compile_stats()
    assert after["disk_store_failures"] - before["disk_store_failures"] == 2
    assert capfd.readouterr().err.count("cannot write to the cache directory") == 1  # warned once


def test_tessera_cache_0_turns_it_off(cache_dir, monkeypatch):
    monkeypatch.setenv("TESSERA_CACHE", "0")
    before = ts._C.compile_stats()
    run_program(program(13.0))
    after = ts._C.compile_stats()
    assert after["backend_compiles"] == before["backend_compiles"] + 1
    assert after["disk_misses"] == before["disk_misses"] and cache_files(cache_dir) == []
    assert ts.cache_info()["enabled"] is False
    assert ts._C.autotune_lookup("k") is None


def test_autotune_results_round_trip(cache_dir):
    key = "matmul f32[512,512]x[512,512] cpu:znver4"
    assert ts._C.autotune_lookup(key) is None
    ts._C.autotune_store(key, "block_m=64 block_n=128 k_unroll=4")
    assert ts._C.autotune_lookup(key) == "block_m=64 block_n=128 k_unroll=4"
    ts._C.autotune_store(key, "block_m=32")  # replaced atomically
    assert ts._C.autotune_lookup(key) == "block_m=32"
    assert ts._C.autotune_lookup(key + " other") is None
    (f,) = (cache_dir / "autotune").glob("*.tsc")
    f.write_bytes(f.read_bytes()[:-3])
    assert ts._C.autotune_lookup(key) is None  # a bad file is a miss
    assert ts.cache_info()["kinds"]["autotune"]["entries"] == 1


def test_recompile_log_names_what_changed(monkeypatch, capfd):
    monkeypatch.setenv("TESSERA_LOG", "recompiles")

    @ts.jit
    def f(x, scale, *, bias=0.0):
        return x * scale + bias

    f(ts.ones(3, 4), 2)
    f(ts.ones(3, 4), 2)
    assert capfd.readouterr().err == ""  # the first trace and cached calls are quiet
    f(ts.ones(5, 4), 2)
    f(ts.ones(5, 4), 3)
    f(ts.ones(5, 4), 3.0)
    f(ts.ones(5, 4), 4.0)  # floats are run-time values: no new trace
    f(ts.ones(5, 4, dtype=ts.float16), 3)
    f(ts.ones(5, 4, dtype=ts.float16), 3, bias=1)
    f(ts.ones(5, 4, dtype=ts.float16), 3, bias=2)
    err = capfd.readouterr().err.splitlines()
    assert err == [
        "tessera[recompiles]: f: recompiling (signature 2): argument 0 shape (3, 4) -> (5, 4)",
        "tessera[recompiles]: f: recompiling (signature 3): argument 1 static value 2 -> 3",
        "tessera[recompiles]: f: recompiling (signature 4): argument 1 was a static value, now a float",
        "tessera[recompiles]: f: recompiling (signature 5): argument 0 dtype f32 -> f16; argument 1 was a float, "
        "now a static value",
        "tessera[recompiles]: f: recompiling (signature 6): keyword argument 'bias' added",
        "tessera[recompiles]: f: recompiling (signature 7): argument 'bias' static value 1 -> 2",
    ]
    f(ts.ones(3, 4), 2)  # seen before: no trace, no message
    assert capfd.readouterr().err == ""


def test_static_values_of_different_types_trace_separately():
    f = ts.jit(lambda x, s: x * s)
    a = ts.tensor([1, 2, 3])
    assert f(a, 2).dtype == ts.int64
    assert f(a, 2.0).dtype == ts.float32  # 2 == 2.0 in Python, but not in a trace
    assert f(a, 2).dtype == ts.int64
