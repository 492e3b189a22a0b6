"""Checkpoints (safetensors): round trips are bitwise, files are readable by the safetensors
package and PyTorch, writes are atomic, and corrupt or mismatched files give clear errors."""
import os
import struct

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import tessera as ts
from tessera import io, nn, optim


def model_and_state():
    model = nn.Sequential(nn.Linear(3, 5, seed=1), nn.LayerNorm(5), nn.Linear(5, 2, seed=2))
    opt = optim.Adam(0.01)
    state = opt.init(model)
    grads = ts.tree_map(lambda p: p * 0.5 + 1.0, model)
    model, state = opt.update(grads, state, model)
    return model, state


def same(a, b):
    la, lb = io.named_leaves(a), io.named_leaves(b)
    assert [n for n, _ in la] == [n for n, _ in lb]
    for (n, x), (_, y) in zip(la, lb):
        assert x.dtype == y.dtype, n
        assert np.array_equal(x.astype("f64").numpy(), y.astype("f64").numpy()), n  # exact: bf16 and f16 widen exactly


def test_round_trip_is_bitwise(tmp_path):
    model, state = model_and_state()
    extra = {"step": ts.tensor(7), "mask": ts.tensor([True, False]), "h": ts.randn(3, 4).astype(ts.bfloat16),
             "f16": ts.randn(2).astype(ts.float16)}
    tree = {"model": model, "optim": state, "extra": extra}
    path = str(tmp_path / "ck.safetensors")
    io.save(path, tree, metadata={"step": 7})
    fresh = {"model": nn.Sequential(nn.Linear(3, 5, seed=9), nn.LayerNorm(5), nn.Linear(5, 2, seed=8)),
             "optim": optim.Adam(0.01).init(model), "extra": {k: v * 0 for k, v in extra.items()}}
    fresh["extra"]["mask"] = ts.tensor([False, False])
    restored = io.load_into(path, fresh)
    same(restored, tree)
    assert isinstance(restored["model"], nn.Sequential)


def test_files_are_readable_by_safetensors_and_torch(tmp_path):
    model, _ = model_and_state()
    path = str(tmp_path / "m.safetensors")
    io.save(path, {"model": model, "h": ts.tensor([1.5, -2.25]).astype(ts.bfloat16)})
    tensors = safetensors.torch.load_file(path)
    for name, t in model.named_parameters("model"):
        assert torch.equal(tensors[name], torch.from_dlpack(t))
    assert tensors["h"].dtype == torch.bfloat16 and tensors["h"].tolist() == [1.5, -2.25]
    plain = str(tmp_path / "plain.safetensors")  # NumPy has no bfloat16: a file without one
    io.save(plain, model)
    assert safetensors.numpy.load_file(plain)["layers.0.weight"].shape == (5, 3)
    # and the other way: a file written by safetensors loads here
    other = str(tmp_path / "t.safetensors")
    safetensors.torch.save_file({"a.w": torch.arange(6.0).reshape(2, 3), "b": torch.tensor([1, 2])}, other)
    got = io.load(other)
    assert got["a.w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and got["b"].dtype == ts.int64


def test_a_failed_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / "ck.safetensors")
    io.save(path, {"x": ts.tensor([1.0, 2.0])})
    before = open(path, "rb").read()

    def crash(*args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        io.save(path, {"x": ts.tensor([3.0, 4.0, 5.0])})
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["ck.safetensors"]  # no temporary file left behind


def test_corrupt_files_give_clear_errors(tmp_path):
    path = str(tmp_path / "ck.safetensors")
    io.save(path, {"x": ts.tensor([1.0, 2.0, 3.0])})
    data = open(path, "rb").read()
    bad = str(tmp_path / "bad.safetensors")

    def check(raw, match):
        with open(bad, "wb") as f:
            f.write(raw)
        with pytest.raises(ts.TesseraValueError, match=match):
            io.load(bad)
    check(data[:5], "shorter than the 8-byte header length")
    check(data[:-4], r"entry 'x' spans bytes \[0, 12\) of 8")
    check(struct.pack("<Q", 10**9) + data[8:], "the header claims 1000000000 bytes")
    n = struct.unpack("<Q", data[:8])[0]
    check(data[:8] + b"#" + data[9:8 + n] + data[8 + n:], "the header is not JSON")
    check(data[:8] + data[8:8 + n].replace(b"F32", b"Q99") + data[8 + n:], "has dtype 'Q99'")


def test_load_into_names_mismatches(tmp_path):
    path = str(tmp_path / "ck.safetensors")
    io.save(path, {"a": ts.zeros(2), "b": ts.zeros(3)})
    with pytest.raises(ts.TesseraValueError, match=r"missing \['c'\]; unexpected \['b'\]"):
        io.load_into(path, {"a": ts.zeros(2), "c": ts.zeros(1)})
    with pytest.raises(ts.ShapeError, match=r"b has shape \(3,\) in .*, \(4,\) here"):
        io.load_into(path, {"a": ts.zeros(2), "b": ts.zeros(4)})
    with pytest.raises(ts.DTypeError, match="a has dtype float32 in .*, float64 here"):
        io.load_into(path, {"a": ts.zeros(2, dtype=ts.float64), "b": ts.zeros(3)})
    got = io.load_into(path, {"a": ts.ones(2)}, strict=False)
    assert got["a"].tolist() == [0.0, 0.0]


def test_shared_tensors_load_from_each_name(tmp_path):
    lin = nn.Linear(2, 2, seed=1)
    tied = nn.Sequential(lin, lin)
    path = str(tmp_path / "tied.safetensors")
    io.save(path, tied)
    back = io.load_into(path, nn.Sequential(lin, lin))
    assert np.array_equal(back.layers[0].weight.numpy(), lin.weight.numpy())
    m = {"model": ts.full((2,), 5.0), "ema": ts.full((2,), 7.0)}
    io.save(path, m)
    shared = ts.zeros(2)
    got = io.load_into(path, {"model": shared, "ema": shared})
    assert got["model"].tolist() == [5.0, 5.0] and got["ema"].tolist() == [7.0, 7.0]


def test_malformed_headers(tmp_path):
    import json
    bad = str(tmp_path / "bad.safetensors")

    def write(header, data=b""):
        text = json.dumps(header).encode()
        with open(bad, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text + data)

    def check(match):
        with pytest.raises(ts.TesseraValueError, match=match):
            io.load(bad)
    write({"x": {"dtype": "F32", "shape": [-2, -3], "data_offsets": [0, 24]}}, bytes(24))
    check("shape \\[-2, -3\\]: a list of integers >= 0")
    write({"x": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}}, bytes(8))
    check("a list of integers >= 0")
    write({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
           "y": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, bytes(8))
    check("starts at byte 0, not 8")
    write({"x": {"dtype": "F32", "shape": [2**62, 2**62, 4], "data_offsets": [0, 0]}})
    check("needs")

