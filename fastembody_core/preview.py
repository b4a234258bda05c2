"""What a run leaves to look at when it ends (``run.preview``): learning curves, a short video of the trained
policy, and the commands to go on with.

The video comes from :func:`fastembody_core.play.play_run` in the run's own env, so it needs an env with
``render()``; without one (or without a render backend) the curves and the next commands are still written.
"""
import shlex
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from .errors import FastEmbodyError

VIDEO_NAME = "preview.mp4"


def write_preview(run_dir: Path, seconds: float, command: Optional[Sequence[float]] = None) -> Dict[str, Any]:
    """Write ``learning_curves.png`` and ``preview.mp4`` (+ ``preview.png`` contact sheet, ``preview.mp4.json``
    metrics) into ``run_dir``; return what was written (``curves``, ``video``, ``contact_sheet``, metrics, and
    ``*_error`` entries for what could not be)."""
    from .play import play_run
    from .plotting import plot_run

    result: Dict[str, Any] = {}
    try:
        result["curves"] = str(plot_run(run_dir))
    except FastEmbodyError as exc:
        result["curves_error"] = str(exc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a missing render backend is reported in the summary instead
        try:
            played = play_run(run_dir, video=run_dir / VIDEO_NAME, seconds=seconds, command=command)
        except FastEmbodyError as exc:
            played = {"video_error": str(exc)}
    result.update(played)
    return result


def next_commands(run_dir: Path) -> List[str]:
    """The commands a user runs next on this run."""
    run = shlex.quote(str(run_dir))
    return [f"fastembody eval {run} --episodes 20",
            f"fastembody play {run} --video walk.mp4   (--env NAME: another env, e.g. another simulator)",
            f"fastembody export {run} --format onnx"]


def summary_lines(run_dir: Path, preview: Optional[Dict[str, Any]]) -> List[str]:
    """The lines ``fastembody run`` prints when a run ends."""
    lines = [f"Run finished: {run_dir}"]
    if preview is not None:
        if "curves" in preview:
            lines.append(f"  learning curves: {preview['curves']}")
        if "video" in preview:
            lines.append(f"  video:           {preview['video']} (frames: {preview.get('contact_sheet', '-')})")
        else:
            lines.append(f"  no video: {preview.get('video_error', 'the env has no render()')}")
        facts = []
        if "mean_speed" in preview:
            facts.append(f"speed {preview['mean_speed']:.2f} m/s")
        if "mean_tracking_error" in preview:
            facts.append(f"tracking error {preview['mean_tracking_error']:.2f} m/s")
        if "falls" in preview:
            facts.append(f"{preview['falls']} fall(s) in {preview.get('seconds', 0):.0f} s")
        if facts:
            command = f" at command {preview['command']}" if "command" in preview else ""
            lines.append(f"  the policy{command}: " + ", ".join(facts))
    lines.append("Next:")
    lines.extend(f"  {c}" for c in next_commands(run_dir))
    return lines
