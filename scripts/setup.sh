#!/usr/bin/env bash
# Sets up everything Tessera needs on a fresh Debian 12 (bookworm) machine and builds it:
# Debian packages (LLVM 22, lld, ccache, SPIR-V tools, Mesa's Vulkan CPU driver), a virtual
# environment in .venv with the Python packages, and Tessera itself installed into it.
#   scripts/setup.sh           build and install Tessera (what the demo needs)
#   scripts/setup.sh --test    also the test tools (pytest, lit, PyTorch CPU)
# Safe to run again: installed pieces are skipped and the build is incremental (ccache).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

apt_packages=(llvm-22-dev llvm-22-tools lld-22 liblld-22-dev libzstd-dev ccache ninja-build cmake
              spirv-tools mesa-vulkan-drivers libvulkan-dev python3-venv python3-dev g++ git)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
# mpich: MPI for tessera.dist (its MPI-5 standard-ABI library and header, and mpiexec)
"${pip[@]}" "nanobind==3.1.0" "scikit-build-core>=0.10" numpy "mpich>=5"
if [ "$want_test" = 1 ]; then
  "${pip[@]}" pytest lit mypy "torch==2.13.0" scipy scikit-learn array-api-compat safetensors "ruff==0.17.6" "clang-format==23.1.5"
fi

echo "== building and installing tessera (incremental; compiler cache: ccache)"
export CMAKE_GENERATOR=Ninja
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$PWD  # paths inside the checkout hash as relative: clones elsewhere hit too
.venv/bin/python -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps .
echo "== tessera $(.venv/bin/python -c 'import tessera; print(tessera.__version__)') is installed in .venv"
