"""Shared by the distributed benchmarks: a benchmark runs itself as a job of n ranks
(``python -m tessera.launch``) and rank 0 reports one JSON line back."""
import json
import os
import subprocess
import sys


def run(script, n, *args, env=None):
    """The JSON object rank 0 of ``script args`` on ``n`` ranks printed last."""
    cmd = [sys.executable, "-m", "tessera.launch", "-n", str(n), "--timeout", "600", script, *args]
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    if r.returncode:
        raise SystemExit(f"{' '.join(args)} on {n} ranks failed:\n{r.stdout}\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def report(obj):
    """Prints ``obj`` as JSON on rank 0 (MPICH's PMI_RANK) only."""
    if int(os.environ.get("PMI_RANK", "0")) == 0:
        print(json.dumps(obj))
