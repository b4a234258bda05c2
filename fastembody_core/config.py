"""Experiment configs: one schema read from YAML or JSON, ``--set`` overrides, validation against the
dataclass each plugin registered, with errors that name the file, the dotted key and the nearest valid key.

Values are parsed with ``yaml.safe_load`` / ``json`` only; nothing from a config or ``--set`` is eval'd.
"""
import collections.abc
import dataclasses
import difflib
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import yaml

from .config_io import StrictYAMLError, check_size, load_yaml, parse_text, read_text, short_repr
from .errors import ConfigError, FastEmbodyError

RESOLVED_CONFIG_NAME = "config.resolved.yaml"


@dataclass
class ComponentConfig:
    """An env, algorithm or trainer: its registered name and its validated params dataclass instance."""

    name: str
    params: Any = None


@dataclass
class RunSettings:
    """Where runs go: ``<root>/<experiment name>/<timestamp>`` unless ``--run-dir`` is given."""

    root: str = "runs"
    """Parent folder of run directories."""
    preview: bool = False
    """After training, write ``learning_curves.png`` and ``preview.mp4`` (the trained policy in one env, for envs
    with ``render()``) into the run dir and print their paths and the next commands."""
    preview_seconds: float = 8.0
    """Length of the preview video."""
    preview_command: Optional[List[float]] = None
    """``[vx, vy, yaw_rate]`` held during the preview (envs with ``set_command``); none: the env's own commands."""
    loggers: List[str] = field(default_factory=lambda: ["tensorboard"])
    """Experiment trackers by registered name (``fastembody list loggers``), e.g. ``[tensorboard, wandb]``."""
    logger_params: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    """Each tracker's params by name, e.g. ``{wandb: {project: go2}}`` (checked against what it registered)."""
    tags: Dict[str, str] = field(default_factory=dict)
    """Labels trackers attach to the run (a sweep sets ``sweep``, ``trial`` and ``seed``)."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.preview_seconds) and self.preview_seconds > 0):
            raise ConfigError(f"must be a finite number > 0, got {self.preview_seconds}", key="preview_seconds")
        command = self.preview_command
        if command is not None and (len(command) != 3 or not all(math.isfinite(float(c)) for c in command)):
            raise ConfigError(f"expected three finite numbers [vx, vy, yaw_rate], got {command}", key="preview_command")


@dataclass
class ExperimentConfig:
    """A whole experiment, validated; ``to_dict()`` is what ``config.resolved.yaml`` holds."""

    name: str
    env: ComponentConfig
    algorithm: ComponentConfig
    trainer: ComponentConfig = field(default_factory=lambda: ComponentConfig("on-policy"))
    seed: int = 0
    device: str = "cpu"
    run: RunSettings = field(default_factory=RunSettings)
    source: str = ""
    """The file it was read from (not part of the resolved config)."""

    def to_dict(self) -> Dict[str, Any]:
        """The resolved config as plain data (lists, dicts, numbers, strings)."""
        return {
            "name": self.name,
            "seed": self.seed,
            "device": self.device,
            "env": _component_dict(self.env),
            "algorithm": _component_dict(self.algorithm),
            "trainer": _component_dict(self.trainer),
            "run": to_plain(self.run),
        }


TOP_LEVEL_KEYS = ("name", "seed", "device", "env", "algorithm", "trainer", "run")
COMPONENT_KEYS = ("name", "params")
_KINDS = {"env": "envs", "algorithm": "algorithms", "trainer": "trainers"}


def _component_dict(component: ComponentConfig) -> Dict[str, Any]:
    return {"name": component.name, "params": to_plain(component.params) if component.params is not None else {}}


def to_plain(value: Any) -> Any:
    """Dataclasses, tuples and paths -> dicts, lists and strings (YAML/JSON/weights_only-safe)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


# -- reading ------------------------------------------------------------------------------------------
def read_config_file(path: Union[str, Path]) -> Dict[str, Any]:
    """Read a YAML or JSON file into a dict (strict safe YAML, see ``config_io``; JSON by extension)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("file not found", source=str(path))
    data = parse_text(read_text(path), str(path), as_json=path.suffix.lower() == ".json")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping at the top level, got {type(data).__name__}", source=str(path))
    return data


def parse_override(text: str) -> Tuple[List[str], Any]:
    """``"a.b.c=value"`` -> (["a", "b", "c"], value parsed as a YAML scalar/list/dict, never eval'd)."""
    if "=" not in text:
        raise ConfigError(f"--set {short_repr(text)}: expected KEY=VALUE, e.g. algorithm.params.learning_rate=3e-4")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in parts):
        raise ConfigError(f"--set {short_repr(text)}: empty key")
    try:
        value = load_yaml(raw) if raw.strip() else ""
    except StrictYAMLError as exc:
        raise ConfigError(f"--set {key.strip()}: {exc.problem}") from None
    except yaml.YAMLError:
        value = raw
    check_size(value, f"--set {key.strip()}")
    return parts, value


def apply_overrides(data: Dict[str, Any], overrides: Sequence[str]) -> Dict[str, Any]:
    """Apply ``--set`` overrides to raw config data (in place) and return it."""
    for text in overrides:
        parts, value = parse_override(text)
        node: Any = data
        for i, part in enumerate(parts[:-1]):
            child = node.get(part) if isinstance(node, dict) else None
            if child is None:
                child = {}
                node[part] = child
            elif not isinstance(child, dict):
                raise ConfigError(f"--set {text!r}: {'.'.join(parts[: i + 1])} is not a mapping")
            node = child
        node[parts[-1]] = value
    return data


def load_experiment(path: Union[str, Path], overrides: Sequence[str] = ()) -> "ExperimentConfig":
    """Read, override and validate an experiment config file (a run dir's resolved config works too)."""
    path = Path(path)
    if path.is_dir():
        path = path / RESOLVED_CONFIG_NAME
    data = apply_overrides(read_config_file(path), overrides)
    return experiment_from_dict(data, source=str(path))


def experiment_from_dict(data: Mapping[str, Any], source: str = "<config>") -> ExperimentConfig:
    """Validate raw config data against the schema and the registered params dataclasses."""
    from .plugins import get_registry

    _check_keys(data, TOP_LEVEL_KEYS, "", source)
    for required in ("name", "env", "algorithm"):
        if required not in data:
            raise ConfigError("missing required key", source=source, key=required)
    name = check_name(_coerce(data["name"], str, "name", source), source)
    seed = _coerce(data.get("seed", 0), int, "seed", source)
    device = check_device_name(_coerce(data.get("device", "cpu"), str, "device", source), source)
    registry = get_registry()
    components = {}
    for section, kind in _KINDS.items():
        raw = data.get(section, {"name": "on-policy"} if section == "trainer" else None)
        if isinstance(raw, str):
            raw = {"name": raw}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"expected a mapping with 'name' and 'params', got {type(raw).__name__}", source, section)
        _check_keys(raw, COMPONENT_KEYS, section, source)
        if "name" not in raw:
            raise ConfigError("missing required key", source=source, key=f"{section}.name")
        comp_name = _coerce(raw["name"], str, f"{section}.name", source)
        registration = registry.get(kind, comp_name, source=f"{source}: {section}.name")
        params_raw = raw.get("params") or {}
        if not isinstance(params_raw, Mapping):
            raise ConfigError(f"expected a mapping, got {type(params_raw).__name__}", source, f"{section}.params")
        params = None
        if registration.params is not None:
            params = build_dataclass(registration.params, params_raw, f"{section}.params", source)
        elif params_raw:
            raise ConfigError(f"{section} {comp_name!r} takes no params", source, f"{section}.params")
        components[section] = ComponentConfig(comp_name, params)
    run = build_dataclass(RunSettings, data.get("run") or {}, "run", source)
    from .loggers import check_loggers

    run.logger_params.update(check_loggers(run.loggers, run.logger_params, source))
    return ExperimentConfig(
        name=name,
        seed=seed,
        device=device,
        env=components["env"],
        algorithm=components["algorithm"],
        trainer=components["trainer"],
        run=run,
        source=source,
    )


# -- validation ---------------------------------------------------------------------------------------
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+=@-]{0,127}$")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:[0-9]+)?)$")
INT_BOUNDS = (-(2**63), 2**63 - 1)
"""Every int a config holds fits a signed 64-bit integer (what torch and NumPy take)."""


def check_name(name: str, source: str = "<config>") -> str:
    """An experiment name is one path component under ``run.root``: refuse '', '..', '/' and the like."""
    if not _NAME.match(name) or name in (".", ".."):
        raise ConfigError(f"must be a plain folder name of letters, digits and _ - . + = @ (no '/' or leading '.', "
                          f"at most 128 characters), got {short_repr(name)}; it becomes <run.root>/<name>/",
                          source, "name")
    return name


def check_device_name(device: str, source: str = "<config>") -> str:
    """The device is cpu, cuda, cuda:N, mps or auto (whether it exists here is checked when the run starts)."""
    if not _DEVICE.match(device):
        raise ConfigError(f"unknown device {short_repr(device)}; use cpu, cuda, cuda:N, mps or auto", source, "device")
    return device


def _check_keys(data: Mapping[str, Any], allowed: Sequence[str], prefix: str, source: str) -> None:
    for key in data:
        if key not in allowed:
            near = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.5)
            hint = f"; did you mean {_join(prefix, near[0])!r}?" if near else f"; valid keys: {', '.join(allowed)}"
            raise ConfigError(f"unknown key{hint}", source=source, key=_join(prefix, str(key)))


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def build_dataclass(cls: type, data: Mapping[str, Any], prefix: str, source: str) -> Any:
    """Instantiate dataclass ``cls`` from ``data``, checking keys and types; errors name ``prefix.key``."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a mapping, got {type(data).__name__}", source, prefix)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    _check_keys(data, list(fields), prefix, source)
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:  # a plugin's annotations that don't evaluate on this Python
        raise ConfigError(f"cannot read the annotations of {cls.__name__}: {exc}", source, prefix) from None
    kwargs = {}
    for fname, f in fields.items():
        key = _join(prefix, fname)
        if fname in data:
            kwargs[fname] = _coerce(data[fname], hints.get(fname, Any), key, source)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
            raise ConfigError("missing required key", source=source, key=key)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        key = _join(prefix, exc.key) if exc.key else prefix
        raise ConfigError(exc.detail, source=source, key=key) from None
    except FastEmbodyError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc), source=source, key=prefix) from None


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str, source: str) -> Any:
    """Check ``value`` against annotation ``tp``; accept what YAML means (``3e-4`` as a float)."""

    def fail() -> ConfigError:
        return ConfigError(f"expected {_type_name(tp)}, got {type(value).__name__} {short_repr(value)}", source, key)

    if tp is Any:
        return value
    origin = typing.get_origin(tp) if hasattr(typing, "get_origin") else getattr(tp, "__origin__", None)
    args = typing.get_args(tp) if hasattr(typing, "get_args") else getattr(tp, "__args__", ())
    if origin is Union:
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # Optional[X]: X's own message
            return _coerce(value, options[0], key, source)
        for arg in options:
            try:
                return _coerce(value, arg, key, source)
            except ConfigError:
                continue
        raise fail()
    if origin is typing.Literal:
        if value in args:
            return value
        raise ConfigError(f"expected one of {list(args)}, got {short_repr(value)}", source, key)
    if origin in (list, collections.abc.Sequence):
        if not isinstance(value, (list, tuple)):
            raise fail()
        item = args[0] if args else Any
        return [_coerce(v, item, f"{key}[{i}]", source) for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise fail()
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{key}[{i}]", source) for i, v in enumerate(value))
        if args and len(args) != len(value):
            raise ConfigError(f"expected {len(args)} values, got {len(value)}", source, key)
        return tuple(_coerce(v, a, f"{key}[{i}]", source) for i, (v, a) in enumerate(zip(value, args or [Any] * len(value))))
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, Mapping):
            raise fail()
        ktp, vtp = args if args else (Any, Any)
        return {_coerce(k, ktp, key, source): _coerce(v, vtp, f"{key}.{k}", source) for k, v in value.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return build_dataclass(tp, value, key, source)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise fail()
    if tp is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise fail()
        if not INT_BOUNDS[0] <= value <= INT_BOUNDS[1]:
            raise ConfigError(f"{short_repr(value)} is out of range: integers must fit in 64 bits (|x| < 2**63)",
                              source, key)
        return value
    if tp is float:
        number = value
        if isinstance(value, str):  # PyYAML 1.1 reads 3e-4 as a string
            try:
                number = float(value)
            except ValueError:
                raise fail() from None
        elif not isinstance(value, (int, float)) or isinstance(value, bool):
            raise fail()
        try:
            number = float(number)
        except OverflowError:  # an int beyond float's range
            number = math.inf
        if not math.isfinite(number):
            raise ConfigError(f"expected a finite number, got {short_repr(value)}", source, key)
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        raise fail()
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise fail()
    return value


def write_resolved(experiment: ExperimentConfig, run_dir: Path) -> Path:
    """Write ``config.resolved.yaml`` into the run directory (what ``fastembody run`` can repeat exactly)."""
    from .resources import atomic_write

    run_dir.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(experiment.to_dict(), sort_keys=False)
    return atomic_write(run_dir / RESOLVED_CONFIG_NAME, lambda f: f.write(text.encode("utf-8")), what="resolved config")
