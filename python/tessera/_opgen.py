"""Generates tessera.ops from the native op registry, and the files derived from it.

The registry (C++) is the single source of truth for every op: its operands, attributes,
defaults and summary. This module turns that metadata into
  - the Python functions of ``tessera.ops`` (``function_source``, exec'd by ops.py at import),
  - the type stub ``python/tessera/ops.pyi`` (``stub_source``),
  - the operator reference ``docs/ops.md`` (``docs_source``).
Tests regenerate the two files and fail when the checked-in copies are stale. Regenerate them
with ``python -m tessera._opgen --write <repo root>``.
"""
from __future__ import annotations

import keyword
import sys

from . import _C

# Ops the user never calls directly.
_INTERNAL = {"constant", "iota", "potrf", "getrf", "geqrf", "orgqr", "syevj", "gesvj"}
_USER_CLASSES = {"elementwise_unary", "elementwise_binary", "reduction", "contraction", "data_movement", "other"}
_PY_TYPES = {"int": "int", "float": "float", "bool": "bool", "str": "str", "ints": "Sequence[int]",
             "type": "str", "axes": "int | Sequence[int]", "sizes": "int | Sequence[int]",
             "padding": "int | Sequence[int] | str"}


def op_specs():
    """Registry entries of the user-facing Graph IR ops, sorted by name."""
    specs = [s for s in _C.list_ops() if s["class"] in _USER_CLASSES and s["name"] not in _INTERNAL
             and "." not in s["name"]]
    return sorted(specs, key=lambda s: s["name"])


def parse_default(text: str):
    """An attribute default written in IR syntax as a Python value."""
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if text.startswith('"'):
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if text.startswith("["):
        inner = text[1:-1].strip()
        return tuple(int(v) for v in inner.split(",")) if inner else ()
    try:
        return int(text)
    except ValueError:
        return float(text)


def _operand_names(spec):
    names = list(spec["operand_names"])
    if names:
        return names
    if spec["max_operands"] < 0:
        return ["xs"]
    n = spec["max_operands"]
    return ["x", "y", "z"][:n] if n <= 3 else [f"x{i}" for i in range(n)]


def _params(spec):
    """(operand parameters, attribute parameters as (name, kind, default-or-None, required))."""
    operands = _operand_names(spec)
    attrs = []
    for name, kind, required, default, _doc in spec["attrs"]:
        if kind == "type":
            continue  # type attributes are set by the tracer, never by users
        value = parse_default(default) if default else None
        if name == "mode":  # left out unless given, so that debug.checks() can tell the default (ops.apply)
            value = None
        attrs.append((name, kind, value, required and not default))
    return operands, attrs


def _safe(name):
    return name + "_" if keyword.iskeyword(name) else name


def _docstring(spec):
    lines = [spec["summary"] or spec["name"]]
    attr_docs = [(n, k, d) for n, k, _r, _dflt, d in spec["attrs"] if k != "type"]
    if attr_docs:
        lines += ["", "Attributes:"] + [f"    {n} ({k}): {d}" for n, k, d in attr_docs]
    text = "\n    ".join(lines).replace("\\", "\\\\")
    # Inside triple quotes: no run of three quotes, and no quote right before the closing ones.
    return text.replace('"""', '\\"\\"\\"') + (" " if text.endswith('"') else "")


def _signature(spec, annotated):
    operands, attrs = _params(spec)
    variadic = spec["max_operands"] < 0
    parts = []
    for i, name in enumerate(operands):
        ann = ""
        if annotated:
            ann = ": Sequence[TensorLike]" if variadic and i == 0 else ": TensorLike"
        optional = i >= spec["min_operands"] and not variadic
        parts.append(f"{_safe(name)}{ann}" + (" = None" if optional else ""))
    required = [a for a in attrs if a[3]]
    optional = [a for a in attrs if not a[3]]
    if required and not variadic and spec["min_operands"] < len(operands):
        parts.append("*")  # required attributes after optional operands: keyword-only
    for name, kind, _v, _r in required:
        parts.append(f"{_safe(name)}: {_PY_TYPES[kind]}" if annotated else _safe(name))
    for name, kind, value, _r in optional:
        ann = f": {_PY_TYPES[kind]}" + (" | None" if value is None else "") if annotated else ""
        parts.append(f"{_safe(name)}{ann} = {value!r}")
    return ", ".join(parts)


def function_source(spec) -> str:
    """Source of the Python wrapper of one op (exec'd in tessera.ops' namespace)."""
    operands, attrs = _params(spec)
    variadic = spec["max_operands"] < 0
    if variadic:
        args = f"tuple({_safe(operands[0])})"
    else:
        names = [_safe(n) for n in operands]
        args = "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"
        if spec["min_operands"] < len(operands):
            args = f"tuple(a for a in {args} if a is not None)"
    conv = {"int": "int", "float": "float", "bool": "bool", "str": "str", "ints": "_ints", "axes": "_axes",
            "sizes": "_axes", "padding": "_padding"}
    attr_items = ", ".join(f"{n!r}: {conv[k]}({_safe(n)})" for n, k, _v, _r in attrs if _v is not None or _r)
    optional_none = [n for n, _k, v, r in attrs if v is None and not r]
    lines = [f"def {spec['name']}({_signature(spec, False)}):", f'    """{_docstring(spec)}"""',
             f"    attrs = {{{attr_items}}}"]
    for n in optional_none:
        kind = next(k for a, k, _v, _r in attrs if a == n)
        lines.append(f"    if {_safe(n)} is not None:\n        attrs[{n!r}] = {conv[kind]}({_safe(n)})")
    lines.append(f"    return apply({spec['name']!r}, {args}, attrs)")
    return "\n".join(lines) + "\n"


def stub_source() -> str:
    """Text of python/tessera/ops.pyi."""
    out = ['"""Type stubs of tessera.ops, generated from the op registry by tessera._opgen. Do not edit."""',
           "from typing import Sequence, Union", "", "from .tensor import Tensor", "",
           "TensorLike = Union[Tensor, float, int]", "",
           "def apply(name: str, args: Sequence[TensorLike], attrs: dict | None = ...) -> Tensor: ...", ""]
    for spec in op_specs():
        out.append(f"def {spec['name']}({_signature(spec, True)}) -> Tensor: ...")
    return "\n".join(out) + "\n"


_CPP_TYPES = {"int": "int64_t", "float": "double", "bool": "bool", "str": "std::string",
              "ints": "std::vector<int64_t>", "axes": "Axes", "sizes": "Sizes", "padding": "Padding"}


def _cpp_literal(kind, value):
    if kind == "bool":
        return "true" if value else "false"
    if kind == "str":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if kind == "ints":
        return "std::vector<int64_t>{" + ", ".join(str(v) for v in value) + "}"
    if kind == "float":
        return repr(float(value))
    return str(value)


_CPP_PRELUDE = ["// Generated from the op registry by `python -m tessera._opgen --write .`; do not edit.",
                "#pragma once"]


def _cpp_function(spec):
    """Lines of the C++ function that appends op `spec` to its operands' function."""
    operands, attrs = _params(spec)
    variadic = spec["max_operands"] < 0
    params = []
    if variadic:
        params.append(f"const std::vector<Value>& {operands[0]}")
        args = operands[0]
    required = [a for a in attrs if a[3]]
    optional = [a for a in attrs if not a[3]]
    if not variadic:
        params += [f"const Value& {n}" for n in operands[:spec["min_operands"]]]
    # Required attributes before optional operands (C++ defaults must come last).
    for name, kind, _v, _r in required:
        params.append(f"const {_CPP_TYPES[kind]}& {name}")
    if not variadic:
        params += [f"const std::optional<Value>& {n} = std::nullopt" for n in operands[spec["min_operands"]:]]
    for name, kind, value, _r in optional:
        if value is None and kind in ("axes", "sizes", "padding"):  # an empty one is "not given"
            params.append(f"const {_CPP_TYPES[kind]}& {name} = {{}}")
        elif value is None:
            params.append(f"const std::optional<{_CPP_TYPES[kind]}>& {name} = std::nullopt")
        else:
            params.append(f"const {_CPP_TYPES[kind]}& {name} = {_cpp_literal(kind, value)}")
    body = ["  detail::Attrs attrs;"]
    for name, _kind, _value, _req in attrs:
        body.append(f'  attrs.add("{name}", {name});')
    if not variadic:
        names = operands[:spec["min_operands"]]
        body.append("  std::vector<Value> operands{" + ", ".join(names) + "};")
        optional_operands = operands[spec["min_operands"]:]
        for i, n in enumerate(optional_operands):
            if i:  # a later optional operand cannot stand in for an earlier one
                body.append(f"  if ({n} && !{optional_operands[i - 1]}) throw Error(TSR_ERROR_INVALID_ARGUMENT, "
                            f"\"{spec['name']}: {n} is given without {optional_operands[i - 1]}\");")
            body.append(f"  if ({n}) operands.push_back(*{n});")
        args = "operands"
    body.append(f'  return detail::apply("{spec["name"]}", {args}, attrs.text())[0];')
    summary = (spec["summary"] or spec["name"]).replace("*/", "* /")
    return [f"// {summary}", f"inline Value {spec['name']}({', '.join(params)}) {{"] + body + ["}", ""]


def _cpp_classes():
    return sorted({spec["class"] for spec in op_specs()})


def cpp_class_header_source(cls) -> str:
    """Text of include/tessera/ops/<cls>.hpp: the C++ functions of one op class."""
    out = [f"// The C++ op API, {cls} ops: one function per registry op, appending it to its operands' "
           "function (tessera/function.hpp)."]
    out += _CPP_PRELUDE + ["#include <optional>", "#include <string>", "#include <vector>", "",
                           '#include "tessera/function.hpp"', "", "namespace tessera::ops {", ""]
    for spec in op_specs():
        if spec["class"] == cls:
            out += _cpp_function(spec)
    return "\n".join(out + ["}  // namespace tessera::ops", ""])


def cpp_header_source() -> str:
    """Text of include/tessera/ops.hpp: the C++ op API, one header per op class."""
    out = ["// The C++ op API: one function per registry op, appending the op to its operands' function."]
    out += _CPP_PRELUDE + [""] + [f'#include "tessera/ops/{cls}.hpp"' for cls in _cpp_classes()]
    return "\n".join(out) + "\n"


def generated_files():
    """Every file derived from the registry, as {path relative to the repo root: text}."""
    files = {"python/tessera/ops.pyi": stub_source(), "docs/ops.md": docs_source(),
             "include/tessera/ops.hpp": cpp_header_source()}
    for cls in _cpp_classes():
        files[f"include/tessera/ops/{cls}.hpp"] = cpp_class_header_source(cls)
    return files


def summary_table():
    """Lines of the table of every op: primitive or composite, derivative and batching rules,
    sharding rule, targets."""
    out = ["## Every op at a glance", "",
           "Composites are built from other ops (their derivatives, batching and sharding come from those). "
           "VJP/JVP: reverse- and forward-mode rules (those of integer-valued ops such as argmax give no gradient). "
           "Sharding: a rule for `propagate-sharding` (otherwise operands are gathered whole). "
           "Targets: every op compiles for the CPU; \"CPU\" marks ops that do not run on GPU targets yet.",
           "", "| op | kind | VJP/JVP | vmap | sharding | targets |", "|---|---|---|---|---|---|"]
    for spec in op_specs():
        parts = spec["composite"]  # a decomposition (some ops decompose only in some cases)
        own = spec["derivative_rules"] or spec["batchable"]
        kind = "composite" if parts and not own else "primitive"
        deriv = "yes" if spec["derivative_rules"] else "via parts" if parts else "no"
        vmap = "yes" if spec["batchable"] else "via parts" if parts else "no"
        shard = "yes" if spec["sharding_rule"] else "via parts" if kind == "composite" else "replicated"
        where = f"CPU ({spec['cpu_only']})" if spec["cpu_only"] else "CPU, GPU"
        out.append(f"| `{spec['name']}` | {kind} | {deriv} | {vmap} | {shard} | {where} |")
    return out + [""]


def docs_source() -> str:
    """Text of docs/ops.md, the operator reference."""
    out = ["# Operator reference", "",
           "Generated from the op registry by `python -m tessera._opgen --write .`; do not edit.", "",
           "Every op is available as `tessera.ops.<name>` (alias `tessera.ops`). Tensor operands broadcast",
           "like NumPy; Python numbers are accepted where a tensor is.", ""]
    out += summary_table()
    by_class = {}
    for spec in op_specs():
        by_class.setdefault(spec["class"], []).append(spec)
    titles = {"elementwise_unary": "Elementwise, one operand", "elementwise_binary": "Elementwise, two operands",
              "reduction": "Reductions", "contraction": "Contractions", "data_movement": "Data movement",
              "other": "Other"}
    for cls in sorted(by_class, key=lambda c: list(titles).index(c) if c in titles else 99):
        out += [f"## {titles.get(cls, cls)}", ""]
        for spec in by_class[cls]:
            out.append(f"### `{spec['name']}({_signature(spec, False)})`")
            out += ["", spec["summary"] or "", ""]
            attrs = [a for a in spec["attrs"] if a[1] != "type"]
            if attrs:
                out += ["| attribute | kind | default | meaning |", "|---|---|---|---|"]
                for name, kind, required, default, doc in attrs:
                    shown = "required" if required and not default else default or "none"
                    out.append(f"| `{name}` | {kind} | {shown} | {doc} |")
                out.append("")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) == 3 and argv[1] == "--write":
        import pathlib
        root = pathlib.Path(argv[2])
        for path, text in generated_files().items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        return 0
    print("usage: python -m tessera._opgen --write <repo root>", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
