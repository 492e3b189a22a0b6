"""The README's quickstart code runs as written and checks itself."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_readme_quickstart_runs(capsys):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Quickstart\n\n```python\n(.*?)```", text, re.S).group(1)
    exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "sched.kernel" in out and "tessera.Tensor(" in out


def test_readme_training_example_runs():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Training a model\n\n```python\n(.*?)```", text, re.S).group(1)
    exec(compile(block, "README.md", "exec"), {})

