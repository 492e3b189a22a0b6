"""tessera.Tensor's data side: dtypes, devices, creation, conversion, repr."""
import sys
import types

import numpy as np
import pytest

import tessera
from tessera import errors

torch = pytest.importorskip("torch")

ALL = ["float64", "float32", "float16", "bfloat16", "int64", "int32", "int8", "uint8", "bool"]
HAS_CUDA = tessera.device_count("cuda") > 0


# ---- dtypes ----

def test_dtype_objects():
    assert tessera.float32.name == "float32" and tessera.f32 is tessera.float32
    assert tessera.float32.itemsize == 4 and tessera.bfloat16.itemsize == 2
    assert tessera.float16.is_floating and not tessera.int8.is_floating
    assert repr(tessera.float32) == "tessera.float32"
    assert repr(tessera.bool_) == "tessera.bool"
    assert [tessera.dtype(n).name for n in ALL] == ALL


@pytest.mark.parametrize("name", ALL)
def test_dtype_lookup_foreign(name):
    t = tessera.dtype(name)
    assert tessera.dtype(t.short) is t and tessera.dtype(t) is t
    assert tessera.dtype(getattr(torch, name)) is t
    if name != "bfloat16":
        assert tessera.dtype(np.dtype(name)) is t
        assert tessera.dtype(getattr(np, name if name != "bool" else "bool_")) is t


def test_dtype_python_types_and_unknown():
    assert tessera.dtype(float) is tessera.float32
    assert tessera.dtype(int) is tessera.int64
    assert tessera.dtype(bool) is tessera.bool_
    with pytest.raises(errors.DTypeError, match="float32.*bfloat16"):
        tessera.dtype("complex64")
    with pytest.raises(TypeError):  # DTypeError is a TypeError too
        tessera.dtype(np.int16)


# ---- devices ----

def test_device_objects():
    d = tessera.device("cuda:1")
    assert (d.type, d.index, str(d), repr(d)) == ("cuda", 1, "cuda:1", "device('cuda:1')")
    assert tessera.device("cuda") == tessera.device("cuda:0") == "cuda:0"
    assert tessera.device("cpu") == "cpu" and tessera.device("cpu").index == 0
    assert len({tessera.device("cpu"), tessera.device("cpu:0"), tessera.device(None)}) == 1
    assert tessera.device(torch.device("cuda:2")) == "cuda:2"
    for bad in ["gpu", "cuda:x", "cpu:1", ""]:
        with pytest.raises(errors.DeviceError):
            tessera.device(bad)
    with pytest.raises(errors.DeviceError):
        tessera.device(3)


def test_device_queries():
    assert tessera.device_count("cpu") >= 1
    assert tessera.is_available("cpu")
    assert tessera.is_available("cuda") == HAS_CUDA
    with pytest.raises(errors.DeviceError):
        tessera.device_count("tpu")
    props = tessera.device_properties("cpu")
    assert props["device"] == "cpu" and props["total_memory"] > 0 and props["name"]
    tessera.synchronize("cpu")
    tessera.synchronize()


def test_threads():
    n = tessera.get_num_threads()
    try:
        tessera.set_num_threads(1)
        assert tessera.get_num_threads() == 1
        with pytest.raises(errors.TesseraValueError):
            tessera.set_num_threads(0)
    finally:
        tessera.set_num_threads(n)


@pytest.mark.skipif(HAS_CUDA, reason="checks the error raised on machines without a GPU")
def test_cuda_without_gpu_raises_device_error():
    for make in [lambda: tessera.zeros(2, device="cuda"), lambda: tessera.tensor([1.0], device="cuda"),
                 lambda: tessera.rand(3, device="cuda:0"), lambda: tessera.ones(2).to("cuda"),
                 lambda: tessera.arange(3, device="cuda"), lambda: tessera.synchronize("cuda")]:
        with pytest.raises(errors.DeviceError, match="CUDA is not available"):
            make()


# ---- tensor() from Python data ----

def test_tensor_from_lists_infers_shape_and_dtype():
    t = tessera.tensor([[1, 2, 3], [4, 5, 6]])
    assert t.shape == (2, 3) and t.dtype is tessera.int64 and t.device == "cpu"
    assert t.ndim == 2 and t.size == 6 and t.numel() == 6 and len(t) == 2
    assert t.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert tessera.tensor([1, 2.5]).dtype is tessera.float32  # default float dtype
    assert tessera.tensor([True, False]).dtype is tessera.bool_
    assert tessera.tensor([True, 2]).dtype is tessera.int64
    assert tessera.tensor(((1.0,), (2.0,))).shape == (2, 1)
    s = tessera.tensor(3.5)
    assert s.shape == () and s.item() == 3.5 and s.tolist() == 3.5
    e = tessera.tensor([])
    assert e.shape == (0,) and e.dtype is tessera.float32 and e.tolist() == []
    assert tessera.tensor([[], []]).shape == (2, 0)
    assert tessera.tensor([[], []]).tolist() == [[], []]
    assert tessera.Tensor([1, 2]).tolist() == [1, 2]


def test_tensor_numpy_scalars_elements():
    t = tessera.tensor([np.float32(1.5), np.int64(2)])
    assert t.dtype is tessera.float32 and t.tolist() == [1.5, 2.0]
    assert tessera.tensor(np.float64(2.0)).dtype is tessera.float64  # NumPy scalars keep dtype


@pytest.mark.parametrize("bad, where", [([[1, 2], [3]], r"\[1\] has length 1"),
                                        ([[1, 2], 3], r"\[1\] has a int"),
                                        ([1, [2, 3]], r"\[1\] is a sequence")])
def test_tensor_ragged_lists(bad, where):
    with pytest.raises(errors.ShapeError, match="ragged.*" + where):
        tessera.tensor(bad)


def test_tensor_bad_elements_and_ranges():
    with pytest.raises(errors.DTypeError, match="str"):
        tessera.tensor(["a"])
    with pytest.raises(errors.DTypeError):
        tessera.tensor(None)
    with pytest.raises(errors.TesseraValueError, match="300 is out of range for int8"):
        tessera.tensor([300], dtype=tessera.int8)
    with pytest.raises(errors.TesseraValueError, match="out of range for uint8"):
        tessera.tensor([-1], dtype="u8")
    with pytest.raises(errors.TesseraValueError):
        tessera.tensor([float("nan")], dtype="i32")
    assert tessera.tensor([1.9, -1.9], dtype="i32").tolist() == [1, -1]  # truncation, like NumPy


@pytest.mark.parametrize("name", ALL)
def test_tensor_every_dtype_roundtrip(name):
    values = [[0, 1], [1, 0]] if name == "bool" else [[1, 2], [3, 100]]
    t = tessera.tensor(values, dtype=name)
    assert t.dtype is tessera.dtype(name) and t.shape == (2, 2)
    expect = [[bool(v) for v in row] for row in values] if name == "bool" else values
    assert t.tolist() == expect
    assert type(t.tolist()[0][0]) is (bool if name == "bool" else float if t.dtype.is_floating else int)


def test_half_precision_rounding_matches_numpy_and_torch():
    xs = [1 / 3, 65504.0, 1e-7, 70000.0, -2.5, 1 + 2 ** -9, 1 + 3 * 2 ** -9]
    with np.errstate(over="ignore"):
        ref16 = np.array(xs, dtype=np.float16).astype(float).tolist()
    assert tessera.tensor(xs, dtype="f16").tolist() == ref16
    ref = torch.tensor(xs, dtype=torch.float64).to(torch.bfloat16).double().tolist()
    assert tessera.tensor(xs, dtype="bf16").tolist() == ref
    assert tessera.tensor([1 / 3], dtype="f32").item() == float(np.float32(1 / 3))


def test_tensor_from_arrays_copies():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = tessera.tensor(a)
    a[0, 0] = 100
    assert t.tolist()[0][0] == 0.0 and t.dtype is tessera.float32
    assert tessera.tensor(a.T).tolist() == a.T.tolist()  # strided source, contiguous copy
    assert tessera.tensor(a.T).is_contiguous()
    u = tessera.tensor(t)
    assert u.data_ptr() != t.data_ptr() and u.tolist() == t.tolist()
    tt = torch.arange(4, dtype=torch.int32)
    assert tessera.tensor(tt).dtype is tessera.int32 and tessera.tensor(tt).tolist() == [0, 1, 2, 3]
    # dtype change on the way in
    assert tessera.tensor(np.array([1, 2]), dtype="f16").tolist() == [1.0, 2.0]
    # dtypes DLPack/Tessera lack go through Python values
    i16 = tessera.tensor(np.array([1, -2], dtype=np.int16))
    assert i16.dtype is tessera.int64 and i16.tolist() == [1, -2]
    ro = np.ones(3)
    ro.flags.writeable = False
    assert not tessera.tensor(ro).read_only


# ---- creation functions ----

def test_empty_zeros_ones_full():
    assert tessera.empty(2, 3).shape == (2, 3)
    assert tessera.empty((4,), dtype="i8").dtype is tessera.int8
    assert tessera.zeros(2, 2).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert tessera.ones([3], dtype="i32").tolist() == [1, 1, 1]
    assert tessera.ones(2, dtype=tessera.bool_).tolist() == [True, True]
    assert tessera.full((2,), 7).dtype is tessera.int64
    assert tessera.full((2,), 7).tolist() == [7, 7]
    assert tessera.full((2,), 0.5, dtype="bf16").tolist() == [0.5, 0.5]
    assert tessera.full(3, True).tolist() == [True] * 3
    assert tessera.full(2, 2 ** 62 + 1).tolist() == [2 ** 62 + 1] * 2  # beyond double precision
    assert tessera.zeros(0, 5).shape == (0, 5)
    assert tessera.zeros(()).shape == ()
    for name in ALL:
        assert tessera.ones(4, dtype=name).tolist() == [True if name == "bool" else 1] * 4


@pytest.mark.parametrize("bad", [(-1,), (2, -3)])
def test_negative_dims(bad):
    with pytest.raises(errors.ShapeError, match="negative dimension"):
        tessera.zeros(*bad)
    with pytest.raises(errors.ShapeError):
        tessera.empty(bad)


def test_bad_arguments():
    with pytest.raises(errors.ShapeError, match="must be ints"):
        tessera.zeros(2.5)
    with pytest.raises(errors.DTypeError, match="unknown dtype"):
        tessera.zeros(2, dtype="float8")
    with pytest.raises(errors.DeviceError, match="unknown device"):
        tessera.zeros(2, device="tpu")
    with pytest.raises(errors.DTypeError):  # wrong types reach _C checked
        tessera._C.empty([2], "float99", "cpu")
    with pytest.raises(errors.DeviceError):
        tessera._C.empty([2], "f32", "npu")
    with pytest.raises(TypeError):
        tessera._C.empty("abc", "f32", "cpu")
    with pytest.raises(errors.ShapeError):
        tessera._C.from_bytes(b"123", [1], "f32", "cpu")
    with pytest.raises(errors.TesseraValueError):
        tessera._C.from_bytes(object(), [1], "f32", "cpu")


@pytest.mark.parametrize("args", [(5,), (2, 7), (0, 10, 3), (10, 0, -3), (5, 1), (-2, 3),
                                  (0.5, 2.0, 0.25), (1, 2, 0.3), (3.0,), (0, -1.5, -0.5)])
def test_arange_matches_numpy(args):
    t = tessera.arange(*args)
    ref = np.arange(*args)
    assert t.dtype is (tessera.int64 if ref.dtype.kind == "i" else tessera.float32)
    assert t.shape == ref.shape
    np.testing.assert_allclose(t.tolist(), ref.astype(np.float32 if ref.dtype.kind == "f" else ref.dtype))


def test_arange_errors_and_dtype():
    assert tessera.arange(4, dtype="f64").tolist() == [0.0, 1.0, 2.0, 3.0]
    assert tessera.arange(3, dtype="bf16").tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(errors.TesseraValueError, match="step"):
        tessera.arange(0, 5, 0)
    with pytest.raises(errors.TesseraValueError, match="finite"):
        tessera.arange(0, float("inf"))


def test_rand_reproducible():
    a = tessera.rand(100, seed=42)
    assert a.tolist() == tessera.rand(100, seed=42).tolist()
    assert a.tolist() != tessera.rand(100, seed=43).tolist()
    assert tessera.randn(2, 3, seed=7).tolist() == tessera.randn((2, 3), seed=7).tolist()
    tessera.manual_seed(123)
    seq1 = [tessera.rand(8).tolist(), tessera.randn(8).tolist()]
    tessera.manual_seed(123)
    seq2 = [tessera.rand(8).tolist(), tessera.randn(8).tolist()]
    assert seq1 == seq2 and seq1[0] != tessera.rand(8).tolist()
    tessera.manual_seed(0)
    assert tessera.rand(8).tolist() != tessera.rand(8).tolist()  # each call advances


@pytest.mark.parametrize("name", ["float32", "float64", "float16", "bfloat16"])
def test_rand_statistics(name):
    n = 200_000
    u = np.array(tessera.rand(n, seed=1, dtype=name).tolist())
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    g = np.array(tessera.randn(n, seed=2, dtype=name).tolist())
    assert abs(g.mean()) < 0.02 and abs(g.std() - 1.0) < 0.02
    assert abs((np.abs(g) < 1).mean() - 0.6827) < 0.01  # the shape is normal, not just moments


def test_rand_rejects_int_dtype():
    with pytest.raises(errors.DTypeError, match="floating"):
        tessera.rand(3, dtype="i32")


# ---- conversion ----

def test_numpy_zero_copy_both_ways():
    t = tessera.zeros(2, 3)
    a = t.numpy()
    assert a.shape == (2, 3) and a.dtype == np.float32
    assert a.ctypes.data == t.data_ptr()
    a[1, 2] = 5.0
    assert t.tolist()[1][2] == 5.0
    b = np.asarray(t)
    assert b.ctypes.data == t.data_ptr()
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(t, copy=True).ctypes.data != t.data_ptr()
    with pytest.raises(errors.DTypeError, match="bfloat16"):
        tessera.zeros(2, dtype="bf16").numpy()


def test_item_len_scalars():
    assert tessera.tensor([[2.5]]).item() == 2.5
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        tessera.zeros(2, 2).item()
    with pytest.raises(TypeError, match="0-d"):
        len(tessera.tensor(1.0))
    assert bool(tessera.tensor([1])) and not bool(tessera.tensor(0.0))
    assert float(tessera.tensor([3])) == 3.0 and int(tessera.tensor(3.9)) == 3
    assert list(range(tessera.tensor(3)))[-1] == 2
    with pytest.raises(ValueError, match="ambiguous"):
        bool(tessera.zeros(2))
    with pytest.raises(TypeError):
        range(tessera.tensor(1.0))


def test_to_and_cpu():
    t = tessera.ones(3)
    assert t.to("cpu") is t and t.cpu() is t and t.to(tessera.float32) is t and t.to("f32") is t
    assert t.to(tessera.int32).tolist() == [1, 1, 1] and t.to(tessera.int32).dtype == tessera.int32
    assert t.to(dtype="f16").dtype == tessera.float16
    with pytest.raises(errors.DTypeError):
        t.to(dtype="f17")


def test_contiguous():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    t = tessera.from_dlpack(a.T)
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c.tolist() == a.T.tolist() and c.data_ptr() != t.data_ptr()
    assert c.contiguous() is c


# ---- repr ----

def test_repr_small():
    assert repr(tessera.tensor([[1.0, 2.0], [3.0, 4.0]])) == \
        "tessera.Tensor([[1.0, 2.0], [3.0, 4.0]], dtype=float32, device=cpu)"
    assert repr(tessera.tensor([0.5, 0.25, 3])) == "tessera.Tensor([0.5, 0.25, 3.0], dtype=float32, device=cpu)"
    assert repr(tessera.tensor([0.1, 1e-8])) == \
        "tessera.Tensor([1.0000e-01, 1.0000e-08], dtype=float32, device=cpu)"
    assert repr(tessera.tensor(1 / 3)) == "tessera.Tensor(0.3333, dtype=float32, device=cpu)"
    assert repr(tessera.tensor([1, -2])) == "tessera.Tensor([1, -2], dtype=int64, device=cpu)"
    assert repr(tessera.tensor([True, False])) == "tessera.Tensor([True, False], dtype=bool, device=cpu)"
    assert repr(tessera.tensor(2.0)) == "tessera.Tensor(2.0, dtype=float32, device=cpu)"
    assert repr(tessera.zeros(0, 3)) == "tessera.Tensor([], dtype=float32, device=cpu)"
    assert repr(tessera.tensor([float("nan"), float("-inf")], dtype="f16")) == \
        "tessera.Tensor([nan, -inf], dtype=float16, device=cpu)"
    assert repr(tessera.tensor([1 / 3, 1], dtype="bf16")) == \
        "tessera.Tensor([0.334, 1.0], dtype=bfloat16, device=cpu)"
    assert str(tessera.ones(1)) == repr(tessera.ones(1))


def test_repr_multiline_and_summarised():
    assert repr(tessera.from_dlpack(np.arange(12).reshape(3, 4))) == (
        "tessera.Tensor([[ 0,  1,  2,  3],\n"
        "                [ 4,  5,  6,  7],\n"
        "                [ 8,  9, 10, 11]], dtype=int64, device=cpu)")
    assert repr(tessera.from_dlpack(np.arange(4.0).reshape(2, 2) / 7)) == \
        "tessera.Tensor([[0.0000, 0.1429], [0.2857, 0.4286]], dtype=float64, device=cpu)"
    r = repr(tessera.arange(1_000_000, dtype="f32"))
    assert r == ("tessera.Tensor([     0.0,      1.0,      2.0, ..., 999997.0, 999998.0, 999999.0], "
                 "dtype=float32, device=cpu)")
    r3 = repr(tessera.zeros(20, 30, 40))
    assert r3.count("...") == 1 + 6 + 36 and len(r3.splitlines()) < 60
    wide = repr(tessera.arange(200))
    assert max(map(len, wide.splitlines())) <= 100 and "199]" in wide  # long rows wrap
    assert "..." not in wide


# ---- lazy tensors (contract with tessera.lazy) ----

def test_lazy_metadata_does_not_realize(monkeypatch):
    calls = []
    fake = types.ModuleType("tessera.lazy")

    def realize(t):
        calls.append(t)
        t._array = tessera.full((2, 3), 1.5)._array

    fake.realize = realize
    monkeypatch.setitem(sys.modules, "tessera.lazy", fake)
    monkeypatch.setattr(tessera, "lazy", fake, raising=False)
    t = tessera.Tensor._lazy(object(), (2, 3), "f32", "cpu")
    assert (t.shape, t.dtype, t.device, t.ndim, t.size, t.numel(), t.nbytes) == \
        ((2, 3), tessera.float32, tessera.device("cpu"), 2, 6, 6, 24)
    assert t.__dlpack_device__() == (1, 0) and len(t) == 2 and t.is_lazy
    assert calls == []
    assert t.tolist() == [[1.5] * 3] * 2 and calls == [t] and not t.is_lazy
    assert "1.5" in repr(t) and len(calls) == 1
