"""The sweep file: a base experiment, a search space over dotted config keys, the metric, the budget.

::

    name: pointmass_lr                  # default: the file's stem; the sweep lives in <root>/<name>/
    base: pointmass_ppo.yaml            # an experiment config (relative to this file) or the config itself, inline
    set: [algorithm.params.schedule=fixed]        # fixed overrides, exactly as `fastembody run --set`
    space:                              # dotted config keys, the same keys (and checks) as --set
      algorithm.params.learning_rate: {type: float, low: 1.0e-5, high: 1.0e-2, log: true}
      algorithm.params.num_learning_epochs: {type: int, low: 2, high: 8}
      env.params.num_envs: [128, 256]   # a list: categorical
    metric: Train/mean_reward           # any scalar in metrics.jsonl, or eval/<key> of `fastembody eval` after training
    direction: maximize
    window: 1                           # iterations averaged into a run's value (1: its last iteration's value)
    trials: 16
    seeds: 1                            # runs per config (seed, seed+1, ...); the trial's value is their mean
    workers: 2
    pruning: {type: successive-halving} # first rung at a third of the run; compares means of 5 iterations
    nproc: 1                            # Ray: each run a torchrun job of nproc processes (trial reserves nproc CPUs)

Parsed and checked without torch or optuna: one line per bad key, naming this file and the key, before anything runs.
"""
import copy
import dataclasses
import difflib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from ..config import apply_overrides, build_dataclass, experiment_from_dict, read_config_file
from ..config_io import short_repr
from ..errors import ConfigError, FastEmbodyError

DISTRIBUTIONS = ("float", "int", "categorical")
ENGINES = ("optuna", "ray")
EVAL_PREFIX = "eval/"
WINDOW_DEFAULT = 5
"""Iterations the pruner averages by default (``pruning.window``; Ray Tune's ``last-5-avg``)."""
WARMUP_FALLBACK = 5
"""``pruning.warmup_iterations`` for a trainer without ``max_iterations``."""


class SweepError(FastEmbodyError):
    """A sweep cannot go on: a metric no run logs, a study file that is locked or corrupt, a cluster out of reach."""


@dataclass
class ParamSpec:
    """One dimension of the search space (Optuna's distributions)."""

    type: str
    """float, int or categorical."""
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    """Sample on a log scale (float and int; low > 0)."""
    step: Optional[float] = None
    """Discretisation step (not with log)."""
    choices: Optional[List[Any]] = None
    """The values of a categorical dimension."""

    def __post_init__(self) -> None:
        if self.type not in DISTRIBUTIONS:
            near = difflib.get_close_matches(str(self.type), DISTRIBUTIONS, n=1, cutoff=0.4)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise ConfigError(f"unknown distribution {short_repr(self.type)}; {hint}use float (log: true for "
                              f"log-uniform), int or categorical", key="type")
        if self.type == "categorical":
            if not self.choices:
                raise ConfigError("a categorical dimension needs a non-empty list of choices", key="choices")
            for key in ("low", "high", "step"):
                if getattr(self, key) is not None:
                    raise ConfigError(f"{key} is for float and int dimensions, not categorical", key=key)
            return
        if self.choices is not None:
            raise ConfigError(f"choices are for categorical dimensions, not {self.type}", key="choices")
        for key in ("low", "high"):
            if getattr(self, key) is None:
                raise ConfigError(f"a {self.type} dimension needs low and high", key=key)
        if self.type == "int":
            for key in ("low", "high", "step"):
                value = getattr(self, key)
                if value is not None and not float(value).is_integer():
                    raise ConfigError(f"an int dimension needs whole numbers, got {value}", key=key)
        if not self.low < self.high:  # type: ignore[operator]
            raise ConfigError(f"empty range: low {self.low:g} must be below high {self.high:g} (a single value "
                              f"belongs in set:)", key="high")
        if self.log and self.low <= 0:  # type: ignore[operator]
            raise ConfigError(f"a log range needs low > 0, got {self.low:g}", key="low")
        if self.step is not None:
            if self.log:
                raise ConfigError("step and log: true cannot be combined", key="step")
            if not (math.isfinite(self.step) and self.step > 0) or self.step > self.high - self.low:  # type: ignore
                raise ConfigError(f"step must be > 0 and fit in the range, got {self.step:g}", key="step")

    def probes(self) -> List[Any]:
        """Values that stand for the dimension when checking configs (the range's ends, every choice)."""
        if self.type == "categorical":
            return list(self.choices or [])
        cast = int if self.type == "int" else float
        return [cast(self.low), cast(self.high)]

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one the dimension can take (for ``initial`` configs)."""
        if self.type == "categorical":
            return value in (self.choices or [])
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.type == "int" and not float(value).is_integer():
            return False
        return self.low <= value <= self.high  # type: ignore[operator]


@dataclass
class PruningSpec:
    """Stopping poor trials early, from the metric they log each iteration."""

    type: str = "none"
    """none, median (Optuna's MedianPruner) or successive-halving; Ray Tune uses ASHA for either."""
    warmup_iterations: Optional[int] = None
    """No trial is stopped before this iteration (median: n_warmup_steps; successive halving: min_resource; ASHA:
    grace_period). Default: a third of the base config's ``trainer.params.max_iterations``."""
    startup_trials: int = 2
    """Median: trials that finish before any is stopped."""
    reduction_factor: int = 3
    """Successive halving / ASHA: keep 1 in reduction_factor at each rung."""
    metric: Optional[str] = None
    """The per-iteration scalar it watches (default: the sweep's metric; needed when that is an eval/ metric)."""
    window: int = WINDOW_DEFAULT
    """The pruner sees the mean of the watched metric's last ``window`` iterations (fewer at a run's start), not
    one iteration's value: one unlucky iteration does not stop a trial."""

    def __post_init__(self) -> None:
        kinds = ("none", "median", "successive-halving")
        if self.type not in kinds:
            near = difflib.get_close_matches(str(self.type), kinds, n=1, cutoff=0.4)
            raise ConfigError(f"unknown pruning {short_repr(self.type)}"
                              f"{'; did you mean ' + repr(near[0]) + '?' if near else ''} (none, median, "
                              f"successive-halving)", key="type")
        for key in ("warmup_iterations", "startup_trials"):
            if (getattr(self, key) or 0) < 0:
                raise ConfigError(f"must be >= 0, got {getattr(self, key)}", key=key)
        if self.reduction_factor < 2:
            raise ConfigError(f"must be >= 2, got {self.reduction_factor}", key="reduction_factor")
        if self.window < 1:
            raise ConfigError(f"must be >= 1 (1: each iteration's own value), got {self.window}", key="window")


@dataclass
class SamplerSpec:
    """How the next config is chosen."""

    type: str = "tpe"
    """tpe (Optuna's TPESampler; Ray Tune: through OptunaSearch) or random."""
    seed: int = 0
    """Sampler seed (each Optuna worker process adds its index)."""
    startup_trials: int = 5
    """TPE: random trials before the model takes over."""

    def __post_init__(self) -> None:
        if self.type not in ("tpe", "random"):
            raise ConfigError(f"unknown sampler {short_repr(self.type)} (tpe or random)", key="type")
        if self.startup_trials < 0:
            raise ConfigError(f"must be >= 0, got {self.startup_trials}", key="startup_trials")


@dataclass
class SweepFile:
    """The sweep file's schema (see the module docstring)."""

    base: Any
    space: Dict[str, Any]
    name: Optional[str] = None
    set: List[str] = field(default_factory=list)
    metric: str = "Train/mean_reward"
    direction: str = "maximize"
    """maximize or minimize."""
    reduce: str = "last"
    """How a run's metric series becomes one number: last (the final value), best or mean."""
    window: int = 1
    """Iterations averaged into each value of the metric before ``reduce`` (a trailing mean): with ``reduce: last``,
    the mean of the last ``window`` iterations (Ray Tune's ``last-5-avg`` scope for 5); 1: the values as logged."""
    trials: int = 10
    seeds: int = 1
    workers: int = 1
    engine: str = "optuna"
    root: str = "runs/sweeps"
    """The sweep's folder is <root>/<name>: study, trials/<n>/seed<k>/ run dirs, results."""
    pruning: PruningSpec = field(default_factory=PruningSpec)
    sampler: SamplerSpec = field(default_factory=SamplerSpec)
    initial: List[Dict[str, Any]] = field(default_factory=list)
    """Configs to try first (values for some or all space keys), e.g. the base config's own values."""
    eval_episodes: int = 10
    """Episodes of `fastembody eval` per run for an eval/ metric."""
    trial_cpus: float = 1.0
    """Ray: CPUs each trial (each of its processes, with nproc) reserves on the cluster."""
    nproc: int = 1
    """Ray: run each trial's runs as torchrun jobs of nproc processes on one node (as `fastembody run --nproc`)."""

    def __post_init__(self) -> None:
        for key, choices in (("direction", ("maximize", "minimize")), ("reduce", ("last", "best", "mean")),
                             ("engine", ENGINES)):
            if getattr(self, key) not in choices:
                raise ConfigError(f"expected one of {list(choices)}, got {short_repr(getattr(self, key))}", key=key)
        for key in ("trials", "seeds", "workers", "eval_episodes", "nproc", "window"):
            if getattr(self, key) < 1:
                raise ConfigError(f"must be >= 1, got {getattr(self, key)}", key=key)
        if not self.metric.strip():
            raise ConfigError("must name a logged scalar, e.g. Train/mean_reward", key="metric")
        if not (math.isfinite(self.trial_cpus) and self.trial_cpus > 0):
            raise ConfigError(f"must be > 0, got {self.trial_cpus}", key="trial_cpus")


@dataclass
class Sweep:
    """A validated sweep: everything an engine needs, as plain data (picklable for Ray)."""

    name: str
    source: str
    base: Dict[str, Any]
    """The base config with ``set`` applied (raw data, validated)."""
    base_source: str
    space: Dict[str, ParamSpec]
    file: SweepFile

    @property
    def dir(self) -> Path:
        return Path(self.file.root) / self.name

    @property
    def watch_metric(self) -> Optional[str]:
        """The per-iteration scalar pruning and intermediate reports follow (None for an eval/ metric alone)."""
        if self.file.pruning.metric:
            return self.file.pruning.metric
        return None if self.file.metric.startswith(EVAL_PREFIX) else self.file.metric

    def to_dict(self) -> Dict[str, Any]:
        """The sweep as resolved (written beside the study as sweep.resolved.yaml)."""
        out = dataclasses.asdict(self.file)
        out.update(name=self.name, base=self.base, space={k: dataclasses.asdict(v) for k, v in self.space.items()})
        return out


def override_text(key: str, value: Any) -> str:
    """``key=value`` as ``--set`` reads it (JSON is YAML: numbers, strings, lists keep their type)."""
    return f"{key}={json.dumps(value)}"


def config_with(base: Mapping[str, Any], params: Mapping[str, Any]) -> Dict[str, Any]:
    """A copy of ``base`` with ``params`` (dotted key -> value) applied through the ``--set`` machinery."""
    return apply_overrides(copy.deepcopy(dict(base)), [override_text(k, v) for k, v in params.items()])


def _space(raw: Any, source: str) -> Dict[str, ParamSpec]:
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError("expected a mapping of dotted config keys to dimensions, e.g. "
                          "algorithm.params.learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}",
                          source, "space")
    space = {}
    for key, spec in raw.items():
        key = str(key)
        if key == "seed":
            raise ConfigError("the seed is not searched: set seeds: N to run each config with N seeds", source,
                              "space.seed")
        if isinstance(spec, list):
            spec = {"type": "categorical", "choices": spec}
        space[key] = build_dataclass(ParamSpec, spec, f"space.{key}", source)
    return space


def _check_config(base: Mapping[str, Any], params: Mapping[str, Any], source: str, where: str) -> None:
    try:
        experiment_from_dict(config_with(base, params), source=source)
    except ConfigError as exc:
        mine = where.startswith("space.") and exc.key and (where[6:] + ".").startswith(exc.key + ".")
        key = f"space.{exc.key}" if mine else (f"{where}: {exc.key}" if exc.key else where)
        raise ConfigError(exc.detail, source, key) from None


def load_sweep(path: Union[str, Path], engine: Optional[str] = None, workers: Optional[int] = None) -> Sweep:
    """Read and check a sweep file: the base config, every fixed override, every search-space key at the ends of its
    range (and each choice), and the initial configs; a ConfigError names the file and key of the first problem."""
    path = Path(path)
    data = read_config_file(path)
    source = str(path)
    spec = build_dataclass(SweepFile, data, "", source)
    if engine is not None:
        spec.engine = engine
    if workers is not None:
        spec.workers = workers
    if spec.nproc > 1 and spec.engine != "ray":
        raise ConfigError(f"torchrun trials of {spec.nproc} processes need --engine ray (or engine: ray); the "
                          f"{spec.engine} engine runs each trial in one process", source, "nproc")
    name = spec.name or path.stem
    from ..config import check_name

    check_name(name, source)
    if isinstance(spec.base, str):
        base_path = (path.parent / spec.base) if not Path(spec.base).is_absolute() else Path(spec.base)
        base, base_source = read_config_file(base_path), str(base_path)
    elif isinstance(spec.base, Mapping):
        base, base_source = copy.deepcopy(dict(spec.base)), f"{source}: base"
    else:
        raise ConfigError("expected a config file's path or an inline config mapping", source, "base")
    for i, text in enumerate(spec.set):
        try:
            apply_overrides(base, [text])
        except ConfigError as exc:
            raise ConfigError(exc.detail if exc.key is None else f"{exc.key}: {exc.detail}", source,
                              f"set[{i}]") from None
    label = base_source if not spec.set else f"{base_source} (with {source} set:)"
    experiment = experiment_from_dict(base, source=label)
    if spec.pruning.warmup_iterations is None:
        iterations = getattr(experiment.trainer.params, "max_iterations", None)
        spec.pruning.warmup_iterations = max(1, int(iterations) // 3) if iterations else WARMUP_FALLBACK
    if spec.window > 1 and spec.metric.startswith(EVAL_PREFIX):
        raise ConfigError(f"{spec.metric} is measured once, after training; window averages a per-iteration metric "
                          f"(remove it, or set metric: to a logged scalar)", source, "window")
    space = _space(spec.space, source)
    for key, dim in space.items():
        for value in dim.probes():
            _check_config(base, {key: value}, source, f"space.{key}")
    for i, point in enumerate(spec.initial):
        for key, value in point.items():
            if key not in space:
                near = difflib.get_close_matches(str(key), list(space), n=1)
                raise ConfigError(f"not a space key{'; did you mean ' + repr(near[0]) + '?' if near else ''}",
                                  source, f"initial[{i}].{key}")
            if not space[key].contains(value):
                raise ConfigError(f"{short_repr(value)} is outside space.{key}", source, f"initial[{i}].{key}")
        _check_config(base, point, source, f"initial[{i}]")
    if spec.metric.startswith(EVAL_PREFIX) and spec.pruning.type != "none" and not spec.pruning.metric:
        raise ConfigError(f"{spec.metric} is measured after training; pruning needs a per-iteration scalar: set "
                          f"pruning.metric (e.g. Train/mean_reward)", source, "pruning.metric")
    return Sweep(name=name, source=source, base=base, base_source=base_source, space=space, file=spec)
