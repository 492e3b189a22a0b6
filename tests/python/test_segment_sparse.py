"""Segment reductions and sparse products against NumPy (ufunc.at, dense products) in float64
on fresh random inputs: unsorted ids, empty segments, ties, rows of zeros, empty rows in CSR;
gradients against torch autograd (scatter_reduce / index_add references); errors for
out-of-range ids and bad shapes. Results are exact or within 1e-12 (short sums)."""
import numpy as np
import pytest

import tessera as ts

torch = pytest.importorskip("torch")
RNG = np.random.default_rng()


def ids_with_gaps(n, segments):
    ids = RNG.integers(0, segments, n)
    ids[ids == segments // 2] = 0  # an empty segment in the middle
    return ids


@pytest.mark.parametrize("shape", [(0,), (1,), (11,), (13, 3), (7, 2, 4)])
@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min"])
def test_segments_match_numpy(shape, kind):
    data, ids, s = RNG.standard_normal(shape), ids_with_gaps(shape[0], 5), 5
    if shape[0] > 2:
        data[1], ids[1] = data[2], ids[2]  # a tie
    ufunc, ident = {"sum": (np.add, 0.0), "mean": (np.add, 0.0), "max": (np.maximum, -np.inf),
                    "min": (np.minimum, np.inf)}[kind]
    ref = np.full((s,) + shape[1:], ident)
    ufunc.at(ref, ids, data)
    if kind == "mean":
        ref = ref / np.maximum(np.bincount(ids, minlength=s), 1).reshape((s,) + (1,) * (len(shape) - 1))
    got = getattr(ts, "segment_" + kind)(ts.tensor(data), ts.tensor(ids), num_segments=s).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_integer_segments_and_dropped_ids():
    data, ids = RNG.integers(-9, 9, (12, 2)).astype(np.int32), RNG.integers(0, 6, 12)
    ref = np.full((4, 2), np.iinfo(np.int32).min)
    keep = ids < 4
    np.maximum.at(ref, ids[keep], data[keep])
    got = ts.segment_max(ts.tensor(data), ts.tensor(ids), num_segments=4, mode="fill")  # ids 4, 5 dropped
    np.testing.assert_array_equal(got.numpy(), ref)
    ref_sum = np.zeros((4, 2), np.int32)
    np.add.at(ref_sum, ids[keep], data[keep])
    np.testing.assert_array_equal(ts.segment_sum(ts.tensor(data), ts.tensor(ids), num_segments=4, mode="fill").numpy(),
                                  ref_sum)


def test_infinite_data_keeps_its_extremum():
    data, ids = np.array([[-np.inf, 1.0], [1.0, np.inf], [2.0, -np.inf]]), np.array([0, 0, 1])
    np.testing.assert_array_equal(ts.segment_max(ts.tensor(data), ts.tensor(ids), num_segments=2).numpy(),
                                  [[1.0, np.inf], [2.0, -np.inf]])
    np.testing.assert_array_equal(ts.segment_min(ts.tensor(data), ts.tensor(ids), num_segments=2).numpy(),
                                  [[-np.inf, 1.0], [2.0, -np.inf]])


def test_segment_gradients_match_torch():
    data, ids = RNG.standard_normal((9, 3)), ids_with_gaps(9, 4)
    data[3], ids[3] = data[4], ids[4]  # tied rows share the gradient, as torch's amax does
    t_ids = torch.tensor(ids)[:, None].expand(9, 3)
    w = RNG.standard_normal((4, 3))
    for kind, reduce in [("max", "amax"), ("min", "amin"), ("mean", "mean"), ("sum", "sum")]:
        td = torch.tensor(data, requires_grad=True)
        out = torch.zeros(4, 3, dtype=torch.float64).scatter_reduce(0, t_ids, td, reduce, include_self=False)
        (out * torch.tensor(w)).sum().backward()
        mask = ts.tensor(np.isin(np.arange(4), ids)[:, None] * 1.0)  # empty segments: +-inf there, masked out

        def loss(d, kind=kind, mask=mask):
            y = getattr(ts, "segment_" + kind)(d, ts.tensor(ids), num_segments=4)
            return (ts.where(mask > 0, y, 0.0) * ts.tensor(w)).sum()
        np.testing.assert_allclose(ts.grad(loss)(ts.tensor(data)).numpy(), td.grad.numpy(), rtol=1e-12, atol=1e-12)


def sparse_case(m=7, k=6, n=4, nnz=15):
    rows, cols = RNG.integers(0, m, nnz), RNG.integers(0, k, nnz)
    rows[rows == 3] = 4  # row 3 empty
    return rows, cols, RNG.standard_normal(nnz), RNG.standard_normal((k, n)), m


def test_spmm_coo_and_csr_match_dense_products():
    rows, cols, vals, dense, m = sparse_case()
    a = np.zeros((m, dense.shape[0]))
    np.add.at(a, (rows, cols), vals)  # duplicates add
    got = ts.spmm_coo(ts.tensor(rows), ts.tensor(cols), ts.tensor(vals), ts.tensor(dense), num_rows=m)
    np.testing.assert_allclose(got.numpy(), a @ dense, rtol=1e-12, atol=1e-12)
    order = np.lexsort((cols, rows))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=m))])
    got = ts.spmm_csr(ts.tensor(indptr), ts.tensor(cols[order]), ts.tensor(vals[order]), ts.tensor(dense))
    np.testing.assert_allclose(got.numpy(), a @ dense, rtol=1e-12, atol=1e-12)
    ref = torch.sparse_csr_tensor(torch.tensor(indptr), torch.tensor(cols[order]), torch.tensor(vals[order]),
                                  size=a.shape) @ torch.tensor(dense)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-12, atol=1e-12)


def test_sparse_gradients_match_torch():
    rows, cols, vals, dense, m = sparse_case()
    tv, tdn = torch.tensor(vals, requires_grad=True), torch.tensor(dense, requires_grad=True)
    out = torch.zeros(m, dense.shape[1], dtype=torch.float64).index_add(0, torch.tensor(rows), tv[:, None] * tdn[cols])
    w = RNG.standard_normal(tuple(out.shape))
    (out * torch.tensor(w)).sum().backward()
    rt, ct = ts.tensor(rows), ts.tensor(cols)
    gv, gd = ts.grad(lambda v, d: (ts.spmm_coo(rt, ct, v, d, num_rows=m) * ts.tensor(w)).sum(),
                     argnums=(0, 1))(ts.tensor(vals), ts.tensor(dense))
    np.testing.assert_allclose(gv.numpy(), tv.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gd.numpy(), tdn.grad.numpy(), rtol=1e-12, atol=1e-12)
    a, b = RNG.standard_normal((m, 3)), RNG.standard_normal((3, dense.shape[0]))
    got = ts.sddmm(ts.tensor(rows), ts.tensor(cols), ts.tensor(a), ts.tensor(b)).numpy()
    np.testing.assert_allclose(got, (a @ b)[rows, cols], rtol=1e-12, atol=1e-12)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    wv = RNG.standard_normal(rows.size)
    ((ta @ tb)[rows, cols] * torch.tensor(wv)).sum().backward()
    ga, gb = ts.grad(lambda x, y: (ts.sddmm(ts.tensor(rows), ts.tensor(cols), x, y) * ts.tensor(wv)).sum(),
                     argnums=(0, 1))(ts.tensor(a), ts.tensor(b))
    np.testing.assert_allclose(ga.numpy(), ta.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb.numpy(), tb.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: ts.segment_sum(ts.zeros(4, 2), ts.tensor([0, 1, 5, 1]), num_segments=3).numpy(), "out of range"),
    (lambda: ts.segment_sum(ts.zeros(4, 2), ts.tensor([0, 1, 1]), num_segments=3), "one entry per row"),
    (lambda: ts.segment_sum(ts.zeros(4), ts.zeros(4), num_segments=3), "must be integers"),
    (lambda: ts.segment_max(ts.zeros(4), ts.tensor([0, 1, 1, 0]), num_segments=2, mode="wrap"), "mode"),
    (lambda: ts.spmm_coo(ts.tensor([0]), ts.tensor([0]), ts.zeros(1), ts.zeros(3, 2, dtype="float64"),
                         num_rows=2), "dtype"),
    (lambda: ts.sddmm(ts.tensor([0]), ts.tensor([0]), ts.zeros(2, 3), ts.zeros(4, 2)), "do not chain"),
])
def test_bad_input_names_the_op_and_line(call, message):
    with pytest.raises(ts.TesseraError) as e:
        call()
    assert message in str(e.value) and "test_segment_sparse.py" in str(e.value)


def test_bsmm_matches_the_dense_product():
    rng = np.random.default_rng()
    mb, kb, bm, bk, n = 3, 4, 2, 5, 7
    nnzb = 6
    rows, cols = rng.integers(0, mb, nnzb), rng.integers(0, kb, nnzb)
    blocks, dense = rng.standard_normal((nnzb, bm, bk)), rng.standard_normal((kb * bk, n))
    full = np.zeros((mb * bm, kb * bk))
    for b, r, c in zip(blocks, rows, cols):
        full[r * bm:(r + 1) * bm, c * bk:(c + 1) * bk] += b  # duplicates add
    got = ts.bsmm(ts.tensor(blocks), ts.tensor(rows), ts.tensor(cols), ts.tensor(dense), num_block_rows=mb)
    np.testing.assert_allclose(got.numpy(), full @ dense, rtol=1e-12, atol=1e-12)
    with pytest.raises(ts.ShapeError, match="bsmm: dense f64\\[9,7\\] must have a whole number of 5-row blocks"):
        ts.bsmm(ts.tensor(blocks), ts.tensor(rows), ts.tensor(cols), ts.tensor(dense[:9]), num_block_rows=mb)
