"""Console entry points (see ``[project.scripts]`` in pyproject.toml)."""
from __future__ import annotations

import sys


def opt_main() -> None:
    """``tessera-opt``: IR text in, passes, IR text out (the C++ tool, run in this process)."""
    from tessera import _C

    sys.exit(_C.opt_main(sys.argv))
