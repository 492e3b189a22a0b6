"""Checks shared by the GPU tests."""
import torch


def rel_err(got, want, floor=1.0):
    """Largest error relative to the reference's scale (max |want|, at least `floor`); fails on
    NaN (an output element the kernel never wrote: the tests poison outputs first) or inf."""
    got, want = got.double(), want.double()
    assert torch.isfinite(got).all(), "unwritten (NaN) or overflowed outputs"
    return ((got - want).abs().max() / want.abs().max().clamp(min=floor)).item()
