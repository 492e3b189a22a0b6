"""rand_like and dropout read seed and offset at run time: a jitted step with a changing seed
traces and compiles once, eager calls with new seeds reuse the program, and rand_like stays
bit-identical to tessera.rand."""
import numpy as np
import pytest
import torch

import tessera as ts


def compiles():
    return ts._C.compile_stats()["backend_compiles"]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("seed", [0, 1, 2**32 + 5, 2**63 + 11, 2**64 - 1, -3])
def test_runtime_seed_is_bit_identical_to_rand(dtype, seed):
    def bits(t):
        return torch.from_dlpack(t).contiguous().view(torch.uint8).numpy()
    x = ts.zeros(5, 13, dtype=dtype)
    want = bits(ts.rand(5 * 13 + 4, seed=seed & (2**64 - 1), dtype=dtype))[4 * x.dtype.itemsize:]
    word = int(np.array(seed & (2**64 - 1), dtype=np.uint64).astype(np.int64))
    np.testing.assert_array_equal(bits(ts.rand_like(x, ts.tensor(word), ts.tensor(4))).ravel(), want)
    np.testing.assert_array_equal(bits(ts.rand_like(x, seed=seed, offset=4)).ravel(), want)


def test_jitted_step_with_changing_seed_compiles_once():
    x = ts.randn(16, 32, seed=0)

    @ts.jit
    def step(x, seed):
        return ts.sum(ts.dropout(x, seed, p=0.25) * x, axis=None)

    step(x, ts.tensor(0))
    before = compiles()
    values = [step(x, ts.tensor(s)).item() for s in range(1, 6)]
    assert compiles() == before and len(step._cache) == 1
    for s, v in zip(range(1, 6), values):
        assert v == pytest.approx(ts.sum(ts.dropout(x, p=0.25, seed=s) * x, axis=None).item(), rel=1e-6)
    assert len(set(values)) == len(values)


def test_eager_new_seeds_and_offsets_reuse_the_program():
    x = ts.ones(7, 3)
    ts.dropout(x, p=0.5, seed=0, offset=1).numpy()
    before = compiles()
    masks = {ts.dropout(x, p=0.5, seed=s, offset=s * 21).numpy().tobytes() for s in range(1, 5)}
    assert compiles() == before and len(masks) == 4


def test_bad_seed_names_the_op_and_line():
    x = ts.ones(3)
    with pytest.raises(ts.TesseraError,
                       match=r"dropout: seed must be an int or a rank-0 integer tensor.*test_random_seed"):
        ts.dropout(x, p=0.5, seed=1.5)
    with pytest.raises(TypeError, match="rand_like: seed must be a rank-0 integer tensor, got f32"):
        ts.rand_like(x, ts.ones(1))
    with pytest.raises(TypeError, match="rand_like: offset must be a rank-0 integer tensor, got i64\\[2\\]"):
        ts.rand_like(x, seed=1, offset=ts.tensor([1, 2]))
