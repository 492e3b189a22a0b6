#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh) and runs the main demo on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python examples/quickstart.py
