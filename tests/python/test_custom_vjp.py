"""tessera.custom_vjp: user-defined gradients as a Graph IR op, under grad, value_and_grad, vjp,
nested grad and jit; jvp refuses it by name; bwd's cotangents are checked."""
import numpy as np
import pytest

import tessera as ts

RNG = np.random.default_rng(7)


def t64(a):
    return ts.tensor(np.asarray(a, dtype=np.float64))


def sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


@ts.custom_vjp
def log1pexp(x):
    """log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)."""
    return ts.maximum(x, 0.0) + ts.log1p(ts.exp(-ts.abs(x)))


def _log1pexp_fwd(x):
    return log1pexp(x), x


def _log1pexp_bwd(x, g):
    return (g * ts.sigmoid(x),)


log1pexp.defvjp(_log1pexp_fwd, _log1pexp_bwd)


@ts.custom_vjp
def clip_gradient(lo, hi, x):
    return x


clip_gradient.defvjp(lambda lo, hi, x: (x, (lo, hi)),
                     lambda res, g: (None, None, ts.clamp(g, res[0], res[1])))

X = np.array([-1000.0, -30.0, -1.5, 0.0, 0.25, 3.0, 40.0, 1000.0])


def test_forward_is_the_primal():
    np.testing.assert_allclose(log1pexp(t64(X)).numpy(), np.logaddexp(0.0, X), rtol=1e-15)


def test_grad_uses_the_custom_rule_where_autodiff_overflows():
    total = lambda x: ts.sum(log1pexp(x), axis=None)  # noqa: E731
    np.testing.assert_allclose(ts.grad(total)(t64(X)).numpy(), sigmoid(X), rtol=1e-14)
    naive = lambda x: ts.sum(ts.log1p(ts.exp(x)), axis=None)  # noqa: E731
    assert np.isnan(ts.grad(naive)(t64(X)).numpy()[-1])  # inf / inf without the rule


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (0, 4)])
def test_value_and_grad_and_vjp(shape):
    x, w = RNG.standard_normal(shape) * 5, RNG.standard_normal(shape)
    loss = lambda x: ts.sum(log1pexp(x) * t64(w), axis=None)  # noqa: E731
    value, g = ts.value_and_grad(loss)(t64(x))
    assert value.item() == pytest.approx((np.logaddexp(0.0, x) * w).sum(), rel=1e-13, abs=1e-13)
    np.testing.assert_allclose(g.numpy(), sigmoid(x) * w, rtol=1e-13)
    y, vjp_fn = ts.vjp(log1pexp, t64(x))
    np.testing.assert_allclose(y.numpy(), np.logaddexp(0.0, x), rtol=1e-13)
    (ct,) = vjp_fn(t64(w))
    np.testing.assert_allclose(ct.numpy(), sigmoid(x) * w, rtol=1e-13)


def test_grad_of_grad_differentiates_bwd():
    # bwd is g * sigmoid(x), ordinary tessera ops: its derivatives are sigmoid's.
    d1 = ts.grad(lambda x: ts.sum(log1pexp(x), axis=None))
    d2 = ts.grad(lambda x: ts.sum(d1(x), axis=None))
    d3 = ts.grad(lambda x: ts.sum(d2(x), axis=None))
    s = sigmoid(X)
    np.testing.assert_allclose(d2(t64(X)).numpy(), s * (1 - s), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(d3(t64(X)).numpy(), s * (1 - s) * (1 - 2 * s), rtol=1e-10, atol=1e-300)


def test_gradient_clipping_in_bwd():
    x, w = RNG.standard_normal(6), np.array([-3.0, -0.5, -0.1, 0.2, 0.9, 4.0])
    g = ts.grad(lambda x: ts.sum(clip_gradient(-0.5, 0.5, x) * t64(w), axis=None))(t64(x))
    np.testing.assert_allclose(g.numpy(), np.clip(w, -0.5, 0.5))
    # Two arguments, one without a gradient: a residual tuple and a None cotangent.
    np.testing.assert_array_equal(clip_gradient(-1.0, 1.0, t64(x)).numpy(), x)


def test_inside_jit_and_in_its_ir():
    w = RNG.standard_normal(8)

    @ts.jit
    def step(x):
        loss, g = ts.value_and_grad(lambda x: ts.sum(log1pexp(x) * t64(w), axis=None))(x)
        return loss, x - 0.1 * g

    for _ in range(2):
        loss, x2 = step(t64(X))
        assert loss.item() == pytest.approx((np.logaddexp(0.0, X) * w).sum(), rel=1e-13)
        np.testing.assert_allclose(x2.numpy(), X - 0.1 * sigmoid(X) * w, rtol=1e-13)
    primal = ts.jit(lambda x: log1pexp(x) * 2.0)
    np.testing.assert_allclose(primal(t64(X)).numpy(), 2 * np.logaddexp(0.0, X), rtol=1e-15)
    assert "= custom_vjp(" in primal.ir("graph") and "func @log1pexp_fn_" in primal.ir("graph")
    assert "= custom_vjp(" not in primal.ir("schedule")  # decompose inlined the primal


def test_recorded_graph_ir_holds_the_op_and_its_functions():
    from tessera import lazy
    with ts.defer():  # recorded, not run
        y = log1pexp(t64(X)) * 3.0
        y2 = log1pexp(t64(X)) * 3.0
    text, key, _ = lazy.build_function([y])
    assert "= custom_vjp(%0)" in text and text.count("func @") == 4
    assert 'name = "log1pexp"' in text and "func @log1pexp_bwd_" in text
    # Equal calls give equal programs, so the compile cache serves both.
    assert lazy.build_function([y2])[1] == key
    # The VJP transform parses it, and expands the call into fwd and bwd.
    grad_text = ts._C.vjp_transform(text, [0], [0], False)
    main = grad_text[:grad_text.index("\n}\n")]
    assert "custom_vjp(" not in main and "sigmoid(" in main


def test_closed_over_tensors_and_several_arguments():
    scale = t64([2.0, -1.0, 0.5])

    @ts.custom_vjp
    def scaled_mul(a, b):
        return a * b * scale

    scaled_mul.defvjp(lambda a, b: (scaled_mul(a, b), (a, b)),
                      lambda r, g: (g * r[1] * scale * 10.0, g * r[0] * scale))
    a, b = RNG.standard_normal(3), RNG.standard_normal(3)
    ga, gb = ts.grad(lambda a, b: ts.sum(scaled_mul(a, b), axis=None), argnums=(0, 1))(t64(a), t64(b))
    np.testing.assert_allclose(ga.numpy(), 10 * b * np.array([2.0, -1.0, 0.5]), rtol=1e-14)
    np.testing.assert_allclose(gb.numpy(), a * np.array([2.0, -1.0, 0.5]), rtol=1e-14)


def test_jvp_names_the_function():
    with pytest.raises(ts.TesseraError, match="custom_vjp function 'log1pexp'.*forward mode") as e:
        ts.jvp(log1pexp, (t64(X),), (t64(np.ones_like(X)),))
    assert "test_custom_vjp.py" in str(e.value)


def _bad(bwd):
    @ts.custom_vjp
    def twice(x, y):
        return x * 2.0 + y

    twice.defvjp(lambda x, y: (twice(x, y), None), bwd)
    return twice


def test_wrong_number_of_cotangents_names_the_function_and_line():
    f = _bad(lambda r, g: (g * 2.0,))
    with pytest.raises(ts.TesseraError, match=r"custom_vjp\(twice\): bwd must return a tuple of 2 cotangent") as e:
        f(t64([1.0]), t64([2.0]))
    assert "test_custom_vjp.py" in str(e.value)


def test_wrong_cotangent_shape_names_the_function():
    f = _bad(lambda r, g: (g * 2.0, ts.sum(g, axis=None)))
    with pytest.raises(ts.ShapeError, match=r"custom_vjp\(twice\): bwd's cotangent for argument 1 has shape \[\]"):
        f(t64([1.0, 2.0]), t64([2.0, 3.0]))


def test_missing_defvjp_and_bad_fwd():
    @ts.custom_vjp
    def f(x):
        return x

    with pytest.raises(ts.TesseraError, match=r"custom_vjp\(f\): call f.defvjp"):
        f(t64([1.0]))
    f.defvjp(lambda x: x, lambda r, g: (g,))
    with pytest.raises(ts.TracingError, match=r"custom_vjp\(f\): fwd must return \(output, residuals\)"):
        f(t64([1.0]))


def test_hessian_is_forward_over_the_custom_reverse():
    x = np.array([-1.0, 0.5, 2.0])
    h = ts.hessian(lambda z: ts.sum(log1pexp(z), axis=None))(t64(x)).numpy()
    s = sigmoid(x)
    np.testing.assert_allclose(h, np.diag(s * (1 - s)), rtol=1e-12, atol=1e-300)
