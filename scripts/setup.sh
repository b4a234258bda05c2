#!/usr/bin/env bash
# Creates .venv and installs the core, every plugin (with the extras the tests use) and the example plugin,
# editable, with the CPU torch pin from constraints.txt.
# Usage: bash scripts/setup.sh        (PYTHON=python3.X to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
packages=(-e ".[test,export,plot,rsl-rl]")
for dir in plugins/* examples/*; do
  [[ -f "$dir/pyproject.toml" ]] || continue
  case "$dir" in
    plugins/fastembody_go2) packages+=(-e "$dir[mujoco]") ;;
    plugins/fastembody_gym) packages+=(-e "$dir[mujoco]") ;;
    *) packages+=(-e "$dir") ;;
  esac
done
.venv/bin/python -m pip install --quiet --progress-bar off -c constraints.txt "${packages[@]}"
.venv/bin/fastembody plugins
# go2-mujoco's `fastembody play --video` renders offscreen through EGL (or OSMesa): system libraries, not pip's
if ! ldconfig -p 2>/dev/null | grep -q -E "libEGL\.so\.1|libOSMesa\.so"; then
  echo "note: no libEGL/libOSMesa found: for videos, apt install libegl1 libgl1 (MUJOCO_GL=egl) or libosmesa6 (MUJOCO_GL=osmesa)" >&2
fi
