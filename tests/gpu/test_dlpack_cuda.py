"""DLPack with PyTorch on CUDA: zero-copy both ways, shared writes, cross-device copies.
Skips where torch.cuda or Tessera's CUDA device is missing."""
import gc

import numpy as np
import pytest

import tessera
from tessera import errors

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.skipif(not torch.cuda.is_available(), reason="torch.cuda is not available"),
    pytest.mark.skipif(tessera.device_count("cuda") == 0, reason="Tessera reports no CUDA device"),
]

DTYPES = ["float64", "float32", "float16", "bfloat16", "int64", "int32", "int8", "uint8", "bool"]


def sample(name, n=12):
    x = torch.arange(n, device="cuda").reshape(3, n // 3)
    return (x % 2 == 0) if name == "bool" else x.to(getattr(torch, name))


@pytest.mark.parametrize("name", DTYPES)
def test_torch_cuda_roundtrip_zero_copy(name):
    x = sample(name)
    t = tessera.from_dlpack(x)
    assert t.device == "cuda:0" and t.dtype is tessera.dtype(name)
    assert t.data_ptr() == x.data_ptr()
    y = torch.from_dlpack(t)
    assert y.device == x.device and y.data_ptr() == x.data_ptr()
    assert torch.equal(y, x)
    assert t.tolist() == x.cpu().tolist()


def test_cuda_writes_visible_both_ways():
    t = tessera.zeros(4, 4, device="cuda")
    x = torch.from_dlpack(t)
    x[1, 2] = 3.5
    torch.cuda.synchronize()
    assert t.tolist()[1][2] == 3.5
    y = torch.zeros(8, dtype=torch.int32, device="cuda")
    u = tessera.from_dlpack(y)
    y[7] = 9
    assert u.tolist()[7] == 9  # from_dlpack passed stream=1; tolist copies after the write
    torch.from_dlpack(u)[0] = -1
    assert y[0].item() == -1


def test_cuda_strided_views():
    x = torch.arange(24.0, device="cuda").reshape(4, 6)
    for v in [x.t(), x[::2, 1::2]]:
        t = tessera.from_dlpack(v)
        assert t.data_ptr() == v.data_ptr() and t.tolist() == v.cpu().tolist()
        back = torch.from_dlpack(t)
        assert back.stride() == v.stride() and back.data_ptr() == v.data_ptr()


def test_tensor_on_cuda_values():
    t = tessera.tensor([[1.0, 2.0], [3.0, 4.0]], device="cuda")
    assert t.device == "cuda:0" and t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert torch.equal(torch.from_dlpack(t).cpu(), torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    for name in DTYPES:
        vals = [True, False] if name == "bool" else [1, 2]
        assert tessera.tensor(vals, dtype=name, device="cuda").tolist() == vals
    assert tessera.arange(5, device="cuda").tolist() == [0, 1, 2, 3, 4]
    assert tessera.full((3,), 2.5, device="cuda").tolist() == [2.5] * 3
    a = tessera.rand(1000, seed=3, device="cuda")
    assert a.device == "cuda:0" and all(0 <= v < 1 for v in a.tolist())


def test_cross_device():
    t = tessera.arange(6, dtype="f32", device="cuda")
    n = t.numpy()  # through a CPU copy
    assert n.tolist() == [0, 1, 2, 3, 4, 5]
    assert t.cpu().device == "cpu" and t.cpu().to("cuda").tolist() == t.tolist()
    c = tessera.from_dlpack(np.arange(3.0), device="cuda")
    assert c.device == "cuda:0" and c.tolist() == [0.0, 1.0, 2.0]
    h = tessera.from_dlpack(torch.arange(3, device="cuda"), device="cpu")
    assert h.device == "cpu" and h.tolist() == [0, 1, 2]
    with pytest.raises(BufferError):
        tessera.from_dlpack(np.arange(3.0), device="cuda", copy=False)
    cap = tessera.zeros(3).__dlpack__(max_version=(1, 0), dl_device=(2, 0))
    assert torch.from_dlpack(cap).device.type == "cuda"
    with pytest.raises(BufferError):
        t.__dlpack__(max_version=(1, 0), dl_device=(1, 0), copy=False)


def test_cuda_dlpack_device_and_streams():
    t = tessera.zeros(2, device="cuda")
    assert t.__dlpack_device__() == (2, 0)
    for stream in [None, 1, 2, -1, torch.cuda.Stream().cuda_stream]:
        assert "dltensor" in repr(t.__dlpack__(stream=stream, max_version=(1, 0)))
    with pytest.raises(ValueError, match="stream 0"):
        t.__dlpack__(stream=0)


def test_bad_cuda_index():
    n = tessera.device_count("cuda")
    with pytest.raises(errors.DeviceError, match="does not exist"):
        tessera.zeros(2, device=f"cuda:{n}")


def test_cuda_exchanges_do_not_leak():
    def free_bytes():
        torch.cuda.synchronize()
        gc.collect()
        torch.cuda.empty_cache()
        return torch.cuda.mem_get_info()[0]

    n = 16 * 1024 * 1024  # 64 MB of float32

    def cycle():
        torch.from_dlpack(tessera.empty(n, device="cuda")).fill_(1)  # tessera -> torch
        x = torch.ones(n, device="cuda")
        assert tessera.from_dlpack(x).data_ptr() == x.data_ptr()  # torch -> tessera
        del x
        tessera.empty(n, device="cuda").__dlpack__(max_version=(1, 0))  # never consumed

    for _ in range(5):
        cycle()
    before = free_bytes()
    for _ in range(300):
        cycle()
    lost = before - free_bytes()
    assert lost < 256 * 2 ** 20, f"{lost / 2**20:.0f} MB of GPU memory lost over 300 cycles"
