#!/usr/bin/env bash
# Fast edit-build-test loop for developers, without reinstalling the package:
#   scripts/dev.sh NAME [pytest args...]
# builds tessera._C and the libraries in build/dev-NAME (ccache, incremental), installs them
# as the wheel lays them out (tessera/_C, tessera/lib, tessera/include) with the Python sources
# in build/stage-NAME, and runs pytest from tests/ against that staged package. Several
# developers can use different NAMEs side by side. Needs scripts/setup.sh --test once.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: scripts/dev.sh NAME [pytest args...]}
shift
root=$PWD
py=$root/.venv/bin/python
cmake -S . -B "build/dev-$name" -G Ninja -DTESSERA_BUILD_PYTHON=ON -DPython_EXECUTABLE="$py" >/dev/null
cmake --build "build/dev-$name" --target _C tessera_shared tessera_runtime_shared
stage=build/stage-$name/tessera
rm -rf "$stage" && mkdir -p "$stage"
cmake --install "build/dev-$name" --prefix "build/stage-$name" >/dev/null
cp python/tessera/*.py python/tessera/*.pyi python/tessera/py.typed "$stage"/
cp -r python/tessera/nn "$stage"/
cd tests
PYTHONPATH="$root/build/stage-$name" "$py" -m pytest "${@:-python}"
