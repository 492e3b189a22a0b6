#!/usr/bin/env bash
# Builds the cp312-abi3 wheel (one wheel for every CPython >= 3.12, such as the GPU machine's)
# into dist/, with Python 3.12 in .venv312 (incremental: build/cp312-abi3-*, ccache).
# On the GPU machine: python3 -m pip install --no-deps --no-index --force-reinstall dist/*.whl
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON312:-/root/.pyenv/versions/3.12.1/bin/python3}
[ -x .venv312/bin/python ] || "$py" -m venv .venv312
.venv312/bin/python -m pip install -q --disable-pip-version-check "nanobind==3.1.0" "scikit-build-core>=0.10" "mpich>=5"
rm -rf dist
CMAKE_GENERATOR=Ninja CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache} CCACHE_BASEDIR=$PWD \
  .venv312/bin/python -m pip wheel -q --disable-pip-version-check --no-build-isolation --no-deps -w dist .
ls dist/*.whl
