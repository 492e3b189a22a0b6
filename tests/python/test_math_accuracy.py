"""Accuracy of sin, cos and pow in ulps of the result dtype, against mpmath (f64 inputs) or
float64 NumPy (f32 inputs; glibc's float64 sin/cos/pow are accurate to well under an f32 ulp).

Measured maxima (this file's samples, x86-64 CPU), with the bounds asserted:
- sin/cos f64, every exponent up to 1.8e308 and the hardest cases near multiples of pi/2
  (6381956970095103 * 2**797, 1e22, nearest doubles to k pi/2): 0.68 ulp (bound 1).
- sin/cos f32, 2M inputs over every exponent and floats nearest k pi/2: 0.77 ulp (bound 1).
  Before Payne-Hanek reduction: NaN beyond about 1e9 (both dtypes) and thousands of ulp near
  multiples of pi/2 above 1e4 in f32.
- pow f64, x in (0, 1e300], y with finite results up to 1e308 and down to 1e-300: 0.81 ulp
  (bound 2; before the double-word log: up to 94 ulp for |y log x| near 700). Negative x with
  integer y: the same. pow f32: 0.50 ulp (bound 1).
- C99 Annex F special cases of pow: identical to NumPy/C, signs of zeros included.
"""
import numpy as np
import pytest

import tessera as ts

mpmath = pytest.importorskip("mpmath")
RNG = np.random.default_rng(7)
MANT = {np.float64: 52, np.float32: 23}
EMIN = {np.float64: -1022, np.float32: -126}


def run(name, *args):
    return getattr(ts.ops, name)(*[ts.tensor(a) for a in args]).numpy()


def ulps_mp(got, ref, dt):
    """|got - ref| in ulps of dt at ref, for mpmath references."""
    out = np.zeros(len(got))
    for i, (g, w) in enumerate(zip(got, ref)):
        if w == 0:
            out[i] = 0.0 if g == 0 else np.inf
            continue
        e = max(int(mpmath.floor(mpmath.log(abs(w), 2))), EMIN[dt])
        out[i] = float(abs(mpmath.mpf(float(g)) - w) / mpmath.ldexp(1, e - MANT[dt]))
    return out


def ulps_f64(got, ref, dt):
    """|got - ref| in ulps of dt at ref, for float64 references of f32 results."""
    e = np.maximum(np.floor(np.log2(np.abs(ref))), EMIN[dt])
    return np.abs(got.astype(np.float64) - ref) / np.ldexp(1.0, (e - MANT[dt]).astype(int))


def near_multiples(dt, n, top):
    """Floats nearest k pi/2 for random k up to 2**top: the reduced argument is tiny there."""
    mpmath.mp.prec = 2200
    ks = [int(k) for k in RNG.integers(1, 2 ** 62, n)]
    shifts = RNG.integers(0, top - 62, n)
    return np.array([dt(float(k * mpmath.pi / 2 * mpmath.mpf(2) ** int(s))) for k, s in zip(ks, shifts)], dt)


def all_exponents(dt, n):
    """Random mantissas times 2**e for every exponent e (both signs)."""
    info = np.finfo(dt)
    e = RNG.integers(info.minexp, info.maxexp, n)
    x = np.ldexp(RNG.uniform(1, 2, n), e) * RNG.choice([-1, 1], n)
    return x[np.isfinite(x.astype(dt))].astype(dt)


F64_HARD = [6381956970095103 * 2.0 ** 797, 1e22, 5.319372648326541e+255, 2.0 ** 1023 * 1.999, 1.0e300, 1.7e308,
            8.0 * np.pi, 2.0 ** 20 * np.pi / 2, 1.5707963267948966, 3.141592653589793, 1e6, 1e15, 5e-324, 1e-300]


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sincos_f64_every_exponent(name):
    x = np.concatenate([all_exponents(np.float64, 600), near_multiples(np.float64, 200, 1020), F64_HARD,
                        -np.array(F64_HARD), RNG.uniform(-10, 10, 100)])
    got = run(name, x)
    mpmath.mp.prec = 160  # mpmath raises its working precision to reduce huge arguments
    ref = [getattr(mpmath, name)(mpmath.mpf(float(v))) for v in x]
    err = ulps_mp(got, ref, np.float64)
    assert err.max() <= 1.0, (err.max(), x[np.argmax(err)])


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sincos_f32_every_exponent(name):
    x = np.concatenate([all_exponents(np.float32, 200000), near_multiples(np.float32, 2000, 126),
                        np.float32([1e22, 3.4028235e38, 16367173 * 2.0 ** 72, 4096.0, 1e4, 1e6, 1e9])])
    got = run(name, x)
    ref = getattr(np, name)(x.astype(np.float64))
    err = ulps_f64(got, ref, np.float32)
    assert err.max() <= 1.0, (err.max(), x[np.argmax(err)])


@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_sincos_special_values(dt):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dt)
    s, c = run("sin", x), run("cos", x)
    assert np.signbit(s[0]) == 0 and np.signbit(s[1]) == 1 and s[0] == 0 and s[1] == 0
    assert np.all(c[:2] == 1) and np.isnan(s[2:]).all() and np.isnan(c[2:]).all()


def pow_samples(n, lim):
    """x in (0, 1e300] log-uniform and y making |y ln x| up to lim (finite results)."""
    x = np.exp(RNG.uniform(-690, 690, n))
    y = RNG.uniform(-1, 1, n) * lim / np.abs(np.log(x))
    return x, y


def test_pow_f64_wide_range():
    x, y = pow_samples(1500, 700)
    xn = -np.exp(RNG.uniform(-5, 5, 300))  # negative x, integer y
    yn = np.round(RNG.uniform(-1, 1, 300) * 690 / np.maximum(np.abs(np.log(-xn)), 1))
    x, y = np.concatenate([x, xn, [2.0, 10.0, 0.5, 1.0000001]]), np.concatenate([y, yn, [1023.5, 308.0, 1074.0, 7e9]])
    got = run("pow", x, y)
    mpmath.mp.prec = 160
    ref = [mpmath.power(mpmath.mpf(float(a)), mpmath.mpf(float(b))) for a, b in zip(x, y)]
    err = ulps_mp(got, ref, np.float64)
    assert err.max() <= 2.0, (err.max(), x[np.argmax(err)], y[np.argmax(err)])


def test_pow_f32():
    x, y = pow_samples(20000, 88)
    x, y = np.float32(np.clip(x, 1e-38, 3e38)), np.float32(y)
    got = run("pow", x, y)
    ref = np.power(x.astype(np.float64), y.astype(np.float64))
    keep = (np.abs(ref) > 1.2e-38) & (np.abs(ref) < 3.4e38)
    err = ulps_f64(got[keep], ref[keep], np.float32)
    assert err.max() <= 1.0, err.max()


@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_pow_annex_f_special_cases(dt):
    inf, nan = np.inf, np.nan
    cases = [  # C99 F.9.4.4, in order
        (0.0, -3.0), (-0.0, -3.0), (0.0, -2.0), (-0.0, -2.0), (0.0, -0.5), (-0.0, -inf), (0.0, -inf),
        (0.0, 3.0), (-0.0, 3.0), (0.0, 2.0), (-0.0, 2.0), (-0.0, 0.5), (-1.0, inf), (-1.0, -inf),
        (1.0, nan), (1.0, 5.0), (1.0, -inf), (nan, 0.0), (nan, -0.0), (3.0, 0.0), (inf, -0.0),
        (-2.0, 0.5), (-2.0, -1.5), (0.5, -inf), (-0.5, -inf), (2.0, -inf), (-2.0, -inf), (0.5, inf),
        (-0.5, inf), (2.0, inf), (-2.0, inf), (-inf, -3.0), (-inf, -2.0), (-inf, -0.5), (-inf, 3.0),
        (-inf, 2.0), (-inf, 0.5), (inf, -2.0), (inf, 2.0), (nan, 2.0), (2.0, nan), (nan, nan),
        (-2.0, 3.0), (-2.0, 2.0), (-2.0, -3.0), (-8.0, 1.0 / 3.0), (-1.0, 2.0 ** 60), (-1.0, 2.0 ** 60 + 2 ** 9),
        (5e-324 if dt == np.float64 else 1e-45, 0.5), (2.0, 1024.0), (2.0, -1075.0), (-2.0, 1025.0)]
    x, y = (np.array(v, dt) for v in zip(*cases))
    got = run("pow", x, y)
    with np.errstate(all="ignore"):
        want = np.power(x, y)
    np.testing.assert_array_equal(got, want)
    num = ~np.isnan(want)  # a NaN's sign is not specified
    np.testing.assert_array_equal(np.signbit(got[num]), np.signbit(want[num]))


@pytest.mark.parametrize("dtype", ["f32", "f64"])
def test_ptx_holds_the_two_over_pi_table(dtype, tmp_path):
    import shutil
    import subprocess

    prog = f"""module @m {{
func @main(%x: {dtype}[64]) -> ({dtype}[64], {dtype}[64]) {{
%s = sin(%x) : {dtype}[64]
%c = cos(%x) : {dtype}[64]
return(%s, %c)
}}
}}
"""
    ptx = ts.compile_for_target(prog, "nvptx:sm_90")["asm"]
    assert ".global .align 4 .b8 tessera_two_over_pi[168]" in ptx
    assert "ld.global.nc" in ptx or "ld.global" in ptx
    if not shutil.which("ptxas"):
        pytest.skip("ptxas not installed")
    (tmp_path / "k.ptx").write_text(ptx)
    r = subprocess.run(["ptxas", "-arch=sm_90", str(tmp_path / "k.ptx"), "-o", str(tmp_path / "k.cubin")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
