"""``TESSERA_LOG=<category>[,...]``: diagnostics on stderr, off by default. The categories are
"recompiles" (a jit function traced again, and why), "cache" (disk cache hits, misses and
rejected files, logged by the native core) and "all". The variable is read at each message, so
it can be changed while a program runs."""
from __future__ import annotations

import os
import sys


def enabled(category: str) -> bool:
    value = os.environ.get("TESSERA_LOG")
    if not value:
        return False
    names = {c.strip() for c in value.split(",")}
    return category in names or "all" in names


def write(category: str, message: str) -> None:
    """Writes ``tessera[<category>]: <message>`` if the category is enabled (as the core does)."""
    if enabled(category):
        print(f"tessera[{category}]: {message}", file=sys.stderr, flush=True)
