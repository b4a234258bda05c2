"""Parameters of the Isaac Gym envs (``isaac`` and ``go2-isaac``), as plain data (torch- and Isaac-free).

``cfg_overrides`` changes fields of the legged_gym env cfg by dotted name (``"rewards.scales.torques"``,
``"env.episode_length_s"``, ``"control.stiffness.joint"``). Names are checked for shape here and against the
task's real cfg object when the env is built (:func:`apply_cfg_overrides`); values are plain YAML/JSON data,
never eval'd.
"""
import copy
import difflib
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from fastembody_core import ConfigError

from ..task_params import check_course
from ..terrain.course_specs import CourseName
from ..terrain.params import TerrainParams
from .terrain import check_overrides_agree, terrain_cfg_settings

TASKS_OF_UNITREE_RL_GYM = ("go2", "g1", "h1", "h1_2")
"""The tasks unitree_rl_gym registers in legged_gym's task registry (any registered name is accepted)."""

_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESERVED = {
    "env.num_envs": "num_envs",
    "seed": "seed",
}
"""cfg fields that have their own parameter (so a config cannot set them twice)."""


@dataclass
class IsaacCommonParams:
    """An Isaac Gym legged_gym task, created through ``legged_gym.utils.task_registry.make_env``."""

    num_envs: int = 4096
    """Number of parallel envs (legged_gym --num_envs; cfg.env.num_envs)."""
    sim_device: Optional[str] = None
    """Isaac Gym simulation device, "cuda:N" (GPU PhysX and GPU tensor pipeline) or "cpu" (legged_gym
    --sim_device); default: the run's ``device`` (cuda -> cuda:0)."""
    rl_device: Optional[str] = None
    """Device of the tensors handed to the algorithm (legged_gym --rl_device); default: the run's ``device``."""
    headless: bool = True
    """Run without the Isaac Gym viewer window."""
    seed: Optional[int] = None
    """Seed legged_gym's set_seed uses when it creates the env (-1: a random one, as in legged_gym);
    default: the run's ``seed`` + rank."""
    cfg_overrides: Dict[str, Any] = field(default_factory=dict)
    """legged_gym env cfg fields to change, by dotted name, e.g. {"rewards.scales.torques": -0.0001,
    "env.episode_length_s": 10}; nested mappings are read as dotted names too."""

    def __post_init__(self) -> None:
        if isinstance(self.num_envs, bool) or int(self.num_envs) < 1:
            raise ConfigError(f"must be an integer >= 1, got {self.num_envs!r}", key="num_envs")
        for key in ("sim_device", "rl_device"):
            value = getattr(self, key)
            if value is not None and not _DEVICE.match(str(value)):
                raise ConfigError(f"unknown device {value!r}; use cpu, cuda or cuda:N", key=key)
        if self.seed is not None and self.seed < -1:
            raise ConfigError(f"must be >= 0, or -1 for a random seed, got {self.seed}", key="seed")
        self.cfg_overrides = flatten_overrides(self.cfg_overrides)


@dataclass
class IsaacParams(IsaacCommonParams):
    """Any task of legged_gym's task registry (unitree_rl_gym registers go2, g1, h1 and h1_2)."""

    task: str = "go2"
    """Name of the task in legged_gym's task registry (legged_gym --task): go2, g1, h1, h1_2, ..."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.task, str) or not _NAME.match(self.task):
            raise ConfigError(
                f"expected a task name of legged_gym's task registry such as {', '.join(TASKS_OF_UNITREE_RL_GYM)}, "
                f"got {self.task!r}",
                key="task",
            )


@dataclass
class Go2IsaacParams(IsaacCommonParams):
    """unitree_rl_gym's Go2 task (``go2``: GO2RoughCfg, flat ground, 48 observations, 12 joint targets).

    ``terrain`` is the ground block go2-toy and go2-mujoco take. ``type: flat`` (the default) leaves the task's cfg
    as registered. ``type: rough`` sets legged_gym's terrain cfg from it (trimesh, the terrain curriculum, height
    measurements, ``env.num_observations`` = 48 + scan points; the table is in :mod:`.terrain`) when the env is
    built, before the task is made and before ``cfg_overrides``.

    Precedence: the terrain block and ``cfg_overrides`` never disagree silently. A cfg_override of a field the
    terrain block sets (``terrain.num_rows``, ``terrain.terrain_proportions``, ``env.num_observations``, ...) must
    set the same value, or the config stops with a ConfigError naming both (``env.params.cfg_overrides.<field>`` and
    ``env.params.terrain.<field>``); fields the terrain block does not set (``terrain.static_friction``,
    ``terrain.dynamic_friction``, ``terrain.restitution``, rewards, noise, ...) are
    free to override. With ``type: flat`` every cfg_override applies as before, legged_gym's terrain fields
    included. Terrain settings legged_gym cannot represent (flat tiles, unequal smooth up/down weights, a
    difficulty range other than 0..1, non-square tiles, ...) are a ConfigError naming the ``terrain`` key.
    """

    terrain: TerrainParams = field(default_factory=TerrainParams)
    """The ground: ``flat`` (the task's own ground plane) or ``rough`` (legged_gym's trimesh terrain grid with
    the curriculum and the height scan in the observation; see :mod:`fastembody_go2.isaac.terrain`)."""
    course: Optional[CourseName] = None
    """Run one fixed evaluation course (``fastembody eval --courses`` sets it): the same course array as go2-toy
    and go2-mujoco as legged_gym's trimesh, the command (0.5, 0, 0), 20 s episodes, no pushes;
    ``extras["episode"]`` then holds ``course_success`` and ``course_progress`` (see
    :mod:`fastembody_go2.isaac.courses` for what differs from the other Go2 envs). The observation layout stays the
    one ``terrain.type`` gives."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_course(self.course)
        if isinstance(self.terrain, Mapping):  # plain data (built by hand): validate it the same way
            try:
                self.terrain = TerrainParams(**self.terrain)
            except ConfigError as exc:
                raise ConfigError(exc.detail, key=f"terrain.{exc.key}" if exc.key else "terrain") from None
            except TypeError as exc:
                raise ConfigError(str(exc), key="terrain") from None
        if not isinstance(self.terrain, TerrainParams):
            raise ConfigError(f"expected a terrain block (a mapping), got {self.terrain!r}", key="terrain")
        # representable in legged_gym, and no cfg_override contradicts it: checked here, before anything runs
        check_overrides_agree(terrain_cfg_settings(self.terrain), self.cfg_overrides)


def flatten_overrides(overrides: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """``{"rewards": {"scales": {"torques": x}}}`` and ``{"rewards.scales.torques": x}`` -> the dotted form.

    Raises ConfigError (key ``cfg_overrides.<name>``) for a name that is not a dotted identifier or that
    belongs to a parameter of its own (``env.num_envs`` -> ``num_envs``, ``seed`` -> ``seed``).
    """
    if not isinstance(overrides, Mapping):
        raise ConfigError(f"expected a mapping of dotted cfg names to values, got {type(overrides).__name__}",
                          key="cfg_overrides")
    flat: Dict[str, Any] = {}
    for raw_key, value in overrides.items():
        name = f"{prefix}.{raw_key}" if prefix else str(raw_key)
        parts = name.split(".")
        if not all(_NAME.match(part) for part in parts):
            raise ConfigError(
                "expected a dotted legged_gym cfg name such as rewards.scales.torques (letters, digits and _, "
                "not starting with _)",
                key=f"cfg_overrides.{name}",
            )
        if name in _RESERVED:
            raise ConfigError(f"set the env parameter {_RESERVED[name]!r} instead", key=f"cfg_overrides.{name}")
        if isinstance(value, Mapping) and value:
            flat.update(flatten_overrides(value, name))
        else:
            flat[name] = copy.deepcopy(value)
    return flat


# -- applied to the real cfg object at build time -------------------------------------------------------
def _members(node: Any) -> List[str]:
    if isinstance(node, Mapping):
        return [str(k) for k in node]
    return [n for n in dir(node) if not n.startswith("_") and not inspect.isroutine(getattr(node, n, None))]


def _is_section(node: Any) -> bool:
    """A legged_gym cfg section: an instance (or class) of a plain config class, not a value."""
    return not isinstance(node, (type(None), bool, int, float, str, list, tuple, dict)) and hasattr(node, "__dict__")


def _convert(current: Any, value: Any, name: str) -> Any:
    """``value`` in the type of the field it replaces (ints for floats, "3e-4" strings YAML 1.1 leaves)."""
    key = f"cfg_overrides.{name}"
    if current is None or value is None:
        return value
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(current, (int, float)):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(f"expected a number like {current!r}, got {value!r}", key=key) from None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # legged_gym writes 20 for 20.0: a fractional value replaces an int field as a float
            if isinstance(current, int) and not float(value).is_integer():
                return float(value)
            return type(current)(value)
    elif isinstance(current, str):
        if isinstance(value, str):
            return value
    elif isinstance(current, (list, tuple)):
        if isinstance(value, (list, tuple)):
            return type(current)(value)
    elif isinstance(current, dict):
        if isinstance(value, Mapping):
            return dict(value)
    else:
        return value
    raise ConfigError(f"expected {type(current).__name__} like {current!r}, got {type(value).__name__} {value!r}",
                      key=key)


def apply_cfg_overrides(cfg: Any, overrides: Mapping[str, Any], task: str) -> None:
    """Set each dotted field of the legged_gym cfg ``cfg`` (in place); unknown names are a ConfigError."""
    for name, value in overrides.items():
        parts = name.split(".")
        node = cfg
        for depth, part in enumerate(parts):
            members = _members(node)
            if part not in members:
                where = ".".join(parts[:depth]) or "the cfg"
                near = difflib.get_close_matches(part, members, n=1, cutoff=0.6)
                hint = f"; did you mean {'.'.join(parts[:depth] + [near[0]])!r}?" if near else (
                    f"; {where} has: {', '.join(sorted(members))}" if members else "")
                raise ConfigError(f"legged_gym task {task!r} has no cfg field {name!r}{hint}",
                                  key=f"cfg_overrides.{name}")
            if depth == len(parts) - 1:
                break
            node = node[part] if isinstance(node, Mapping) else getattr(node, part)
        last = parts[-1]
        current = node[last] if isinstance(node, Mapping) else getattr(node, last)
        if _is_section(current):
            raise ConfigError(f"{name!r} is a cfg section, not a value; name one of its fields: "
                              f"{', '.join(sorted(_members(current)))}", key=f"cfg_overrides.{name}")
        new = _convert(current, value, name)
        if isinstance(node, Mapping):
            node[last] = new  # type: ignore[index]
        else:
            setattr(node, last, new)
