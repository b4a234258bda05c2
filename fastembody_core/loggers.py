"""Experiment trackers as plugins: the ``loggers`` registry and what a tracker implements.

A run names its trackers in its config, ``run: {loggers: [tensorboard, wandb], logger_params: {wandb: {...}}}``;
``tensorboard`` is the core's own and the default. A plugin adds one through the ``register_loggers`` hook::

    @hookimpl
    def register_loggers(register):
        register("my-tracker", make_my_tracker, params=MyTrackerParams, description="...")

    def make_my_tracker(params, ctx, start_iteration):   # ctx: RunContext (run_dir, resolved config, ...)
        from .tracker import MyTracker                      # import the tracker's package here, not at plugin import
        return MyTracker(params, ctx, start_iteration)      # a MetricLogger

Each iteration a tracker receives exactly the scalars TensorBoard gets, under the same names (``Train/mean_reward``,
``Loss/<name>``, ``Perf/total_fps``, ...), with the iteration as the step. ``run.tags`` (a sweep sets ``sweep``,
``trial`` and ``seed``) is for the tracker to attach to its run. A tracker that fails while logging is dropped with
one warning; training goes on (metrics.jsonl has everything).

Torch-free (the TensorBoard writer is imported when a run opens it).
"""
import abc
import warnings
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .errors import ConfigError, FastEmbodyError

TENSORBOARD = "tensorboard"
DEFAULT_LOGGERS = (TENSORBOARD,)
NOT_SCALARS = ("env_steps", "train_time")
"""Keys of a metrics.jsonl record that are counters, not TensorBoard scalars."""

__all__ = ["DEFAULT_LOGGERS", "MetricLogger", "TENSORBOARD", "open_loggers", "run_loggers", "tracker_scalars"]


class MetricLogger(abc.ABC):
    """A tracker: receives one iteration's scalars at a time; ``close`` ends its run (flush, mark finished)."""

    @abc.abstractmethod
    def log(self, iteration: int, scalars: Mapping[str, float]) -> None:
        """Record the scalars of completed iteration ``iteration`` (1-based, the step TensorBoard uses)."""

    def close(self) -> None:
        """Finish the tracker's run (optional)."""


class TensorBoardLogger(MetricLogger):
    """TensorBoard event files in the run dir (the core's run logger writes these itself for the on-policy trainer;
    other trainers get them through :func:`open_loggers`)."""

    def __init__(self, run_dir: Any, start_iteration: int = 0):
        from .run_logging import RunLogger

        self.writer = RunLogger._open_tensorboard(run_dir, start_iteration)

    def log(self, iteration: int, scalars: Mapping[str, float]) -> None:
        if self.writer is not None:
            for key, value in scalars.items():
                self.writer.add_scalar(key, float(value), iteration)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
            self.writer = None


def _make_tensorboard(params: Any, ctx: Any, start_iteration: int = 0) -> MetricLogger:
    return TensorBoardLogger(ctx.run_dir, start_iteration)


def tracker_scalars(metrics: Mapping[str, float]) -> Dict[str, float]:
    """The scalars of a metrics record a tracker gets: those TensorBoard gets, as floats."""
    return {k: float(v) for k, v in metrics.items() if k not in NOT_SCALARS}


def run_loggers(config: Mapping[str, Any]) -> List[str]:
    """The tracker names a resolved config selects (``run.loggers``; default ``[tensorboard]``)."""
    run = config.get("run") if isinstance(config, Mapping) else None
    names = run.get("loggers") if isinstance(run, Mapping) else None
    return list(DEFAULT_LOGGERS) if names is None else [str(n) for n in names]


def check_loggers(names: Sequence[str], params: Mapping[str, Any], source: str) -> Dict[str, Any]:
    """Validate ``run.loggers`` and ``run.logger_params`` against the registry; the params dataclasses by name."""
    from .config import build_dataclass
    from .plugins import get_registry

    registry = get_registry()
    if len(set(names)) != len(names):
        raise ConfigError(f"a logger is named twice in {list(names)}", source, "run.loggers")
    built: Dict[str, Any] = {}
    for i, name in enumerate(names):
        registration = registry.get("loggers", name, source=f"{source}: run.loggers[{i}]")
        raw = params.get(name) or {}
        if registration.params is not None:
            built[name] = build_dataclass(registration.params, raw, f"run.logger_params.{name}", source)
        elif raw:
            raise ConfigError(f"logger {name!r} takes no params", source, f"run.logger_params.{name}")
    for name in params:
        if name not in names:
            raise ConfigError(f"logger {name!r} is not in run.loggers {list(names)}; add it there or drop its params",
                              source, f"run.logger_params.{name}")
    return built


class _Guarded(MetricLogger):
    """Drops a tracker that raises while logging (one warning) instead of stopping the training."""

    def __init__(self, name: str, inner: MetricLogger):
        self.name, self.inner, self.alive = name, inner, True

    def _fail(self, what: str, exc: BaseException) -> None:
        self.alive = False
        warnings.warn(f"logger {self.name!r} failed while {what} and is off for the rest of the run: "
                      f"{type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=3)

    def log(self, iteration: int, scalars: Mapping[str, float]) -> None:
        if self.alive:
            try:
                self.inner.log(iteration, scalars)
            except Exception as exc:
                self._fail(f"logging iteration {iteration}", exc)

    def close(self) -> None:
        if self.alive:
            try:
                self.inner.close()
            except Exception as exc:
                self._fail("closing", exc)


def open_loggers(ctx: Any, start_iteration: int = 0, skip: Sequence[str] = ()) -> List[MetricLogger]:
    """Build the trackers ``ctx.config`` selects (except those in ``skip``), in order; a tracker that cannot start
    (missing package, bad URI) is an error here, before the first iteration."""
    from .config import build_dataclass
    from .plugins import get_registry

    run = ctx.config.get("run") or {}
    params: Mapping[str, Any] = run.get("logger_params") or {}
    opened: List[MetricLogger] = []
    try:
        for name in run_loggers(ctx.config):
            if name in skip:
                continue
            registration = get_registry().get("loggers", name)
            built: Optional[Any] = None
            if registration.params is not None:
                built = build_dataclass(registration.params, params.get(name) or {}, f"run.logger_params.{name}",
                                        "<run config>")
            try:
                tracker = registration.factory(built, ctx, start_iteration)
            except FastEmbodyError:
                raise
            except Exception as exc:
                raise FastEmbodyError(f"logger {name!r} ({registration.plugin}) could not start: "
                                      f"{type(exc).__name__}: {exc}") from exc
            opened.append(_Guarded(name, tracker))
    except BaseException:
        for tracker in opened:
            tracker.close()
        raise
    return opened
