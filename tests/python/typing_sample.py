"""A user program type-checked by mypy against tessera's stubs (see test_typing.py)."""
import tessera as ts
from tessera import op


def layer(x: ts.Tensor, w: ts.Tensor) -> ts.Tensor:
    return op.sum(op.relu(op.add(op.matmul(x, w), 1.0)), axis=-1)


def bad(x: ts.Tensor) -> ts.Tensor:
    return op.sum(x, axis="last")  # error: the axis is an int
