"""Elementwise operator library vs NumPy/PyTorch references computed in float64.

Tolerances are in units of the result dtype's machine epsilon (eps = 2 ulp at 1.0):
- exact ops (add, abs, comparisons, casts, sqrt, min/max...): bit-exact (f16/bf16: the f32
  result rounded once, so the reference is also rounded once from f64);
- transcendental functions: the documented bound of each implementation (math*.cpp) plus the
  rounding of the f64 reference to the result dtype; f16/bf16 are computed in f32 and rounded
  once, so they must match the correctly rounded result to 1 ulp of their own dtype.
"""
import math
import shutil
import subprocess

import numpy as np
import pytest
import torch

import tessera as ts

RNG = np.random.default_rng()
SHAPES = [(), (1,), (7,), (3, 5), (0,), (2, 1, 13)]
FLOATS = ["f64", "f32", "f16", "bf16"]
INTS = ["i64", "i32", "i8", "u8"]
EPS = {"f64": 2.0 ** -52, "f32": 2.0 ** -23, "f16": 2.0 ** -10, "bf16": 2.0 ** -7}
TINY = {"f64": 2.2250738585072014e-308, "f32": 1.1754943508222875e-38, "f16": 6.1e-05, "bf16": 1.1754943508222875e-38}
TORCH = {"f64": torch.float64, "f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def to_ts(a64, dt):
    """A tessera tensor of dtype dt holding a64 rounded to dt (via torch for bf16)."""
    return ts.from_dlpack(torch.tensor(np.asarray(a64)).to(TORCH[dt]).contiguous()) if dt in TORCH \
        else ts.tensor(np.asarray(a64).astype(dt.replace("i", "int").replace("u8", "uint8")))


def f64(t):
    """The values of tensor t as float64 NumPy (exact for every dtype)."""
    return torch.from_dlpack(t).to(torch.float64).numpy() if t.numel() else np.zeros(t.shape)


def rounded(x64, dt):
    """The float64 reference rounded to dt and back."""
    return torch.tensor(x64).to(TORCH[dt]).to(torch.float64).numpy()


def assert_ulp(got, want, dt, ulps, atol=0.0):
    """|got - want| <= ulps * eps * |want| (+ atol, + the rounding of want to dt); NaNs and
    infinities must match exactly."""
    want_r = rounded(want, dt)
    both_nan = np.isnan(got) & np.isnan(want_r)
    assert np.array_equal(np.isnan(got), np.isnan(want_r)), (got, want)
    fin = np.isfinite(want_r) & ~both_nan
    assert np.array_equal(got[~fin & ~both_nan], want_r[~fin & ~both_nan]), (got, want)
    err = np.abs(got[fin] - want[fin])
    atol = np.broadcast_to(atol, want.shape)[fin]
    bound = ulps * EPS[dt] * np.abs(want[fin]) + np.abs(want_r[fin] - want[fin]) + atol + TINY[dt] * EPS[dt]
    bad = err > bound
    assert not bad.any(), f"max err {err.max()} at {got[fin][bad][:3]} vs {want[fin][bad][:3]}"


ERF = np.vectorize(math.erf, otypes=[float])
ERFC = np.vectorize(math.erfc, otypes=[float])


def gelu_ref(v):
    return 0.5 * v * ERFC(-v / math.sqrt(2))  # torch's 1 + erf(...) form cancels for x < 0
# name: (reference in f64, input sampler(shape), ulps for f32/f64 (also f16/bf16 after rounding))
UNARY = {
    "exp": (np.exp, lambda s: RNG.uniform(-80, 80, s), 2),
    "expm1": (np.expm1, lambda s: RNG.uniform(-3, 3, s) * 10.0 ** RNG.integers(-8, 2, s), 3),
    "log": (np.log, lambda s: np.exp(RNG.uniform(-80, 80, s)), 2),
    "log1p": (np.log1p, lambda s: RNG.uniform(-0.99, 3, s) * 10.0 ** RNG.integers(-8, 2, s), 3),
    "sqrt": (np.sqrt, lambda s: np.exp(RNG.uniform(-20, 20, s)), 1),
    "rsqrt": (lambda x: 1 / np.sqrt(x), lambda s: np.exp(RNG.uniform(-20, 20, s)), 2),
    "sin": (np.sin, lambda s: RNG.uniform(-100, 100, s), 2),
    "cos": (np.cos, lambda s: RNG.uniform(-100, 100, s), 2),
    "tanh": (np.tanh, lambda s: RNG.uniform(-12, 12, s) * 10.0 ** RNG.integers(-6, 1, s), 4),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), lambda s: RNG.uniform(-60, 60, s), 4),
    "silu": (lambda x: x / (1 + np.exp(-x)), lambda s: RNG.uniform(-60, 60, s), 5),
    "softplus": (lambda x: np.logaddexp(0, x), lambda s: RNG.uniform(-60, 60, s), 4),
    "erf": (ERF, lambda s: RNG.uniform(-7, 7, s), 3),
    "abs": (np.abs, lambda s: RNG.normal(size=s) * 100, 0),
    "neg": (np.negative, lambda s: RNG.normal(size=s) * 100, 0),
    "sign": (np.sign, lambda s: RNG.normal(size=s), 0),
}


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_math(name, shape, dt):
    ref, sample, ulps = UNARY[name]
    x = to_ts(sample(shape), dt)
    got = getattr(ts.ops, name)(x)
    assert got.dtype == x.dtype and got.shape == shape
    # sin/cos: the reduction's absolute error (|x| * 2^-48 for f32) near zeros of the result.
    atol = 100 * 2.0 ** -48 if name in ("sin", "cos") and dt != "f64" else 0.0
    assert_ulp(f64(got), ref(f64(x)), dt, ulps if dt in ("f32", "f64") else 1, atol)


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(dt, approximate):
    x = to_ts(RNG.uniform(-10, 10, 257), dt)
    v = f64(x)
    if approximate == "none":
        want = gelu_ref(v)
    else:
        want = 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))
    got = f64(ts.ops.gelu(x, approximate=approximate))
    # The argument x/sqrt(2) is rounded once: erfc's condition number 2 z^2 scales that error.
    # The tanh formula cancels in 1 + tanh(...) for x < 0: absolute error ~ eps |x|.
    # The reference rounds too.
    atol = 4 * EPS[dt] * np.abs(v) if approximate == "tanh" else 2 * EPS[dt] * v * v * np.abs(want)
    assert_ulp(got, want, dt, 8 if dt in ("f32", "f64") else 1, atol=atol)


SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, 1e-300, -1e-300, 5e-324, 1e300, -1e300,
                    1e-40, 3.4e38, -3.4e38, 1e-7, 710.0, -746.0, 89.0, -104.0, 20.0, -20.0, 30.0, 1e5])


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("name", sorted(set(UNARY) - {"abs", "neg", "sign"}) + ["gelu"])
def test_special_values(name, dt):
    x = to_ts(SPECIAL, dt)
    v = f64(x)
    ref = UNARY[name][0] if name != "gelu" else gelu_ref
    with np.errstate(all="ignore"):
        want = ref(v)
    got = f64(getattr(ts.ops, name)(x))
    keep = np.abs(v) < 1e4 if name in ("sin", "cos") else np.ones(v.shape, bool)  # no Payne-Hanek
    keep &= ~((np.abs(v) == np.inf) & np.isin(name, ["sin", "cos"])) | True
    ulps = 8 if dt in ("f32", "f64") else 1
    # Results that underflow (silu(-104) in f32) may flush a few subnormal ulps to zero.
    atol = 100 * TINY[dt] * EPS[dt] + (2 * EPS[dt] * v * v * np.abs(np.nan_to_num(want)) if name == "gelu" else 0)
    assert_ulp(got[keep], want[keep], dt, ulps, atol=np.broadcast_to(atol, v.shape)[keep])
    assert np.array_equal(np.signbit(got[v == 0]), np.signbit(rounded(want[v == 0], dt))) \
        or name in ("cos", "exp", "sigmoid", "erf") or name in ("softplus", "log")


@pytest.mark.parametrize("dt", ["f64", "f32"])
def test_pow(dt):
    x, y = RNG.uniform(0.01, 10, 500), RNG.uniform(-5, 5, 500)
    got = f64(ts.ops.pow(to_ts(x, dt), to_ts(y, dt)))
    xv, yv = f64(to_ts(x, dt)), f64(to_ts(y, dt))
    # f64: (1 + |y ln x|) ulp (math_special.cpp); f32 evaluates in f64: the rounding only.
    ulps = 1 + np.abs(yv * np.log(xv)) if dt == "f64" else 1
    assert_ulp(got, xv ** yv, dt, np.max(ulps))
    sx = np.array([-2.0, -2.0, -2.0, -0.0, -0.0, 0.0, -1.0, -1.0, 1.0, np.nan, np.nan, -np.inf, -np.inf, 2.0, 0.5])
    sy = np.array([3.0, 2.0, 0.5, -3.0, 3.0, -2.0, np.inf, -np.inf, np.nan, 0.0, 1.0, 3.0, -3.0, np.inf, -np.inf])
    with np.errstate(all="ignore"):
        want = sx ** sy
    got = f64(ts.tensor(sx.astype(dt.replace("f", "float"))) ** ts.tensor(sy.astype(dt.replace("f", "float"))))
    assert_ulp(got, want, dt, 2)  # (-2)**3 may be 1 ulp off: exp(3 log 2) is not exact
    np.testing.assert_array_equal(np.signbit(got[~np.isnan(want)]), np.signbit(want[~np.isnan(want)]))


@pytest.mark.parametrize("dt", INTS)
def test_integer_ops(dt):
    npdt = {"i64": np.int64, "i32": np.int32, "i8": np.int8, "u8": np.uint8}[dt]
    x = RNG.integers(-5 if dt != "u8" else 0, 6, 40).astype(npdt)
    y = RNG.integers(0, 4, 40).astype(npdt)
    tx, ty = ts.tensor(x), ts.tensor(y)
    np.testing.assert_array_equal((tx ** ty).numpy(), x ** y)
    np.testing.assert_array_equal(abs(tx).numpy(), np.abs(x))
    np.testing.assert_array_equal(ts.ops.sign(tx).numpy(), np.sign(x))
    np.testing.assert_array_equal(ts.ops.minimum(tx, ty).numpy(), np.minimum(x, y))
    lo = -2 if dt != "u8" else 1
    np.testing.assert_array_equal(ts.ops.clamp(tx, min=lo, max=3).numpy(), np.clip(x, lo, 3))
    q = (tx / (ty + 1))
    assert q.dtype == ts.float32
    np.testing.assert_allclose(q.numpy(), (x / (y + 1)).astype(np.float32), rtol=0)


@pytest.mark.parametrize("a,b", [((3, 1), (1, 4)), ((5,), (2, 5)), ((), (3,)), ((0, 2), (1, 2))])
@pytest.mark.parametrize("dt", ["f64", "f32", "f16", "bf16"])
def test_binary_broadcast(a, b, dt):
    x, y = RNG.normal(size=a), RNG.normal(size=b) + 3
    tx, ty = to_ts(x, dt), to_ts(y, dt)
    xv, yv = f64(tx), f64(ty)
    for got, want in [(tx / ty, xv / yv), (ts.ops.minimum(tx, ty), np.minimum(xv, yv)),
                      (ts.ops.maximum(tx, ty), np.maximum(xv, yv)), (tx - ty, xv - yv),
                      (ts.ops.where(tx > 0, tx, ty), np.where(xv > 0, xv, yv))]:
        assert got.shape == np.broadcast_shapes(a, b)
        assert_ulp(f64(got), want, dt, 0)
    for op in ["less", "less_equal", "greater", "greater_equal", "equal", "not_equal"]:
        got = getattr(ts.ops, op)(tx, ty)
        assert got.dtype == ts.bool_
        np.testing.assert_array_equal(got.numpy(), getattr(np, op)(xv, yv))


def test_nan_semantics():
    x = ts.tensor([np.nan, 1.0, np.nan, -0.0])
    y = ts.tensor([1.0, np.nan, np.nan, 0.0])
    for got in [ts.ops.maximum(x, y), ts.ops.minimum(x, y)]:
        assert np.isnan(got.numpy()[:3]).all()
    np.testing.assert_array_equal((x == y).numpy(), [False, False, False, True])
    np.testing.assert_array_equal((x != y).numpy(), [True, True, True, False])
    np.testing.assert_array_equal((x < y).numpy(), [False] * 4)
    assert np.isnan(ts.ops.clamp(x, min=0.0, max=1.0).numpy()[0])
    np.testing.assert_array_equal(ts.ops.sign(ts.tensor([np.nan, -0.0, -3.0])).numpy(), [np.nan, 0.0, -1.0])


def test_logical_ops():
    a, b = RNG.integers(0, 2, 30).astype(bool), RNG.integers(0, 2, 30).astype(bool)
    ta, tb = ts.tensor(a), ts.tensor(b)
    np.testing.assert_array_equal((ta & tb).numpy(), a & b)
    np.testing.assert_array_equal((ta | tb).numpy(), a | b)
    np.testing.assert_array_equal((ta ^ tb).numpy(), a ^ b)
    np.testing.assert_array_equal((~ta).numpy(), ~a)
    x = ts.tensor([0.0, 2.0, np.nan, -1.0])
    np.testing.assert_array_equal(ts.ops.logical_not(x).numpy(), [True, False, False, False])
    np.testing.assert_array_equal(ts.ops.logical_and(x, ts.tensor([1, 1, 1, 0])).numpy(), [False, True, True, False])
    with pytest.raises(ts.DTypeError, match="bitwise_and: the & operator needs integer or bool operands, got float32"):
        ts.ones(3) & ts.ones(3)
    i = np.array([12, -7, 0, 5])
    np.testing.assert_array_equal((ts.tensor(i) & 6).numpy(), i & 6)  # integers: bitwise, as NumPy
    np.testing.assert_array_equal((~ts.tensor(i)).numpy(), ~i)


@pytest.mark.parametrize("src", FLOATS + INTS + ["bool"])
@pytest.mark.parametrize("dst", FLOATS + INTS + ["bool"])
def test_cast(src, dst):
    vals = np.array([0.0, 1.0, -1.0, 2.5, -2.5, 100.0, 3.0, 0.1])
    if src == "u8" or dst == "u8":
        vals = np.abs(vals)
    if src == "bool":
        x = ts.tensor(vals != 0)
    else:
        x = to_ts(vals if src in FLOATS else np.trunc(vals), src)
    got = x.astype(dst)
    assert got.dtype == ts.dtype(dst) and got.shape == x.shape
    want = torch.from_dlpack(x).to({**TORCH, "i64": torch.int64, "i32": torch.int32, "i8": torch.int8,
                                    "u8": torch.uint8, "bool": torch.bool}[dst])
    assert torch.equal(torch.from_dlpack(got), want)


def test_cast_f64_to_f16_rounds_once():
    v = 1 + 2.0 ** -11 + 2.0 ** -40  # just above the f16 halfway point between 1 and 1+2^-10
    got = ts.tensor([v], dtype=ts.float64).astype("f16").numpy()
    assert got[0] == np.float16(1 + 2.0 ** -10)


PROMOTION = [("f16", "bf16", "f32"), ("u8", "i8", "i32"), ("i64", "f16", "f16"), ("bool", "i8", "i8"),
             ("i32", "i64", "i64"), ("f32", "f64", "f64"), ("bool", "f32", "f32"), ("u8", "i32", "i32"),
             ("bf16", "f32", "f32"), ("i8", "bf16", "bf16")]


@pytest.mark.parametrize("a,b,want", PROMOTION)
def test_promotion_table(a, b, want):
    x = ts.ones(4, dtype=a)
    y = ts.full((2, 1), 2, dtype=b)
    for got in [x + y if a != "bool" or b != "bool" else None, y * x, ts.ops.maximum(x, y)]:
        assert got.dtype == ts.dtype(want)
        np.testing.assert_array_equal(f64(got).shape, (2, 4))
    np.testing.assert_array_equal(f64(x + y), np.full((2, 4), 3.0))
    assert (x / y).dtype == (ts.dtype(want) if ts.dtype(want).is_floating else ts.float32)
    assert (x < y).dtype == ts.bool_


@pytest.mark.parametrize("dt,scalar,want", [("f16", 2.0, "f16"), ("bf16", 0.5, "bf16"), ("i32", 2.5, "f32"),
                                            ("i8", 3, "i8"), ("u8", 7, "u8"), ("bool", 1, "i64"),
                                            ("f64", 1, "f64"), ("i64", 2.0, "f32")])
def test_weak_scalars(dt, scalar, want):
    x = ts.ones(3, dtype=dt)
    assert (x * scalar).dtype == ts.dtype(want)
    assert (scalar * x).dtype == ts.dtype(want)
    assert (x < scalar).dtype == ts.bool_
    np.testing.assert_array_equal(f64(x * scalar), np.full(3, 1.0 * scalar))


def test_errors():
    with pytest.raises(ts.DTypeError, match="log: needs a floating-point"):
        ts.ops.log(ts.ones(3, dtype="i32"))
    with pytest.raises(ts.DTypeError, match="sqrt: needs a floating-point"):
        ts.ones(3, dtype="bool").sqrt()
    with pytest.raises(ts.DTypeError, match="cast: unknown dtype 'f128'"):
        ts.ops.cast(ts.ones(3), dtype="f128")
    with pytest.raises(ts.DTypeError, match="sub: not defined for bool"):
        ts.ones(3, dtype="bool") - ts.ones(3, dtype="bool")
    with pytest.raises(ts.DTypeError, match="out of range for uint8"):
        ts.ones(3, dtype="u8") + 300
    with pytest.raises(ts.TesseraValueError, match="gelu: approximate"):
        ts.ops.gelu(ts.ones(3), approximate="fast")
    with pytest.raises(ts.ShapeError, match="where: shapes cannot be broadcast"):
        ts.ops.where(ts.ones(3) > 0, ts.ones(3), ts.ones(4))


def test_methods_and_identity():
    x = ts.tensor([0.25, 4.0])
    np.testing.assert_allclose(x.log().numpy(), np.log([0.25, 4.0]), rtol=2e-7)
    np.testing.assert_allclose(x.sqrt().numpy(), [0.5, 2.0])
    np.testing.assert_allclose((1 / x).numpy(), [4.0, 0.25])
    np.testing.assert_allclose((2 ** x).numpy(), 2 ** np.array([0.25, 4.0]), rtol=2e-7)
    assert {x: 1}[x] == 1 and x in [x]  # identity-based hashing survives elementwise ==


MATH_PROGRAM = """module @m {
func @main(%x: f32[64], %y: f64[64]) -> (f32[64], f64[64]) {
%a = log(%x) : f32[64]
%b = log1p(%a) : f32[64]
%c = expm1(%b) : f32[64]
%d = sin(%c) : f32[64]
%e = cos(%d) : f32[64]
%f = tanh(%e) : f32[64]
%g = erf(%f) : f32[64]
%h = gelu(%g) : f32[64]
%i = pow(%h, %x) : f32[64]
%j = sigmoid(%i) : f32[64]
%k = softplus(%j) : f32[64]
%l = silu(%k) : f32[64]
%m = rsqrt(%l) : f32[64]
%n = log(%y) : f64[64]
%o = sin(%n) : f64[64]
%p = erf(%o) : f64[64]
%q = pow(%p, %y) : f64[64]
%r = tanh(%q) : f64[64]
%s = gelu(%r) : f64[64]
return(%m, %s)
}
}
"""


@pytest.mark.parametrize("target,tool", [("spirv:vulkan", "/usr/bin/spirv-val"),
                                         ("nvptx:sm_90", "/usr/local/bin/ptxas")])
def test_math_functions_pass_target_validators(target, tool, tmp_path):
    if not shutil.which(tool):
        pytest.skip(f"{tool} not installed")
    out = ts.compile_for_target(MATH_PROGRAM, target)
    if target.startswith("spirv"):
        (tmp_path / "k.spv").write_bytes(out["binary"])
        cmd = [tool, "--target-env", "vulkan1.3", str(tmp_path / "k.spv")]
    else:
        (tmp_path / "k.ptx").write_text(out["asm"])
        cmd = [tool, "-arch=sm_90", str(tmp_path / "k.ptx"), "-o", str(tmp_path / "k.cubin")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + r.stdout
