"""The Go2 terrain params (``fastembody_go2.terrain.TerrainParams``) as legged_gym cfg settings (torch- and Isaac-free).

``go2-isaac`` takes the same ``terrain`` block as go2-toy and go2-mujoco. ``type: flat`` (the default) changes
nothing: the task keeps its registered cfg (unitree_rl_gym's Go2: a ground plane, 48 observations). ``type: rough``
becomes these legged_gym cfg fields, set when the env is built, before the task is made, on the same path as
``cfg_overrides``:

==========================================  ===============================================================
``env.params.terrain`` field                 legged_gym cfg field (value)
==========================================  ===============================================================
type: rough                                  terrain.mesh_type = "trimesh", terrain.selected = False,
                                             terrain.measure_heights = True
horizontal_scale, vertical_scale             terrain.horizontal_scale, terrain.vertical_scale
slope_threshold                              terrain.slope_treshold (sic)
border_size                                  terrain.border_size
tile_length, tile_width                      terrain.terrain_length, terrain.terrain_width (must be equal)
num_rows, num_cols                           terrain.num_rows, terrain.num_cols
curriculum                                   terrain.curriculum
max_init_level                               terrain.max_init_terrain_level = min(max_init_level, num_rows - 1)
proportions (normalised)                     terrain.terrain_proportions = [smooth_slope_up + smooth_slope_down,
                                             rough_slope, stairs_up, stairs_down, discrete_obstacles]
scan_x, scan_y                               terrain.measured_points_x, terrain.measured_points_y
len(scan_x) * len(scan_y)                    env.num_observations = the task's (48 for go2) + scan points
difficulty_min, difficulty_max               (must be 0 and 1: legged_gym's row i has difficulty i / num_rows)
platform_size, stair_tread, rough_noise,     (fixed in legged_gym's code: 3 m, 0.31 m, 0.05 m, 0.5 m, 1 m; other
scan_offset, scan_clip                       values cannot be represented)
max_cells                                    (our memory guard; legged_gym has none)
==========================================  ===============================================================

legged_gym reads ``terrain_proportions`` as cumulative bins: a column j takes the first bin whose running sum
exceeds ``j / num_cols + 0.001`` (every tile gets a uniform draw without the curriculum). Its first bin is one
smooth-slope share, split in half: choices below half of it get a negative slope (a pit, which robots climb out
of: our ``smooth_slope_up``), the rest a positive one (a hill: ``smooth_slope_down``). Stairs are two bins,
negative steps first (``stairs_up``). Bins after the fifth are stepping stones, gaps and pits, and nothing in
legged_gym builds a flat tile. So a set of proportions is representable only with ``flat: 0`` and equal smooth
up/down weights; anything else is a :class:`ConfigError` naming the key. With the default proportions the columns
come out exactly as go2-toy's and go2-mujoco's (``fastembody_go2.terrain.generator.column_types``).

Differences that remain (documented, not errors):

* The height field is not the same array as go2-toy's / go2-mujoco's. legged_gym generates it with isaacgym's
  ``terrain_utils`` from NumPy's global random state, which its ``set_seed`` seeds with the env seed (the run's
  ``seed`` + rank) right before the task is made, so it is deterministic per seed; the tile types, proportions,
  column layout, per-row difficulties and formulas (slope 0.4 d, steps 0.05 + 0.18 d on 0.31 m treads,
  obstacles 0.05 + 0.2 d) are the same, but the random tiles (rough-slope noise, obstacle placement) differ, and
  isaacgym's pyramid slope is a product of two tents where ours has planar faces.
* ``curriculum: false``: legged_gym then draws every tile's type from the same proportions and its difficulty from
  {0.5, 0.75, 0.9} at random (its ``randomized_terrain``) instead of rows of rising difficulty, and spawns robots
  on any row; ours keeps the rows.
* legged_gym's observation noise covers heights 48..234 only (hard-coded); a scan of more than 187 points gets no
  noise on the extra points.
* ``env.num_privileged_obs`` is left as the task has it (None for go2, so the critic reads the same 48 + scan
  values): legged_gym's ``LeggedRobot`` appends the heights to ``obs_buf`` only, and a privileged observation is
  a task subclass's own layout.

legged_gym's ``LeggedRobot`` must have its terrain code (``_create_trimesh``, ``_get_heights``,
``_update_terrain_curriculum``, ...): leggedrobotics/legged_gym's has it, but unitree_rl_gym's fork (which
registers ``go2``) builds a ground plane whatever ``terrain.mesh_type`` says and never measures heights, so the
env refuses ``type: rough`` there with one line (:func:`missing_terrain_support`) instead of training on flat
ground with the wrong observation width.
"""
import math
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from fastembody_core import ConfigError

from ..terrain.params import TerrainParams

PROPRIOCEPTIVE_OBSERVATIONS = 48
"""Width of legged_gym's ``LeggedRobot`` observation without heights for 12 joints (go2's ``num_observations``)."""
LEGGED_GYM_BINS = ("smooth slope", "rough slope", "stairs up", "stairs down", "discrete obstacles")
"""legged_gym's five ``terrain_proportions`` entries, in order."""
TERRAIN_METHODS = ("_create_trimesh", "_init_height_points", "_get_heights", "_update_terrain_curriculum")
"""Methods of leggedrobotics/legged_gym's ``LeggedRobot`` that build and use the terrain (unitree_rl_gym's has
none of them)."""

_PLATFORM_M = 3.0
_STAIR_TREAD_M = 0.31
_ROUGH_NOISE_M = 0.05
_SCAN_OFFSET_M = 0.5
_SCAN_CLIP_M = 1.0

SOURCES: Dict[str, str] = {
    "terrain.mesh_type": "type",
    "terrain.selected": "type",
    "terrain.measure_heights": "type",
    "terrain.curriculum": "curriculum",
    "terrain.horizontal_scale": "horizontal_scale",
    "terrain.vertical_scale": "vertical_scale",
    "terrain.slope_treshold": "slope_threshold",
    "terrain.border_size": "border_size",
    "terrain.terrain_length": "tile_length",
    "terrain.terrain_width": "tile_width",
    "terrain.num_rows": "num_rows",
    "terrain.num_cols": "num_cols",
    "terrain.max_init_terrain_level": "max_init_level",
    "terrain.terrain_proportions": "proportions",
    "terrain.measured_points_x": "scan_x",
    "terrain.measured_points_y": "scan_y",
    "env.num_observations": "scan_x/scan_y",
}
"""legged_gym cfg field -> the ``terrain`` field it is set from (what a contradicting cfg_override is told)."""


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _cells(length: float, scale: float) -> int:
    """legged_gym's (and isaacgym's) conversion of a length to cells or units: ``int(length / scale)``."""
    return int(length / scale)


def _whole(length: float, scale: float) -> int:
    """Ours (``fastembody_go2.terrain.tiles.whole``): truncation with an epsilon against float error."""
    return int(math.floor(length / scale + 1e-6))


def legged_gym_proportions(terrain: TerrainParams) -> List[float]:
    """legged_gym's ``terrain_proportions`` for our (normalised) proportions; ConfigError if not representable."""
    weights = terrain.proportions
    total = sum(weights.values())
    share = {name: weight / total for name, weight in weights.items()}
    if share["flat"] > 0.0:
        raise ConfigError(
            f"legged_gym has no flat tiles (got a weight of {weights['flat']:g}): its terrain_proportions bins are "
            f"{', '.join(LEGGED_GYM_BINS)}, then stepping stones, gaps and pits; set it to 0 for go2-isaac "
            f"(go2-toy and go2-mujoco build flat tiles)", key="terrain.proportions.flat")
    up, down = share["smooth_slope_up"], share["smooth_slope_down"]
    if not _close(up, down):
        raise ConfigError(
            f"legged_gym has one smooth-slope share and splits it in half (the first half of its columns slope up, "
            f"the second down), so smooth_slope_up ({weights['smooth_slope_up']:g}) must equal smooth_slope_down "
            f"({weights['smooth_slope_down']:g})", key="terrain.proportions.smooth_slope_up")
    return [up + down, share["rough_slope"], share["stairs_up"], share["stairs_down"], share["discrete_obstacles"]]


def _check_representable(terrain: TerrainParams) -> None:
    """ConfigError (key ``terrain.<field>``) for the first field legged_gym cannot reproduce."""
    for name, value in (("difficulty_min", 0.0), ("difficulty_max", 1.0)):
        if not _close(getattr(terrain, name), value):
            raise ConfigError(
                f"legged_gym's curriculum gives row i the difficulty i / num_rows (0 to (num_rows - 1) / num_rows), "
                f"so only difficulty_min 0 and difficulty_max 1 map onto it, got {getattr(terrain, name):g}",
                key=f"terrain.{name}")
    if not _close(terrain.tile_length, terrain.tile_width):
        raise ConfigError(
            f"legged_gym builds every tile as a square of terrain_width (its make_terrain passes the width as the "
            f"length), so tile_width must equal tile_length {terrain.tile_length:g}, got {terrain.tile_width:g}",
            key="terrain.tile_width")
    hs, vs = terrain.horizontal_scale, terrain.vertical_scale
    ours = {"tile_length": terrain.tile_cells[0], "border_size": terrain.border_cells}
    for name, cells in ours.items():
        theirs = _cells(getattr(terrain, name), hs)
        if theirs != cells:
            raise ConfigError(
                f"legged_gym truncates {name} / horizontal_scale = {getattr(terrain, name) / hs!r} to {theirs} cells, "
                f"where this terrain has {cells}; choose sizes that divide exactly in floating point",
                key=f"terrain.{name}")
    fixed: Sequence[Tuple[str, int, int, str]] = (
        ("platform_size", _whole(terrain.platform_size, hs), _cells(_PLATFORM_M, hs),
         f"a {_PLATFORM_M:g} m platform"),
        ("stair_tread", _whole(terrain.stair_tread, hs), _cells(_STAIR_TREAD_M, hs),
         f"{_STAIR_TREAD_M:g} m treads ({_cells(_STAIR_TREAD_M, hs)} cells of {hs:g} m)"),
        ("rough_noise", _whole(terrain.rough_noise, vs), _cells(_ROUGH_NOISE_M, vs),
         f"+-{_ROUGH_NOISE_M:g} m rough-slope noise"),
    )
    for name, cells, theirs, what in fixed:
        if cells != theirs:
            raise ConfigError(f"legged_gym's make_terrain has {what} in its code, got {getattr(terrain, name):g}",
                              key=f"terrain.{name}")
    for name, value, where in (("scan_offset", _SCAN_OFFSET_M, "base_z - 0.5 - height"),
                               ("scan_clip", _SCAN_CLIP_M, "clip(..., -1, 1)")):
        if not _close(getattr(terrain, name), value):
            raise ConfigError(f"legged_gym's compute_observations hard-codes the height observation as {where}, so "
                              f"{name} must be {value:g}, got {getattr(terrain, name):g}", key=f"terrain.{name}")


def terrain_cfg_settings(terrain: TerrainParams,
                         base_observations: int = PROPRIOCEPTIVE_OBSERVATIONS) -> Dict[str, Any]:
    """The legged_gym cfg fields (dotted name -> value) that make its terrain ``terrain``; {} for ``type: flat``.

    ``base_observations`` is the task's ``env.num_observations`` without heights (48 for go2). Raises
    :class:`ConfigError` with key ``terrain.<field>`` when legged_gym cannot represent ``terrain``.
    """
    if terrain.type == "flat":
        return {}
    proportions = legged_gym_proportions(terrain)
    _check_representable(terrain)
    return {
        "terrain.mesh_type": "trimesh",
        "terrain.selected": False,
        "terrain.curriculum": bool(terrain.curriculum),
        "terrain.horizontal_scale": float(terrain.horizontal_scale),
        "terrain.vertical_scale": float(terrain.vertical_scale),
        "terrain.slope_treshold": float(terrain.slope_threshold),
        "terrain.border_size": float(terrain.border_size),
        "terrain.terrain_length": float(terrain.tile_length),
        "terrain.terrain_width": float(terrain.tile_width),
        "terrain.num_rows": int(terrain.num_rows),
        "terrain.num_cols": int(terrain.num_cols),
        "terrain.max_init_terrain_level": min(int(terrain.max_init_level), int(terrain.num_rows) - 1),
        "terrain.terrain_proportions": proportions,
        "terrain.measure_heights": True,
        "terrain.measured_points_x": [float(x) for x in terrain.scan_x],
        "terrain.measured_points_y": [float(y) for y in terrain.scan_y],
        "env.num_observations": int(base_observations) + terrain.num_scan_points,
    }


def _agree(value: Any, mapped: Any) -> bool:
    if isinstance(mapped, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(mapped, bool) and value == mapped
    if isinstance(mapped, (int, float)):
        try:
            return _close(float(value), float(mapped))
        except (TypeError, ValueError):
            return False
    if isinstance(mapped, (list, tuple)):
        return (isinstance(value, (list, tuple)) and len(value) == len(mapped)
                and all(_agree(v, m) for v, m in zip(value, mapped)))
    return bool(value == mapped)


def check_overrides_agree(settings: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
    """ConfigError (key ``cfg_overrides.<name>``, naming both) for a cfg_override that contradicts ``settings``.

    A cfg_override that sets a field the terrain block sets must set the same value (it is then redundant); fields
    the terrain block does not set (``terrain.static_friction``, ``terrain.restitution``, ...) are free.
    """
    for name, value in overrides.items():
        if name in settings and not _agree(value, settings[name]):
            source = SOURCES.get(name, "type")
            raise ConfigError(
                f"{value!r} contradicts env.params.terrain.{source}, which sets legged_gym's {name} to "
                f"{settings[name]!r}; change env.params.terrain (or drop this override): a cfg_override may not "
                f"contradict the terrain block", key=f"cfg_overrides.{name}")


def missing_terrain_support(task_class: Any) -> List[str]:
    """The :data:`TERRAIN_METHODS` that the legged_gym task class lacks ([] when it can build terrain)."""
    return [name for name in TERRAIN_METHODS if not callable(getattr(task_class, name, None))]
