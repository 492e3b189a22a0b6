#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh --test) and runs the whole test suite: style checks
# (scripts/lint.sh), C++ tests (ctest), IR text tests (lit + FileCheck), Python tests (pytest; GPU tests skip
# with a reason on machines without an NVIDIA GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test

echo "== style (ruff, clang-format)"
bash scripts/lint.sh

echo "== C++ tests and tessera-opt"
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache} CCACHE_BASEDIR=$PWD
cmake -S . -B build/cpp -G Ninja -DTESSERA_BUILD_PYTHON=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/cpp
ctest --test-dir build/cpp --output-on-failure

echo "== IR text tests"
TESSERA_OPT="$PWD/build/cpp/tessera-opt" .venv/bin/lit -v tests/ir

echo "== Python tests"
# Run from the tests folder so the installed package, not the source tree, is imported.
set +e
(cd tests && ../.venv/bin/python -m pytest -q -ra python gpu)
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "pytest collected no tests: that is a failure, not a pass" >&2
  exit 1
fi
exit $rc
