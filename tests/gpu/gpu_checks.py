"""Checks shared by the GPU tests."""
import torch


def rel_err(got, want, floor=1.0):
    """Largest error relative to the reference's scale (max |want|, at least `floor`); fails on
    NaN (an output element the kernel never wrote: the tests poison outputs first) or inf."""
    got, want = got.double(), want.double()
    assert torch.isfinite(got).all(), "unwritten (NaN) or overflowed outputs"
    return ((got - want).abs().max() / want.abs().max().clamp(min=floor)).item()


def run_wgmma_pipeline(text, tma, inputs):
    """Compiles the one-matmul program `text` for sm_90a with the wgmma kernel's 128 x 128 block
    tile and operand pipeline `tma` (0: cp.async by every thread, 1: a TMA producer warpgroup),
    set in its Schedule IR, and runs it on the torch CUDA tensors `inputs`. Returns (output 0 as
    a torch tensor, the executable)."""
    import re

    import tessera as ts
    from tessera import _C
    from tessera.tensor import Tensor
    sched = ts.compile_for_target(text, "nvptx:sm_90a")["schedule"]
    knobs = f'lanes = {256 + 128 * tma}, mma = "wgmma", persistent = 0, tile = [128, 128, 64], tma = {tma}'
    sched = re.sub(r'lanes = \d+, mma = "wgmma", persistent = \d+, tile = \[\d+, \d+, 64\]', knobs, sched)
    assert knobs in sched
    exe = _C.compile(sched, "cuda:0", "nvptx:sm_90a")
    out = exe.run([_C.from_dlpack(t, None, None) for t in inputs])[0]
    return torch.from_dlpack(Tensor._from_array(out)), exe
