"""The cluster engine: the same sweep file as Ray Tune trials, Optuna's sampler through Ray Tune's ``OptunaSearch``,
ASHA for pruning (whichever pruning type the file names), at most ``workers`` trials at a time.

``--address HOST:PORT`` joins a running Ray cluster (``ray start --head`` there; every node needs FastEmbody and the
plugins installed, and the trial run dirs are written on the node that runs the trial, under the same path);
without it a local Ray starts with ``workers x trial_cpus`` CPUs. Each trial reserves ``trial_cpus`` CPUs and runs
torch with that many threads. A trial ASHA stops ends like a pruned Optuna trial: its trainer saves a checkpoint.
"""
import logging
import os
import socket
import time
from typing import Any, Dict, List, Optional

from ..errors import FastEmbodyError
from .optuna_engine import distributions, require, sampler, trial_line
from .results import Row
from .spec import Sweep, SweepError
from .trial import MetricNotLogged, read_outcomes, run_trial

OBJECTIVE = "objective"


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
    """One Ray Tune trial: every seed of one config, the watched metric reported each iteration."""
    import torch
    from ray import tune

    torch.set_num_threads(max(1, int(sweep.file.trial_cpus)))
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
        outcome = run_trial(sweep, params, number, report)
    except MetricNotLogged:
        raise
    except FastEmbodyError:  # recorded in trial.json as failed; the sweep goes on
        return
    if not stopped and outcome.state == "complete":
        tune.report({OBJECTIVE: outcome.value, "step": -1, "done_all_seeds": True})


def _rows(sweep: Sweep) -> List[Row]:
    rows = []
    for o in read_outcomes(sweep):
        if not str(o.number).startswith("r"):  # the optuna engine's trials of a sweep of the same name
            continue
        folder = os.path.dirname(o.run_dirs[0]) if o.run_dirs else ""
        rows.append(Row(o.number, o.state, o.value, o.params, o.run_dirs[0] if len(o.run_dirs) == 1 else folder,
                        (o.ended - o.started) if o.ended else None, o.note))
    return rows


def _callback(sweep: Sweep) -> Any:
    from ray import tune

    class _Lines(tune.Callback):
        """Prints one line per finished trial on the driver (trial output stays in each run dir's train.log)."""

        def on_trial_complete(self, iteration: int, trials: List[Any], trial: Any, **info: Any) -> None:
            self._line(trial)

        def on_trial_error(self, iteration: int, trials: List[Any], trial: Any, **info: Any) -> None:
            self._line(trial)

        def _line(self, trial: Any) -> None:
            number = _trial_number(trial.trial_id)
            deadline = time.time() + 10.0  # a stopped trial's trainer may still be saving its checkpoint
            while True:
                found = [o for o in read_outcomes(sweep) if o.number == number]
                if (found and found[0].state != "running") or time.time() > deadline:
                    break
                time.sleep(0.1)
            for outcome in found:
                print(trial_line(outcome, sweep.file.metric), flush=True)

    return _Lines()


def run(sweep: Sweep, address: Optional[str] = None, debug: bool = False) -> List[Row]:
    """Run the sweep on Ray Tune; returns the table's rows (from each trial's trial.json)."""
    ray = require("ray", "ray")
    require("ray.tune", "ray")
    optuna = require("optuna", "ray")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    spec = sweep.file
    if address:
        check_address(address)
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    started_here = not ray.is_initialized()
    if started_here:
        kwargs: Dict[str, Any] = dict(include_dashboard=False, log_to_driver=debug, logging_level=logging.WARNING,
                                      configure_logging=True)
        try:
            if address:
                ray.init(address=address, **kwargs)
            else:
                ray.init(num_cpus=max(1, int(round(spec.workers * spec.trial_cpus))),
                         object_store_memory=100 * 1024 ** 2, **kwargs)
        except (ConnectionError, RuntimeError) as exc:
            raise SweepError(f"cannot start or join Ray{' at ' + address if address else ''}: "
                             f"{' '.join(str(exc).split())[:300]}") from None
    try:
        mode = "max" if spec.direction == "maximize" else "min"
        searcher = OptunaSearch(space=distributions(sweep.space), sampler=sampler(sweep, 0), metric=OBJECTIVE, mode=mode,
                                points_to_evaluate=[dict(p) for p in spec.initial] or None)
        max_t = 10 ** 9
        if spec.pruning.type != "none":
            scheduler: Any = ASHAScheduler(time_attr="training_iteration", max_t=max_t,
                                           grace_period=max(1, spec.pruning.warmup_iterations),
                                           reduction_factor=spec.pruning.reduction_factor)
        else:
            scheduler = FIFOScheduler()
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(_trainable, sweep=sweep), {"cpu": spec.trial_cpus}),
            tune_config=tune.TuneConfig(metric=OBJECTIVE, mode=mode, search_alg=ConcurrencyLimiter(
                searcher, max_concurrent=spec.workers), scheduler=scheduler, num_samples=spec.trials,
                reuse_actors=False),
            run_config=tune.RunConfig(name=sweep.name, storage_path=str((sweep.dir / "ray").resolve()), verbose=0,
                                      callbacks=[_callback(sweep)],
                                      failure_config=tune.FailureConfig(fail_fast=True)),
        )
        logging.getLogger("ray.tune").setLevel(logging.CRITICAL)  # its "trials did not complete": ours is below
        grid = tuner.fit()
        for result in grid:
            text = str(result.error or "")
            if isinstance(result.error, MetricNotLogged) or "MetricNotLogged" in text:
                line = [ln for ln in text.splitlines() if "MetricNotLogged" in ln] or text.splitlines()
                raise SweepError(line[-1].split("MetricNotLogged:", 1)[-1].strip())
    finally:
        if started_here:
            ray.shutdown()
    return _rows(sweep)
