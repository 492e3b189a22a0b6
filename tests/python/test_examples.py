"""Every example runs and does what it says."""
import pathlib
import runpy
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def test_quickstart_runs(capsys):
    runpy.run_path(str(EXAMPLES / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "max relative difference" in out and "sched.kernel" in out


def test_train_mlp_converges(capsys):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import train_mlp
        final_loss, accuracy = train_mlp.main(steps=60)
    finally:
        sys.path.remove(str(EXAMPLES))
    assert final_loss < 0.3 and accuracy > 0.9
