"""The cluster engine: the same sweep file as Ray Tune trials, Optuna's sampler through Ray Tune's ``OptunaSearch``,
ASHA for pruning (whichever pruning type the file names), at most ``workers`` trials at a time.

``--address HOST:PORT`` joins a running Ray cluster (``ray start --head`` there; every node needs FastEmbody and the
plugins installed, and the trial run dirs are written on the node that runs the trial, under the same path);
without it a local Ray starts with ``workers x trial_cpus x nproc`` CPUs. Each trial reserves ``trial_cpus`` CPUs
and runs torch with that many threads. A trial ASHA stops ends like a pruned Optuna trial: its trainer saves a
checkpoint. With ``nproc: N`` each trial reserves ``N x trial_cpus`` CPUs on one node and runs its runs as torchrun
jobs of N processes (:mod:`.torchrun_trial`); a cluster with no node that large is refused before any trial starts.

Trial actors are reused (``reuse_actors``): each worker process imports torch and the plugins once, not per trial.
Not with ``nproc``: their actors only launch torchrun, and a finished actor is stopped at once (a cached one would
leave a stopped trial's job running until its actor is reused).
The watched metric goes to Ray after every iteration only when ASHA needs it (every ``tune.report`` waits for the
driver); without pruning a trial reports its value once, at the end.

Resumable like the Optuna engine: each trial's ``trial.json`` is the record. On start, finished trials (complete,
pruned, failed) are told to the searcher (``OptunaSearch.add_evaluated_point``) and never re-run; a trial a kill
left running is waited for while a leftover worker process still runs it (its ``trial.lock``), else marked
interrupted and its params run first; the sweep runs until ``trials`` have finished.
"""
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..errors import FastEmbodyError
from .optuna_engine import SweepLock, changed_identity, distributions, identity, require, sampler, trial_line
from .results import Row
from .spec import Sweep, SweepError, SweepFile
from .trial import (MetricNotLogged, TrialOutcome, read_outcomes, run_trial, run_value, trial_dir, wait_for_trial,
                    warm_up)

OBJECTIVE = "objective"
IDENTITY_FILE = "sweep.json"
INTERRUPTED = "interrupted (the sweep was stopped); its params run again"
"""The note of a trial a killed sweep left running (its trial.json state becomes failed, its table state
interrupted)."""


def check_address(address: str, timeout: float = 5.0) -> None:
    """Refuse, in one line, a cluster address nothing answers on (before Ray spends a minute retrying)."""
    if address == "auto":
        return
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise SweepError(f"--address {address!r}: expected HOST:PORT (e.g. 10.0.0.5:6379 or ray://10.0.0.5:10001)")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise SweepError(f"cannot reach a Ray cluster at {address} ({exc.strerror or exc}); start one there with "
                         f"`ray start --head`, or leave out --address to run a local Ray") from None


def _trial_number(trial_id: str) -> str:
    """``r00003`` for Ray's ``<run>_00003`` (apart from the Optuna engine's 0003 in the same trials/ folder)."""
    return "r" + trial_id.rsplit("_", 1)[-1]


def _trainable(config: Dict[str, Any], sweep: Sweep) -> None:
    """One Ray Tune trial: every seed of one config; the watched metric reported each iteration (for ASHA)."""
    from ray import tune

    if sweep.file.nproc == 1:  # torchrun trials train in their own processes
        warm_up(sweep, int(sweep.file.trial_cpus))  # a reused actor has it all loaded already
    number = _trial_number(tune.get_context().get_trial_id())
    params = {key: config[key] for key in sweep.space}
    stopped: List[bool] = []

    def report(step: int, value: float) -> Optional[str]:
        try:
            tune.report({OBJECTIVE: value, "step": step})
        except SystemExit:  # Ray Tune's scheduler (ASHA) stopped this trial
            stopped.append(True)
            return f"stopped by ASHA at step {step}: {sweep.watch_metric} {value:.4g}"
        return None

    try:
        outcome = run_trial(sweep, params, number, report if sweep.file.pruning.type != "none" else None)
    except MetricNotLogged:
        raise
    except FastEmbodyError:  # recorded in trial.json as failed; the sweep goes on
        return
    if not stopped and outcome.state == "complete":
        tune.report({OBJECTIVE: outcome.value, "step": -1, "done_all_seeds": True})


def _ray_outcomes(sweep: Sweep) -> List[TrialOutcome]:
    """This engine's trials (the optuna engine's trials of a sweep of the same name are numbered 0000, ...)."""
    return [o for o in read_outcomes(sweep) if str(o.number).startswith("r")]


def _table_state(outcome: TrialOutcome) -> str:
    return "interrupted" if outcome.state == "failed" and outcome.note == INTERRUPTED else outcome.state


def _counted(outcome: TrialOutcome) -> bool:
    """A finished trial that counts towards ``trials`` (not interrupted, not failed by the sweep file's metric)."""
    return outcome.state in ("complete", "pruned", "failed") and outcome.note != INTERRUPTED \
        and not outcome.note.startswith(MetricNotLogged.__name__)


def _rows(sweep: Sweep) -> List[Row]:
    rows = []
    for o in _ray_outcomes(sweep):
        folder = os.path.dirname(o.run_dirs[0]) if o.run_dirs else ""
        rows.append(Row(o.number, _table_state(o), o.value, o.params, o.run_dirs[0] if len(o.run_dirs) == 1
                        else folder, (o.ended - o.started) if o.ended else None, o.note))
    return rows


def _resume(sweep: Sweep) -> Tuple[List[TrialOutcome], List[Dict[str, Any]]]:
    """What earlier runs of this sweep left: (finished trials, params to run first). A trial still marked running
    is waited for (a worker process a kill left behind may still finish it); one nothing finished was interrupted:
    marked so in its trial.json, its params queued again, oldest first; then the ``initial`` configs no trial has run
    yet."""
    outcomes = [wait_for_trial(sweep, o.number) or o if o.state == "running" else o for o in _ray_outcomes(sweep)]
    queued: List[Dict[str, Any]] = []
    # The oldest interrupted trial first: after more than one kill the queue can be longer than the trials left.
    for o in sorted(outcomes, key=lambda o: o.started or 0.0):
        if o.state == "running":
            o.state, o.note, o.ended = "failed", INTERRUPTED, o.ended or o.started
            o.write(trial_dir(sweep, o.number))
            queued.append(dict(o.params))
    tried = [o.params for o in outcomes]
    queued += [dict(p) for p in sweep.file.initial if dict(p) not in tried and dict(p) not in queued]
    return [o for o in outcomes if _counted(o)], queued


def _searcher(sweep: Sweep, finished: List[TrialOutcome], queued: List[Dict[str, Any]], mode: str) -> Any:
    """Optuna's sampler through Ray Tune, told the finished trials and seeded past them (new configs, not the
    first ones again)."""
    from ray.tune.search.optuna import OptunaSearch

    searcher = OptunaSearch(space=distributions(sweep.space), sampler=sampler(sweep, 0, len(finished)),
                            metric=OBJECTIVE, mode=mode, points_to_evaluate=queued or None)
    for o in finished:
        if set(o.params) != set(sweep.space):
            continue
        if o.state == "complete" and o.value is not None:
            searcher.add_evaluated_point(o.params, o.value)
        else:
            searcher.add_evaluated_point(o.params, None, error=o.state == "failed", pruned=o.state == "pruned")
    return searcher


def _callback(sweep: Sweep) -> Any:
    from ray import tune

    class _Lines(tune.Callback):
        """Prints one line per finished trial on the driver (trial output stays in each run dir's train.log)."""

        def on_trial_complete(self, iteration: int, trials: List[Any], trial: Any, **info: Any) -> None:
            self._line(trial)

        def on_trial_error(self, iteration: int, trials: List[Any], trial: Any, **info: Any) -> None:
            self._line(trial)

        def _line(self, trial: Any) -> None:
            """A trial that returned has written its trial.json; one ASHA stopped is told to stop only after the
            callbacks (its run then saves and records itself): its line says pruned without waiting for it."""
            number = _trial_number(trial.trial_id)
            for outcome in [o for o in read_outcomes(sweep) if o.number == number]:
                if outcome.state == "running":
                    outcome.state, outcome.ended = "pruned", time.time()
                print(trial_line(outcome, sweep.file.metric), flush=True)

    return _Lines()


def _settle_stopped(sweep: Sweep, stopped: Dict[str, Dict[str, Any]]) -> None:
    """Record the trials ASHA stopped that Ray ended before they recorded themselves (it ends a stopped trial's
    actor moments after telling it): pruned, their value from the metrics their run dirs logged, as they would."""
    for number, last in stopped.items():
        outcome = wait_for_trial(sweep, number, timeout=10.0)
        if outcome is None or outcome.state != "running":
            continue
        try:
            outcome.values = [run_value(sweep, Path(d), number) for d in outcome.run_dirs]
        except SweepError:
            outcome.values = []
        outcome.value = sum(outcome.values) / len(outcome.values) if outcome.values else None
        outcome.state, outcome.ended = "pruned", time.time()
        outcome.note = f"stopped by ASHA at step {last.get('step')}: {sweep.watch_metric} {last.get(OBJECTIVE):.4g}"
        outcome.write(trial_dir(sweep, number))


def _check_same_sweep(sweep: Sweep, finished: List[TrialOutcome]) -> None:
    """``ray/sweep.json`` holds what makes two runs the same sweep (``optuna_engine.IDENTITY``): a changed one with
    finished trials is refused, as the Optuna engine refuses it."""
    path = sweep.dir / "ray" / IDENTITY_FILE
    ident = identity(sweep)
    try:
        stored = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, ValueError):
        stored = None  # unreadable: trial.json files are the record; take the new one
    changed = changed_identity(ident, stored)
    if changed and finished:
        raise SweepError(f"{sweep.dir} holds a Ray sweep with another {', '.join(changed)}; give this one another "
                         f"name: (or another root:) to start a new sweep, or restore the sweep file")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ident, indent=1), encoding="utf-8")


def trial_cpus(spec: SweepFile) -> float:
    """The CPUs one trial reserves: ``trial_cpus`` for each of its ``nproc`` processes."""
    return spec.trial_cpus * spec.nproc


def check_node_cpus(spec: SweepFile) -> None:
    """Refuse, in one line, a cluster where no node has the CPUs of one trial (Ray would wait for it forever)."""
    import ray

    try:
        nodes = [float(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    except Exception:  # a client connection that cannot list nodes: Ray's own scheduler decides
        return
    need = trial_cpus(spec)
    if nodes and max(nodes) < need:
        raise SweepError(f"each trial needs {need:g} CPUs on one node (nproc: {spec.nproc} x trial_cpus: "
                         f"{spec.trial_cpus:g}) but the largest node of this Ray cluster has {max(nodes):g}; lower "
                         f"nproc or trial_cpus, or add a larger node")


def _start_ray(spec: SweepFile, address: Optional[str], debug: bool) -> bool:
    """Join ``address`` or start a local Ray with ``workers x`` :func:`trial_cpus` CPUs; False if Ray was already
    up."""
    ray = require("ray", "ray")
    if ray.is_initialized():
        return False
    kwargs: Dict[str, Any] = dict(include_dashboard=False, log_to_driver=debug, logging_level=logging.WARNING,
                                  configure_logging=True)
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=max(1, int(round(spec.workers * trial_cpus(spec)))),
                     object_store_memory=100 * 1024 ** 2, **kwargs)
    except (ConnectionError, RuntimeError) as exc:
        raise SweepError(f"cannot start or join Ray{' at ' + address if address else ''}: "
                         f"{' '.join(str(exc).split())[:300]}") from None
    return True


def _tuner(sweep: Sweep, searcher: Any, trials: int) -> Any:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search import ConcurrencyLimiter

    spec = sweep.file
    if spec.pruning.type != "none":
        scheduler: Any = ASHAScheduler(time_attr="training_iteration", max_t=10 ** 9,
                                       grace_period=max(1, spec.pruning.warmup_iterations or 0),
                                       reduction_factor=spec.pruning.reduction_factor)
    else:
        scheduler = FIFOScheduler()
    return tune.Tuner(
        tune.with_resources(tune.with_parameters(_trainable, sweep=sweep), {"cpu": trial_cpus(spec)}),
        tune_config=tune.TuneConfig(metric=OBJECTIVE, mode=searcher.mode, search_alg=ConcurrencyLimiter(
            searcher, max_concurrent=spec.workers), scheduler=scheduler, num_samples=trials,
            reuse_actors=spec.nproc == 1),
        run_config=tune.RunConfig(name=sweep.name, storage_path=str((sweep.dir / "ray").resolve()), verbose=0,
                                  callbacks=[_callback(sweep)], failure_config=tune.FailureConfig(fail_fast=True)),
    )


def run(sweep: Sweep, address: Optional[str] = None, debug: bool = False) -> List[Row]:
    """Run the sweep on Ray Tune up to ``trials`` finished trials (continuing a stopped one); returns the table's
    rows (from each trial's trial.json)."""
    ray = require("ray", "ray")
    require("ray.tune", "ray")
    optuna = require("optuna", "ray")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = sweep.file
    if address:
        check_address(address)
    with SweepLock(sweep.dir, holds=""):
        finished, queued = _resume(sweep)
        _check_same_sweep(sweep, finished)
        left = spec.trials - len(finished)
        if left <= 0:
            print(f"sweep {sweep.name}: all {spec.trials} trials have finished", flush=True)
            return _rows(sweep)
        if finished or queued != [dict(p) for p in spec.initial]:
            print(f"sweep {sweep.name}: {len(finished)} trials have finished, {left} to run", flush=True)
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
        os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # trial run dirs hold the metrics
        started_here = _start_ray(spec, address, debug)
        stopped: Dict[str, Dict[str, Any]] = {}  # trial number -> its last result, for trials ASHA stopped
        try:
            check_node_cpus(spec)
            searcher = _searcher(sweep, finished, queued, "max" if spec.direction == "maximize" else "min")
            logging.getLogger("ray.tune").setLevel(logging.CRITICAL)  # its "trials did not complete": ours below
            for result in _tuner(sweep, searcher, left).fit():
                metrics = dict(result.metrics or {})
                if result.error is None and OBJECTIVE in metrics and not metrics.get("done_all_seeds"):
                    stopped[_trial_number(str(metrics.get("trial_id", "")))] = metrics
                text = str(result.error or "")
                if isinstance(result.error, MetricNotLogged) or "MetricNotLogged" in text:
                    line = [ln for ln in text.splitlines() if "MetricNotLogged" in ln] or text.splitlines()
                    raise SweepError(line[-1].split("MetricNotLogged:", 1)[-1].strip())
        finally:
            if started_here:
                ray.shutdown()
        _settle_stopped(sweep, stopped)
        return _rows(sweep)
