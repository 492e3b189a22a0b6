"""Multi-kernel programs replayed as CUDA graphs (runs after the first): the results match torch
and the kernel-by-kernel launches bit for bit, whether the buffers stay or move between runs,
with misaligned TMA operands (copied every run), and from several threads at once."""
import concurrent.futures

import pytest

import tessera as ts
from tessera.tensor import Tensor

torch = pytest.importorskip("torch")

from gpu_checks import rel_err  # noqa: E402


@pytest.fixture(autouse=True)
def poison_outputs(monkeypatch):
    monkeypatch.setenv("TESSERA_POISON_OUTPUTS", "1")
    monkeypatch.delenv("TESSERA_CUDA_GRAPHS", raising=False)


def block(x, w1, w2, g, b):
    """A transformer MLP block: layernorm, matmul + gelu, matmul + residual, then a row sum."""
    h = ts.ops.layernorm(x, g, b)
    y = ts.ops.gelu(h @ w1) @ w2 + x
    return y, ts.ops.sum(y, axis=-1)


def block_torch(x, w1, w2, g, b):
    x, w1, w2, g, b = (t.double() for t in (x, w1, w2, g, b))
    h = torch.nn.functional.layer_norm(x, (x.shape[-1],), g, b)
    y = torch.nn.functional.gelu(h @ w1) @ w2 + x
    return y, y.sum(-1)


def inputs(m, d, f, dtype, seed):
    gen = torch.Generator(device="cuda").manual_seed(seed)
    r = lambda *s: torch.randn(*s, device="cuda", dtype=dtype, generator=gen)  # noqa: E731
    return r(m, d), r(d, f) / d**0.5, r(f, d) / f**0.5, 1 + 0.1 * r(d), 0.1 * r(d)


def check(outs, args, dtype):
    want = block_torch(*args)
    tol = 2e-2 if dtype == torch.bfloat16 else 1e-5
    for got, w in zip(outs, want):
        assert rel_err(torch.from_dlpack(got), w) < tol


@pytest.mark.parametrize("m,d,f,dtype", [(33, 64, 128, torch.float32), (257, 128, 320, torch.bfloat16),
                                         (1, 64, 64, torch.bfloat16)])
def test_replay_matches_torch_as_buffers_stay_and_move(m, d, f, dtype):
    fn = ts.jit(block)
    a = inputs(m, d, f, dtype, 0)
    ta = [ts.from_dlpack(t) for t in a]
    check(fn(*ta), a, dtype)  # the first run launches kernel by kernel
    exe = fn._last.exe
    assert len(exe.kernel_names) >= 3, exe.kernel_names
    first = exe.graph_replays  # 0 unless an earlier test compiled the same program
    kept = []
    for i in range(3):
        outs = fn(*ta)
        check(outs, a, dtype)
        if i == 0:
            kept.append(outs)  # its buffers stay alive: the next run's outputs move
    assert exe.graph_replays == first + 3
    b = inputs(m, d, f, dtype, 1)  # new inputs: every node's arguments change
    check(fn(*[ts.from_dlpack(t) for t in b]), b, dtype)
    check(fn(*ta), a, dtype)
    assert exe.graph_replays == first + 5
    check(kept[0], a, dtype)


def test_replay_is_bitwise_the_direct_launches(monkeypatch):
    a = inputs(129, 128, 256, torch.bfloat16, 2)
    ta = [ts.from_dlpack(t) for t in a]
    fn = ts.jit(block)
    fn(*ta)
    graph = [torch.from_dlpack(o).clone() for o in fn(*ta)]
    exe = fn._last.exe
    replays = exe.graph_replays
    assert replays >= 1
    monkeypatch.setenv("TESSERA_CUDA_GRAPHS", "0")
    direct = [torch.from_dlpack(o) for o in fn(*ta)]
    assert exe.graph_replays == replays  # switched off: launched kernel by kernel
    for g, d in zip(graph, direct):
        assert torch.equal(g, d)


def test_misaligned_tma_operand_is_copied_every_replay():
    """A bf16 GEMM at an odd element offset cannot be read by TMA in place: the executor copies
    it each run, so a replay must take the new copy, not the last run's."""
    fn = ts.jit(lambda x, w: ts.ops.relu(x @ w).sum(axis=-1))
    base = torch.randn(1 + 256 * 192, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(192, 320, device="cuda", dtype=torch.bfloat16)
    tw = ts.from_dlpack(w)
    replays = []
    for scale in (1.0, -2.0, 0.5):
        base.mul_(scale)
        x = base[1:].view(256, 192)
        got = torch.from_dlpack(fn(ts.from_dlpack(x), tw))
        want = torch.relu(x.double() @ w.double()).sum(-1)
        assert rel_err(got, want) < 2e-2
        replays.append(fn._last.exe.graph_replays)
    assert len(fn._last.exe.kernel_names) >= 2
    assert replays[2] == replays[1] + 1 == replays[0] + 2


def test_concurrent_runs_from_threads():
    a = inputs(65, 64, 128, torch.float32, 3)
    ta = [ts.from_dlpack(t) for t in a]
    fn = ts.jit(block)
    fn(*ta)
    want = block_torch(*a)
    exe = fn._last.exe
    arrays = [t._array for t in ta]

    def work(_):
        results = []
        for _ in range(20):
            results.append([torch.from_dlpack(Tensor._from_array(o)) for o in exe.run(arrays)])
        torch.cuda.synchronize()
        return max(max(rel_err(r[0], want[0]), rel_err(r[1], want[1])) for r in results)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert max(pool.map(work, range(4))) < 1e-5
    assert exe.graph_replays >= 1  # the rest launched directly while another thread held the graph


def test_one_kernel_programs_launch_directly():
    fn = ts.jit(lambda x: x * 2 + 1)
    x = ts.from_dlpack(torch.randn(1000, device="cuda"))
    for _ in range(3):
        fn(x)
    assert fn._last.exe.graph_replays == 0
