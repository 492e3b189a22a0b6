"""Convolution and pooling (conv1d/2d/3d, conv_transpose, max/avg/adaptive pools, unfold/fold,
and the windows / overlap_add primitives under them) against torch.nn.functional in float64 on
fresh random inputs: odd and prime sizes, size-1 dims, strides that do not divide, groups,
depthwise, channels-last, unbatched inputs; gradients against torch autograd; errors for bad
input. Tolerances: float64 results agree to ~1e-12 (sums of a few hundred products);
float32 to 1e-5 relative (im2col + GEMM in f32 against an f64 reference); bf16 to 2e-2
relative (8-bit mantissa inputs, f32 accumulation)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import tessera as ts  # noqa: E402

RNG = np.random.default_rng()


def rand(*shape):
    return RNG.standard_normal(shape)


def close(got, ref, tol=1e-11):
    ref = ref.detach().numpy() if hasattr(ref, "detach") else ref
    assert got.shape == ref.shape, (got.shape, ref.shape)
    np.testing.assert_allclose(got.numpy(), ref, rtol=tol, atol=tol)


def T(a):
    return torch.tensor(a)


CONV2D = [  # (x shape, weight shape, kwargs)
    ((2, 6, 7, 9), (4, 6, 3, 2), {}),
    ((1, 3, 5, 5), (2, 3, 1, 1), {}),
    ((3, 4, 11, 13), (5, 4, 3, 3), {"stride": 2, "padding": 1}),
    ((2, 6, 7, 9), (4, 3, 3, 3), {"groups": 2, "stride": (2, 3), "dilation": (2, 1)}),
    ((2, 6, 8, 5), (12, 1, 3, 3), {"groups": 6, "padding": 1}),  # depthwise, multiplier 2
    ((2, 5, 13, 7), (3, 5, 5, 3), {"padding": "same"}),
    ((2, 5, 13, 7), (3, 5, 3, 3), {"padding": "valid", "dilation": 3}),
    ((2, 3, 6, 6), (4, 3, 3, 3), {"padding": (1, 0)}),
    ((0, 3, 6, 6), (4, 3, 3, 3), {"padding": 1}),  # empty batch
]


@pytest.mark.parametrize("xs, ws, kw", CONV2D)
def test_conv2d_matches_torch(xs, ws, kw):
    x, w, b = rand(*xs), rand(*ws), rand(ws[0])
    close(ts.conv2d(ts.tensor(x), ts.tensor(w), ts.tensor(b), **kw), F.conv2d(T(x), T(w), T(b), **kw))
    close(ts.conv2d(ts.tensor(x), ts.tensor(w), **kw), F.conv2d(T(x), T(w), **kw))


def test_conv_1d_3d_unbatched_and_channels_last():
    x, w = rand(3, 4, 17), rand(2, 4, 5)
    close(ts.conv1d(ts.tensor(x), ts.tensor(w), stride=3, padding=2), F.conv1d(T(x), T(w), stride=3, padding=2))
    close(ts.conv1d(ts.tensor(x[0]), ts.tensor(w)), F.conv1d(T(x[0]), T(w)))
    x3, w3 = rand(2, 2, 5, 7, 4), rand(3, 2, 2, 3, 2)
    close(ts.conv3d(ts.tensor(x3), ts.tensor(w3), padding=1, stride=(1, 2, 1)),
          F.conv3d(T(x3), T(w3), padding=1, stride=(1, 2, 1)))
    x2, w2, b2 = rand(2, 6, 7, 9), rand(4, 3, 3, 3), rand(4)
    y = ts.conv2d(ts.tensor(x2.transpose(0, 2, 3, 1).copy()), ts.tensor(w2), ts.tensor(b2), padding=1, groups=2,
                  channels_last=True)
    close(y, F.conv2d(T(x2), T(w2), T(b2), padding=1, groups=2).permute(0, 2, 3, 1))
    y = ts.conv1d(ts.tensor(x[0].T.copy()), ts.tensor(w), padding=1, channels_last=True)  # unbatched [L, C]
    close(y, F.conv1d(T(x[0]), T(w), padding=1).T)


def test_same_padding_with_stride_matches_explicit_padding():
    # "same" with stride > 1 follows JAX/TensorFlow: out = ceil(in / stride), the extra zero after.
    x, w = rand(2, 3, 10, 9), rand(4, 3, 4, 3)
    y = ts.conv2d(ts.tensor(x), ts.tensor(w), stride=3, padding="same")
    assert y.shape == (2, 4, 4, 3)
    # height: total = (4-1)*3 + 4 - 10 = 3 -> (1, 2); width: (3-1)*3 + 3 - 9 = 0
    ref = F.conv2d(F.pad(T(x), (0, 0, 1, 2)), T(w), stride=3)
    close(y, ref)
    close(ts.conv2d(ts.tensor(x), ts.tensor(w), stride=3, padding=[1, 2, 0, 0]), ref)  # [lo, hi] per dim


@pytest.mark.parametrize("k", [1, 2, 3])
def test_conv_transpose_matches_torch(k):
    fn = getattr(F, f"conv_transpose{k}d")
    op = getattr(ts, f"conv_transpose{k}d")
    spatial = [(7,), (5, 6), (3, 4, 5)][k - 1]
    for kw in [{}, {"stride": 2}, {"stride": 2, "padding": 1, "output_padding": 1},
               {"groups": 2, "dilation": 2}, {"stride": 3, "padding": 2, "output_padding": 2}]:
        g = kw.get("groups", 1)
        x, w, b = rand(2, 4, *spatial), rand(4, 6 // g, *([3, 2, 2][:k])), rand(6)
        close(op(ts.tensor(x), ts.tensor(w), ts.tensor(b), **kw), fn(T(x), T(w), T(b), **kw))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_pools_match_torch(k):
    spatial = [(13,), (7, 10), (5, 6, 7)][k - 1]
    x = rand(2, 3, *spatial)
    mp, ap, aap = (getattr(ts, f"{n}{k}d") for n in ("max_pool", "avg_pool", "adaptive_avg_pool"))
    tmp, tap, taap = (getattr(F, f"{n}{k}d") for n in ("max_pool", "avg_pool", "adaptive_avg_pool"))
    for kw in [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1}, {"kernel_size": 3, "stride": 1}]:
        close(mp(ts.tensor(x), **kw), tmp(T(x), **kw))
        close(ap(ts.tensor(x), **kw), tap(T(x), **kw))
        close(ap(ts.tensor(x), count_include_pad=False, **kw), tap(T(x), count_include_pad=False, **kw))
    close(mp(ts.tensor(x), kernel_size=2, dilation=2), tmp(T(x), kernel_size=2, dilation=2))
    for out in [1, 2, 3, [4, 3, 5][:k]]:
        close(aap(ts.tensor(x), output_size=out), taap(T(x), out))


def test_pool_channels_last_unbatched_and_nan():
    x = rand(2, 9, 8, 3)  # [N, H, W, C]
    y = ts.max_pool2d(ts.tensor(x), kernel_size=3, stride=2, padding=1, channels_last=True)
    close(y, F.max_pool2d(T(x).permute(0, 3, 1, 2), 3, 2, 1).permute(0, 2, 3, 1))
    close(ts.avg_pool2d(ts.tensor(x[0]), kernel_size=2, channels_last=True),
          F.avg_pool2d(T(x[0]).permute(2, 0, 1), 2).permute(1, 2, 0))
    close(ts.adaptive_avg_pool2d(ts.tensor(x), output_size=(5, 3), channels_last=True),
          F.adaptive_avg_pool2d(T(x).permute(0, 3, 1, 2), (5, 3)).permute(0, 2, 3, 1))
    xn = rand(1, 1, 4, 4)
    xn[0, 0, 1, 1] = np.nan
    y = ts.max_pool2d(ts.tensor(xn), kernel_size=2).numpy()
    assert np.isnan(y[0, 0, 0, 0]) and not np.isnan(y[0, 0, 1, 1])  # NaN propagates, as in torch


def test_unfold_fold_and_windows():
    x = rand(2, 3, 8, 9)
    close(ts.unfold(ts.tensor(x), kernel_size=(2, 3), padding=1, stride=2), F.unfold(T(x), (2, 3), padding=1, stride=2))
    cols = rand(2, 3 * 6, 25)
    close(ts.fold(ts.tensor(cols), output_size=(8, 9), kernel_size=(2, 3), padding=1, stride=2),
          F.fold(T(cols), (8, 9), (2, 3), padding=1, stride=2))
    # windows: element (w, o) is x[o * stride + w * dilation - lo], `value` in the padding.
    v = rand(4, 10)
    got = ts.windows(ts.tensor(v), window=[3], stride=[2], dilation=[2], padding=[3, 1], value=-5.0).numpy()
    assert got.shape == (4, 3, 5)
    padded = np.concatenate([np.full((4, 3), -5.0), v, np.full((4, 1), -5.0)], axis=1)
    for w in range(3):
        for o in range(5):
            np.testing.assert_array_equal(got[:, w, o], padded[:, o * 2 + w * 2])
    # overlap_add is windows' transpose: <windows(x), c> == <x, overlap_add(c)>.
    c = rand(4, 3, 5)
    back = ts.overlap_add(ts.tensor(c), size=[10], stride=[2], dilation=[2], padding=[3, 1]).numpy()
    zero_pad = ts.windows(ts.tensor(v), window=[3], stride=[2], dilation=[2], padding=[3, 1]).numpy()
    np.testing.assert_allclose(np.sum(zero_pad * c), np.sum(v * back), rtol=1e-12)


def test_windows_over_an_empty_dim_are_all_padding():
    y = ts.windows(ts.tensor(np.zeros((2, 0))), window=[2], padding=[1, 1], value=7.0).numpy()
    np.testing.assert_array_equal(y, np.full((2, 2, 1), 7.0))


def grads(fn_t, fn_ts, arrays):
    tt = [T(a).requires_grad_() for a in arrays]
    out = fn_t(*tt)
    w = rand(*out.shape)
    (out * T(w)).sum().backward()
    got = ts.grad(lambda *xs: (fn_ts(*xs) * ts.tensor(w)).sum(), argnums=tuple(range(len(arrays))))(
        *[ts.tensor(a) for a in arrays])
    for g, t in zip(got, tt):
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_gradients_match_torch_autograd():
    x, b = rand(2, 4, 7, 6), rand(6)
    grads(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2),
          lambda x, w, b: ts.conv2d(x, w, b, stride=2, padding=1, groups=2), [x, rand(6, 2, 3, 3), b])
    grads(lambda x, w: F.conv2d(x, w, groups=4, dilation=2), lambda x, w: ts.conv2d(x, w, groups=4, dilation=2),
          [x, rand(8, 1, 3, 3)])
    grads(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
          lambda x, w, b: ts.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1), [x, rand(4, 6, 3, 2), b])
    grads(lambda x, w: F.conv1d(x, w, padding=2), lambda x, w: ts.conv1d(x, w, padding=2),
          [rand(3, 2, 9), rand(4, 2, 3)])
    grads(lambda x, w: F.conv3d(x, w, padding=1), lambda x, w: ts.conv3d(x, w, padding=1),
          [rand(1, 2, 4, 5, 3), rand(2, 2, 2, 2, 2)])
    grads(lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: ts.max_pool2d(x, kernel_size=3, stride=2, padding=1), [x])
    grads(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
          lambda x: ts.avg_pool2d(x, kernel_size=3, stride=2, padding=1, count_include_pad=False), [x])
    grads(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), lambda x: ts.adaptive_avg_pool2d(x, output_size=(3, 4)), [x])
    grads(lambda x: F.unfold(x, 2, stride=2), lambda x: ts.unfold(x, kernel_size=2, stride=2), [x])


def test_float32_and_bfloat16():
    x, w = rand(4, 16, 12, 12), rand(32, 16, 3, 3)
    ref = F.conv2d(T(x), T(w), padding=1).numpy()
    scale = np.abs(ref).max()
    xf, wf = ts.tensor(x.astype(np.float32)), ts.tensor(w.astype(np.float32))
    y = ts.conv2d(xf, wf, padding=1)
    assert y.dtype == ts.float32
    assert np.abs(y.numpy() - ref).max() / scale < 1e-5
    yb = ts.conv2d(xf.astype("bfloat16"), wf.astype("bfloat16"), padding=1)
    assert yb.dtype == ts.bfloat16
    assert np.abs(yb.astype("float32").numpy() - ref).max() / scale < 2e-2
    yp = ts.max_pool2d(xf.astype("bfloat16"), kernel_size=2).astype("float32").numpy()
    np.testing.assert_array_equal(yp, F.max_pool2d(T(x).to(torch.bfloat16), 2).float().numpy())


def test_jit_and_vmap():
    x, w = rand(3, 2, 4, 6, 5), rand(3, 4, 3, 3)  # vmap over a leading axis of images
    f = ts.vmap(lambda xi: ts.conv2d(xi, ts.tensor(w), padding=1))
    close(f(ts.tensor(x)), torch.stack([F.conv2d(T(xi), T(w), padding=1) for xi in x]))
    g = ts.jit(lambda x, w: ts.max_pool2d(ts.relu(ts.conv2d(x, w, padding="same")), kernel_size=2))
    close(g(ts.tensor(x[0]), ts.tensor(w)), F.max_pool2d(F.relu(F.conv2d(T(x[0]), T(w), padding="same")), 2))


@pytest.mark.parametrize("call, message", [
    (lambda: ts.conv2d(ts.zeros(2, 3, 8, 8), ts.zeros(4, 2, 3, 3)), "3 channels"),
    (lambda: ts.conv2d(ts.zeros(2, 4, 8, 8), ts.zeros(4, 3, 3, 3), groups=3), "groups = 3"),
    (lambda: ts.conv2d(ts.zeros(2, 3, 8, 8), ts.zeros(4, 3, 3)), "weight must be"),
    (lambda: ts.conv2d(ts.zeros(3, 8), ts.zeros(4, 3, 3, 3)), "input must be [N, C, H, W]"),
    (lambda: ts.conv2d(ts.zeros(2, 3, 8, 8), ts.zeros(4, 3, 3, 3), ts.zeros(3)), "bias must be [4]"),
    (lambda: ts.conv2d(ts.zeros(2, 3, 8, 8), ts.zeros(4, 3, 3, 3, dtype="float64")), "dtype"),
    (lambda: ts.conv2d(ts.zeros(2, 3, 8, 8, dtype="int32"), ts.zeros(4, 3, 3, 3, dtype="int32")), "float"),
    (lambda: ts.conv2d(ts.zeros(1, 1, 2, 2), ts.zeros(1, 1, 3, 3)), "more than the 2"),
    (lambda: ts.conv2d(ts.zeros(1, 1, 5, 5), ts.zeros(1, 1, 3, 3), padding="full"), "\"same\" or \"valid\""),
    (lambda: ts.conv2d(ts.zeros(1, 1, 5, 5), ts.zeros(1, 1, 3, 3), stride=0), "stride must be >= 1"),
    (lambda: ts.conv2d(ts.zeros(1, 1, 5, 5), ts.zeros(1, 1, 3, 3), stride=[1, 2, 3]), "1 or 2 values"),
    (lambda: ts.conv_transpose2d(ts.zeros(1, 2, 5, 5), ts.zeros(2, 1, 3, 3), stride=2, output_padding=2),
     "output_padding"),
    (lambda: ts.max_pool2d(ts.zeros(1, 1, 5, 5), kernel_size=2, padding=2), "half the window"),
    (lambda: ts.adaptive_avg_pool2d(ts.zeros(1, 1, 5, 5), output_size=0), "output_size must be >= 1"),
    (lambda: ts.fold(ts.zeros(1, 12, 7), output_size=(4, 4), kernel_size=2), "fold: x must be [N, C*4, 9]"),
])
def test_bad_input_names_the_op_and_line(call, message):
    with pytest.raises(ts.TesseraError) as e:
        call()
    assert message in str(e.value)
    assert "test_conv.py" in str(e.value)  # the user's line
