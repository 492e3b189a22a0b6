"""Pipeline parallelism over a mesh axis (re-exported as ``tessera.dist.pipeline``).

Stage s of S (this process's coordinate along the axis) holds its stage's parameters. Every
stage runs in lockstep ticks; in each tick a stage may run one forward (on the microbatch its
predecessor sent) and one backward (with the cotangent its successor sent), and then the ticks'
activations move one stage on and the cotangents one stage back, each with one ``ppermute`` over
the axis (an idle stage sends zeros). Backward recomputes the stage's forward from its saved
input (GPipe's rematerialisation), so a stage keeps one input per microbatch in flight.

- ``"gpipe"``: every forward, then every backward: stage s runs forward of microbatch m at tick
  m + s and its backward at tick m + S - 1 - s of the second phase. It keeps all M inputs.
- ``"1f1b"``: one forward and one backward per tick: forward of m at tick m + s, backward at tick
  m + 2(S - 1) - s (the last stage runs a microbatch's backward in the tick of its forward). A
  stage keeps at most 2(S - 1 - s) + 1 inputs, whatever M is.
"""
from __future__ import annotations

from .errors import TesseraValueError


def _schedule(kind, s, n, m):
    """Stage s of n, m microbatches: per tick, (phase, forward microbatch, backward microbatch,
    microbatch whose activation arrives from stage s - 1, microbatch whose cotangent arrives
    from stage s + 1); microbatch numbers outside 0..m-1 mean none."""
    if kind == "gpipe":
        span = m + n - 1
        return ([("f", t - s, -1, t - s + 1, -1) for t in range(span)] +
                [("b", -1, t - (n - 1 - s), -1, t - (n - 2 - s)) for t in range(span)])
    if kind == "1f1b":
        return [("fb", t - s, t - 2 * (n - 1) + s, t - s + 1, t - 2 * (n - 1) + s + 1)
                for t in range(m + 2 * (n - 1))]
    raise TesseraValueError(f"dist.pipeline: schedule must be 'gpipe' or '1f1b', got {kind!r}")


def _split(t, parts, what):
    if t.shape[0] % parts:
        raise TesseraValueError(f"dist.pipeline: {what} has {t.shape[0]} rows, which do not split into {parts} "
                                f"microbatches")
    size = t.shape[0] // parts
    return [t[i * size:(i + 1) * size] for i in range(parts)]


def pipeline(stage_fn, loss_fn, params, inputs, targets, microbatches, schedule="1f1b", axis="pp", mesh=None):
    """Loss and this stage's gradients of ``loss_fn(stage_{S-1}(...stage_0(inputs)), targets)``
    averaged over ``microbatches`` equal slices of the batch, where stage s is
    ``stage_fn(params, x)`` with the parameters of the process at coordinate s of ``axis``.

    Every process passes the same ``inputs`` and ``targets`` (stage 0 reads the first, the last
    stage the second) and its own stage's ``params``; a stage's output must have its input's
    shape (the activations that move between stages). Returns ``(loss, grads, stats)``: the loss
    on every process, the gradients of this stage's parameters (``params``' structure), and
    ``{"max_in_flight": n}``, the most microbatch inputs the stage held at once."""
    from .jit import jit
    from .autodiff import grad, value_and_grad
    from .dist import all_reduce, current_mesh, ppermute
    from .ops import sum as tsum
    from .tensor import zeros
    from .tree import tree_map
    mesh = mesh or current_mesh()
    n, s = mesh.size(axis), mesh.axis_index(axis)
    xs, ts_ = _split(inputs, microbatches, "inputs"), _split(targets, microbatches, "targets")
    scale = 1.0 / microbatches
    forward = jit(stage_fn)
    backward = jit(lambda p, x, ct: grad(lambda p, x: tsum(stage_fn(p, x) * ct), argnums=(0, 1))(p, x))
    last = jit(lambda p, x, t: value_and_grad(lambda p, x: loss_fn(stage_fn(p, x), t) * scale,
                                                      argnums=(0, 1))(p, x))
    idle = zeros(xs[0].shape, dtype=xs[0].dtype, device=xs[0].device)
    ahead = [(i, i + 1) for i in range(n - 1)]
    behind = [(i + 1, i) for i in range(n - 1)]
    saved, cotangents, grads, loss, held = {}, {}, None, 0.0, 0

    def valid(i):
        return 0 <= i < microbatches

    for phase, f, b, f_in, b_in in _schedule(schedule, s, n, microbatches):
        if "f" in phase:
            out = idle
            if valid(f):
                if s == 0:
                    saved[f] = xs[f]
                held = max(held, len(saved))
                if s < n - 1:
                    out = forward(params, saved[f])
            arrived = ppermute(out, ahead, axis=axis, mesh=mesh)
            if s > 0 and valid(f_in):
                saved[f_in] = arrived
        if "b" in phase:
            out = idle
            if valid(b):
                if s == n - 1:
                    value, (gp, gx) = last(params, saved.pop(b), ts_[b])
                    loss += value.item()
                else:
                    gp, gx = backward(params, saved.pop(b), cotangents.pop(b))
                grads = gp if grads is None else tree_map(lambda a, c: a + c, grads, gp)
                out = gx
            arrived = ppermute(out, behind, axis=axis, mesh=mesh)
            if s < n - 1 and valid(b_in):
                cotangents[b_in] = arrived
    total = all_reduce(zeros((), dtype=xs[0].dtype) + loss, axis=axis, mesh=mesh)
    return total, grads, {"max_in_flight": held}
