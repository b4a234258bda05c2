"""Fixed evaluation courses: one straight strip per terrain feature, crossed in +x at 0.5 m/s.

Each course is a one-tile ``Terrain`` (``num_rows = num_cols = 1``) whose strip covers x in [0, COURSE_LENGTH_M),
y in [0, COURSE_WIDTH_M). The robot spawns at ``tile_origins[0, 0]`` = (COURSE_START_M, COURSE_WIDTH_M / 2, 0)
facing +x; the feature spans x in [FEATURE_START_M, FEATURE_END_M) and the ground beyond it stays at the
feature's end height. The stair/slope profile is the same at every y (the border included), so there is no
drop at the strip's sides; noise and obstacles lie on the strip only. Success = the base gets
COURSE_SUCCESS_DISTANCE_M further along x than the spawn point within COURSE_TIME_LIMIT_S without a fall.
Random parts (rough noise, obstacles) use the fixed COURSE_SEED, so a course is the same array everywhere.
"""
import dataclasses
import math
from typing import Any, NamedTuple, Optional, Tuple, Union

import torch

from fastembody_core import ConfigError

from . import tiles
from .field import Terrain
from .generator import OBSTACLE_HEIGHT, SLOPE_PER_DIFFICULTY, STEP_HEIGHT
from .course_specs import (COURSE_BORDER_M, COURSE_LENGTH_M, COURSE_SEED, COURSE_SPECS, COURSE_START_M,
                           COURSE_WIDTH_M, COURSES, FEATURE_END_M, FEATURE_START_M, STAIR_TREAD_M, CourseSpec)
from .course_specs import COURSE_COMMAND_VX, COURSE_SUCCESS_DISTANCE_M, COURSE_TIME_LIMIT_S  # noqa: F401 (re-exported)
from .params import SLOPE_THRESHOLD, TILE_TYPES
from .spawn import SpawnSpec


def _tile_type(spec: CourseSpec) -> str:
    if spec.feature == "stairs":
        return "stairs_up" if spec.direction > 0 else "stairs_down"
    if spec.feature == "slope":
        return "smooth_slope_up" if spec.direction > 0 else "smooth_slope_down"
    return "rough_slope" if spec.feature == "rough_slope" else "discrete_obstacles"


def _difficulty(spec: CourseSpec) -> float:
    """The legged_gym difficulty whose tile has this feature size (for reference, clipped to [0, 1])."""
    if spec.feature == "stairs":
        value = (spec.size - STEP_HEIGHT[0]) / STEP_HEIGHT[1]
    elif spec.feature == "obstacles":
        value = (spec.size - OBSTACLE_HEIGHT[0]) / OBSTACLE_HEIGHT[1]
    else:
        value = math.tan(math.radians(spec.size)) / SLOPE_PER_DIFFICULTY
    return min(max(value, 0.0), 1.0)


def _profile_units(spec: CourseSpec, cells_x: int, feature0: int, feature1: int, hs: float, vs: float) -> torch.Tensor:
    """[cells_x] int32 height units along x of the stairs or (clean) slope; zeros for obstacles."""
    index = torch.arange(cells_x)
    if spec.feature == "stairs":
        tread = tiles.whole(STAIR_TREAD_M, hs)
        step = (index.clamp(max=feature1 - 1) - feature0) // tread + 1
        return (step.clamp(min=0) * tiles.whole(spec.size, vs) * spec.direction).to(torch.int32)
    if spec.feature in ("slope", "rough_slope"):
        run = (index.to(torch.float64) - feature0 + 0.5).clamp(0.0, feature1 - feature0) * hs
        rise = spec.direction * math.tan(math.radians(spec.size)) * run
        return torch.round(rise / vs).to(torch.int32)
    return torch.zeros(cells_x, dtype=torch.int32)


def build_course(name: str, horizontal_scale: float = 0.1, vertical_scale: float = 0.005,
                 device: Optional[Union[str, torch.device]] = None,
                 slope_threshold: float = SLOPE_THRESHOLD) -> Terrain:
    """The course ``name`` (one of COURSES) as a one-tile Terrain (``slope_threshold``: the surface model's)."""
    if name not in COURSE_SPECS:
        raise ConfigError(f"unknown course {name!r}; courses: {', '.join(COURSES)}", key="courses")
    spec = COURSE_SPECS[name]
    hs, vs = horizontal_scale, vertical_scale
    border = tiles.whole(COURSE_BORDER_M, hs)
    length, width = tiles.whole(COURSE_LENGTH_M, hs), tiles.whole(COURSE_WIDTH_M, hs)
    feature0, feature1 = border + tiles.whole(FEATURE_START_M, hs), border + tiles.whole(FEATURE_END_M, hs)
    units = _profile_units(spec, length + 2 * border, feature0, feature1, hs, vs)[:, None]
    units = units.expand(-1, width + 2 * border).clone()
    generator = torch.Generator(device="cpu")
    generator.manual_seed(COURSE_SEED)
    strip = units[feature0:feature1, border:border + width]  # a view: edits land in ``units``
    if spec.feature == "rough_slope":
        pitch = max(1, int(round(tiles.NOISE_PITCH_M / hs)))
        strip += tiles.uniform_noise(strip.shape[0], strip.shape[1], tiles.whole(spec.noise, vs), pitch, generator)
    elif spec.feature == "obstacles":
        area = (FEATURE_END_M - FEATURE_START_M) * COURSE_WIDTH_M
        count = max(1, int(round(tiles.OBSTACLE_COUNT * area / 64.0)))  # legged_gym's density per 8 m x 8 m tile
        strip += tiles.discrete_obstacles(strip.shape[0], strip.shape[1], tiles.whole(spec.size, vs), 1.0 / hs,
                                          0, generator, count=count)
    spawn = torch.tensor([[[tiles.whole(COURSE_START_M, hs) * hs, width * hs / 2.0, 0.0]]], dtype=torch.float32)
    heights = units.to(torch.float32) * vs
    spawn[0, 0, 2] = heights[border + tiles.whole(COURSE_START_M, hs), border + width // 2]
    terrain = Terrain(
        heights=heights, horizontal_scale=hs, vertical_scale=vs, border=border,
        tile_length=length * hs, tile_width=width * hs, tile_origins=spawn,
        tile_types=torch.tensor([TILE_TYPES.index(_tile_type(spec))], dtype=torch.int64),
        tile_difficulty=torch.tensor([_difficulty(spec)], dtype=torch.float32), slope_threshold=slope_threshold)
    return terrain.to(device) if device is not None else terrain


def course_progress(terrain: Terrain, base_pos: torch.Tensor) -> torch.Tensor:
    """[N] distance along +x from the course's spawn point [m] (success once >= COURSE_SUCCESS_DISTANCE_M)."""
    return base_pos[:, 0] - terrain.tile_origins[0, 0, 0]


class CourseSetup(NamedTuple):
    """What a Go2 env changes to run the course its params name (``params.course``)."""

    params: Any
    """The env params for the course: COURSE_TIME_LIMIT_S episodes, no pushes, no curriculum, and the command
    COURSE_COMMAND_VX forward with the heading held along the course (heading target 0; legged_gym's heading
    controller, as in training), never resampled."""
    terrain: Terrain
    spawn: SpawnSpec
    """Spawn exactly at the course start, facing +x."""


def course_setup(params: Any, device: Optional[Union[str, torch.device]] = None) -> CourseSetup:
    """The course of a Go2 env's ``params.course`` (go2-toy's or go2-mujoco's params), at the params' scales."""
    randomization = dataclasses.replace(params.randomization, push_robots=False)
    commands = dataclasses.replace(
        params.commands, lin_vel_x=(COURSE_COMMAND_VX, COURSE_COMMAND_VX), lin_vel_y=(0.0, 0.0),
        ang_vel_yaw=(0.0, 0.0), heading=(0.0, 0.0), heading_command=True, standing_fraction=0.0, zero_below=0.0,
        resampling_time_s=COURSE_TIME_LIMIT_S + 1.0)
    terrain_params = dataclasses.replace(params.terrain, curriculum=False)
    params = dataclasses.replace(params, episode_length_s=COURSE_TIME_LIMIT_S, randomization=randomization,
                                 commands=commands, terrain=terrain_params)
    terrain = build_course(params.course, params.terrain.horizontal_scale, params.terrain.vertical_scale, device,
                           params.terrain.slope_threshold)
    return CourseSetup(params, terrain, SpawnSpec(xy_noise=0.0, yaw=0.0))


def course_outcome(terrain: Terrain, base_pos: torch.Tensor, fallen: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(crossed [N] bool, progress [N] m)`` of bases at ``base_pos`` [N, 3]: crossed = progress >=
    COURSE_SUCCESS_DISTANCE_M without a fall in this step (the env ends those episodes as successes)."""
    progress = course_progress(terrain, base_pos)
    return (progress >= COURSE_SUCCESS_DISTANCE_M) & ~fallen, progress


def course_episode_stats(ids: torch.Tensor, crossed: torch.Tensor, progress: torch.Tensor) -> dict:
    """The ``extras["episode"]`` entries of a course for the envs ``ids`` that just finished, one value per env
    (the contract's ``course_success``: 1.0 crossed, 0.0 not; ``course_progress`` in m)."""
    return {"course_success": crossed[ids].to(torch.float32), "course_progress": progress[ids].to(torch.float32)}
