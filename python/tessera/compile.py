"""Compiling Graph IR text directly, for any target, including ones this machine lacks."""
from __future__ import annotations

from . import _C


def compile_for_target(ir_text: str, target: str) -> dict:
    """Lowers a Graph IR module to ``target`` without running it.

    ``target`` is "cpu", "nvptx:sm_90", "amdgpu:gfx942" or "spirv:vulkan". Returns a dict with
    the text of each level ("graph", "schedule", "tile", "llvm", "asm") and "binary": the bytes
    the runtime or driver loads (PTX text, an HSACO code object, a SPIR-V module).
    """
    return _C.compile_for_target(ir_text, target)
