"""The embedded engine: an Optuna study in ``<sweep>/study.db`` (SQLite), TPE sampling, median or successive-halving
pruning from the per-iteration metric, trials run by N local worker processes (torch threads split among them).

Resumable: ``sweep.lock`` keeps one ``fastembody sweep`` per study; on start, trials a killed sweep left running are
marked failed (interrupted) and their params queued again; complete, pruned and failed trials are never re-run, and
the sweep runs until ``trials`` of them have finished. Several workers are processes forked by one pool process
(:mod:`.worker_pool`) that loaded torch once; each runs its share of the trials one after another.
The study is SQLite in WAL mode with ``synchronous=NORMAL``: a commit costs no fsync (a killed process loses
nothing committed; a power cut may lose the last commits, never the file), which makes a per-iteration
``trial.report`` ~1 ms instead of ~20 ms.
"""
import fcntl
import os
import sqlite3
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Tuple

from ..errors import FastEmbodyError
from .spec import ParamSpec, Sweep, SweepError
from .trial import MetricNotLogged, TrialOutcome, read_outcomes, run_trial, trial_dir, wait_for_trial
from .worker_pool import WorkerPool

STUDY_FILE = "study.db"
LOCK_FILE = "sweep.lock"
ASK_LOCK = "ask.lock"
SPEC_ATTR = "fastembody_sweep"
"""Study user attribute holding what makes two sweeps the same study (:data:`IDENTITY`)."""


_ENGINES: List[Any] = []
"""The SQLAlchemy engines of the studies this process opened (:func:`close_studies`)."""


class TrialFailed(SweepError):
    """One trial failed (NaN, a refused config, ...): recorded as failed; the sweep goes on."""


def require(module: str, extra: str) -> Any:
    """Import an optional dependency or say which extra installs it (one line)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise SweepError(f"this sweep needs {module.split('.')[0]} ({exc}): pip install 'fastembody-core[{extra}]'") \
            from None


def distributions(space: Dict[str, ParamSpec]) -> Dict[str, Any]:
    """The search space as Optuna distributions."""
    dist = require("optuna.distributions", "sweep")
    out: Dict[str, Any] = {}
    for key, p in space.items():
        if p.type == "categorical":
            out[key] = dist.CategoricalDistribution(p.choices)
        elif p.type == "int":
            out[key] = dist.IntDistribution(int(p.low), int(p.high), log=p.log, step=int(p.step or 1))
        else:
            out[key] = dist.FloatDistribution(p.low, p.high, log=p.log, step=p.step)
    return out


IDENTITY = ("space", "metric", "direction", "reduce", "window", "seeds", "nproc")
"""What makes trial values comparable: a study continued with another of these is refused (``nproc``: a torchrun
trial of N processes trains on N times the envs)."""
IDENTITY_BEFORE = {"window": 1, "nproc": 1}
"""What a study stored before a key joined :data:`IDENTITY` stands for: the default it had then."""


def identity(sweep: Sweep) -> Dict[str, Any]:
    s = sweep.to_dict()
    return {k: s[k] for k in IDENTITY}


def changed_identity(ident: Dict[str, Any], stored: Any) -> List[str]:
    """The keys of ``ident`` that differ from a stored identity (none if nothing was stored)."""
    if not isinstance(stored, dict):
        return []
    return [k for k in ident if stored.get(k, IDENTITY_BEFORE.get(k)) != ident[k]]


def sampler(sweep: Sweep, worker: int, existing: int = 0) -> Any:
    """The sampler of one worker: seeded from the file's seed, the worker's index and the trials already in the
    study (a continued sweep draws new configs, not the first ones again)."""
    optuna = require("optuna", "sweep")
    spec = sweep.file.sampler
    seed = spec.seed + worker + 10007 * existing
    if spec.type == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=spec.startup_trials,
                                      constant_liar=sweep.file.workers > 1)


def pruner(sweep: Sweep) -> Any:
    optuna = require("optuna", "sweep")
    spec = sweep.file.pruning
    if spec.type == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=spec.startup_trials,
                                           n_warmup_steps=spec.warmup_iterations or 0)
    if spec.type == "successive-halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, spec.warmup_iterations or 0),
                                                      reduction_factor=spec.reduction_factor)
    return optuna.pruners.NopPruner()


class SweepLock:
    """``sweep.lock`` held with flock for the sweep's life: a second sweep on the same study is refused at once."""

    def __init__(self, sweep_dir: Path, holds: str = STUDY_FILE):
        self.path = sweep_dir / LOCK_FILE
        self.holds = sweep_dir / holds
        """What the lock keeps to one sweep (named in the refusal): the study, or the sweep's folder."""
        self._file: Optional[IO[str]] = None

    def __enter__(self) -> "SweepLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise SweepError(f"{self.holds} is in use by another `fastembody sweep` ({holder}); wait for it to "
                             f"finish (it continues the same sweep), or give this sweep another name:")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _sqlite_connector(path: Path) -> Any:
    """A DBAPI connection factory for the study: WAL journal, no fsync per commit, 60 s busy timeout."""

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error:
            connection.close()
            raise
        return connection

    return connect


def close_studies() -> None:
    """Close this process's connections to the studies it opened: the last connection to close folds SQLite's WAL
    back into study.db (removing study.db-wal), so the file stands alone again. They reopen when used."""
    while _ENGINES:
        _ENGINES.pop().dispose()


def open_study(sweep: Sweep, worker: int = 0) -> Any:
    """Create or load the study in ``<sweep>/study.db``; a corrupt or locked file is one line."""
    optuna = require("optuna", "sweep")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import sqlalchemy.exc

    path = (sweep.dir / STUDY_FILE).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        storage = optuna.storages.RDBStorage(f"sqlite:///{path}", engine_kwargs={"creator": _sqlite_connector(path)})
        _ENGINES.append(storage.engine)
        study = optuna.create_study(study_name=sweep.name, storage=storage, load_if_exists=True,
                                    direction=sweep.file.direction, sampler=sampler(sweep, worker),
                                    pruner=pruner(sweep))
        study.sampler = sampler(sweep, worker, len(study.get_trials(deepcopy=False)))
    except sqlalchemy.exc.OperationalError as exc:
        locked = "locked" in str(exc)
        raise SweepError(f"{path}: {'locked by another process' if locked else 'cannot be opened'} "
                         f"({str(getattr(exc, 'orig', exc)) or type(exc).__name__}); "
                         + ("close what holds it and run the sweep again" if locked else
                            f"move it away to start a new study (finished trials stay in {sweep.dir / 'trials'})")
                         ) from None
    except (sqlalchemy.exc.DatabaseError, ValueError, KeyError, RuntimeError) as exc:
        raise SweepError(f"{path} is not a readable Optuna study ({type(exc).__name__}: "
                         f"{str(getattr(exc, 'orig', exc)) or exc}); move it away to start a new study (finished "
                         f"trials' results stay in {sweep.dir / 'trials'}/*/trial.json)") from None
    return study


def _check_same_sweep(study: Any, sweep: Sweep) -> None:
    ident, stored = identity(sweep), study.user_attrs.get(SPEC_ATTR)
    if stored is None:
        study.set_user_attr(SPEC_ATTR, ident)
        return
    changed = changed_identity(ident, stored)
    optuna = require("optuna", "sweep")
    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                        optuna.trial.TrialState.PRUNED))
    if changed and not finished:  # nothing to compare against yet (e.g. the metric was misspelt): take the new one
        study.set_user_attr(SPEC_ATTR, ident)
    elif changed:
        raise SweepError(f"{sweep.dir / STUDY_FILE} holds a sweep with another {', '.join(changed)}; give this one "
                         f"another name: (or another root:) to start a new study, or restore the sweep file")


def prepare(sweep: Sweep) -> Tuple[Any, int]:
    """Under the lock: open the study, requeue interrupted trials, queue ``initial``; return (study, trials left)."""
    optuna = require("optuna", "sweep")
    from optuna.trial import TrialState

    study = open_study(sweep)
    _check_same_sweep(study, sweep)
    trials = study.get_trials(deepcopy=False)
    if not trials:
        for point in sweep.file.initial:
            study.enqueue_trial(point)
    for t in trials:
        if t.state == TrialState.RUNNING:  # a worker a kill left behind may still finish it
            wait_for_trial(sweep, t.number)
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.RUNNING:  # a sweep was killed while it ran: run its params again
            study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            study.enqueue_trial(t.params)
            _mark_interrupted(sweep, t.number)
    done = [t for t in study.get_trials(deepcopy=False)
            if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
            and not t.user_attrs.get("interrupted") and not t.user_attrs.get("uncounted")]
    del optuna
    return study, max(0, sweep.file.trials - len(done))


def _mark_interrupted(sweep: Sweep, number: int) -> None:
    for outcome in read_outcomes(sweep):
        if outcome.number == number and outcome.state == "running":
            outcome.state, outcome.note = "failed", "interrupted (the sweep was stopped); its params run again"
            outcome.write(trial_dir(sweep, number))


def _suggest(trial: Any, key: str, p: ParamSpec) -> Any:
    if p.type == "categorical":
        return trial.suggest_categorical(key, p.choices)
    if p.type == "int":
        return trial.suggest_int(key, int(p.low), int(p.high), log=p.log, step=int(p.step or 1))
    return trial.suggest_float(key, p.low, p.high, log=p.log, step=p.step)


def trial_line(outcome: TrialOutcome, metric: str) -> str:
    params = ", ".join(f"{k.split('.')[-1]}={v:.4g}" if isinstance(v, float) else f"{k.split('.')[-1]}={v}"
                       for k, v in outcome.params.items())
    value = "-" if outcome.value is None else f"{outcome.value:.4g}"
    return (f"trial {outcome.number}: {params} -> {metric} {value} ({outcome.state}, "
            f"{max(0.0, outcome.ended - outcome.started):.1f} s) {Path(outcome.run_dirs[0]).parent if outcome.run_dirs else ''}")


def objective_for(sweep: Sweep, debug: bool = False) -> Any:
    optuna = require("optuna", "sweep")
    from ..trainer import TrainingInterrupted

    def objective(trial: Any) -> float:
        params = {key: _suggest(trial, key, p) for key, p in sweep.space.items()}

        def report(step: int, value: float) -> Optional[str]:
            trial.report(value, step)
            if trial.should_prune():
                return f"pruned at step {step}: {sweep.watch_metric} {value:.4g}"
            return None

        outcome = TrialOutcome(number=trial.number, params=params)
        try:
            outcome = run_trial(sweep, params, trial.number, report, debug=debug)
        except TrainingInterrupted:  # SIGTERM/Ctrl-C: not counted, its params run again on the next start
            trial.set_user_attr("interrupted", True)
            trial.study.enqueue_trial(params)
            raise
        except MetricNotLogged:  # the sweep file's fault, not the trial's: not counted
            trial.set_user_attr("uncounted", True)
            raise
        except FastEmbodyError as exc:
            print(f"trial {trial.number} failed: {exc}", flush=True)
            trial.set_user_attr("error", str(exc))
            raise TrialFailed(str(exc)) from None
        finally:
            trial.set_user_attr("run_dirs", outcome.run_dirs or [str(trial_dir(sweep, trial.number))])
        print(trial_line(outcome, sweep.file.metric), flush=True)
        if outcome.state == "pruned":
            raise optuna.TrialPruned(outcome.note)
        return float(outcome.value)  # type: ignore[arg-type]

    return objective


def run_worker(sweep: Sweep, n_trials: int, worker: int = 0, debug: bool = False) -> None:
    """Run ``n_trials`` trials of the study in this process, by ask and tell. Asking is serialised across the workers
    (``ask.lock``): two processes can otherwise pop the same queued trial from the SQLite study."""
    optuna = require("optuna", "sweep")
    from optuna.trial import TrialState

    study = open_study(sweep, worker)
    objective = objective_for(sweep, debug)
    for _ in range(n_trials):
        with open(sweep.dir / ASK_LOCK, "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            trial = study.ask()
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
        except TrialFailed:
            study.tell(trial, state=TrialState.FAIL)
        except BaseException:
            study.tell(trial, state=TrialState.FAIL)
            raise
        else:
            study.tell(trial, value)


def run(sweep_file: Path, sweep: Sweep, debug: bool = False) -> Any:
    """Run the sweep to ``trials`` finished trials (continuing a stopped one); returns the study.

    With several workers their processes start first and warm up (torch, the env's plugins) while the study is
    prepared here; then each gets its share of the trials left."""
    with SweepLock(sweep.dir):
        pool = WorkerPool(sweep_file, sweep, sweep.file.workers, debug) if sweep.file.workers > 1 else None
        try:
            study, left = prepare(sweep)
            workers = max(1, min(sweep.file.workers, left))
            shares = [left // workers + (1 if i < left % workers else 0) for i in range(workers)]
            if left == 0:
                print(f"sweep {sweep.name}: all {sweep.file.trials} trials have finished", flush=True)
            elif pool is not None:
                pool.run(shares)
            else:
                run_worker(sweep, left, 0, debug)
        finally:
            if pool is not None:
                pool.close()
        return study
