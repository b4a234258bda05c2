"""One trial, whatever the engine: a config (base + sampled params) run once per seed as a normal run.

Each run gets its own run dir, ``<sweep>/trials/<trial>/seed<seed>/`` (``eval``, ``export`` and ``play`` work on it),
its console output in ``train.log`` there, and ``run.tags`` naming the sweep, trial and seed. With ``nproc: N``
each run is a torchrun job of N processes (:mod:`.torchrun_trial`), its config written beside it as
``seed<k>.json``. The engine's reporter
sees the watched metric after every iteration and may stop the run (``fastembody_core.callbacks``). The trial's
outcome is written to ``trials/<trial>/trial.json`` as it ends, so results outlive the engine's own storage; while
it runs, its process holds ``trials/<trial>/trial.lock`` (flock), so a restarted sweep can tell a trial a kill
interrupted from one still running in a process the kill left behind (:func:`wait_for_trial`).
"""
import collections
import contextlib
import difflib
import fcntl
import importlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Deque, Dict, List, Mapping, Optional

from ..callbacks import iteration_callbacks
from ..config import experiment_from_dict
from ..errors import ConfigError
from .spec import EVAL_PREFIX, Sweep, SweepError, config_with

TRIAL_FILE = "trial.json"
TRIAL_LOCK = "trial.lock"
CONSOLE_FILE = "train.log"

Reporter = Callable[[int, float], Optional[str]]
"""``report(step, value) -> reason to stop or None``; step = seed index * max_iterations + iteration; value = the
mean of the watched metric's last ``pruning.window`` iterations of this run. Not called at the trial's last
iteration."""


class MetricNotLogged(SweepError):
    """The sweep's metric is absent from a finished run: the sweep stops (every later trial would fail alike)."""


@dataclass
class TrialOutcome:
    """What one trial did: its params, value, state and run dirs (``trial.json``)."""

    number: Any
    """The engine's trial number (Optuna: 0, 1, ...; Ray: r00000, ...)."""
    params: Dict[str, Any]
    state: str = "running"
    """running, complete, pruned or failed."""
    value: Optional[float] = None
    values: List[float] = field(default_factory=list)
    """The metric of each seed's run."""
    run_dirs: List[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    note: str = ""
    """Why it was pruned or failed."""

    def write(self, trial_dir: Path) -> None:
        trial_dir.mkdir(parents=True, exist_ok=True)
        tmp = trial_dir / (TRIAL_FILE + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        os.replace(tmp, trial_dir / TRIAL_FILE)


def trial_dir(sweep: Sweep, number: Any) -> Path:
    """``<sweep>/trials/<number>`` (zero-padded numbers; Ray's trial ids as they are)."""
    name = f"{number:04d}" if isinstance(number, int) else str(number)
    return (sweep.dir / "trials" / name).resolve()


def _hold(folder: Path) -> IO[str]:
    """Take the trial's lock for as long as the returned file stays open (the process's end releases it too)."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / TRIAL_LOCK, "a", encoding="utf-8")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def wait_for_trial(sweep: Sweep, number: Any, timeout: Optional[float] = None) -> Optional["TrialOutcome"]:
    """Wait until no process runs trial ``number`` (one a killed sweep left behind may still finish it); returns
    its outcome as it then stands (None if its trial.json is unreadable, or still held after ``timeout`` s)."""
    folder = trial_dir(sweep, number)
    if not folder.is_dir():  # it never started
        return None
    deadline = None if timeout is None else time.time() + timeout
    with open(folder / TRIAL_LOCK, "a", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            if deadline is None:
                print(f"trial {number} is still running in a process of the stopped sweep; waiting for it to end",
                      flush=True)
                fcntl.flock(handle, fcntl.LOCK_EX)
            while deadline is not None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    if time.time() > deadline:
                        return None
                    time.sleep(0.1)
    return read_outcome(folder / TRIAL_FILE)


def trial_config(sweep: Sweep, params: Mapping[str, Any], number: Any, seed_index: int) -> Dict[str, Any]:
    """The raw config of one run of a trial: base + params + seed + tags, through the ``--set`` machinery."""
    data = config_with(sweep.base, params)
    data["seed"] = int(data.get("seed", 0)) + seed_index
    run = data.setdefault("run", {}) or {}
    data["run"] = run
    tags = dict(run.get("tags") or {})
    tags.update(sweep=sweep.name, trial=str(number), seed=str(data["seed"]))
    run["tags"] = tags
    return data


def metric_values(records: List[Mapping[str, Any]], metric: str) -> List[float]:
    """The finite values of ``metric`` over a run's metrics.jsonl records."""
    return [float(r[metric]) for r in records if isinstance(r.get(metric), (int, float))]


def trailing_means(values: List[float], window: int) -> List[float]:
    """Each value averaged with the ``window - 1`` before it (fewer at the start): the curve ``reduce`` reads."""
    spans = (values[max(0, i + 1 - window):i + 1] for i in range(len(values)))
    return [sum(span) / len(span) for span in spans]


class TrailingMean:
    """The mean of the last ``window`` values added (what a trial reports to its pruner)."""

    def __init__(self, window: int):
        self.recent: Deque[float] = collections.deque(maxlen=max(1, window))

    def add(self, value: float) -> float:
        self.recent.append(value)
        return sum(self.recent) / len(self.recent)


def reduce_values(values: List[float], how: str, direction: str) -> float:
    if how == "last":
        return values[-1]
    if how == "mean":
        return sum(values) / len(values)
    return max(values) if direction == "maximize" else min(values)


def _missing(metric: str, run_dir: Path, logged: List[str], number: Any) -> MetricNotLogged:
    near = difflib.get_close_matches(metric, logged, n=1, cutoff=0.5)
    hint = f"did you mean {near[0]!r}? " if near else ""
    shown = ", ".join(logged[:12]) + (", ..." if len(logged) > 12 else "")
    return MetricNotLogged(f"metric {metric!r} is not logged by trial {number}'s run ({run_dir / 'metrics.jsonl'}); "
                           f"{hint}logged: {shown or 'nothing'}; fix metric: in the sweep file (finished trials are "
                           f"kept)")


def run_value(sweep: Sweep, run_dir: Path, number: Any) -> float:
    """The sweep metric of one finished run: from its metrics.jsonl, or from `fastembody eval` for eval/<key>."""
    metric = sweep.file.metric
    if metric.startswith(EVAL_PREFIX):
        from ..evaluation import evaluate_run

        result: Any = evaluate_run(run_dir, episodes=sweep.file.eval_episodes)
        for part in metric[len(EVAL_PREFIX):].split("/"):
            result = result.get(part) if isinstance(result, Mapping) else None
        if not isinstance(result, (int, float)):
            raise _missing(metric, run_dir, [EVAL_PREFIX + k for k in ("mean_return", "mean_episode_length")], number)
        return float(result)
    from ..metrics_file import METRICS_FILE, read_metrics

    records = read_metrics(run_dir / METRICS_FILE) if (run_dir / METRICS_FILE).is_file() else []
    values = metric_values(records, metric)
    if not values:
        logged = sorted({k for r in records for k in r if k != "iteration"})
        raise _missing(metric, run_dir, logged, number)
    return reduce_values(trailing_means(values, sweep.file.window), sweep.file.reduce, sweep.file.direction)


def warm_up(sweep: Sweep, threads: int) -> None:
    """Load in a fresh worker what its first run would: the env's preload module (before torch), torch with
    ``threads`` threads, the pipeline and torch's lazily imported ``torch._dynamo`` (the first optimizer pulls it
    in, ~1.5 s). Long-lived workers pay this once, while the engine is still setting up."""
    from ..pipeline import preload_modules

    with contextlib.suppress(ConfigError):  # the first trial names the problem
        preload_modules(experiment_from_dict(config_with(sweep.base, {}), source=sweep.source))
    import torch

    torch.set_num_threads(max(1, threads))
    for module in ("fastembody_core.pipeline", "fastembody_core.trainer", "torch._dynamo"):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)


def run_trial(sweep: Sweep, params: Mapping[str, Any], number: Any, report: Optional[Reporter] = None,
              debug: bool = False) -> TrialOutcome:
    """Run every seed of one trial in this process; ``state`` ends complete or pruned (a reporter's reason), or
    the exception propagates with ``trial.json`` marked failed."""
    from ..pipeline import run_experiment

    folder = trial_dir(sweep, number)
    lock = _hold(folder)
    outcome = TrialOutcome(number=number, params=dict(params), started=time.time())
    outcome.write(folder)
    try:
        for seed_index in range(sweep.file.seeds):
            source = f"{sweep.source}: trial {number}"
            try:
                experiment = experiment_from_dict(trial_config(sweep, params, number, seed_index), source=source)
            except ConfigError as exc:  # a combination the space allows but the config refuses
                raise ConfigError(f"{exc} (params {dict(params)})") from None
            run_dir = folder / f"seed{experiment.seed}"
            outcome.run_dirs.append(str(run_dir))
            outcome.write(folder)
            iterations = int(getattr(experiment.trainer.params, "max_iterations", 0) or 0)
            offset, watch = seed_index * iterations, sweep.watch_metric
            final = iterations if seed_index == sweep.file.seeds - 1 else None
            smoothed = TrailingMean(sweep.file.pruning.window)

            def callback(iteration: int, metrics: Mapping[str, float]) -> Optional[str]:
                value = metrics.get(watch) if watch else None
                if report is None or value is None:
                    return None
                mean = smoothed.add(float(value))
                # the trial's last iteration is not reported: stopping it there saves nothing and loses the trial
                return None if iteration == final else report(offset + iteration, mean)

            run_dir.mkdir(parents=True, exist_ok=True)
            if sweep.file.nproc > 1:  # a torchrun job, launched as `fastembody run --nproc` launches it
                from .torchrun_trial import run_torchrun

                summary = run_torchrun(trial_config(sweep, params, number, seed_index), run_dir.with_suffix(".json"),
                                       run_dir, sweep.file.nproc, int(sweep.file.trial_cpus), callback, debug)
            else:
                with open(run_dir / CONSOLE_FILE, "a", encoding="utf-8") as console:
                    with contextlib.redirect_stdout(console), iteration_callbacks(callback):
                        summary = run_experiment(experiment, run_dir=run_dir, debug=debug)
            outcome.values.append(run_value(sweep, run_dir, number))
            if summary.get("stopped"):
                outcome.state, outcome.note = "pruned", str(summary["stopped"])
                break
        else:
            outcome.state = "complete"
        outcome.value = sum(outcome.values) / len(outcome.values)
    except BaseException as exc:
        outcome.state, outcome.note = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        try:
            outcome.ended = time.time()
            outcome.write(folder)
        finally:
            lock.close()
    return outcome


def read_outcome(path: Path) -> Optional[TrialOutcome]:
    """One ``trial.json``; None if it is unreadable."""
    try:
        return TrialOutcome(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def read_outcomes(sweep: Sweep) -> List[TrialOutcome]:
    """Every ``trial.json`` under the sweep's trials/ (what survives any engine's storage)."""
    found = (read_outcome(path) for path in sorted((sweep.dir / "trials").glob(f"*/{TRIAL_FILE}")))
    return [o for o in found if o is not None]
