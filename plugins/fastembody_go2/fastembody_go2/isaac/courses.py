"""The evaluation courses on go2-isaac: the shared course arrays as legged_gym's terrain.

``course: <name>`` (as on go2-toy and go2-mujoco; ``fastembody eval --courses`` sets it) builds the course's height
field (``terrain.build_course``, the same array as the other Go2 envs) and gives it to legged_gym in place of its
generated grid. ``LeggedRobot.create_sim`` makes ``Terrain(cfg.terrain, num_envs)`` with the name bound in the
module that defines it; while the env is created that name is bound to :class:`CourseTerrain`
(:func:`course_terrain_installed`), which holds the course in legged_gym's units and meshes it with isaacgym's
``convert_heightfield_to_trimesh`` at the cfg's ``slope_treshold``, as legged_gym meshes its own terrain. The cfg
gets :func:`course_cfg_settings` after the user's cfg_overrides: a 1 x 1 grid without a curriculum, the command 0.5
m/s forward with the heading held along +x (heading_command, heading 0) and no resampling, 20 s episodes, no pushes.
:class:`CourseScore` scores each episode from the base positions (``root_states``).

Differences from go2-toy and go2-mujoco (documented, not errors):

* legged_gym spawns every robot within +-1 m (x and y) of the course start (hard-coded in
  ``_reset_root_states``), so progress is counted from each episode's own spawn point;
* legged_gym does not end an episode when a robot crosses: the crossing is latched and reported when the episode
  ends (by a fall or the 20 s limit), so a fall after crossing still counts as a crossing;
* risers (10 and 15 cm per cell, above the 7.5 cm threshold) are vertical at the same lines as ours; gentle ground
  is legged_gym's triangle mesh where go2-toy and go2-mujoco interpolate bilinearly (equal on planar slopes).
"""
import contextlib
import sys
from typing import Any, Dict, Iterator, Optional

import torch

from fastembody_core import EnvError

from ..terrain.course_specs import COURSE_COMMAND_VX, COURSE_SUCCESS_DISTANCE_M, COURSE_TIME_LIMIT_S
from ..terrain.courses import course_episode_stats
from ..terrain.field import Terrain


def course_cfg_settings(course: Terrain, measure_heights: bool) -> Dict[str, Any]:
    """The legged_gym cfg fields (dotted names) that run ``course``; ``measure_heights`` keeps the observation
    layout the run's ``terrain.type`` gives (a height scan on rough terrain, none on flat)."""
    hs = course.horizontal_scale
    return {
        "terrain.mesh_type": "trimesh",
        "terrain.selected": False,
        "terrain.curriculum": False,
        "terrain.measure_heights": bool(measure_heights),
        "terrain.horizontal_scale": hs,
        "terrain.vertical_scale": course.vertical_scale,
        "terrain.border_size": course.border * hs,
        "terrain.terrain_length": course.tile_length,
        "terrain.terrain_width": course.tile_width,
        "terrain.num_rows": 1,
        "terrain.num_cols": 1,
        "terrain.max_init_terrain_level": 0,
        "commands.heading_command": True,
        "commands.resampling_time": COURSE_TIME_LIMIT_S + 1.0,
        "commands.ranges.lin_vel_x": [COURSE_COMMAND_VX, COURSE_COMMAND_VX],
        "commands.ranges.lin_vel_y": [0.0, 0.0],
        "commands.ranges.ang_vel_yaw": [0.0, 0.0],
        "commands.ranges.heading": [0.0, 0.0],
        "env.episode_length_s": COURSE_TIME_LIMIT_S,
        "domain_rand.push_robots": False,
    }


class CourseTerrain:
    """What ``LeggedRobot`` reads of legged_gym's ``Terrain``, for one course: the height field in vertical units
    (``height_field_raw``, ``heightsamples``), its size with the border, the spawn point (``env_origins``
    ``[1, 1, 3]``) and the trimesh."""

    def __init__(self, cfg: Any, num_robots: int, course: Terrain):
        import numpy as np
        from isaacgym import terrain_utils

        self.cfg, self.num_robots, self.type = cfg, num_robots, cfg.mesh_type
        self.env_length, self.env_width = course.tile_length, course.tile_width
        self.border = course.border
        heights = course.heights.detach().to("cpu", torch.float64).numpy()
        self.height_field_raw = np.rint(heights / course.vertical_scale).astype(np.int16)
        self.heightsamples = self.height_field_raw
        self.tot_rows, self.tot_cols = self.height_field_raw.shape
        self.env_origins = course.tile_origins.detach().to("cpu", torch.float64).numpy()
        cfg.num_sub_terrains = 1
        self.vertices, self.triangles = terrain_utils.convert_heightfield_to_trimesh(
            self.height_field_raw, course.horizontal_scale, course.vertical_scale, cfg.slope_treshold)


@contextlib.contextmanager
def course_terrain_installed(task_class: type, course: Terrain) -> Iterator[None]:
    """While the env is created, ``Terrain(cfg, num_robots)`` in the module of the ``create_sim`` that
    ``task_class`` runs builds a :class:`CourseTerrain` of ``course``."""
    owner = next((k for k in task_class.__mro__ if "create_sim" in vars(k)), None)
    module = sys.modules.get(owner.__module__) if owner is not None else None
    if module is None or not hasattr(module, "Terrain"):
        raise EnvError(f"courses need legged_gym's terrain code: {task_class.__qualname__}.create_sim does not build "
                       f"a Terrain")
    original = module.Terrain  # type: ignore[attr-defined]
    module.Terrain = lambda cfg, num_robots: CourseTerrain(cfg, num_robots, course)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        module.Terrain = original  # type: ignore[attr-defined]


class CourseScore:
    """Each env's progress along +x from its episode's spawn point, the crossing latched until the episode ends."""

    def __init__(self, base_x: torch.Tensor):
        self.spawn_x = base_x.clone()
        self.best = torch.zeros_like(base_x)
        self.crossed = torch.zeros_like(base_x, dtype=torch.bool)

    def update(self, base_x: torch.Tensor, dones: torch.Tensor) -> Optional[Dict[str, torch.Tensor]]:
        """Score one step. legged_gym has already reset the envs in ``dones`` (their ``base_x`` is the new spawn
        point), so their episode is scored from the steps before; returns the contract's ``course_success`` and
        ``course_progress`` for them (None when no env finished)."""
        running = ~dones
        progress = base_x - self.spawn_x
        self.best = torch.where(running, torch.maximum(self.best, progress), self.best)
        self.crossed |= running & (progress >= COURSE_SUCCESS_DISTANCE_M)
        if not bool(dones.any()):
            return None
        ids = dones.nonzero().flatten()
        stats = course_episode_stats(ids, self.crossed, self.best)
        self.crossed[ids], self.best[ids], self.spawn_x[ids] = False, 0.0, base_x[ids]
        return stats
