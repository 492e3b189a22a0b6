"""A user program type-checked by mypy against tessera's stubs (see test_typing.py)."""
import tessera as ts
from tessera import ops


def layer(x: ts.Tensor, w: ts.Tensor) -> ts.Tensor:
    return ops.sum(ops.relu(ops.add(ops.matmul(x, w), 1.0)), axis=-1)


def bad(x: ts.Tensor) -> ts.Tensor:
    return ops.sum(x, axis="last")  # error: the axis is an int
