"""Files derived from the op registry must match it: the type stub ops.pyi and the operator
reference docs/ops.md. Regenerate with `python -m tessera._opgen --write .` from the repo root."""
import inspect
import pathlib

import pytest

import tessera as ts
from tessera import _opgen

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path,generate", [("python/tessera/ops.pyi", _opgen.stub_source),
                                           ("docs/ops.md", _opgen.docs_source),
                                           ("include/tessera/ops.hpp", _opgen.cpp_header_source)])
def test_checked_in_file_is_current(path, generate):
    checked_in = (ROOT / path).read_text()
    assert checked_in == generate(), f"{path} is stale: run `python -m tessera._opgen --write .`"


def test_every_registry_op_has_a_documented_function():
    for spec in _opgen.op_specs():
        fn = getattr(ts.ops, spec["name"])
        assert fn.__doc__ and spec["summary"].split(".")[0] in fn.__doc__
        first = next(iter(inspect.signature(fn).parameters.values()))
        # einsum takes NumPy's (equation, *operands) as well as the op's (operands, equation)
        assert first.kind == first.VAR_POSITIONAL or \
            first.name in {"x", "xs", "a", "cond", "input"} | set(spec["operand_names"])


def test_generated_functions_report_the_users_line():
    with pytest.raises(ts.ShapeError) as e:
        ts.ops.add(ts.ones(2), ts.ones(3))
    assert e.value.location.endswith(f"test_generated.py:{inspect.currentframe().f_lineno - 1}")


def test_attribute_defaults_parse():
    assert _opgen.parse_default("-1") == -1
    assert _opgen.parse_default("false") is False
    assert _opgen.parse_default("1e-05") == 1e-05
    assert _opgen.parse_default('"tanh"') == "tanh"
    assert _opgen.parse_default("[1, 2]") == (1, 2)
    assert _opgen.parse_default("[]") == ()
