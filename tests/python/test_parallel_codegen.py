"""Code generation in parts on parallel threads and kernels shared by identical programs
(cpp/backends/llvm/parallel_codegen.hpp): results are those of a one-part compile, identical
kernels compile once (an alias names the copy), and the disk cache stores the parts."""

import numpy as np

import tessera as ts


def two_softmaxes(a, b):
    return ts.softmax(ts.softmax(a, axis=-1) @ b, axis=-1)


def reference(a, b):
    def softmax(z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    return softmax(softmax(a) @ b)


def test_identical_kernels_compile_once():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 64)), rng.standard_normal((64, 64))
    f = ts.jit(two_softmaxes)
    got = np.asarray(f(ts.tensor(a), ts.tensor(b)))
    np.testing.assert_allclose(got, reference(a, b), rtol=1e-12, atol=1e-14)
    llvm = f.ir("llvm")
    assert " = alias " in llvm  # the second softmax kernel is the first one's code


def test_many_kernels_in_parts_match_one_part(monkeypatch, tmp_path):
    # A program of a dozen different kernels compiled as one part and as four (four threads),
    # each from scratch (its own disk cache, no in-memory cache: _C.compile).
    def prog(x, w):
        for i in range(6):
            x = ts.tanh(x @ w + float(i)) * (i + 1)
            x = ts.softmax(x, axis=-1 if i % 2 else 0)
        return x

    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((48, 40)), rng.standard_normal((40, 40)) / 7
    f = ts.jit(prog)
    f(ts.tensor(x), ts.tensor(w))
    text = f.ir("traced")
    results = []
    for threads in ("1", "4"):
        monkeypatch.setenv("TESSERA_COMPILE_THREADS", threads)
        monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / threads))
        with ts.profile() as prof:
            exe = ts._C.compile(text.replace("@main", f"@main{threads}"), "cpu")  # not compiled before
        parts = [s.name for s in prof.spans if s.name.startswith("LLVM codegen part")]
        assert parts and parts[0].endswith(f"/{threads} ({parts[0].split('(')[1]}")
        out = exe.run([ts._C.from_dlpack(a, None, None) for a in (x, w)])[0]
        results.append(np.asarray(ts.Tensor._from_array(out)))
    np.testing.assert_array_equal(results[0], results[1])
