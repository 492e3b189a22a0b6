"""mypy checks a user program against tessera.ops's stubs (ops.pyi): good code passes, a wrong
attribute type is caught."""
import os
import pathlib
import subprocess
import sys

import pytest

import tessera

SAMPLE = pathlib.Path(__file__).with_name("typing_sample.py")


def test_mypy_checks_user_code_against_the_stubs():
    pytest.importorskip("mypy", reason="mypy is installed by scripts/setup.sh --test")
    # Check against the tessera being tested, wherever it is installed or staged.
    # An installed tessera is found through its py.typed marker; a staged one through MYPYPATH.
    root = pathlib.Path(tessera.__file__).parents[1]
    env = dict(os.environ)
    if root.name != "site-packages":
        env["MYPYPATH"] = str(root)
    r = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--ignore-missing-imports",
                        "--follow-imports=silent", str(SAMPLE)], capture_output=True, text=True, env=env)
    lines = [line for line in r.stdout.splitlines() if "error:" in line]
    assert len(lines) == 1, r.stdout + r.stderr
    assert "typing_sample.py:11" in lines[0] and '"str"' in lines[0] and "axis" in lines[0]
