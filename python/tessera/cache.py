"""The disk cache of compiled code and autotuning results (docs/caching.md).

A new process that compiles a program some earlier process compiled loads the machine code from
here instead of running LLVM. The directory is ``TESSERA_CACHE_DIR``, else
``$XDG_CACHE_HOME/tessera``, else ``~/.cache/tessera``; ``TESSERA_CACHE=0`` turns the cache off
and ``TESSERA_LOG=cache`` logs hits, misses and rejected files. From a shell:
``tessera cache info``, ``tessera cache prune`` and ``tessera cache clear`` (or
``python -m tessera cache ...``).
"""
from __future__ import annotations

from . import _C


def cache_info() -> dict:
    """The cache's ``directory``, whether it is ``enabled``, and per kind ("cpu", "nvptx",
    "autotune") the number of ``entries`` and their ``bytes``, plus the totals."""
    raw = _C.cache_info()
    kinds = {k: {"entries": n, "bytes": b} for k, (n, b) in sorted(raw["kinds"].items())}
    return {
        "directory": raw["directory"],
        "enabled": raw["enabled"],
        "kinds": kinds,
        "entries": sum(k["entries"] for k in kinds.values()),
        "bytes": sum(k["bytes"] for k in kinds.values()),
    }


def clear_cache() -> int:
    """Deletes the cache's files (only files it wrote) and returns how many. Programs already
    compiled in this process keep working; later processes compile again."""
    return _C.clear_cache()


def prune_cache() -> int:
    """Deletes entries that no lookup can hit any more (written by another Tessera build, or
    unreadable) and temporary files left by processes that died; returns how many."""
    return _C.prune_cache()


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def format_info(info: dict) -> str:
    """``tessera cache info``'s text."""
    state = "enabled" if info["enabled"] else "disabled (TESSERA_CACHE=0 or no directory)"
    lines = [f"directory: {info['directory'] or '(none: set TESSERA_CACHE_DIR or HOME)'}", f"state: {state}"]
    rows = [(k, v["entries"], v["bytes"]) for k, v in info["kinds"].items()]
    rows.append(("total", info["entries"], info["bytes"]))
    lines.append(f"{'kind':<10} {'entries':>8} {'size':>12}")
    lines += [f"{k:<10} {n:>8} {_size(b):>12}" for k, n, b in rows]
    return "\n".join(lines)
