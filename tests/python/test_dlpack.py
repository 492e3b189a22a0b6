"""DLPack exchange with NumPy and PyTorch (CPU): zero-copy, strides, read-only memory, lifetime,
memory use and malformed input."""
import ctypes
import gc
import os
import weakref

import numpy as np
import pytest
from dlpack_ctypes import DELETER, DLDataType, DLDevice, DLManagedTensorVersioned

import tessera
from tessera import errors

torch = pytest.importorskip("torch")

NP_DTYPES = ["float64", "float32", "float16", "int64", "int32", "int8", "uint8", "bool"]
TORCH_DTYPES = NP_DTYPES + ["bfloat16"]
HAS_CUDA = tessera.device_count("cuda") > 0


def sample_np(name, shape=(3, 4)):
    a = np.arange(np.prod(shape)).reshape(shape)
    return (a % 2 == 0) if name == "bool" else a.astype(name)


def sample_torch(name, shape=(3, 4)):
    a = torch.arange(int(np.prod(shape))).reshape(shape)
    return (a % 2 == 0) if name == "bool" else a.to(getattr(torch, name))


# ---- round trips, zero-copy ----

@pytest.mark.parametrize("name", NP_DTYPES)
def test_numpy_roundtrip_every_dtype(name):
    a = sample_np(name)
    t = tessera.from_dlpack(a)
    assert t.dtype is tessera.dtype(name) and t.shape == (3, 4)
    assert t.data_ptr() == a.ctypes.data  # zero-copy in
    assert t.tolist() == a.tolist()
    b = np.from_dlpack(t)
    assert b.dtype == a.dtype and np.shares_memory(a, b)  # zero-copy out
    np.testing.assert_array_equal(b, a)
    # a tensor made by Tessera, exported
    c = np.from_dlpack(tessera.tensor(a.tolist(), dtype=name))
    np.testing.assert_array_equal(c, a)


@pytest.mark.parametrize("name", TORCH_DTYPES)
def test_torch_roundtrip_every_dtype(name):
    x = sample_torch(name)
    t = tessera.from_dlpack(x)
    assert t.dtype is tessera.dtype(name) and t.shape == (3, 4)
    assert t.data_ptr() == x.data_ptr()
    y = torch.from_dlpack(t)
    assert y.dtype == x.dtype and y.data_ptr() == x.data_ptr()
    assert torch.equal(y, x)
    assert t.tolist() == x.tolist()
    z = torch.from_dlpack(tessera.tensor(x.tolist(), dtype=name))
    assert torch.equal(z, x)


def test_bfloat16_values_match_torch():
    vals = [1 / 3, -2.75, 1e-3, 3.0e38, float("inf")]
    x = torch.tensor(vals, dtype=torch.bfloat16)
    assert tessera.tensor(vals, dtype="bf16").tolist() == x.float().tolist()
    assert torch.equal(torch.from_dlpack(tessera.tensor(vals, dtype="bf16")), x)
    assert tessera.from_dlpack(x).tolist() == x.float().tolist()


def test_writes_visible_both_ways_numpy():
    t = tessera.zeros(4)
    a = np.from_dlpack(t)
    a[2] = 7
    assert t.tolist() == [0, 0, 7, 0]
    b = np.zeros((2, 2), dtype=np.int32)
    u = tessera.from_dlpack(b)
    b[1, 0] = 9
    assert u.tolist() == [[0, 0], [9, 0]]
    u.numpy()[0, 1] = 5  # through the tensor's own numpy view
    assert b[0, 1] == 5


def test_writes_visible_both_ways_torch():
    t = tessera.zeros(2, 3, dtype="bf16")
    x = torch.from_dlpack(t)
    x[1, 1] = 2.5
    assert t.tolist()[1][1] == 2.5
    y = torch.zeros(5, dtype=torch.int64)
    u = tessera.from_dlpack(y)
    y[4] = -3
    assert u.tolist()[-1] == -3
    torch.from_dlpack(u)[0] = 11
    assert y[0].item() == 11


def test_scalars_and_empty():
    for a in [np.array(3.5), np.zeros((0, 4), dtype=np.float32), np.zeros((2, 0, 3), dtype=np.int8)]:
        t = tessera.from_dlpack(a)
        assert t.shape == a.shape and t.tolist() == a.tolist()
        np.testing.assert_array_equal(np.from_dlpack(t), a)
        assert torch.from_dlpack(t).shape == a.shape
    x = torch.zeros(0, 3)
    assert tessera.from_dlpack(x).shape == (0, 3)


# ---- strides ----

def strided_numpy():
    base = np.arange(60, dtype=np.float32).reshape(5, 12)
    return base, {"transposed": base.T, "stepped": base[::2, 1::3], "column": base[:, 5],
                  "broadcast": np.broadcast_to(base[0], (3, 12))}


@pytest.mark.parametrize("kind", ["transposed", "stepped", "column", "broadcast"])
def test_strided_numpy(kind):
    base, views = strided_numpy()
    v = views[kind]
    t = tessera.from_dlpack(v)
    assert t.tolist() == v.tolist()
    assert t.data_ptr() == v.ctypes.data  # a view, not a copy
    assert t._array.strides == tuple(s // v.itemsize for s in v.strides)
    back = np.from_dlpack(t)
    assert back.strides == v.strides and np.shares_memory(back, base)
    assert t.contiguous().tolist() == v.tolist()


def test_strided_torch():
    x = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    for v in [x.t(), x[::2, 1::2], x[:, 3], x.unsqueeze(0).expand(2, 4, 6)]:
        t = tessera.from_dlpack(v)
        assert t.tolist() == v.tolist() and t.data_ptr() == v.data_ptr()
        back = torch.from_dlpack(t)
        assert back.stride() == v.stride() and back.data_ptr() == v.data_ptr()


def test_negative_strides_from_numpy():
    a = np.arange(12, dtype=np.int64).reshape(3, 4)
    v = a[::-1, ::-2]
    try:
        t = tessera.from_dlpack(v)
    except BufferError:
        pytest.skip("this NumPy refuses to export negative strides")
    assert t.tolist() == v.tolist()
    assert t._array.strides == (-4, -2) and t.data_ptr() == v.ctypes.data
    back = np.from_dlpack(t)
    assert back.tolist() == v.tolist() and np.shares_memory(back, a)
    a[2, 3] = 100  # still a view of a
    assert t.tolist()[0][0] == 100
    assert t.contiguous().tolist() == v.tolist()


# ---- read-only memory ----

def test_read_only_numpy_import_and_export():
    a = np.arange(4.0)
    a.flags.writeable = False
    t = tessera.from_dlpack(a)
    assert t.read_only and t.tolist() == [0, 1, 2, 3]
    b = np.from_dlpack(t)
    assert not b.flags.writeable and np.shares_memory(a, b)
    with pytest.raises(ValueError):
        b[0] = 1
    assert not t.numpy().flags.writeable
    # a legacy (unversioned) capsule cannot say "read-only": refuse rather than lose the flag
    with pytest.raises(BufferError, match="read-only"):
        t.__dlpack__()
    assert "dltensor" in repr(t.__dlpack__(copy=True))  # a copy is writable
    c = tessera.from_dlpack(a, copy=True)
    assert not c.read_only


def test_writable_tensor_is_not_read_only():
    assert not tessera.zeros(2).read_only
    assert not tessera.from_dlpack(np.zeros(2)).read_only
    assert np.from_dlpack(tessera.zeros(2)).flags.writeable


# ---- copy / device arguments ----

def test_copy_argument():
    a = np.arange(5, dtype=np.float32)
    assert tessera.from_dlpack(a, copy=False).data_ptr() == a.ctypes.data
    c = tessera.from_dlpack(a, copy=True)
    assert c.data_ptr() != a.ctypes.data and c.tolist() == a.tolist()
    a[0] = 50
    assert c.tolist()[0] == 0
    t = tessera.arange(4, dtype="f32")
    n = np.from_dlpack(t, copy=True)
    assert not np.shares_memory(n, np.from_dlpack(t)) and n.tolist() == [0, 1, 2, 3]
    assert tessera.from_dlpack(t, device="cpu").data_ptr() == t.data_ptr()
    strided = tessera.from_dlpack(np.arange(10.0)[::3], copy=True)
    assert strided.tolist() == [0, 3, 6, 9]


def test_dlpack_device_and_capsule_names():
    t = tessera.zeros(2)
    assert t.__dlpack_device__() == (1, 0)
    assert '"dltensor"' in repr(t.__dlpack__())
    assert '"dltensor_versioned"' in repr(t.__dlpack__(max_version=(1, 0)))
    assert '"dltensor_versioned"' in repr(t.__dlpack__(max_version=(2, 3)))
    assert '"dltensor"' in repr(t.__dlpack__(max_version=(0, 8)))
    assert '"dltensor_versioned"' in repr(t.__dlpack__(max_version=(1, 1), dl_device=(1, 0), copy=False))


def test_export_argument_errors():
    t = tessera.zeros(2)
    with pytest.raises(ValueError, match="stream must be None"):
        t.__dlpack__(stream=1)
    with pytest.raises(BufferError, match="copy=False"):
        t.__dlpack__(dl_device=(2, 0), copy=False)
    with pytest.raises(BufferError, match="kDLROCM"):
        t.__dlpack__(dl_device=(10, 0))
    with pytest.raises(ValueError, match="max_version"):
        t.__dlpack__(max_version=1)
    with pytest.raises(TypeError):
        t.__dlpack__(1)  # keyword-only
    with pytest.raises(BufferError, match="copy=False"):
        tessera.from_dlpack(np.zeros(2), device="cuda", copy=False)
    if not HAS_CUDA:
        with pytest.raises(errors.DeviceError, match="CUDA is not available"):
            t.__dlpack__(dl_device=(2, 0))
        with pytest.raises(errors.DeviceError, match="CUDA is not available"):
            tessera.from_dlpack(np.zeros(2), device="cuda")


# ---- producers of every kind ----

class LegacyProducer:
    """A pre-2023 producer: __dlpack__(stream=None) only, legacy capsule."""

    def __init__(self, a):
        self.a, self.calls = a, []

    def __dlpack__(self, stream=None):
        self.calls.append(stream)
        return self.a.__dlpack__()  # NumPy gives a legacy capsule without max_version

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


def test_old_producer_signature_fallback():
    a = np.arange(3, dtype=np.int32)
    p = LegacyProducer(a)
    t = tessera.from_dlpack(p)
    assert p.calls == [None] and t.tolist() == [0, 1, 2] and t.data_ptr() == a.ctypes.data
    c = tessera.from_dlpack(LegacyProducer(a), copy=True)  # copy made by us
    assert c.data_ptr() != a.ctypes.data


def test_raw_capsules():
    a = np.arange(4, dtype=np.float64)
    t = tessera.from_dlpack(a.__dlpack__(max_version=(1, 0)))
    assert t.tolist() == [0, 1, 2, 3] and t.data_ptr() == a.ctypes.data
    assert tessera.from_dlpack(a.__dlpack__()).tolist() == [0, 1, 2, 3]


def test_tessera_to_tessera():
    t = tessera.arange(5)
    u = tessera.from_dlpack(t)
    assert u.data_ptr() == t.data_ptr() and u.tolist() == t.tolist()


# ---- malformed input ----

_capi = ctypes.pythonapi
_capi.PyCapsule_New.restype = ctypes.py_object
_capi.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_capi.PyCapsule_GetName.restype = ctypes.c_char_p
_capi.PyCapsule_GetName.argtypes = [ctypes.py_object]


def capsule_name(cap):
    return _capi.PyCapsule_GetName(cap).decode()


def test_consumed_capsule_and_wrong_names():
    cap = np.zeros(3).__dlpack__(max_version=(1, 0))
    tessera.from_dlpack(cap)
    assert capsule_name(cap) == "used_dltensor_versioned"
    with pytest.raises(errors.TesseraValueError, match="already consumed"):
        tessera.from_dlpack(cap)
    name = b"not_a_tensor"
    x = ctypes.c_int(0)
    bad = _capi.PyCapsule_New(ctypes.addressof(x), name, None)
    with pytest.raises(errors.TesseraValueError, match="'not_a_tensor'"):
        tessera.from_dlpack(bad)


def test_non_dlpack_objects():
    for obj in [object(), [1, 2], "text", 3]:
        with pytest.raises(errors.DTypeError, match="DLPack"):
            tessera.from_dlpack(obj)


def test_unsupported_dtypes():
    for a in [np.zeros(2, dtype=np.int16), np.zeros(2, dtype=np.complex64), np.zeros(2, dtype=np.uint32)]:
        with pytest.raises(errors.DTypeError, match="not supported"):
            tessera.from_dlpack(a)
    a = np.zeros(2, dtype=np.int16)
    a_cap = a.__dlpack__(max_version=(1, 0))
    with pytest.raises(errors.DTypeError, match="int.*16 bits"):
        tessera.from_dlpack(a_cap)
    assert capsule_name(a_cap) == "dltensor_versioned"  # a failed import leaves it unconsumed


class OddDevice:
    def __init__(self, dev):
        self.dev = dev

    def __dlpack__(self, **kw):
        raise AssertionError("must not be called")

    def __dlpack_device__(self):
        return self.dev


def test_unsupported_devices():
    with pytest.raises(errors.DeviceError, match="kDLCUDAHost"):
        tessera.from_dlpack(OddDevice((3, 0)))
    with pytest.raises(errors.DeviceError, match="kDLMetal"):
        tessera.from_dlpack(OddDevice((8, 0)))
    if not HAS_CUDA:
        with pytest.raises(errors.DeviceError, match="CUDA is not available"):
            tessera.from_dlpack(OddDevice((2, 0)))


# Hand-built DLPack tensors (dlpack_ctypes), to check validation of every field.


class Handmade:
    """A versioned capsule over a ctypes buffer, counting deleter calls."""

    def __init__(self, n=6, shape=(2, 3), strides=None, code=2, bits=32, lanes=1, ndim=None,
                 device=(1, 0), byte_offset=0, major=1, flags=0, null_data=False, null_shape=False):
        self.buf = (ctypes.c_float * n)(*range(n))
        self.shape = (ctypes.c_int64 * len(shape))(*shape)
        self.strides = (ctypes.c_int64 * len(strides))(*strides) if strides else None
        self.deleted = 0

        def deleter(_):
            self.deleted += 1

        self.deleter = DELETER(deleter)
        m = self.m = DLManagedTensorVersioned()
        m.major, m.minor, m.deleter, m.flags = major, 1, self.deleter, flags
        t = m.dl_tensor
        t.data = None if null_data else ctypes.addressof(self.buf)
        t.device = DLDevice(*device)
        t.ndim = len(shape) if ndim is None else ndim
        t.dtype = DLDataType(code, bits, lanes)
        t.shape = ctypes.cast(self.shape, ctypes.POINTER(ctypes.c_int64)) if not null_shape else None
        t.strides = ctypes.cast(self.strides, ctypes.POINTER(ctypes.c_int64)) if strides else None
        t.byte_offset = byte_offset
        self.name = b"dltensor_versioned"
        self.capsule = _capi.PyCapsule_New(ctypes.addressof(m), self.name, None)


def test_handmade_valid_and_deleter_called_once():
    h = Handmade()
    t = tessera.from_dlpack(h.capsule)
    assert t.tolist() == [[0, 1, 2], [3, 4, 5]] and h.deleted == 0
    assert capsule_name(h.capsule) == "used_dltensor_versioned"
    u = tessera.from_dlpack(t)  # shares the same storage
    del t
    gc.collect()
    assert h.deleted == 0 and u.tolist()[1] == [3, 4, 5]
    del u
    gc.collect()
    assert h.deleted == 1
    h2 = Handmade(strides=[1, 2], byte_offset=4, n=8)  # column-major view starting at element 1
    assert tessera.from_dlpack(h2.capsule).tolist() == [[1, 3, 5], [2, 4, 6]]
    h3 = Handmade(flags=1)
    assert tessera.from_dlpack(h3.capsule).read_only


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(lanes=4), errors.DTypeError, "4 lanes"),
    (dict(code=5, bits=64), errors.DTypeError, "complex"),
    (dict(code=2, bits=8), errors.DTypeError, "float.*8 bits"),
    (dict(code=10, bits=8), errors.DTypeError, "float8_e4m3fn"),
    (dict(ndim=-1), errors.TesseraValueError, "ndim -1"),
    (dict(ndim=100), errors.TesseraValueError, "ndim 100"),
    (dict(null_shape=True), errors.TesseraValueError, "NULL shape"),
    (dict(null_data=True), errors.TesseraValueError, "NULL data"),
    (dict(shape=(2, -3)), errors.TesseraValueError, "negative dimension"),
    (dict(shape=(1 << 40, 1 << 40)), errors.TesseraValueError, "too large"),
    (dict(byte_offset=2), errors.TesseraValueError, "not aligned"),
    (dict(major=2), errors.TesseraValueError, "version 2.1"),
    (dict(device=(4, 0)), errors.DeviceError, "kDLOpenCL"),
    (dict(device=(13, 0)), errors.DeviceError, "kDLCUDAManaged"),
])
def test_handmade_invalid(kwargs, err, match):
    h = Handmade(**kwargs)
    with pytest.raises(err, match=match):
        tessera.from_dlpack(h.capsule)
    assert capsule_name(h.capsule) == "dltensor_versioned" and h.deleted == 0  # untouched


def test_capsule_destructor_frees_unconsumed_export():
    t = tessera.zeros(1000)
    base = t._array
    cap = t.__dlpack__(max_version=(1, 0))
    del cap  # never consumed: freed by the capsule destructor (checked by the RSS test too)
    gc.collect()
    assert base.numel == 1000


# ---- lifetime ----

def test_numpy_producer_lives_as_long_as_consumer():
    a = np.arange(100_000, dtype=np.float64)
    ref = weakref.ref(a) if hasattr(a, "__weakref__") else None
    t = tessera.from_dlpack(a)
    del a
    gc.collect()
    if ref is not None:
        assert ref() is not None  # kept alive by the imported tensor
    assert t.tolist()[-1] == 99_999.0
    del t
    gc.collect()
    if ref is not None:
        assert ref() is None  # released exactly when the last consumer went away


def test_tessera_producer_dropped_while_consumers_alive():
    t = tessera.arange(1000, dtype="i32")
    n = np.from_dlpack(t)
    x = torch.from_dlpack(t)
    ref = weakref.ref(t)
    del t
    gc.collect()
    assert ref() is None
    assert n[-1] == 999 and x[-1].item() == 999
    n[0] = 42
    assert x[0].item() == 42  # still one shared buffer
    del n
    gc.collect()
    assert x.sum().item() == sum(range(1000)) + 42


def test_torch_producer_dropped_while_consumer_alive():
    x = torch.arange(1000, dtype=torch.float32)
    t = tessera.from_dlpack(x)
    del x
    gc.collect()
    assert t.tolist()[999] == 999.0
    n = np.from_dlpack(t)  # a chain: torch -> tessera -> numpy
    del t
    gc.collect()
    assert n[500] == 500.0


# ---- memory: 1000 exchanges of 64 MB must not leak ----

def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


N64 = 16 * 1024 * 1024  # 64 MB of float32
TOUCH = 16 * 1024  # one write every 64 KB: leaked buffers would keep their touched pages


def cycles(make, exchange, n=1000):
    for _ in range(20):  # warm up allocator caches
        exchange(make())
    gc.collect()
    before = rss_bytes()
    for _ in range(n):
        exchange(make())
    gc.collect()
    grown = rss_bytes() - before
    assert grown < 100 * 2 ** 20, f"RSS grew by {grown / 2**20:.0f} MB over {n} cycles"


def touch_np(a):
    a[::TOUCH] = 1


@pytest.mark.parametrize("direction", ["tessera->numpy", "numpy->tessera", "tessera->torch",
                                       "torch->tessera", "capsule-unconsumed"])
def test_no_leak_64mb_cycles(direction):
    if direction == "tessera->numpy":
        cycles(lambda: tessera.empty(N64), lambda t: touch_np(np.from_dlpack(t)))
    elif direction == "numpy->tessera":
        cycles(lambda: np.empty(N64, dtype=np.float32),
               lambda a: (touch_np(a), tessera.from_dlpack(a).data_ptr()))
    elif direction == "tessera->torch":
        cycles(lambda: tessera.empty(N64), lambda t: torch.from_dlpack(t)[::TOUCH].fill_(1))
    elif direction == "torch->tessera":
        cycles(lambda: torch.empty(N64),
               lambda x: (x[::TOUCH].fill_(1), np.from_dlpack(tessera.from_dlpack(x))))
    else:
        cycles(lambda: tessera.empty(N64),
               lambda t: (touch_np(np.from_dlpack(t)), t.__dlpack__(max_version=(1, 0))))
