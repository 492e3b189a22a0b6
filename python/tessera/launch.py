"""Starts a distributed Tessera job: ``python -m tessera.launch -n N script.py [args]`` (or
``tessera launch -n N ...``, or ``-m module``) runs N processes through the MPI launcher
(``mpiexec`` of the ``mpich`` wheel; ``TESSERA_MPIEXEC`` names another), one rank each.

- When N exceeds the CPU cores, MPICH is told to yield while it waits
  (``MPIR_CVAR_ENABLE_HEAVY_YIELD=1``): it busy-polls otherwise, and oversubscribed ranks crawl.
- A rank that raises prints its traceback and ends the job (``tessera.dist`` aborts MPI); a rank
  that dies ends it too (the launcher kills the others). The exit code is non-zero either way.
- ``--timeout S`` ends a job that runs longer than S seconds (exit code 124), so a hang fails fast.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys


def mpich_file(name):
    """The path of file ``name`` (``"libmpi_abi.so.1"``, ``"mpiexec"``) of the ``mpich`` wheel, or None."""
    try:
        from importlib import metadata
        dist = metadata.distribution("mpich")
    except Exception:  # not installed
        return None
    for f in dist.files or ():
        if f.name == name:
            path = os.path.normpath(str(dist.locate_file(f)))
            return path if os.path.exists(path) else None
    return None


def mpiexec():
    """The MPI launcher to use, or an error saying how to get one."""
    path = os.environ.get("TESSERA_MPIEXEC") or mpich_file("mpiexec") or shutil.which("mpiexec")
    if not path:
        raise RuntimeError("tessera.launch: no mpiexec found; `pip install mpich` (or set TESSERA_MPIEXEC)")
    return path


def job_environment(n):
    env = dict(os.environ)
    lib = env.get("TESSERA_MPI_LIB") or mpich_file("libmpi_abi.so.1")
    if lib:
        env["TESSERA_MPI_LIB"] = lib
    if n > (os.cpu_count() or 1):
        env.setdefault("MPIR_CVAR_ENABLE_HEAVY_YIELD", "1")
    return env


def command(n, target, args, module=False):
    """The mpiexec command line that runs ``target`` (a script, or a module with ``module``) on n ranks."""
    run = [sys.executable, "-m", target] if module else [sys.executable, target]
    return [mpiexec(), "-n", str(n)] + run + list(args)


def run(n, target, args=(), module=False, timeout=None):
    """Runs the job and returns its exit code (124 when it ran past ``timeout`` seconds)."""
    if n < 1:
        raise ValueError(f"tessera.launch: -n must be >= 1, got {n}")
    proc = subprocess.Popen(command(n, target, args, module), env=job_environment(n), start_new_session=True)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # mpiexec and every rank: they share its session
        proc.wait()
        sys.stderr.write(f"tessera.launch: the job ran past its {timeout} s timeout and was killed\n")
        return 124
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        return 130


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tessera.launch",
                                     description="Run a distributed Tessera job of N processes.")
    parser.add_argument("-n", "--nproc", type=int, required=True, help="number of processes (ranks)")
    parser.add_argument("--timeout", type=float, default=None, help="kill the job after this many seconds")
    parser.add_argument("-m", dest="module", action="store_true", help="run the target as a module")
    parser.add_argument("target", help="the script (or module, with -m) every rank runs")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    a = parser.parse_args(argv)
    try:
        return run(a.nproc, a.target, a.args, module=a.module, timeout=a.timeout)
    except (RuntimeError, ValueError) as e:
        sys.stderr.write(f"{e}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
