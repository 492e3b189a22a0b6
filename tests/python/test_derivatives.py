"""Every differentiable op's VJP and JVP against central finite differences in float64, on
fresh random inputs of several shapes (property tests). The table below says how to make valid
inputs for each op; an op of the registry that is missing from it fails the coverage test, so
a new op cannot arrive without its derivative being checked."""
import numpy as np
import pytest

import tessera as ts
from tessera import _opgen

RNG = np.random.default_rng()


def normal(shape):
    return RNG.standard_normal(shape)


def positive(shape):
    return RNG.uniform(0.5, 2.0, shape)


def boolean(shape):
    return RNG.random(shape) < 0.5


def indices_for(n):
    def make(shape):
        return RNG.integers(0, n, shape)
    return make


def covering(n):  # indices that use every one of 0..n-1 (no empty segment: its max is -inf)
    def make(shape):
        idx = np.concatenate([np.arange(n), RNG.integers(0, n, int(np.prod(shape)) - n)])
        return RNG.permutation(idx).reshape(shape)
    return make


def away_from_kinks(shape):  # |x| >= 0.2: finite differences across a kink are meaningless
    x = RNG.uniform(0.2, 2.0, shape)
    return x * RNG.choice([-1.0, 1.0], shape)


def uniform(lo, hi):
    def make(shape):
        return RNG.uniform(lo, hi, shape)
    return make


def well_conditioned(shape):  # square matrices: a normal matrix plus a diagonal shift
    return RNG.standard_normal(shape) + 2 * np.sqrt(shape[-1]) * np.eye(shape[-1])


def positive_definite(shape):
    x = RNG.standard_normal(shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


SHAPES = [(1,), (5,), (3, 4), (2, 3, 5)]
# op -> (operand makers, attrs, shapes to use (None: SHAPES), forward derivative checked too)
CASES = {
    "add": ([normal, normal], {}, None),
    "sub": ([normal, normal], {}, None),
    "mul": ([normal, normal], {}, None),
    "div": ([normal, positive], {}, None),
    "pow": ([positive, normal], {}, None),
    "maximum": ([normal, normal], {}, None),
    "minimum": ([normal, normal], {}, None),
    "neg": ([normal], {}, None),
    "exp": ([normal], {}, None),
    "expm1": ([normal], {}, None),
    "log": ([positive], {}, None),
    "log1p": ([positive], {}, None),
    "sqrt": ([positive], {}, None),
    "rsqrt": ([positive], {}, None),
    "sin": ([normal], {}, None),
    "cos": ([normal], {}, None),
    "tanh": ([normal], {}, None),
    "sigmoid": ([normal], {}, None),
    "silu": ([normal], {}, None),
    "softplus": ([normal], {}, None),
    "erf": ([normal], {}, None),
    "gelu": ([normal], {}, None),
    "abs": ([away_from_kinks], {}, None),
    "relu": ([away_from_kinks], {}, None),
    "clamp": ([normal], {"min": -0.5, "max": 0.7}, None),
    "stop_gradient": ([normal], {}, None),
    "remat_barrier": ([normal], {}, None),
    "where": ([boolean, normal, normal], {}, None),
    "cast": ([normal], {"dtype": "f64"}, None),
    "squeeze": ([normal], {}, [((1, 5),), ((3, 1, 4),), ((1,),)]),
    "slice": ([normal], {"start": [1, -1], "stop": [6, -7], "step": [2, -3]}, [((7, 8),), ((6, 9, 2),)]),
    "pad": ([normal], {"pad": [1, 2, 0, 3]}, [((3, 4),), ((1, 1),)]),
    "concat": ([normal, normal], {"axis": 1}, [((2, 3), (2, 4)), ((1, 1), (1, 2))]),
    "stack": ([normal, normal], {"axis": 1}, [((2, 3), (2, 3)), ((4,), (4,))]),
    "take": ([normal, indices_for(4)], {"axis": 1}, [((3, 4, 2), (5,)), ((3, 4), (2, 3))]),
    # Composites: differentiated through their decompositions.
    "logsumexp": ([normal], {"axis": 1}, [((3, 5),), ((2, 1),)]),
    "std": ([normal], {"axis": 0, "correction": 1}, [((4, 3),)]),
    "softmax": ([normal], {"axis": -1}, [((3, 5),), ((4,),)]),
    "log_softmax": ([normal], {"axis": 0}, [((3, 5),)]),
    "layernorm": ([normal, normal, normal], {}, [((3, 5), (5,), (5,))]),
    "rmsnorm": ([normal, normal], {}, [((3, 5), (5,))]),
    "mse": ([normal, normal], {}, [((3, 5), (3, 5)), ((4,), (1,))]),
    "einsum": ([normal, normal], {"equation": "bij,bjk->bik"}, [((2, 3, 4), (2, 4, 2))]),
    "attention": ([normal, normal, normal], {"causal": True, "scale": 0.7},
                  [((2, 4, 3), (2, 5, 3), (2, 5, 2)), ((1, 3), (1, 3), (1, 3))]),
    "attention_lse": ([normal, normal], {"causal": True, "scale": 0.7}, [((2, 4, 3), (2, 5, 3)), ((1, 3), (1, 3))]),
    # A smooth function of all six operands (lse and delta need not match q, k, v here).
    "attention_grad": ([normal] * 6, {"causal": True, "scale": 0.7, "wrt": "k"},
                       [((2, 4, 3), (2, 5, 3), (2, 5, 2), (2, 4, 2), (2, 4), (2, 4))]),
    "cross_entropy": ([normal, indices_for(5)], {}, [((4, 5), (4,))]),
    "embedding": ([indices_for(6), normal], {}, [((3,), (6, 4)), ((2, 2), (6, 3))]),
    "dropout": ([normal, lambda s: np.array(7, dtype=np.int64)], {"p": 0.3}, [((5, 6), ())]),  # seed: an operand
    "gather": ([normal, indices_for(3)], {"axis": 0}, [((3, 4), (5, 4)), ((3, 2), (3, 2))]),
    "scatter_add": ([normal, indices_for(3), normal], {"axis": 0}, [((3, 4), (5, 4), (5, 4))]),
    "sum": ([normal], {"axis": 0}, None),
    "prod": ([positive], {"axis": 0, "keepdims": True}, None),
    "max": ([normal], {"axis": 0}, None),
    "min": ([normal], {}, None),
    "mean": ([normal], {"axis": 0}, None),
    "var": ([normal], {"axis": 0, "correction": 1}, [((4,),), ((3, 4),)]),
    "matmul": ([normal, normal], {}, [((3, 4), (4, 2)), ((1, 1), (1, 5)), ((2, 3, 4), (4, 5)),
                                      ((2, 1, 3, 4), (3, 4, 2)), ((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,))]),
    "transpose": ([normal], {}, None),
    "reshape": ([normal], {"shape": [-1]}, None),
    "expand_dims": ([normal], {"axis": 0}, None),
    "broadcast_to": ([normal], {"shape": [2, 3, 4]}, [((3, 4),), ((1, 4),)]),
    "tril": ([normal], {"diagonal": -1, "value": 2.0}, [((3, 4),), ((2, 3, 5),)]),
    "atan": ([normal], {}, None),
    "asin": ([uniform(-0.9, 0.9)], {}, None),
    "acos": ([uniform(-0.9, 0.9)], {}, None),
    "tan": ([uniform(-1.2, 1.2)], {}, None),
    "sinh": ([normal], {}, None),
    "cosh": ([normal], {}, None),
    "asinh": ([normal], {}, None),
    "acosh": ([uniform(1.2, 3.0)], {}, None),
    "atanh": ([uniform(-0.9, 0.9)], {}, None),
    "log2": ([positive], {}, None),
    "log10": ([positive], {}, None),
    "exp2": ([normal], {}, None),
    "atan2": ([normal, away_from_kinks], {}, None),
    "hypot": ([away_from_kinks, away_from_kinks], {}, None),
    "logaddexp": ([normal, normal], {}, None),
    "copysign": ([away_from_kinks, away_from_kinks], {}, None),
    # x / y in (1.2, 1.9): away from the jumps of trunc and floor, so d/dy = -1 is seen
    "fmod": ([uniform(2.2, 2.8), uniform(1.5, 1.8)], {}, None),
    "remainder": ([uniform(2.2, 2.8), uniform(1.5, 1.8)], {}, None),
    # piecewise constant: zero derivatives (inputs away from integers)
    "floor": ([uniform(0.1, 0.9)], {}, None),
    "ceil": ([uniform(0.1, 0.9)], {}, None),
    "round": ([uniform(0.1, 0.4)], {}, None),
    "trunc": ([uniform(0.1, 0.9)], {}, None),
    "floor_divide": ([uniform(2.2, 2.8), uniform(1.5, 1.8)], {}, None),
    "flip": ([normal], {"axis": [0, -1]}, [((3, 4),), ((2, 3, 5),)]),
    "roll": ([normal], {"shift": [2, -1], "axis": [0, 1]}, [((3, 4),), ((5, 2, 3),)]),
    "repeat": ([normal], {"repeats": 2, "axis": 1}, [((3, 4),), ((2, 1, 3),)]),
    "tile": ([normal], {"reps": [2, 1, 3]}, [((3, 4),), ((2,),)]),
    "triu": ([normal], {"diagonal": 1}, [((3, 4),), ((2, 3, 5),)]),
    "slice_update": ([normal, normal], {"start": [1, 3], "stop": [5, -6], "step": [2, -2]},
                     [((6, 5), (2, 2)), ((5, 4, 2), (2, 1, 1))]),
    "scatter": ([normal, indices_for(3), normal], {"axis": 0, "reduce": "add"}, [((3, 4), (5, 4), (5, 4))]),
    "batch_norm": ([normal, normal, normal], {}, [((4, 3, 2), (3,), (3,)), ((5, 2), (2,), (2,))]),
    "instance_norm": ([normal, normal, normal], {}, [((2, 3, 4), (3,), (3,))]),
    "group_norm": ([normal, normal, normal], {"num_groups": 2}, [((2, 4, 3), (4,), (4,))]),
    "binary_cross_entropy": ([uniform(0.1, 0.9), uniform(0.0, 1.0)], {}, [((3, 4), (3, 4)), ((5,), (5,))]),
    "binary_cross_entropy_with_logits": ([normal, uniform(0.0, 1.0)], {}, [((3, 4), (3, 4))]),
    "nll_loss": ([normal, indices_for(5)], {}, [((4, 5), (4,))]),
    "kl_div": ([normal, positive], {"reduction": "batchmean"}, [((3, 4), (3, 4))]),
    "sharding_constraint": ([normal], {"sharding": "[-, -]"}, [((3, 4),)]),  # no mesh: the identity
    "windows": ([normal], {"window": [2], "stride": [2], "padding": [1, 2], "value": 0.5}, [((2, 5),)]),
    "overlap_add": ([normal], {"size": [5], "stride": [2], "padding": [1, 2]}, [((2, 2, 4),)]),
    "conv1d": ([normal] * 3, {"stride": 2, "padding": 1}, [((2, 2, 5), (3, 2, 2), (3,))]),
    "conv2d": ([normal] * 2, {"groups": 2, "padding": 1}, [((1, 2, 3, 3), (2, 1, 2, 2))]),
    "conv3d": ([normal] * 2, {}, [((1, 1, 2, 3, 2), (2, 1, 2, 2, 1))]),
    "conv_transpose1d": ([normal] * 2, {"stride": 2, "output_padding": 1}, [((2, 2, 3), (2, 3, 2))]),
    "conv_transpose2d": ([normal] * 3, {"stride": 2, "padding": 1}, [((1, 2, 2, 3), (2, 2, 3, 2), (2,))]),
    "conv_transpose3d": ([normal] * 2, {}, [((1, 1, 2, 2, 2), (1, 2, 2, 1, 2))]),
    "max_pool1d": ([normal], {"kernel_size": 2, "stride": 1}, [((2, 2, 5),)]),
    "max_pool2d": ([normal], {"kernel_size": 2, "padding": 1}, [((1, 2, 3, 3),)]),
    "max_pool3d": ([normal], {"kernel_size": 2}, [((1, 1, 2, 3, 4),)]),
    "avg_pool1d": ([normal], {"kernel_size": 3, "stride": 2, "padding": 1}, [((2, 2, 6),)]),
    "avg_pool2d": ([normal], {"kernel_size": 2, "padding": 1, "count_include_pad": False}, [((1, 2, 3, 3),)]),
    "avg_pool3d": ([normal], {"kernel_size": 2}, [((1, 1, 2, 3, 4),)]),
    "adaptive_avg_pool1d": ([normal], {"output_size": 3}, [((2, 2, 5),)]),
    "adaptive_avg_pool2d": ([normal], {"output_size": [2, 3]}, [((1, 2, 4, 5),)]),
    "adaptive_avg_pool3d": ([normal], {"output_size": 1}, [((1, 2, 2, 3, 2),)]),
    "unfold": ([normal], {"kernel_size": 2}, [((1, 2, 3, 3),)]),
    "fold": ([normal], {"output_size": [3, 3], "kernel_size": 2}, [((1, 8, 4),)]),
    "sort": ([normal], {"axis": 0, "descending": True}, [((5,),), ((4, 3),)]),
    "cumsum": ([normal], {"axis": 1, "reverse": True}, [((2, 5),), ((3, 1, 2),)]),
    "cumprod": ([normal], {"axis": 0}, [((5,),), ((4, 3),)]),
    "cummax": ([normal], {"axis": -1}, [((2, 5),)]),
    "cummin": ([normal], {"axis": 0, "reverse": True}, [((5, 2),)]),
    "rope": ([normal, uniform(0.0, 9.0)], {"interleaved": True}, [((3, 4), (3,)), ((2, 3, 2), (2, 3))]),
    "unique": ([normal], {"size": 6}, [((5,),), ((2, 2),)]),  # distinct values: sorted, one slot filled
    "segment_sum": ([normal, indices_for(3)], {"num_segments": 3}, [((5, 2), (5,))]),
    "segment_mean": ([normal, indices_for(3)], {"num_segments": 4}, [((5, 2), (5,))]),
    "segment_max": ([normal, covering(2)], {"num_segments": 2}, [((5, 2), (5,))]),
    "segment_min": ([normal, covering(2)], {"num_segments": 2}, [((4,), (4,))]),
    "spmm_coo": ([indices_for(3), indices_for(4), normal, normal], {"num_rows": 3}, [((6,), (6,), (6,), (4, 2))]),
    "spmm_csr": ([lambda s: np.array([0, 2, 2, 5]), indices_for(4), normal, normal], {},
                 [((4,), (5,), (5,), (4, 2))]),
    "sddmm": ([indices_for(3), indices_for(2), normal, normal], {}, [((5,), (5,), (3, 4), (4, 2))]),
    "tri_solve": ([well_conditioned, normal], {"lower": False, "left": False}, [((3, 3), (2, 2, 3)), ((1, 1), (2, 1))]),
    "cholesky": ([positive_definite], {}, [((3, 3),), ((2, 4, 4),)]),
    "solve": ([well_conditioned, normal], {}, [((3, 3), (3,)), ((2, 3, 3), (3, 2))]),
    "inv": ([well_conditioned], {}, [((3, 3),), ((2, 2, 2),)]),
    "det": ([well_conditioned], {}, [((3, 3),), ((2, 1, 1),)]),
    "logabsdet": ([well_conditioned], {}, [((4, 4),)]),
    "vector_norm": ([away_from_kinks], {"ord": 3.0, "axis": 1}, [((2, 3),), ((3, 4, 2),)]),
    "matrix_norm": ([away_from_kinks], {"ord": "1"}, [((3, 4),), ((2, 2, 3),)]),
    "factorized_matmul": ([normal] * 3, {}, [((2, 4), (4, 2), (2, 3))]),
    "qr_q": ([normal], {}, [((4, 3),), ((2, 3, 3),)]),
    "qr_r": ([normal], {}, [((4, 3),), ((1, 1),)]),
    "eigvalsh": ([normal], {}, [((3, 3),), ((2, 4, 4),)]),
    "eigh_vectors": ([normal], {}, [((3, 3),)]),  # distinct eigenvalues (random); signs fixed by continuity
    "svdvals": ([normal], {}, [((4, 3),), ((2, 3, 5),)]),
    "svd_u": ([normal], {}, [((4, 3),), ((2, 3),)]),
    "svd_vh": ([normal], {}, [((4, 2),), ((3, 4),)]),
    "lstsq": ([normal, normal], {}, [((5, 3), (5, 2)), ((4, 4), (4,))]),
    "bsmm": ([normal, indices_for(2), indices_for(3), normal], {"num_block_rows": 2},
             [((3, 2, 2), (3,), (3,), (6, 2))]),
    "qkv_projection": ([normal, normal], {"heads": 2, "kv_heads": 1, "part": "k"},
                       [((3, 4), (4, 8)), ((2, 3, 4), (4, 8))]),
    "moe_dispatch": ([normal, indices_for(3)], {"num_experts": 3, "capacity": 2}, [((5, 2), (5, 2))]),
    "moe_combine": ([normal, indices_for(3), normal], {"capacity": 2}, [((3, 2, 4), (5, 2), (5, 2))]),
}
# Ops whose results are never differentiable (bool/integer results) or that are not yet
# covered here, with the reason.
NOT_DIFFERENTIABLE = {"less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "logical_and",
                      "logical_or", "logical_xor", "logical_not", "sign", "argmax", "argmin", "one_hot",
                      "rand_like", "isnan", "isinf", "isfinite", "signbit", "any", "all", "bitwise_and", "bitwise_or",
                      "bitwise_xor", "bitwise_invert", "left_shift", "right_shift", "argsort", "cumargmax", "cumargmin",
                      "searchsorted", "det_sign"}


def inputs_for(name, shape_case):
    makers, attrs, shapes = CASES[name]
    if shapes is None:
        arg_shapes = [shape_case] * len(makers)
    else:
        arg_shapes = shape_case
    return [m(s) for m, s in zip(makers, arg_shapes)], attrs


def shape_cases(name):
    shapes = CASES[name][2]
    return shapes if shapes is not None else SHAPES


def full_sum(y):
    while y.ndim:
        y = ts.sum(y, axis=0)
    return y


def apply(name, xs, attrs):
    return ts.ops.apply(name, xs, attrs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_vjp_and_jvp_match_finite_differences(name):
    for shape_case in shape_cases(name):
        xs, attrs = inputs_for(name, shape_case)
        out_shape = apply(name, [ts.tensor(x) for x in xs], attrs).shape
        w = RNG.standard_normal(out_shape)

        def loss(*args):  # traced by ts.grad below, in this iteration
            return full_sum(apply(name, list(args), attrs) * ts.tensor(w))  # noqa: B023

        def loss_np(arrays):
            return loss(*[ts.tensor(a) for a in arrays]).item()

        wrt = tuple(i for i, x in enumerate(xs) if x.dtype == np.float64)
        grads = ts.grad(loss, argnums=wrt)(*[ts.tensor(x) for x in xs])
        eps = 1e-6
        for i, g in zip(wrt, grads):
            x = xs[i]
            numeric = np.zeros_like(x)
            for idx in np.ndindex(x.shape):
                hi = [a.copy() for a in xs]
                lo = [a.copy() for a in xs]
                hi[i][idx] += eps
                lo[i][idx] -= eps
                numeric[idx] = (loss_np(hi) - loss_np(lo)) / (2 * eps)
            expected = np.zeros_like(x) if name == "stop_gradient" else numeric
            np.testing.assert_allclose(g.numpy(), expected, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name} VJP, operand {i}, shapes {shape_case}")

        # Forward mode along a random direction.
        ts_ = [RNG.standard_normal(x.shape) if x.dtype == np.float64 else x for x in xs]
        _, ty = ts.jvp(lambda *a: apply(name, list(a), attrs),  # noqa: B023  (traced now, by ts.jvp)
                       [ts.tensor(x) for x in xs], [ts.tensor(t) for t in ts_])
        moved = [lambda x, t, sgn, eps=eps: x + sgn * eps * t if x.dtype == np.float64 else x][0]
        hi = apply(name, [ts.tensor(moved(x, t, 1)) for x, t in zip(xs, ts_)], attrs).numpy()
        lo = apply(name, [ts.tensor(moved(x, t, -1)) for x, t in zip(xs, ts_)], attrs).numpy()
        expected = np.zeros(out_shape) if name == "stop_gradient" else (hi - lo) / (2 * eps)
        np.testing.assert_allclose(ty.numpy(), expected, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name} JVP, shapes {shape_case}")


def test_every_op_with_a_derivative_rule_is_checked():
    missing = [s["name"] for s in _opgen.op_specs()
               if s["differentiable"] and s["name"] not in CASES and s["name"] not in NOT_DIFFERENTIABLE]
    assert not missing, f"ops whose derivative rules are not checked here (add them to CASES): {missing}"


def test_checked_ops_have_rules():
    rules = {s["name"]: s["differentiable"] for s in _opgen.op_specs()}
    assert all(rules.get(name, False) for name in CASES if name in rules)
