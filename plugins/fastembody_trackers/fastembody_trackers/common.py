"""What both trackers need: the run's tags and name, a one-line missing-package error, and
the tracker's own run id kept in the run dir so that ``--resume`` continues the same tracker run."""
import json
from pathlib import Path
from typing import Any, Dict, Optional

from fastembody_core import PluginError, atomic_write

TRACKER_RUNS_FILE = "tracker_runs.json"
"""``{tracker: run id}`` in the run dir: written when a tracker starts a run, read on ``--resume``."""


def require(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PluginError(f"logger {extra!r} needs the {module} package ({exc}): "
                          f"pip install 'fastembody-trackers[{extra}]'") from None


def run_tags(ctx: Any) -> Dict[str, str]:
    run = ctx.config.get("run") or {}
    return {str(k): str(v) for k, v in (run.get("tags") or {}).items()}


def run_name(ctx: Any) -> str:
    """``<sweep>-t<trial>-s<seed>`` for a sweep's trial, else the run dir's name (its timestamp)."""
    tags = run_tags(ctx)
    if "sweep" in tags and "trial" in tags:
        return f"{tags['sweep']}-t{tags['trial']}-s{tags.get('seed', ctx.seed)}"
    return Path(ctx.run_dir).name if ctx.run_dir is not None else str(ctx.config.get("name", "run"))


def previous_run_id(ctx: Any, tracker: str) -> Optional[str]:
    """The tracker run this FastEmbody run wrote to before, when it is resumed (None otherwise)."""
    if not getattr(ctx, "resume", False) or ctx.run_dir is None:
        return None
    try:
        runs = json.loads((Path(ctx.run_dir) / TRACKER_RUNS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = runs.get(tracker) if isinstance(runs, dict) else None
    return str(value) if value else None


def remember_run_id(ctx: Any, tracker: str, run_id: str) -> None:
    """Keep ``run_id`` in the run dir (atomically) for a later ``--resume``."""
    if ctx.run_dir is None:
        return
    path = Path(ctx.run_dir) / TRACKER_RUNS_FILE
    try:
        runs = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        runs = {}
    runs = dict(runs if isinstance(runs, dict) else {}, **{tracker: str(run_id)})
    atomic_write(path, lambda f: f.write((json.dumps(runs, indent=2) + "\n").encode("utf-8")),
                 what=f"{tracker} run id")
