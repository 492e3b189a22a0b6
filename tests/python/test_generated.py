"""Files derived from the op registry must match it: the type stub ops.pyi, the operator
reference docs/ops.md and the C++ op API (include/tessera/ops.hpp and one header per op
class). Regenerate with `python -m tessera._opgen --write .` from the repo root."""
import inspect
import pathlib

import pytest

import tessera as ts
from tessera import _opgen

ROOT = pathlib.Path(__file__).resolve().parents[2]


GENERATED = _opgen.generated_files()


@pytest.mark.parametrize("path", sorted(GENERATED))
def test_checked_in_file_is_current(path):
    checked_in = (ROOT / path).read_text()
    assert checked_in == GENERATED[path], f"{path} is stale: run `python -m tessera._opgen --write .`"


def test_no_stale_generated_headers():
    headers = {str(p.relative_to(ROOT)) for p in (ROOT / "include/tessera/ops").glob("*.hpp")}
    assert headers <= set(GENERATED), f"headers of no op class: {sorted(headers - set(GENERATED))}"


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
