"""einsum's diagonals (a label repeated in one operand), '...' broadcasting and size-1
broadcasting: values against numpy.einsum in float64, gradients against central finite
differences and torch.einsum autograd."""
import numpy as np
import pytest
import torch

import tessera as ts

CASES = [
    ("ii->i", [(4, 4)]), ("ii->", [(5, 5)]), ("ii", [(1, 1)]), ("iij->j", [(3, 3, 2)]), ("iji->j", [(2, 7, 2)]),
    ("iii->i", [(3, 3, 3)]), ("iijj->ij", [(2, 2, 3, 3)]), ("ii->i", [(0, 0)]), ("ij,jj->i", [(2, 3), (3, 3)]),
    ("bii,bi->b", [(2, 5, 5), (2, 5)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]), ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ij,...jk", [(7, 3, 4), (4, 2)]), ("...,...->...", [(2, 3), (3,)]), ("i...->...", [(3, 2, 5)]),
    ("...i->...", [(13,)]), ("a...b->b...a", [(2, 3, 1, 4)]), ("...ii->...i", [(2, 3, 3)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]), ("...,...", [(0, 3), (1, 3)]), ("ij...,j...->i...", [(2, 3), (3,)]),
]
IDS = [f"{eq}-{'x'.join(map(str, s[0]))}" for eq, s in CASES]


def t64(a):
    return ts.tensor(np.asarray(a, dtype=np.float64))


@pytest.mark.parametrize("eq,shapes", CASES, ids=IDS)
def test_matches_numpy(eq, shapes):
    r = np.random.default_rng(3)
    xs = [r.standard_normal(s) for s in shapes]
    want = np.einsum(eq, *xs)
    got = ts.einsum([t64(x) for x in xs], eq)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


def numeric_grads(f, xs, eps=1e-6):
    out = []
    for k, x in enumerate(xs):
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            hi = [a.copy() for a in xs]
            lo = [a.copy() for a in xs]
            hi[k][i] += eps
            lo[k][i] -= eps
            g[i] = (f(*hi) - f(*lo)) / (2 * eps)
        out.append(g)
    return out


@pytest.mark.parametrize("eq,shapes", CASES, ids=IDS)
def test_gradient_matches_finite_differences_and_torch(eq, shapes):
    r = np.random.default_rng(4)
    xs = [r.standard_normal(s) for s in shapes]
    c = r.standard_normal(np.einsum(eq, *xs).shape)

    def loss(*a):
        y = ts.einsum(list(a), eq) * t64(c)
        return ts.sum(y, axis=None) if c.ndim else y
    got = ts.grad(loss, argnums=tuple(range(len(xs))))(*[t64(x) for x in xs])
    want = numeric_grads(lambda *a: float((np.einsum(eq, *a) * c).sum()), xs)
    tx = [torch.tensor(x, requires_grad=True) for x in xs]
    (torch.einsum(eq, *tx) * torch.tensor(c)).sum().backward()
    for g, w, t in zip(got, want, tx):
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_diagonal_is_data_movement_in_one_kernel():
    f = ts.jit(lambda x: ts.einsum([x], "ii->i") * 2.0)
    np.testing.assert_array_equal(f(t64(np.arange(9.0).reshape(3, 3))).numpy(), [0.0, 8.0, 16.0])
    assert f.ir("schedule").count("sched.kernel") == 1
