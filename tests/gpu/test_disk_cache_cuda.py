"""The disk cache on an NVIDIA GPU: a second process loads the PTX instead of running LLVM and
computes the same bits."""
import json
import os
import subprocess
import sys

CHILD = """
import json, tessera as ts
x, y = ts.randn(1000, seed=1).to("cuda"), ts.randn(1000, seed=2).to("cuda")
f = ts.jit(lambda x, y: ts.tanh(ts.exp(x * y + 1.0) - ts.sqrt(ts.abs(y)) * 0.5))
out = f(x, y).to("cpu")
print(json.dumps({"bytes": bytes(ts._C.to_bytes(out._realize())).hex(), "stats": ts._C.compile_stats(),
                  "target": f._last.exe.target, "asm": f.ir("asm")[:400]}))
"""


def test_second_process_loads_ptx_from_the_disk_cache(tmp_path):
    env = dict(os.environ, TESSERA_CACHE_DIR=str(tmp_path))
    env.pop("TESSERA_CACHE", None)
    run = lambda: json.loads(subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,  # noqa: E731
                                            text=True, check=True).stdout)
    first, second = run(), run()
    assert first["target"].startswith("nvptx:") and first["stats"]["backend_compiles"] == 1
    assert second["stats"]["backend_compiles"] == 0 and second["stats"]["disk_hits"] == 1
    assert second["bytes"] == first["bytes"]
    assert ".target sm_" in second["asm"]  # the IR of a cached program is regenerated on request
    assert len(list((tmp_path / "nvptx").glob("*.tsc"))) == 1
