"""The GPT block the model benchmarks train (bench/gpu_models.py, bench/cpu_models.py), written
once with torch and once with Tessera: layernorm -> qkv matmul -> causal attention -> output
projection -> residual -> layernorm -> MLP with gelu -> residual."""
import json
import os
import subprocess
import sys
import tempfile

import torch

import tessera as ts

F = torch.nn.functional
NAMES = ("ln1_w", "ln1_b", "qkv", "proj", "ln2_w", "ln2_b", "fc", "fc_b", "out", "out_b")


def torch_block(p, x, heads):
    b, s, d = x.shape
    h = F.layer_norm(x, (d,), p["ln1_w"], p["ln1_b"])
    q, k, v = (h @ p["qkv"]).reshape(b, s, 3, heads, d // heads).permute(2, 0, 3, 1, 4).unbind(0)
    a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    x = x + a.transpose(1, 2).reshape(b, s, d) @ p["proj"]
    h = F.layer_norm(x, (d,), p["ln2_w"], p["ln2_b"])
    return x + F.gelu(h @ p["fc"] + p["fc_b"]) @ p["out"] + p["out_b"]


def tessera_block(p, x, heads):
    b, s, d = x.shape
    h = ts.layernorm(x, p["ln1_w"], p["ln1_b"])
    qkv = (h @ p["qkv"]).reshape(b, s, 3, heads, d // heads)
    q, k, v = (qkv[:, :, j].transpose(0, 2, 1, 3) for j in range(3))
    a = ts.scaled_dot_product_attention(q, k, v, is_causal=True)
    x = x + a.transpose(0, 2, 1, 3).reshape(b, s, d) @ p["proj"]
    h = ts.layernorm(x, p["ln2_w"], p["ln2_b"])
    return x + ts.gelu(h @ p["fc"] + p["fc_b"]) @ p["out"] + p["out_b"]


def cold_and_warm(script, shape):
    """The first call of `script --first-call` in a new process with an empty compile cache,
    then in a second process with that cache: (cold, warm) seconds."""
    times = []
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, TESSERA_CACHE_DIR=cache)
        for _ in range(2):
            out = subprocess.run([sys.executable, script, "--first-call", "--shape", *map(str, shape)], env=env,
                                 capture_output=True, text=True, timeout=600)
            if out.returncode != 0:
                raise RuntimeError(f"first-call child failed:\n{out.stderr[-3000:]}")
            times.append(json.loads(out.stdout.strip().splitlines()[-1])["first_call_s"])
    return times
