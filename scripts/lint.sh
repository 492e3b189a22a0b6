#!/usr/bin/env bash
# Style checks (part of scripts/test.sh): ruff on the Python code (pyproject.toml's rules) and
# clang-format on the C++ (.clang-format), with the versions scripts/setup.sh --test pins.
# `bash scripts/lint.sh --fix` applies both instead of checking.
set -euo pipefail
cd "$(dirname "$0")/.."
cxx=$(git ls-files 'cpp/*.cpp' 'cpp/*.hpp' 'include/*.h' 'include/*.hpp' 'tests/cpp/*.cpp' 'tests/cpp/*.hpp')
if [ "${1:-}" = "--fix" ]; then
  .venv/bin/ruff check --fix python tests bench examples scripts
  .venv/bin/clang-format -i $cxx
  exit 0
fi
.venv/bin/ruff check python tests bench examples scripts
.venv/bin/clang-format --dry-run -Werror $cxx
echo "lint: ruff and clang-format are clean"
