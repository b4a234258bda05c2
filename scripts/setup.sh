#!/usr/bin/env bash
# Creates .venv and installs the core (with the sweep engines, optuna and ray), every plugin (with the extras the
# tests use: wandb and mlflow for fastembody-trackers, the DDS stack and Unitree SDK for fastembody-deploy) and
# the example plugins,
# editable, with the CPU torch pin from constraints.txt. pip's own output goes to .venv/setup.log (shown if a
# step fails); the screen gets a few lines: what is being done, what got installed, the compile cache warmed for
# the README's main job, what to run next.
# Usage: bash scripts/setup.sh        (PYTHON=python3.X to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
LOG=.venv/setup.log

logged() {  # run a step with its output in $LOG; on failure show the end of the log and stop
  if ! "$@" >>"$LOG" 2>&1; then
    echo "set-up failed: $*" >&2
    echo "--- last lines of $LOG ---" >&2
    tail -n 40 "$LOG" >&2
    exit 1
  fi
}

if [[ ! -x .venv/bin/python ]]; then
  echo "Creating .venv with $("$PYTHON" --version 2>&1) ..."
  "$PYTHON" -m venv .venv
fi
: >"$LOG"
packages=(-e ".[test,export,plot,rsl-rl,sweep,ray]")
for dir in plugins/* examples/*; do
  [[ -f "$dir/pyproject.toml" ]] || continue
  case "$dir" in
    plugins/fastembody_go2) packages+=(-e "$dir[mujoco]") ;;
    plugins/fastembody_gym) packages+=(-e "$dir[mujoco]") ;;
    plugins/fastembody_trackers) packages+=(-e "$dir[all]") ;;
    plugins/fastembody_deploy) packages+=(-e "$dir[cli,dds]") ;;
    *) packages+=(-e "$dir") ;;
  esac
done
echo "Installing FastEmbody and its plugins (torch pinned by constraints.txt; pip's log: $LOG) ..."
logged .venv/bin/python -m pip install --upgrade pip
logged .venv/bin/python -m pip install --progress-bar off -c constraints.txt "${packages[@]}"
# The Unitree SDK for the deploy runner: its only release pins cyclonedds==0.10.2, which has no wheel for this
# Python; the cyclonedds pinned in constraints.txt (installed above) works with it (docs/deploy.md)
logged .venv/bin/python -m pip install --progress-bar off --no-deps -c constraints.txt unitree_sdk2
echo "Installed: torch $(.venv/bin/python -c 'import torch; print(torch.__version__)'), and these plugins:"
.venv/bin/fastembody plugins --json | .venv/bin/python -c '
import json, sys
for p in json.load(sys.stdin):
    names = ", ".join(n for names in p.get("registered", {}).values() for n in names)
    print("  %s %s [%s]: %s" % (p["name"], p.get("version", ""), p.get("status", "?"), names))
'
# go2-mujoco's `fastembody play --video` renders offscreen through EGL (or OSMesa): system libraries, not pip's
if ! ldconfig -p 2>/dev/null | grep -q -E "libEGL\.so\.1|libOSMesa\.so"; then
  echo "note: no libEGL/libOSMesa: go2-mujoco videos need apt install libegl1 (MUJOCO_GL=egl) or libosmesa6;" \
       "go2-toy videos need neither"
fi
# Warm the compile cache (fastembody_core/compiling.py) with what the README's main job compiles: one iteration of
# it, so that its first `fastembody run` loads compiled code instead of compiling (benchmarks/first_iteration.py)
echo "Warming the compile cache for configs/go2_toy_quick.yaml (one iteration of it) ..."
if ! .venv/bin/python -m fastembody_core.compiling configs/go2_toy_quick.yaml; then
  echo "set-up failed: warming the compile cache (run the line above to see why)" >&2
  exit 1
fi
echo "Next: .venv/bin/fastembody run configs/go2_toy_quick.yaml   (tests: .venv/bin/python -m pytest)"
