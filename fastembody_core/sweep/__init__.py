"""``fastembody sweep``: many runs of one experiment over a search space, on Optuna (embedded) or Ray Tune (a cluster).

The sweep file and its checks (:mod:`.spec`) are torch- and optuna-free; the engines import optuna / ray when a sweep
runs (extras ``fastembody-core[sweep]`` and ``fastembody-core[ray]``). Trials are normal runs in
``<root>/<name>/trials/<n>/seed<k>/``; results (table, ``best.yaml``, plots) are written by :mod:`.results`.
"""
from pathlib import Path
from typing import Any, List, Optional, Union

from .spec import ParamSpec, Sweep, SweepError, load_sweep

__all__ = ["ParamSpec", "Sweep", "SweepError", "load_sweep", "run_sweep"]


def _optuna_rows(study: Any, sweep: Sweep) -> List[Any]:
    from optuna.trial import TrialState

    from .results import Row

    names = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed",
             TrialState.RUNNING: "running"}
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.state not in names:
            continue
        run_dirs = t.user_attrs.get("run_dirs") or []
        run_dir = run_dirs[0] if len(run_dirs) == 1 else (str(Path(run_dirs[0]).parent) if run_dirs else "")
        state = "interrupted" if t.user_attrs.get("interrupted") else names[t.state]
        rows.append(Row(t.number, state, t.value if t.state == TrialState.COMPLETE else None, dict(t.params),
                        run_dir, t.duration.total_seconds() if t.duration else None,
                        str(t.user_attrs.get("error", "")), dict(t.intermediate_values)))
    return rows


def _outcome_rows(sweep: Sweep) -> List[Any]:
    from .results import Row
    from .trial import read_outcomes

    return [Row(o.number, o.state, o.value, o.params, o.run_dirs[0] if len(o.run_dirs) == 1 else
                (str(Path(o.run_dirs[0]).parent) if o.run_dirs else ""), (o.ended - o.started) if o.ended else None,
                o.note) for o in read_outcomes(sweep)]


def _write_resolved(sweep: Sweep) -> None:
    import yaml

    sweep.dir.mkdir(parents=True, exist_ok=True)
    (sweep.dir / "sweep.resolved.yaml").write_text(yaml.safe_dump(sweep.to_dict(), sort_keys=False),
                                                    encoding="utf-8")


def run_sweep(path: Union[str, Path], engine: Optional[str] = None, address: Optional[str] = None,
              workers: Optional[int] = None, debug: bool = False) -> List[str]:
    """Validate the sweep file, run it on its engine, write the results; returns the lines to print.

    Whatever stops a sweep (a metric no run logs, Ctrl-C), the results of the trials that finished are written
    before the error goes up."""
    sweep = load_sweep(path, engine=engine, workers=workers)
    if address and sweep.file.engine != "ray":
        raise SweepError("--address is for --engine ray (the optuna engine runs on this machine)")
    from .optuna_engine import close_studies, require

    require("optuna", "ray" if sweep.file.engine == "ray" else "sweep")
    require("matplotlib", "sweep")
    from . import results

    _write_resolved(sweep)
    study: Any = None
    try:
        if sweep.file.engine == "ray":
            from . import ray_engine

            rows = ray_engine.run(sweep, address=address, debug=debug)
            study = results.study_of(sweep, rows)
        else:
            from . import optuna_engine

            study = optuna_engine.run(Path(path), sweep, debug=debug)
            rows = _optuna_rows(study, sweep)
    except (SweepError, KeyboardInterrupt):
        _salvage(sweep, study)
        raise
    else:
        return results.report(sweep, rows, study)
    finally:
        close_studies()  # folds the study's SQLite WAL back into study.db


def _salvage(sweep: Sweep, study: Any) -> None:
    """Write the results of the trials that finished (from the study, else from each trial.json)."""
    from . import results

    try:
        if study is None and sweep.file.engine == "optuna":
            from .optuna_engine import open_study

            study = open_study(sweep)
        rows = _optuna_rows(study, sweep) if study is not None and sweep.file.engine == "optuna" \
            else _outcome_rows(sweep)
    except Exception:  # the study itself is unreadable: each trial's trial.json still is
        rows, study = _outcome_rows(sweep), None
    if rows:
        for line in results.report(sweep, rows, None):
            print(line, flush=True)
