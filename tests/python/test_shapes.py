"""Shape annotations checked when a function is traced, with dim names in the errors."""
import inspect

import pytest

import tessera as ts
from tessera import Tensor


def line_after():
    return inspect.currentframe().f_back.f_lineno + 1


@ts.jit
def attention_scores(q: Tensor["B", "N", "D"], k: Tensor["B", "D", "M"]):  # noqa: F821
    return ts.sum(q, axis=0) @ ts.sum(k, axis=0)


def test_consistent_shapes_pass():
    out = attention_scores(ts.ones(2, 3, 4), ts.ones(2, 4, 5))
    assert out.shape == (3, 5)


def test_dim_bound_to_two_sizes_names_both_and_the_call_line():
    q, k = ts.ones(8, 16, 128), ts.ones(8, 256, 32)
    line = line_after()
    with pytest.raises(ts.ShapeError) as e:
        attention_scores(q, k)
    msg = str(e.value)
    assert "dim D is 128 in q Tensor[B=8,N=16,D=128] but 256 in k Tensor[B=8,D=256,M=32]" in msg
    assert e.value.location.endswith(f"test_shapes.py:{line + 1}")


def test_rank_and_fixed_sizes():
    @ts.jit
    def f(x: Tensor["B", 3]):  # noqa: F821
        return x * 2.0

    assert f(ts.ones(5, 3)).shape == (5, 3)
    with pytest.raises(ts.ShapeError, match="has 1 dims"):
        f(ts.ones(3))
    with pytest.raises(ts.ShapeError, match="requires 3"):
        f(ts.ones(5, 4))


def test_ellipsis_for_leading_dims():
    @ts.jit
    def f(x: Tensor[..., "D"], w: Tensor["D", "E"]):  # noqa: F821
        return x @ w if x.ndim == 2 else x

    assert f(ts.ones(7, 4), ts.ones(4, 2)).shape == (7, 2)
    with pytest.raises(ts.ShapeError, match="dim D is 4 in x"):
        f(ts.ones(7, 4), ts.ones(5, 2))


def test_op_errors_inside_a_trace_show_dim_names():
    @ts.jit
    def f(q: Tensor["N", "D"], k: Tensor["D2", "M"]):  # noqa: F821
        return q @ k

    with pytest.raises(ts.ShapeError) as e:
        f(ts.ones(4, 128), ts.ones(256, 9))
    assert "matmul: inner dims differ: q Tensor[N=4,D=128] @ k Tensor[D2=256,M=9]" in str(e.value)


def test_bad_annotations():
    with pytest.raises(ts.TesseraError, match="dims must be"):
        Tensor[1.5]
    with pytest.raises(ts.TesseraError, match="at most one"):
        Tensor[..., "A", ...]
