"""``tessera cache info | clear`` and ``tessera.cache_info()`` / ``tessera.clear_cache()``."""
import os
import subprocess
import sys

import tessera as ts
from tessera.__main__ import main


def fill(n, salt):
    """Compiles ``n`` programs new to this process (so they reach the disk cache); ``salt``
    tells one test's programs from another's."""
    for i in range(n):
        ts.jit(lambda x: ts.sqrt(x) * (salt + i))(ts.ones(3))  # noqa: B023  (traced now: i is a constant of it)


def test_info_counts_entries_and_bytes_per_kind(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TESSERA_CACHE", raising=False)
    assert ts.cache_info()["entries"] == 0
    fill(2, salt=7.125)
    ts._C.autotune_store("some kernel", "knobs")
    info = ts.cache_info()
    assert info["directory"] == str(tmp_path) and info["enabled"]
    assert info["kinds"]["cpu"]["entries"] == 2 and info["kinds"]["autotune"]["entries"] == 1
    on_disk = sum(f.stat().st_size for f in tmp_path.rglob("*.tsc"))
    assert info["bytes"] == on_disk > 0
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert f"directory: {tmp_path}" in out and "state: enabled" in out
    assert any(line.split()[:2] == ["cpu", "2"] for line in out.splitlines())
    assert any(line.split()[:2] == ["total", "3"] for line in out.splitlines())


def test_clear_removes_only_cache_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path))
    fill(1, salt=9.25)
    (tmp_path / "cpu" / "notes.txt").write_text("mine")  # not the cache's: must survive
    assert main(["cache", "clear"]) == 0
    assert capsys.readouterr().out.strip() == f"removed 1 file from {tmp_path}"
    assert (tmp_path / "cpu" / "notes.txt").exists()
    assert ts.cache_info()["entries"] == 0 and ts.clear_cache() == 0


def test_python_dash_m_tessera(tmp_path):
    env = dict(os.environ, TESSERA_CACHE_DIR=str(tmp_path / "c"), TESSERA_CACHE="0")
    p = subprocess.run([sys.executable, "-m", "tessera", "cache", "info"], env=env, capture_output=True,
                       text=True, check=True)
    assert f"directory: {tmp_path / 'c'}" in p.stdout and "disabled" in p.stdout
    p = subprocess.run([sys.executable, "-m", "tessera", "cache", "bogus"], env=env, capture_output=True, text=True)
    assert p.returncode == 2 and "invalid choice" in p.stderr


def test_default_directory_follows_xdg(monkeypatch):
    monkeypatch.delenv("TESSERA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/some/xdg")
    assert ts.cache_info()["directory"] == "/some/xdg/tessera"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", "/home/someone")
    assert ts.cache_info()["directory"] == "/home/someone/.cache/tessera"


def test_prune_keeps_this_builds_entries_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path))
    fill(2, salt=11.5)
    ts._C.autotune_store("tuned kernel", "knobs")
    (current,) = (tmp_path / "autotune").glob("*.tsc")
    old = tmp_path / "cpu" / "0123456789abcdef.tsc"  # an entry of another build: same format, other id
    old.write_bytes(current.read_bytes().replace(ts._C.cache_build_id().encode(), b"tessera 0.0.1 build dead"))
    (tmp_path / "cpu" / "fedcba9876543210.tsc").write_bytes(b"junk")
    tmp = tmp_path / "cpu" / "0123456789abcdef.tsc.tmp-1-0"  # left by a process that died an hour ago
    tmp.write_bytes(b"partial")
    os.utime(tmp, (0, 0))
    assert main(["cache", "prune"]) == 0
    assert capsys.readouterr().out.strip() == f"removed 3 files from {tmp_path}"
    info = ts.cache_info()
    assert info["kinds"]["cpu"]["entries"] == 2 and info["kinds"]["autotune"]["entries"] == 1
    assert ts._C.autotune_lookup("tuned kernel") == "knobs"
