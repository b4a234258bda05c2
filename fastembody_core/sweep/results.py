"""A sweep's results, whatever the engine: a table of trials, the best config as a runnable YAML, and plots.

Written into the sweep's folder: ``results.csv`` (one row per trial: number, state, value, params, run dir),
``best.yaml`` (``fastembody run best.yaml`` repeats the best trial's config), ``history.png`` (optimisation history)
and ``importance.png`` (parameter importances), both drawn by ``optuna.visualization.matplotlib``.
"""
import csv
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from ..config import experiment_from_dict
from .spec import Sweep, config_with

RESULTS_FILE = "results.csv"
BEST_FILE = "best.yaml"
PLOTS = {"history": "history.png", "importance": "importance.png"}


@dataclass
class Row:
    """One trial in the table."""

    number: Any
    state: str
    value: Optional[float]
    params: Dict[str, Any]
    run_dir: str = ""
    seconds: Optional[float] = None
    note: str = ""
    intermediate: Dict[int, float] = field(default_factory=dict)


def best_row(rows: List[Row], direction: str) -> Optional[Row]:
    done = [r for r in rows if r.state == "complete" and r.value is not None]
    if not done:
        return None
    pick = max if direction == "maximize" else min
    return pick(done, key=lambda r: r.value)  # type: ignore[arg-type,return-value]


def _short(key: str, keys: List[str]) -> str:
    last = key.split(".")[-1]
    return last if sum(k.split(".")[-1] == last for k in keys) == 1 else key


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def table(sweep: Sweep, rows: List[Row]) -> str:
    """The trials as an aligned text table; the best trial is marked with *."""
    keys = list(sweep.space)
    best = best_row(rows, sweep.file.direction)
    head = ["trial", "state", sweep.file.metric] + [_short(k, keys) for k in keys] + ["seconds", "run dir"]
    body = [[f"{r.number}{'*' if r is best else ''}", r.state, _fmt(r.value)]
            + [_fmt(r.params.get(k)) for k in keys] + [_fmt(r.seconds), r.run_dir] for r in rows]
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in [head] + body]
    return "\n".join(lines)


def write_csv(sweep: Sweep, rows: List[Row]) -> Path:
    keys = list(sweep.space)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["trial", "state", sweep.file.metric] + keys + ["seconds", "run_dir", "note"])
    for r in rows:
        writer.writerow([r.number, r.state, "" if r.value is None else r.value] + [r.params.get(k, "") for k in keys]
                        + ["" if r.seconds is None else round(r.seconds, 2), r.run_dir, r.note])
    path = sweep.dir / RESULTS_FILE
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def write_best(sweep: Sweep, row: Row) -> Path:
    """The best trial's config, validated and resolved, as a file ``fastembody run`` takes."""
    experiment = experiment_from_dict(config_with(sweep.base, row.params), source=f"{sweep.source}: best")
    header = (f"# Best of sweep {sweep.name!r}: trial {row.number}, {sweep.file.metric} = {row.value:.6g} "
              f"({sweep.file.direction}); run it with: fastembody run {sweep.dir / BEST_FILE}\n")
    path = sweep.dir / BEST_FILE
    path.write_text(header + yaml.safe_dump(experiment.to_dict(), sort_keys=False), encoding="utf-8")
    return path


def study_of(sweep: Sweep, rows: List[Row]) -> Any:
    """An in-memory Optuna study holding ``rows`` (for the plots of an engine without its own study)."""
    import optuna

    from .optuna_engine import distributions

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    dist = distributions(sweep.space)
    study = optuna.create_study(direction=sweep.file.direction)
    states = {"complete": optuna.trial.TrialState.COMPLETE, "pruned": optuna.trial.TrialState.PRUNED}
    for r in rows:
        if r.state in states and set(r.params) == set(dist) and (r.state == "pruned" or r.value is not None):
            study.add_trial(optuna.trial.create_trial(
                params=r.params, distributions=dist, value=r.value if r.state == "complete" else None,
                intermediate_values=r.intermediate, state=states[r.state]))
    return study


def write_plots(sweep: Sweep, study: Any) -> Dict[str, Path]:
    """history.png and importance.png; a plot the trials cannot support yet (too few) is skipped."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as ovm

    written = {}
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    for name, draw, needs in (("history", ovm.plot_optimization_history, 1),
                              ("importance", ovm.plot_param_importances, 2)):
        if len(complete) < needs:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optuna's matplotlib plots are marked experimental
            try:
                ax = draw(study)
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue
        figure = getattr(ax, "figure", None) or ax.flat[0].figure
        if name == "history":
            ax.set_ylabel(sweep.file.metric)
            ax.set_title(f"sweep {sweep.name}: {sweep.file.metric} per trial ({sweep.file.direction})")
        figure.tight_layout()
        path = sweep.dir / PLOTS[name]
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written[name] = path
    return written


def report(sweep: Sweep, rows: List[Row], study: Any) -> List[str]:
    """Write every result file and return the lines to print (table, best trial, files)."""
    rows = sorted(rows, key=lambda r: (isinstance(r.number, str), r.number))
    lines = [table(sweep, rows), ""]
    files = [write_csv(sweep, rows)]
    best = best_row(rows, sweep.file.direction)
    if best is not None:
        files.append(write_best(sweep, best))
        lines.append(f"best: trial {best.number}, {sweep.file.metric} {best.value:.4g} "
                     f"({', '.join(f'{k}={_fmt(v)}' for k, v in best.params.items())}), run dir {best.run_dir}")
    else:
        lines.append("no trial has completed yet")
    if study is not None:
        files += list(write_plots(sweep, study).values())
    lines.append("wrote " + ", ".join(str(f) for f in files))
    return lines
