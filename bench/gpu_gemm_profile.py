"""Runs one bf16 GEMM variant a few times, for a profiler to watch (Nsight Compute):

    ncu --section SpeedOfLight --section MemoryWorkloadAnalysis --kernel-name main_k0_matmul \\
        --launch-skip 1 --launch-count 1 python3 bench/gpu_gemm_profile.py 8192 wgmma:128x256

Variants are those of gpu_gemm_variants.py (mma_sync, wgmma:BMxBN, wgmma-persistent:BMxBN,
wgmma-cpasync:BMxBN)."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from gpu_gemm_variants import compile_variant  # noqa: E402

from tessera import _C  # noqa: E402


def main():
    n, variant = int(sys.argv[1]), sys.argv[2]
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    exe = compile_variant(n, variant)
    xa, xb = _C.from_dlpack(a, None, None), _C.from_dlpack(b, None, None)
    for _ in range(3):
        exe.run([xa, xb])
    torch.cuda.synchronize()


if __name__ == "__main__":
    main()
