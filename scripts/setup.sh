#!/usr/bin/env bash
# Creates .venv and installs the core, every plugin and the example plugin (editable), with the CPU torch pin.
# Usage: bash scripts/setup.sh        (PYTHON=python3.X to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
packages=(-e ".[test,export,plot]")
for dir in plugins/*/ examples/*/; do
  [[ -f "$dir/pyproject.toml" ]] && packages+=(-e "$dir")
done
extras=()
[[ -d plugins/fastembody_gym ]] && extras+=(gymnasium)
.venv/bin/python -m pip install --quiet --progress-bar off -c constraints.txt "${packages[@]}" "${extras[@]}"
.venv/bin/fastembody plugins
