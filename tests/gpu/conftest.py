"""GPU tests run only where an NVIDIA GPU, its driver and torch.cuda are present; elsewhere
they are skipped with the reason."""
import pytest


def _cuda_ready():
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return "torch sees no CUDA device"
    import tessera as ts
    if ts.device_count("cuda") == 0:
        return "tessera found no CUDA device (libcuda.so.1 missing or no GPU)"
    return None


_REASON = _cuda_ready()


def pytest_collection_modifyitems(config, items):
    if _REASON is None:
        return
    skip = pytest.mark.skip(reason=f"needs an NVIDIA GPU: {_REASON}")
    for item in items:
        if "/gpu/" in str(item.fspath):
            item.add_marker(skip)
