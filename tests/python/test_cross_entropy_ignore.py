"""cross_entropy's ignore_index and reduction against torch.nn.functional.cross_entropy in
float64: values and gradients, at shapes including one row, primes and no rows."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import tessera as ts

SHAPES = [(1, 1), (1, 5), (7, 3), (13, 11), (4, 2)]


def labels_with_ignored(r, n, c, ignore):
    lab = r.integers(0, c, n)
    lab[r.random(n) < 0.4] = ignore
    return lab


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore", [-100, 0, 2])
@pytest.mark.parametrize("n,c", SHAPES)
def test_matches_torch(n, c, ignore, reduction):
    if ignore >= c:
        pytest.skip("class out of range")
    r = np.random.default_rng(n * 100 + c)
    x, lab = r.standard_normal((n, c)), labels_with_ignored(r, n, c, ignore)
    lab[0] = 0 if ignore != 0 else min(1, c - 1)  # at least one row counts (torch's mean is NaN otherwise)
    if ignore == 0 and c == 1:
        pytest.skip("every label is the ignored class")
    tx = torch.tensor(x, requires_grad=True)
    want = F.cross_entropy(tx, torch.tensor(lab), reduction=reduction, ignore_index=ignore)
    (want.sum() if reduction == "none" else want).backward()

    def loss(z):
        y = ts.cross_entropy(z, ts.tensor(lab), reduction=reduction, ignore_index=ignore)
        return ts.sum(y, axis=None) if reduction == "none" else y
    got = ts.cross_entropy(ts.tensor(x), ts.tensor(lab), reduction=reduction, ignore_index=ignore)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ts.grad(loss)(ts.tensor(x)).numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_ignored_row_with_infinite_logits_still_counts_zero():
    x = np.array([[0.0, np.inf], [1.0, 2.0]])
    got = ts.cross_entropy(ts.tensor(x), ts.tensor(np.array([-1, 1])), ignore_index=-1).item()
    assert got == pytest.approx(float(F.cross_entropy(torch.tensor(x[1:]), torch.tensor([1]))), rel=1e-14)


def test_every_row_ignored_and_no_rows():
    x = ts.tensor(np.zeros((3, 4)))
    assert np.isnan(ts.cross_entropy(x, ts.tensor(np.full(3, 7)), ignore_index=7).item())  # 0 / 0, as torch
    assert ts.cross_entropy(x, ts.tensor(np.full(3, 7)), ignore_index=7, reduction="sum").item() == 0.0
    empty = ts.cross_entropy(ts.tensor(np.zeros((0, 4))), ts.tensor(np.zeros(0, np.int64)), ignore_index=1,
                             reduction="none")
    assert empty.shape == (0,)


def test_bad_reduction_names_the_op():
    with pytest.raises(ValueError, match='cross_entropy: reduction must be "mean", "sum" or "none"'):
        ts.cross_entropy(ts.tensor(np.zeros((2, 3))), ts.tensor(np.zeros(2, np.int64)), reduction="avg")
